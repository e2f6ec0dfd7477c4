"""Running a node under uvicorn, with graceful shutdown on SIGTERM and SIGINT (API-018)."""

from __future__ import annotations

import logging.config
import signal
from pathlib import Path
from types import FrameType

from ..errors import IoError
from ._app import NodeApp
from ._config import NodeConfig, load_config
from ._logging import configure_logging

__all__ = ["serve"]

GRACEFUL_SHUTDOWN_SECONDS = 30
"""How long in-flight requests may take to finish after SIGTERM before they are cut off."""


def serve(config: NodeConfig | str | Path) -> None:
    """Serve the node of ``config`` until SIGTERM or SIGINT.

    On the signal the node stops accepting connections, lets in-flight requests finish (for at
    most :data:`GRACEFUL_SHUTDOWN_SECONDS`), closes its SQLite files and returns.
    """
    import uvicorn

    if not isinstance(config, NodeConfig):
        config = load_config(config)
    log_config = configure_logging()
    logging.config.dictConfig(log_config)
    node = NodeApp(config)
    server = uvicorn.Server(
        uvicorn.Config(
            node,
            host=config.listen.host,
            port=config.listen.port,
            lifespan="on",
            access_log=False,
            log_config=log_config,
            server_header=False,
            proxy_headers=False,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        # In force while uvicorn does not handle SIGTERM itself (before it starts, and after
        # it has shut down, when it re-raises the signal it caught): ask it to stop, so the
        # process ends with status 0 after a graceful shutdown instead of dying of the signal.
        server.should_exit = True

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        server.run()
    except SystemExit as exc:  # uvicorn exits when it cannot bind or start the application
        if server.started:
            raise
        raise IoError(
            f"the node could not listen on {config.listen.host}:{config.listen.port} or start "
            f"(uvicorn exit status {exc.code}; its log line above says why): check [listen] "
            "host and port, and that no other process holds the port",
            detail={"member": "listen"},
        ) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
