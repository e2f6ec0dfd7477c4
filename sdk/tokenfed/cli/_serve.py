"""``tokenfed serve``: run a partner node from its configuration file."""

from __future__ import annotations

import argparse
import json

from ..errors import InvalidArgumentsError

__all__ = ["add_serve_command", "serve"]


def _require_node_extra() -> None:
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise InvalidArgumentsError(
            f"tokenfed serve needs the node extra ({exc.name} is not installed): "
            "pip install 'tokenfed[node]'"
        ) from None


def serve(args: argparse.Namespace) -> int:
    """``tokenfed serve --config NODE.toml [--check]``."""
    _require_node_extra()
    from ..node import NodeApp, load_config
    from ..node import serve as run

    config = load_config(args.config)
    if args.check:
        app = NodeApp(config)
        app.state.close()
        print(
            json.dumps(
                {
                    "entity_id": config.entity_id,
                    "roles": [role.value for role in config.roles],
                    "listen": f"{config.listen.host}:{config.listen.port}",
                    "status": "ok",
                }
            )
        )
        return 0
    run(config)
    return 0


def add_serve_command(parser: argparse.ArgumentParser) -> None:
    """Fill the parser of ``tokenfed serve``."""
    parser.add_argument("--config", required=True, metavar="NODE.toml", help="node configuration")
    parser.add_argument(
        "--check",
        action="store_true",
        help="check the configuration and keys, print a summary and exit (no server)",
    )
    parser.set_defaults(handler=serve)
