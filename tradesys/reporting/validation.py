"""Offline validation of OCDS release packages against the official 1.1.5 schemas.

The release schema is extended with the bid extension by JSON Merge Patch (RFC 7386), as the
OCDS extension mechanism prescribes; every ``$ref`` resolves to the copies shipped in
``ocds_schema/`` so validation never touches the network.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SCHEMA_DIR = Path(str(files("tradesys.reporting"))) / "ocds_schema"
RELEASE_URI = "https://standard.open-contracting.org/schema/1__1__5/release-schema.json"


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _load(relative: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads((SCHEMA_DIR / relative).read_text(encoding="utf-8"))
    return value


@cache
def release_schema() -> dict[str, Any]:
    """The 1.1.5 release schema with the bid extension merged in."""
    return merge_patch(
        _load("1.1.5/release-schema.json"), _load("bid-extension-v1.1.5/release-schema.json")
    )


@cache
def _package_validator() -> Draft4Validator:
    package = _load("1.1.5/release-package-schema.json")
    registry: Registry = Registry().with_resource(
        RELEASE_URI, Resource.from_contents(release_schema(), default_specification=DRAFT4)
    )
    return Draft4Validator(package, registry=registry, format_checker=FormatChecker())


@cache
def _release_validator() -> Draft4Validator:
    return Draft4Validator(release_schema(), format_checker=FormatChecker())


def _messages(validator: Draft4Validator, document: Any) -> list[str]:
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '$'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    ]


def release_package_errors(package: dict[str, Any]) -> list[str]:
    return _messages(_package_validator(), package)


def release_errors(release: dict[str, Any]) -> list[str]:
    return _messages(_release_validator(), release)
