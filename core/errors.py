"""The error taxonomy of the HTTP contract and the one place its envelope is built.

Every non-2xx body under /api/ and /health comes from `error_response`: the DRF exception handler
and the JSON 404/500 handlers all end there, so no view writes an error body by hand.
Classification comes first (DESIGN.md rule 2): only codes with `counts_toward_lockout` may ever
touch a lockout counter; a database or network failure is SERVICE_UNAVAILABLE and counts nothing.
"""

import logging
import socket
import sys
from enum import Enum
from types import ModuleType
from typing import Any
from urllib.error import URLError

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import DatabaseError, InterfaceError, OperationalError, ProgrammingError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from redis import exceptions as redis_exceptions
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class ErrorCode(Enum):
    # name = (HTTP status, counts toward lockout, default message)
    INVALID_CREDENTIALS = (401, True, "Email or password is wrong.")
    TWO_FACTOR_FAILED = (401, True, "The two-factor code is wrong.")
    EMAIL_NOT_VERIFIED = (403, False, "Please verify your email address first.")
    EMAIL_ALREADY_REGISTERED = (409, False, "This email address is already registered.")
    WEAK_PASSWORD = (400, False, "The password is too weak.")
    ACCOUNT_LOCKED = (429, False, "Too many failed sign-ins. Try again later.")
    SIGNUP_LIMIT_REACHED = (429, False, "Registration is closed for today.")
    RATE_LIMITED = (429, False, "Too many requests. Try again later.")
    TOKEN_EXPIRED = (401, False, "The token has expired.")
    TOKEN_INVALID = (400, False, "The token is invalid.")
    TWO_FACTOR_REQUIRED = (401, False, "A second factor is required.")
    PASSKEY_NOT_ENABLED = (404, False, "Passkeys are not enabled.")
    PASSKEY_CANCELLED = (400, False, "The passkey ceremony was cancelled.")
    PASSKEY_VERIFICATION_FAILED = (401, False, "The passkey could not be verified.")
    VALIDATION = (400, False, "The request is invalid.")
    UNAUTHORIZED = (401, False, "Authentication is required.")
    FORBIDDEN = (403, False, "You are not allowed to do this.")
    NOT_FOUND = (404, False, "Not found.")
    METHOD_NOT_ALLOWED = (405, False, "This method is not allowed here.")
    PAYLOAD_TOO_LARGE = (413, False, "The request body is too large.")
    UNSUPPORTED_MEDIA_TYPE = (415, False, "Send the body as application/json.")
    REAUTHENTICATION_REQUIRED = (401, False, "Please confirm it is you.")
    SERVICE_UNAVAILABLE = (503, False, "The service is temporarily unavailable.")
    INTERNAL = (500, False, "An internal error occurred.")
    VAULT_NOT_INITIALISED = (404, False, "The encryption vault has not been initialised.")
    ZK_ACTIVE = (409, False, "Zero-knowledge mode is active.")
    ZK_ROTATE_FORBIDDEN = (409, False, "The key cannot be rotated in zero-knowledge mode.")
    RECOVERY_WRAP_MISSING = (400, False, "Set a recovery code first.")
    GRANT_NOT_CONFIGURED = (503, False, "Mission grants are not configured.")
    SPACE_METADATA_INVALID = (400, False, "The space metadata is invalid.")
    SPACE_PERSONAL_UNDELETABLE = (403, False, "A personal space cannot be deleted.")
    NO_ACTIVE_ORGANIZATION = (400, False, "No space is active in this session.")
    MODULE_NOT_ALLOWED = (403, False, "This module is not allowed in this space.")

    @property
    def status(self) -> int:
        return int(self.value[0])

    @property
    def counts_toward_lockout(self) -> bool:
        return bool(self.value[1])

    @property
    def default_message(self) -> str:
        return str(self.value[2])


class ApiError(Exception):
    """A domain error: raised by services, turned into the envelope by the exception handler."""

    def __init__(
        self,
        code: ErrorCode,
        message: str | None = None,
        *,
        fields: dict[str, list[str]] | None = None,
        retry_after: int | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.code = code
        self.message = message or code.default_message
        self.fields = fields
        self.retry_after = retry_after
        # Only TOKEN_INVALID has a second status (401 on refresh/validate paths, API.md).
        self.status = status or code.status
        self.extra = extra or {}
        super().__init__(code.name)


def error_body(error: ApiError) -> dict[str, Any]:
    # `code` repeats `error`: the platform's vault and grant clients switch on `code` (PLATFORM.md §0).
    body: dict[str, Any] = {"error": error.code.name, "code": error.code.name, "message": error.message, "status": error.status}
    if error.fields:
        body["fields"] = error.fields
    if error.retry_after is not None:
        body["retryAfterSec"] = error.retry_after
    body.update(error.extra)
    return body


def _headers(error: ApiError) -> dict[str, str]:
    headers = {"Cache-Control": "no-store"}
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="mana"'
    return headers


def error_response(error: ApiError) -> JsonResponse:
    return JsonResponse(error_body(error), status=error.status, headers=_headers(error))


# --- classification ---------------------------------------------------------------------------
# Failures of something the service depends on, never of the caller: a database that is down or
# drifted from the schema (ProgrammingError covers SQLSTATE 42703), a cache or network that fails.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    ProgrammingError,
    DatabaseError,
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    URLError,
    redis_exceptions.ConnectionError,
    redis_exceptions.TimeoutError,
)


