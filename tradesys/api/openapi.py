"""The OpenAPI 3.1 document, built from the endpoint declarations and pydantic models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from tradesys import __version__
from tradesys.api.routing import Router, error_schema, openapi_path


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
        operation: dict[str, Any] = {
            "summary": endpoint.summary,
            "tags": [endpoint.tag],
            "operationId": endpoint.handler.__name__,
            "responses": {
                str(endpoint.status): {
                    "description": "OK",
                    "content": {
                        "application/json": {
                            "schema": (
                                refs[(endpoint.response, "validation")] if endpoint.response else {}
                            )
                        }
                    },
                },
                "4XX": {
                    "description": "Error",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
            },
        }
        parameters = [
            {"name": name, "in": "path", "required": True,
             "schema": {"type": "integer" if convertor == "int" else "string"}}
            for name, convertor in _path_names(endpoint.path)
        ]
        parameters += [
            {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
            for name in endpoint.query
        ]
        if endpoint.method in ("POST", "PUT", "PATCH", "DELETE") and not endpoint.public:
            parameters.append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "maxLength": 200},
                }
            )
        if parameters:
            operation["parameters"] = parameters
        if endpoint.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(endpoint.body, "validation")]}},
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


def _path_names(path: str) -> list[tuple[str, str]]:
    return re.findall(r"\{(\w+)(?::(\w+))?\}", path)
