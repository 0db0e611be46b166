"""The personal-data export is assembled from one small exporter per app. Each exporter declares
the models it covers, so a test can fail when a model that points at a user has none."""

from collections.abc import Callable
from typing import Any

from django.db.models import Model

Exporter = Callable[[Any], Any]
_EXPORTERS: dict[str, tuple[tuple[type[Model], ...], Exporter]] = {}


def exporter(section: str, *models: type[Model]) -> Callable[[Exporter], Exporter]:
    """Register `function(user) -> JSON-ready data` as the `section` of the export."""

    def register(function: Exporter) -> Exporter:
        _EXPORTERS[section] = (models, function)
        return function

    return register


def export_sections(user: Any) -> dict[str, Any]:
    return {section: function(user) for section, (_, function) in sorted(_EXPORTERS.items())}


def covered_models() -> set[type[Model]]:
    return {model for models, _ in _EXPORTERS.values() for model in models}
