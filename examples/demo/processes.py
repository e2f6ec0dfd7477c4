"""One ``tokenfed serve`` process per entity, on loopback, and never one left behind.

:class:`Nodes` starts every node, waits until each answers ``/healthz``, and stops them all on
the way out of its ``with`` block, whatever the way out is (an error, Ctrl-C, SIGTERM): SIGTERM
first, so each node shuts down gracefully, then SIGKILL for any that has not exited in time.
On Linux each node also asks the kernel to send it SIGTERM when the demo itself dies, so even a
demo killed with SIGKILL leaves no node running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

__all__ = ["Node", "NodeFailedError", "Nodes", "free_ports", "terminate_on_signals"]

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
_STOPPING = {
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
}
"""The signals that stop the demo: Ctrl-C, SIGTERM, and the terminal closing."""

# Run in the child before `tokenfed serve`: ask for SIGTERM when the parent dies (Linux
# PR_SET_PDEATHSIG, kept across exec), then check the parent did not die before that, then exec.
_LAUNCHER = """
import ctypes, os, signal, sys
parent = int(sys.argv[1])
if sys.platform.startswith("linux"):
    ctypes.CDLL(None).prctl(1, int(signal.SIGTERM))
    if os.getppid() != parent:
        sys.exit(1)
os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
"""


class NodeFailedError(RuntimeError):
    """A node did not start, or stopped while it should have been serving.

    ``port_taken`` says the node could not bind its port: another process took it between the
    moment it was found free and the node's start, and a new set of ports may be tried."""

    def __init__(self, message: str, *, port_taken: bool = False) -> None:
        super().__init__(message)
        self.port_taken = port_taken


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports that are free now (held open together while chosen)."""
    with contextlib.ExitStack() as stack:
        sockets = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]


@dataclass
class Node:
    """One entity's node: its configuration file, loopback port and log file."""

    name: str
    entity_id: str
    port: int
    config: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        """Where the node listens (the loopback origin its entity id is mapped to)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        """The node's structured log (its stdout and stderr)."""
        return self.config.with_suffix(".log")

    def log_tail(self, lines: int = 20) -> str:
        """The end of the node's log, for an error message."""
        try:
            text = self.log.read_text(errors="backslashreplace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


class Nodes:
    """Start nodes, wait for their health, and stop every one of them on exit."""

    def __init__(self, nodes: list[Node]) -> None:
        self.nodes = {node.name: node for node in nodes}

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    def start(self) -> Nodes:
        """Start every node and wait until each is healthy; on any failure stop them all."""
        try:
            for node in self.nodes.values():
                self._spawn(node)
            for node in self.nodes.values():
                self._wait_healthy(node)
        except BaseException:
            self.stop_all()
            raise
        return self

    def __enter__(self) -> Nodes:
        if not any(node.process is not None for node in self.nodes.values()):
            self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop_all()

    def _spawn(self, node: Node) -> None:
        with node.log.open("ab") as log:
            node.process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _LAUNCHER,
                    str(os.getpid()),
                    "-m",
                    "tokenfed.cli",
                    "serve",
                    "--config",
                    str(node.config),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own session: a Ctrl-C in the terminal reaches the demo, which stops the
                # nodes in order, rather than every node at once.
                start_new_session=True,
            )

    def _wait_healthy(self, node: Node) -> None:
        assert node.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        with httpx.Client(timeout=1.0) as client:
            while True:
                if node.process.poll() is not None:
                    log = node.log_tail()
                    raise NodeFailedError(
                        f"the {node.name} node ({node.entity_id}) exited with status "
                        f"{node.process.returncode} at startup:\n{log}",
                        port_taken="address already in use" in log,
                    )
                try:
                    if client.get(f"{node.base_url}/healthz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise NodeFailedError(
                        f"the {node.name} node ({node.entity_id}) did not answer /healthz within "
                        f"{START_TIMEOUT:.0f} s:\n{node.log_tail()}"
                    )
                time.sleep(0.05)

    def restart(self, name: str) -> None:
        """Stop one node and start it again from its (changed) configuration file."""
        node = self.nodes[name]
        self._stop([node])
        self._spawn(node)
        self._wait_healthy(node)

    def stop_all(self) -> None:
        """SIGTERM every running node, then SIGKILL those still running after the timeout.

        A second Ctrl-C or SIGTERM meanwhile is held back until every node has stopped."""
        if not hasattr(signal, "pthread_sigmask"):  # not on Windows
            self._stop(list(self.nodes.values()))
            return
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
        try:
            self._stop(list(self.nodes.values()))
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)

    @staticmethod
    def _stop(nodes: list[Node]) -> None:
        running = [n.process for n in nodes if n.process is not None and n.process.poll() is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in running:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                process.wait()
        for node in nodes:
            node.process = None


@contextlib.contextmanager
def terminate_on_signals() -> Iterator[None]:
    """Turn SIGTERM (and SIGHUP) into KeyboardInterrupt while the block runs, so ``finally``
    blocks and ``with`` exits stop the nodes as they do on Ctrl-C."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, interrupt) for sig in _STOPPING - {signal.SIGINT}}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
