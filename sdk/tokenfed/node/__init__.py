"""The reference partner node: one process per entity, roles by configuration (chapter HTTP API).

Run it with ``tokenfed serve --config NODE.toml``; its HTTP API is ``spec/openapi.yaml``. In
Python::

    config = load_config("NODE.toml")
    node = create_app(config)          # keys loaded and checked here
    uvicorn.run(node, host=config.listen.host, port=config.listen.port)

Needs the ``node`` extra: ``pip install 'tokenfed[node]'``.
"""

from ._app import NodeApp, create_app
from ._config import LoadedKeys, NodeConfig, Role, load_config, load_keys, token_sha256
from ._serve import serve

__all__ = [
    "LoadedKeys",
    "NodeApp",
    "NodeConfig",
    "Role",
    "create_app",
    "load_config",
    "load_keys",
    "serve",
    "token_sha256",
]
