"""Structured logs: one JSON object per line on standard error (API-016).

Every request gives one ``request`` line with its id, method, path, status, duration and error
code; an unexpected exception gives an ``exception`` line with the same request id and the
traceback, which never reaches the client.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from typing import Any

__all__ = ["LOGGER_NAME", "configure_logging", "log_event"]

LOGGER_NAME = "tokenfed.node"


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        else:
            line["message"] = record.getMessage()
        if record.exc_info and record.exc_info[0] is not None:
            line["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


def configure_logging(level: int = logging.INFO) -> dict[str, Any]:
    """Send the node's and uvicorn's logs to standard error as JSON lines; return the
    ``logging.config`` dictionary so uvicorn can be given the same configuration."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}._JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": sys.stderr,
            }
        },
        "loggers": {
            LOGGER_NAME: {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": [], "level": logging.WARNING, "propagate": False},
        },
    }


def log_event(event: str, *, level: int = logging.INFO, exc: bool = False, **fields: Any) -> None:
    """Log one structured event line."""
    logging.getLogger(LOGGER_NAME).log(
        level, event, extra={"fields": {"event": event, **fields}}, exc_info=exc
    )