def _as_field_errors(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        fields: dict[str, list[str]] = {}
        for name, value in detail.items():
            if isinstance(value, dict):
                for sub_name, sub_value in _as_field_errors(value).items():
                    fields[f"{name}.{sub_name}"] = sub_value
            else:
                fields[str(name)] = [str(item) for item in (value if isinstance(value, list) else [value])]
        return fields
    items = detail if isinstance(detail, list) else [detail]
    return {"nonFieldErrors": [str(item) for item in items]}


def classify(exc: BaseException) -> ApiError:
    """Map any exception to the taxonomy. Unknown exceptions become INTERNAL, never their text."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, drf_exceptions.ValidationError):
        return ApiError(ErrorCode.VALIDATION, fields=_as_field_errors(exc.detail))
    if isinstance(exc, drf_exceptions.ParseError):
        return ApiError(ErrorCode.VALIDATION, "The request body is not valid JSON.")
    if isinstance(exc, drf_exceptions.NotAuthenticated | drf_exceptions.AuthenticationFailed):
        return ApiError(ErrorCode.UNAUTHORIZED)
    if isinstance(exc, drf_exceptions.PermissionDenied | PermissionDenied):
        return ApiError(ErrorCode.FORBIDDEN)
    if isinstance(exc, drf_exceptions.NotFound | Http404):
        return ApiError(ErrorCode.NOT_FOUND)
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return ApiError(ErrorCode.METHOD_NOT_ALLOWED)
    if isinstance(exc, drf_exceptions.UnsupportedMediaType):
        return ApiError(ErrorCode.UNSUPPORTED_MEDIA_TYPE)
    if isinstance(exc, drf_exceptions.NotAcceptable):
        return ApiError(ErrorCode.VALIDATION, "Only application/json responses are available.")
    if isinstance(exc, drf_exceptions.Throttled):
        return ApiError(ErrorCode.RATE_LIMITED, retry_after=int(getattr(exc, "wait", None) or 1))
    if isinstance(exc, RequestDataTooBig):
        return ApiError(ErrorCode.PAYLOAD_TOO_LARGE)
    if isinstance(exc, _UNAVAILABLE):
        return ApiError(ErrorCode.SERVICE_UNAVAILABLE)
    from core.keyring import KeyringError  # late: keyring imports settings

    if isinstance(exc, KeyringError):
        return ApiError(ErrorCode.SERVICE_UNAVAILABLE)
    return ApiError(ErrorCode.INTERNAL)


def error_tracker() -> ModuleType | None:
    """The error-tracking SDK when it has been initialised (config/sentry.py imports it only
    then), else None: a service without error tracking never loads the SDK (≈ 3 MB a worker)."""
    sdk = sys.modules.get("sentry_sdk")
    return sdk if sdk is not None and sdk.get_client().is_active() else None


def _report_server_error(exc: BaseException, error: ApiError) -> None:
    logger.error("%s while handling the request", error.code.name, exc_info=(type(exc), exc, exc.__traceback__))
    # Even a disabled SDK would build an event and repr every frame's locals; a QuerySet among
    # them would run its query again inside the failed transaction.
    if (sdk := error_tracker()) is not None:
        sdk.capture_exception(exc)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every error of an API view leaves through here."""
    error = classify(exc)
    if error.status >= 500:
        _report_server_error(exc, error)
    return Response(error_body(error), status=error.status, headers=_headers(error))


# --- Django-level handlers: JSON under /api/ and /health, HTML elsewhere ----------------------
def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/health", "/.well-known/"))


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if wants_json(request):
        return error_response(ApiError(ErrorCode.NOT_FOUND))
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Http404())


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if wants_json(request):
        return error_response(classify(exception) if isinstance(exception, RequestDataTooBig) else ApiError(ErrorCode.VALIDATION))
    from django.views.defaults import bad_request

    return bad_request(request, exception or Exception())


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if wants_json(request):
        return error_response(ApiError(ErrorCode.FORBIDDEN))
    from django.views.defaults import permission_denied

    return permission_denied(request, exception or PermissionDenied())


def handler500(request: HttpRequest) -> HttpResponse:
    # Django calls this inside its `except` block, so the exception is still at hand.
    exc = sys.exception()
    error = classify(exc) if exc is not None else ApiError(ErrorCode.INTERNAL)
    if error.status < 500:
        error = ApiError(ErrorCode.INTERNAL)
    if wants_json(request):
        return error_response(error)
    from django.views.defaults import server_error

    return server_error(request)
