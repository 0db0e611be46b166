"""Every KEK-wrapped secret, whichever app keeps it, is re-wrapped by one command
(`rewrap_secrets`) after a KEK rotation. Each app registers a rewrapper for its own secrets."""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Model


@dataclass(frozen=True)
class RewrapCount:
    rewrapped: int
    examined: int | None = None  # where the rewrapper can tell how many it looked at

    def describe(self, label: str) -> str:
        return f"{self.rewrapped} of {self.examined} {label}" if self.examined is not None else f"{self.rewrapped} {label}"


# `function(*, batch_size, report) -> RewrapCount`; `report` takes a progress line.
Rewrapper = Callable[..., RewrapCount]
_REWRAPPERS: list[tuple[int, str, tuple[type[Model], ...], Rewrapper]] = []


def rewrapper(label: str, *models: type[Model], order: int) -> Callable[[Rewrapper], Rewrapper]:
    """Register `function` as the rewrapper of the secrets called `label`, kept in `models` (so a
    test can fail when a model with a KEK-wrapped column has none). The command runs and reports
    them by `order`, so its report reads the same whatever order the apps load in."""

    def register(function: Rewrapper) -> Rewrapper:
        _REWRAPPERS.append((order, label, models, function))
        return function

    return register


def rewrappers() -> list[tuple[str, Rewrapper]]:
    return [(label, function) for _, label, _, function in sorted(_REWRAPPERS, key=lambda entry: entry[0])]


def covered_models() -> set[type[Model]]:
    return {model for _, _, models, _ in _REWRAPPERS for model in models}
