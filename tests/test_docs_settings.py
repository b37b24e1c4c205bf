"""docs/operations.md documents every setting the code reads, and every option of ``serve``.

The variables are found in tradesys/settings.py itself (each ``_env("NAME", …)`` call and each
``"TRADESYS_NAME"`` literal), so a setting added there without a row in the settings table
fails here, whoever adds it.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import re
from pathlib import Path

import tradesys.settings
from tradesys.cli import build_parser
from tradesys.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
OPERATIONS = ROOT / "docs" / "operations.md"
SETTINGS_SOURCE = Path(tradesys.settings.__file__)
VARIABLE = re.compile(r"^TRADESYS_[A-Z0-9_]+$")


def _env_names(node: ast.AST) -> set[str]:
    """Environment variables read under ``node``: ``_env("X", …)`` (or any ``_env…`` helper)
    and ``"TRADESYS_X"``."""
    names = set()
    for item in ast.walk(node):
        if (isinstance(item, ast.Call) and isinstance(item.func, ast.Name)
                and item.func.id.startswith("_env") and item.args
                and isinstance(item.args[0], ast.Constant) and isinstance(item.args[0].value, str)):
            names.add(f"TRADESYS_{item.args[0].value}")
        elif (isinstance(item, ast.Constant) and isinstance(item.value, str)
              and VARIABLE.match(item.value)):
            names.add(item.value)
    return names


def _settings_module() -> ast.Module:
    return ast.parse(SETTINGS_SOURCE.read_text(encoding="utf-8"))


def _table_rows() -> dict[str, list[str]]:
    """Markdown table rows of docs/operations.md keyed by the variable in their first cell."""
    rows = {}
    for line in OPERATIONS.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        name = cells[0].strip("`")
        if VARIABLE.match(name):
            rows[name] = cells
    return rows


def test_settings_source_reads_variables() -> None:
    """The scan finds what the module reads (guards the test against a silent refactor)."""
    names = _env_names(_settings_module())
    assert {"TRADESYS_DATABASE_URL", "TRADESYS_DATA_DIR", "TRADESYS_PLATFORM_URL"} <= names


def test_every_setting_has_a_row_with_default_and_meaning() -> None:
    rows = _table_rows()
    missing = sorted(_env_names(_settings_module()) - set(rows))
    assert not missing, f"docs/operations.md has no settings-table row for {missing}"
    for name in _env_names(_settings_module()):
        cells = rows[name]
        assert len(cells) >= 3 and all(cells[1:]), (
            f"the row of {name} in docs/operations.md needs a default and a meaning: {cells}")


def test_every_settings_field_is_read_from_the_environment() -> None:
    """A field no variable sets would be a setting the operator cannot see or change."""
    module = _settings_module()
    settings_class = next(node for node in module.body
                          if isinstance(node, ast.ClassDef) and node.name == "Settings")
    fields_read: dict[str, set[str]] = {
        node.target.id: _env_names(node.value) if node.value is not None else set()
        for node in settings_class.body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)}
    everywhere = _env_names(settings_class)
    for field in dataclasses.fields(Settings):
        conventional = f"TRADESYS_{field.name.upper()}"
        assert fields_read.get(field.name) or conventional in everywhere, (
            f"Settings.{field.name} reads no TRADESYS_ variable")


def _serve_options() -> list[str]:
    parser = build_parser()
    sub = next(action for action in parser._actions
               if isinstance(action, argparse._SubParsersAction))
    serve = sub.choices["serve"]
    return [option for action in serve._actions for option in action.option_strings
            if option.startswith("--") and option != "--help"]


def test_every_serve_option_is_documented() -> None:
    text = OPERATIONS.read_text(encoding="utf-8")
    options = _serve_options()
    assert "--port" in options
    missing = [option for option in options if f"`{option}" not in text]
    assert not missing, f"docs/operations.md does not document serve {missing}"
