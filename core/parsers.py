"""The one JSON parser of the API: strict about what no field could legitimately hold."""

import json
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32


def _check(value: Any, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise ParseError("The JSON is nested too deeply.")
    if isinstance(value, str):
        # PostgreSQL stores no NUL in text or jsonb; refusing it here keeps it a 400, not a 503.
        if "\x00" in value:
            raise ParseError("Strings may not contain NUL characters.")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check(key, depth + 1)
            _check(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check(item, depth + 1)


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:  # thousands of nested brackets
            raise ParseError("The JSON is nested too deeply.") from exc
        _check(data)
        return data


def loads(body: bytes) -> Any:
    """The same rules for the few page endpoints that read JSON themselves."""
    try:
        data = json.loads(body or b"{}")
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc
    try:
        _check(data)
    except ParseError as exc:
        raise ValueError(str(exc)) from exc
    return data
