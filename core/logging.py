"""Request-scoped log context: the request id rides a context variable into every log line; and
the link tokens that requests carry are kept out of every line."""

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


# Mailed links carry secrets in their path (reset-password/<token>, invitations/<token>/accept) or
# query (?token=…, the invitation's ?id=…); a logged path or URL keeps neither.
_PATH_SECRET = re.compile(r"(/reset-password/|/invitations/)[^/?#\s\"]+")
_QUERY_SECRET = re.compile(r"([?&](?:token|id)=)[^&#\s\"]+")
REDACTED = "[redacted]"


def scrub_secrets(text: str) -> str:
    return _QUERY_SECRET.sub(rf"\1{REDACTED}", _PATH_SECRET.sub(rf"\1{REDACTED}", text))


class SecretScrubFilter(logging.Filter):
    """Django's request logging names the path ("Not Found: /api/auth/reset-password/…"), and any
    other line may quote a URL: the message goes out with its link tokens redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = scrub_secrets(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for production log shipping."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "requestId": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
