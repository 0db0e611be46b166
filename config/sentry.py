"""Error tracking (Sentry/GlitchTip), initialised from settings before any app loads.

Only server errors are reported; a before_send hook scrubs every secret-looking value from the
request, extras and breadcrumbs, whatever the SDK collected.
"""

from typing import Any
from urllib.parse import parse_qsl, urlencode

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.transport import Transport

FILTERED = "[Filtered]"
_SENSITIVE_PARTS = (
    "password",
    "token",
    "secret",
    "code",
    "key",
    "cookie",
    "authorization",
    "otp",
    "session",
    "csrf",
    "credential",
    "signature",
)


def _is_sensitive(name: str) -> bool:
    lowered = name.lower()
    return any(part in lowered for part in _SENSITIVE_PARTS)


def scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: FILTERED if _is_sensitive(str(key)) else scrub(item) for key, item in value.items()}
    if isinstance(value, list):
        # Headers arrive as [name, value] pairs in some SDK paths.
        if len(value) == 2 and isinstance(value[0], str) and _is_sensitive(value[0]):
            return [value[0], FILTERED]
        return [scrub(item) for item in value]
    return value


def _scrub_query(query: str) -> str:
    return urlencode([(name, FILTERED if _is_sensitive(name) else item) for name, item in parse_qsl(query, keep_blank_values=True)])


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
    from core.errors import classify

    exc_info = hint.get("exc_info")
    if exc_info and exc_info[1] is not None and classify(exc_info[1]).status < 500:
        return None  # a client error is the client's business, not an incident
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("cookies", None)
        if isinstance(request.get("query_string"), str):
            request["query_string"] = _scrub_query(request["query_string"])
        if isinstance(request.get("url"), str):
            request["url"] = request["url"].split("?", 1)[0]
        for part in ("headers", "data", "env"):
            if part in request:
                request[part] = scrub(request[part])
        # A body the SDK kept as raw text cannot be scrubbed field by field: drop it.
        if isinstance(request.get("data"), str):
            request["data"] = FILTERED
    for part in ("extra", "contexts"):
        if part in event:
            event[part] = scrub(event[part])
    breadcrumbs = event.get("breadcrumbs")
    if isinstance(breadcrumbs, dict) and isinstance(breadcrumbs.get("values"), list):
        breadcrumbs["values"] = [scrub(crumb) for crumb in breadcrumbs["values"]]
    return event


def init_sentry(*, dsn: str, environment: str, transport: type[Transport] | Transport | None = None) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        server_name="mana-auth",
        integrations=[DjangoIntegration()],
        include_local_variables=False,  # frame locals hold requests, passwords and keys
        before_send=before_send,  # type: ignore[arg-type]
        traces_sample_rate=0.0,
        transport=transport,
    )
