"""Compile ``tokenfed/_hot.py`` with mypyc into ``tokenfed/_hotc`` in place (ADR 0010).

Run by ``make`` when it installs the environment. The source is copied to a scratch package
as ``tokenfed/_hotc.py`` with the SHA-256 of the source appended (``SOURCE_DIGEST``), compiled
there, and the extension moved next to ``_hot.py`` (gitignored). ``tokenfed._compiled`` loads it
only while the digest matches, so an edited source is never shadowed by a stale build.

A failed build is reported and leaves no extension behind: the pure-Python module is then used.
Exit status 0 either way, unless ``--strict`` is given.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent / "tokenfed"
SOURCE = PACKAGE / "_hot.py"


def build() -> list[Path]:
    """Build the extension (a shim and the compiled code); return their paths."""
    text = SOURCE.read_bytes()
    digest = hashlib.sha256(text).hexdigest()
    for stale in PACKAGE.glob("_hotc*"):
        stale.unlink()
    with tempfile.TemporaryDirectory(prefix="tokenfed-hot-") as scratch:
        package = Path(scratch) / "tokenfed"
        package.mkdir()
        (package / "__init__.py").write_text("", encoding="ascii")
        (package / "_hotc.py").write_bytes(
            text + f'\nSOURCE_DIGEST: Final = "{digest}"\n'.encode("ascii")
        )
        subprocess.run(
            [sys.executable, "-m", "mypyc", "tokenfed/_hotc.py"],
            cwd=scratch,
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=300,
        )
        built = [*package.glob("_hotc*.so"), *package.glob("_hotc*.pyd")]
        if not any(path.name.startswith("_hotc.") for path in built):
            raise RuntimeError(f"mypyc gave no extension module _hotc: {built}")
        # The shim module last: until it is in place nothing loads the compiled code.
        built.sort(key=lambda path: path.name.startswith("_hotc."))
        targets = []
        for path in built:
            target = PACKAGE / path.name
            partial = target.with_name(target.name + ".partial")
            partial.write_bytes(path.read_bytes())
            os.replace(partial, target)
            targets.append(target)
    return targets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--strict", action="store_true", help="exit 1 if the build fails")
    args = parser.parse_args()
    start = time.monotonic()
    try:
        targets = build()
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        print(
            f"build_hot: the compiled module was not built ({exc}); the pure-Python module is used",
            file=sys.stderr,
        )
        return 1 if args.strict else 0
    names = ", ".join(target.name for target in targets)
    print(f"build_hot: built {names} in {time.monotonic() - start:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
