"""structlog setup: JSON lines in production, readable lines in a terminal, secrets redacted.

The redaction processor runs last before rendering, on every event from every module, so
a token that slips into a log call (as a keyword, inside a dict, in a header, or pasted in
a message) is masked before it reaches a file or a log shipper.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, Literal, TextIO

import structlog

REDACTED = "[redacted]"

# Keys whose value is a secret whatever it looks like.
_SECRET_KEY = re.compile(
    r"(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|signing[_-]?key|webhook[_-]?key"
    r"|authorization|cookie|credential|session|^key$|_key$)",
    re.IGNORECASE,
)
# Values that are secrets wherever they appear: bearer/basic credentials and JWTs.
_SECRET_VALUES = (
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    re.compile(
        r"(?i)\b((access|refresh|id)_token|client_secret|password|code_verifier)=([^&\s\"']+)"
    ),
)


def _scrub_text(text: str) -> str:
    for pattern in _SECRET_VALUES:
        if pattern.groups >= 3:
            text = pattern.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def redact(value: Any, key: str | None = None) -> Any:
    """`value` with secrets masked: by key name, and by shape inside strings (recursively)."""
    if key is not None and _SECRET_KEY.search(key) and value not in (None, "", False):
        return REDACTED
    if isinstance(value, str):
        return _scrub_text(value)
    if isinstance(value, Mapping):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact(v) for v in value)
    return value


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask secrets in every field of the event."""
    for key in list(event_dict):
        # "event" is the message itself: only scrubbed by shape, never dropped by name.
        event_dict[key] = redact(event_dict[key], None if key == "event" else key)
    return event_dict


LogFormat = Literal["auto", "json", "console"]


QUIET_LIBRARIES = ("alembic", "httpx", "httpcore", "uvicorn.access")


def configure_logging(
    log_format: LogFormat = "auto", level: str = "INFO", stream: TextIO | None = None
) -> None:
    """Route structlog and the standard library through one redacting pipeline.

    "auto" renders for people when stderr is a terminal and JSON otherwise (containers,
    systemd, log shippers).
    """
    stream = stream or sys.stderr
    tty = stream.isatty()
    use_json = log_format == "json" or (log_format == "auto" and not tty)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        redact_secrets,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=tty)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_kommo_xero", False):
            root.removeHandler(existing)
    handler._kommo_xero = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Libraries that narrate their routine work at INFO (every migration step, every
    # request) would drown the service's own lines.
    for chatty in QUIET_LIBRARIES:
        logging.getLogger(chatty).setLevel(logging.WARNING)
