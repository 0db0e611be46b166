"""Which modules each space type may use. The data is the project's own `modules.json` (the
platform's definition, kept here so the service and its tests stand alone); `personal` allows
every module."""

import json
from pathlib import Path

ALL_MODULES = "*"
DEFINITION = Path(__file__).with_name("modules.json")


def _load() -> tuple[tuple[str, ...], dict[str, str | tuple[str, ...]]]:
    document = json.loads(DEFINITION.read_text(encoding="utf-8"))
    allowlist = {name: allowed if allowed == ALL_MODULES else tuple(allowed) for name, allowed in document["allowlist"].items()}
    return tuple(document["types"]), allowlist


SPACE_TYPES, ALLOWLIST = _load()


def module_allowed(space_type: str, module: str) -> bool:
    allowed = ALLOWLIST.get(space_type, ())
    return allowed == ALL_MODULES or module in allowed
