import re
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.errors import ApiError, ErrorCode, error_response, error_tracker
from core.logging import request_id_var
from core.origin import Origin

REQUEST_ID_HEADER = "X-Request-Id"
# A caller's id is kept only when it is short and plain, so it cannot forge log lines.
_ACCEPTABLE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _describe_request(request: HttpRequest) -> Callable[[Any, dict[str, Any]], Any]:
    """Every error event names the path and method, even where the SDK's own request data is thin.
    The path only: a query string may carry a token."""

    def processor(event: Any, hint: dict[str, Any]) -> Any:
        details = event.setdefault("request", {})
        details.setdefault("url", request.path)
        details.setdefault("method", request.method)
        return event

    return processor


class RequestIdMiddleware:
    """Takes X-Request-Id from the caller (or makes one), logs with it and echoes it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _ACCEPTABLE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        request.origin = Origin.of(request)  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            if (sdk := error_tracker()) is not None:
                with sdk.isolation_scope() as scope:
                    scope.set_tag("request_id", request_id)
                    scope.add_event_processor(_describe_request(request))
                    response = self.get_response(request)
            else:  # no error tracking configured: no scope to fill on every request
                response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class ApiHeadersMiddleware:
    """For the API: CORS for the configured origins only (with credentials), and no caching of
    anything that did not ask for it, since most answers carry tokens, keys or personal data."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        origin = request.headers.get("Origin")
        allowed = origin is not None and origin in settings.CORS_ORIGINS
        if allowed and request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
            # Named one by one: "*" does not count for requests with credentials.
            response["Access-Control-Allow-Headers"] = "Authorization, Content-Type, X-Service-Key, X-App-Id, X-Request-Id"
            response["Access-Control-Max-Age"] = "600"
        else:
            response = self.get_response(request)
        if allowed:
            response["Access-Control-Allow-Origin"] = str(origin)
            response["Access-Control-Allow-Credentials"] = "true"
            # The export's filename, the lockout countdown and the request id, readable by the web app.
            response["Access-Control-Expose-Headers"] = "Content-Disposition, Retry-After, X-Request-Id"
        response["Vary"] = ", ".join(filter(None, [response.get("Vary"), "Origin"]))
        if "Cache-Control" not in response:
            response["Cache-Control"] = "no-store"
        return response


class NulRefusalMiddleware:
    """A NUL byte in the path, the query or a form field is refused with 400 here, once for every
    route: PostgreSQL cannot store or compare one, and each lookup would otherwise fail with a 5xx."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        form = request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data")
        if "\x00" in request.path or _has_nul(request.GET) or (form and _has_nul(request.POST)):
            return error_response(ApiError(ErrorCode.VALIDATION, "The request contains a NUL character."))
        return self.get_response(request)


def _has_nul(data: Any) -> bool:
    return any("\x00" in key or any("\x00" in value for value in data.getlist(key)) for key in data)
