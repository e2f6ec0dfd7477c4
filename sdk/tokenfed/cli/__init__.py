"""The ``tokenfed`` command line.

Exit status: 0 on success; 1 when the input is rejected, with one JSON object
``{"error": code, "message": ...}`` on standard error (CONV-050); 2 when the command line itself
is wrong (code ``invalid_arguments``). No traceback reaches the user; set ``TOKENFED_DEBUG=1`` to
see one for an ``internal_error``.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from ..errors import InternalError, InvalidArgumentsError, TokenfedError
from ._parser import build_parser, command_word

__all__ = ["main", "run"]

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2


def _report(error: TokenfedError) -> None:
    sys.stderr.write(json.dumps(error.to_json(), ensure_ascii=False) + "\n")


def _check_utf8(argv: Sequence[str]) -> None:
    """Every argument is UTF-8 text: bytes that are not reach Python as lone surrogates, which
    no document may hold (CONV-010), so they are refused here, naming the argument."""
    for position, argument in enumerate(argv, 1):
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:
            shown = argument.encode("utf-8", "backslashreplace").decode("ascii", "replace")
            raise InvalidArgumentsError(
                f"argument {position} ({shown[:80]}) is not UTF-8 text; tokenfed takes UTF-8 "
                "arguments, file names included"
            ) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    if argv is None:
        argv = sys.argv[1:]
    try:
        _check_utf8(argv)
        parser = build_parser(command_word(argv))
        args = parser.parse_args(argv)
        from ._io import check_outputs

        check_outputs(args)
        status: int = args.handler(args)
    except InvalidArgumentsError as exc:
        _report(exc)
        return EXIT_USAGE
    except TokenfedError as exc:
        _report(exc)
        return EXIT_REJECTED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        if os.environ.get("TOKENFED_DEBUG"):
            traceback.print_exc()
        _report(InternalError(f"unexpected {type(exc).__name__}: {exc}"))
        return EXIT_REJECTED
    return status


def run() -> NoReturn:
    """The ``tokenfed`` program: :func:`main` on the process's arguments, then exit with its
    status.

    What is left at exit is first frozen out of the garbage collector (``gc.freeze``): the
    interpreter's last collections would otherwise walk every object the SDK built (its models,
    parsers and caches), about 0.1 s of every command's exit, only to find what the end of the
    process frees anyway. Files, ledgers and worker processes are closed by then; ``atexit``
    handlers still run and standard output is still flushed by the interpreter.
    """
    status = main()
    gc.freeze()
    sys.exit(status)
