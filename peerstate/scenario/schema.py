"""The JSON Schema of ``peerstate-scenario/1`` (shipped as package data), and checking against it.

The schema states the file's shape once, for this loader and for editors and other tools;
the loader reports the one error a reader most needs (``jsonschema``'s best match), at its
key path, with the schema's own description of what was expected there.
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from peerstate.scenario.problems import KeyPathError


@functools.cache
def scenario_schema() -> dict[str, Any]:
    """The schema document (``peerstate/schema/scenario.schema.json``)."""
    text = resources.files("peerstate").joinpath("schema/scenario.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _validator() -> Any:
    return Draft202012Validator(scenario_schema())


def _unknown_key(instance: dict[str, Any], schema: dict[str, Any]) -> str:
    """The first key of ``instance`` that a schema with ``additionalProperties: false`` lacks."""
    patterns = schema.get("patternProperties", {})
    return next(
        key
        for key in instance
        if key not in schema.get("properties", {})
        and not any(re.search(pattern, key) for pattern in patterns)
    )


def check_schema(document: Any) -> None:
    """Raise ``KeyPathError`` at the key path of the most relevant schema violation, if any."""
    error = best_match(_validator().iter_errors(document))
    if error is None:
        return
    path = tuple(error.absolute_path)
    message = error.message
    if error.validator == "additionalProperties":
        key = _unknown_key(error.instance, error.schema)
        path, message = (*path, key), f"unknown key {key!r}"
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    if description:
        message = f"{message} ({description})"
    raise KeyPathError(path, message)
