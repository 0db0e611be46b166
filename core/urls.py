from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, path


def route(pattern: str, view: Callable[..., Any], name: str | None = None) -> list[URLPattern]:
    """A route that answers with and without a trailing slash (API.md), no redirect."""
    return [path(pattern, view, name=name), path(f"{pattern}/", view)]
