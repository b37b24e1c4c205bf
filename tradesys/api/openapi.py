"""The OpenAPI 3.1 document, built from the endpoint declarations and pydantic models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from tradesys import __version__
from tradesys.api import idempotency
from tradesys.api.routing import Param, Router, error_schema, openapi_path


def build_openapi(router: Router) -> dict[str, Any]:
    models: set[type[BaseModel]] = set()
    for endpoint in router.endpoints:
        if endpoint.body is not None:
            models.add(endpoint.body)
        if endpoint.response is not None:
            models.add(endpoint.response)
    ordered = sorted(models, key=lambda model: model.__name__)
    refs, top = models_json_schema(
        [(model, "validation") for model in ordered],
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    schemas["Error"] = error_schema()
    paths: dict[str, Any] = {}
    for endpoint in router.endpoints:
        if endpoint.produces is not None:
            success = {media: {"schema": endpoint.produces.schema}
                       for media in endpoint.produces.media_types}
        else:
            success = {"application/json": {
                "schema": refs[(endpoint.response, "validation")] if endpoint.response else {}}}
        operation: dict[str, Any] = {
            "summary": endpoint.summary,
            "tags": [endpoint.tag],
            "operationId": endpoint.handler.__name__,
            "responses": {
                str(endpoint.status): {"description": "OK", "content": success},
                "4XX": {
                    "description": "Error",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
            },
        }
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": _path_schema(convertor)}
            for name, convertor in _path_names(endpoint.path)
        ]
        parameters += [_parameter(param) for param in endpoint.params]
        if endpoint.method in ("POST", "PUT", "PATCH", "DELETE") and not endpoint.public:
            parameters.append(_parameter(IDEMPOTENCY_KEY))
        if parameters:
            operation["parameters"] = parameters
        if endpoint.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(endpoint.body, "validation")]}},
            }
        elif endpoint.raw_body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {media: {"schema": endpoint.raw_body.schema}
                            for media in endpoint.raw_body.media_types},
            }
        if not endpoint.public:
            operation["security"] = [{"bearer": []}, {"session": []}]
        paths.setdefault(openapi_path(endpoint.path), {})[endpoint.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "tradesys 电子招标投标交易平台 API", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "tradesys_session"},
            },
        },
    }


#: The header every authenticated write honours (tradesys/api/idempotency.py checks it).
IDEMPOTENCY_KEY = Param(
    "Idempotency-Key", "header",
    {"type": "string", "maxLength": idempotency.MAX_KEY_LENGTH,
     "pattern": idempotency.KEY_PATTERN},
    description="retry-safe writes: the same key and body get the stored answer",
)


def _parameter(param: Param) -> dict[str, Any]:
    out: dict[str, Any] = {"name": param.name, "in": param.where, "required": param.required,
                           "schema": param.schema}
    if param.description:
        out["description"] = param.description
    return out


def _path_schema(convertor: str) -> dict[str, Any]:
    # Starlette's int convertor matches digits only; ids are positive 32-bit (Call.path_int).
    if convertor == "int":
        return {"type": "integer", "minimum": 0}
    return {"type": "string"}


def _path_names(path: str) -> list[tuple[str, str]]:
    return re.findall(r"\{(\w+)(?::(\w+))?\}", path)
