"""gunicorn's access log without the link tokens (docker-entrypoint.sh sets it with
--logger-class): the default format logs the request line with its query and the Referer, and
mailed links carry tokens in both and in paths. The links keep their form (PLATFORM.md)."""

from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger  # type: ignore[import-untyped]

from core.logging import scrub_secrets


class AccessLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        # The path as sent, not decoded PATH_INFO: a decoded %0A would start a forged line.
        path = scrub_secrets(str(environ.get("RAW_URI", "")).partition("?")[0])
        atoms["r"] = f"{environ.get('REQUEST_METHOD', '-')} {path} {environ.get('SERVER_PROTOCOL', '-')}"
        atoms["U"] = path
        atoms["q"] = ""
        atoms["f"] = scrub_secrets(str(atoms.get("f", "-")).partition("?")[0])
        if "{referer}i" in atoms:
            atoms["{referer}i"] = atoms["f"]
        return atoms
