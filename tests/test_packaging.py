"""The two distributions built from this repository hold what ADR 0007 says, and nothing else.

``tokenfed`` is the SDK alone; ``tokenfed-conformance`` is the suite with the specification's
vectors, schemas, text and test keys, and never depends on the SDK. Both wheels are built from
the checkout with pip's ordinary PEP 517 path (no build isolation, no index: no network).
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec"
# SHA-256 of the Apache License 2.0 text as published at
# https://www.apache.org/licenses/LICENSE-2.0.txt: LICENSE must stay that text, unmodified.
APACHE_2_0_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
REQUIREMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


class Wheel:
    """A built wheel: its member names, metadata and entry points."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with zipfile.ZipFile(path) as archive:
            self.names = sorted(archive.namelist())
            dist_info = next(n.split("/")[0] for n in self.names if ".dist-info/" in n)
            self.metadata: Message = HeaderParser().parsestr(
                archive.read(f"{dist_info}/METADATA").decode("utf-8")
            )
            self.entry_points = archive.read(f"{dist_info}/entry_points.txt").decode("utf-8")
            self.sources = {
                name: archive.read(name).decode("utf-8")
                for name in self.names
                if name.endswith(".py")
            }

    def under(self, prefix: str) -> set[str]:
        """Member names below ``prefix``, relative to it."""
        return {name[len(prefix) :] for name in self.names if name.startswith(prefix)}

    def requires(self) -> set[str]:
        """Normalised names of the distributions this wheel depends on."""
        return {
            re.sub(r"[-_.]+", "-", match.group(0)).lower()
            for line in self.metadata.get_all("Requires-Dist") or []
            if (match := REQUIREMENT_NAME.match(line))
        }


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Wheel]:
    out = tmp_path_factory.mktemp("wheels")
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INDEX="1")
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
    command += ["--no-build-isolation", "--no-index", "--wheel-dir", str(out)]
    result = subprocess.run(
        [*command, str(ROOT), str(ROOT / "conformance")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    built = {path.name.split("-")[0]: Wheel(path) for path in out.glob("*.whl")}
    assert sorted(built) == ["tokenfed", "tokenfed_conformance"], sorted(built)
    return built


def _spec_files(folder: str, pattern: str = "*.json") -> set[str]:
    return {path.name for path in (SPEC / folder).glob(pattern)}


def test_sdk_wheel_is_the_sdk_alone(wheels: dict[str, Wheel]) -> None:
    """The tokenfed wheel holds the tokenfed package with its py.typed marker, and no vectors,
    schemas, spec text, test keys, spec tools or conformance suite."""
    sdk = wheels["tokenfed"]
    packages = {name.split("/")[0] for name in sdk.names}
    assert packages == {"tokenfed", f"tokenfed-{sdk.metadata['Version']}.dist-info"}, packages
    assert "tokenfed/py.typed" in sdk.names
    assert "tokenfed/__init__.py" in sdk.names
    assert "tokenfed/cli/__main__.py" in sdk.names
    # Every file of spec/ (chapters, schemas, vectors, test keys, generators) by name.
    spec_files = {
        path.name
        for path in SPEC.rglob("*")
        if path.is_file() and path.name != "__init__.py" and "__pycache__" not in path.parts
    }
    assert {"test-keys.json", "receipts.json", "make_jws_vectors.py"} <= spec_files
    unwanted = [
        name
        for name in sdk.names
        if name.rsplit("/", 1)[-1] in spec_files
        or "test-keys" in name
        or "tokenfed_conformance" in name
        or "__pycache__" in name
    ]
    assert not unwanted, f"the SDK wheel carries files that are not the SDK: {unwanted}"


def test_sdk_wheel_metadata(wheels: dict[str, Wheel]) -> None:
    """Apache-2.0 with its licence text, the tokenfed command, no dependency on the suite."""
    sdk = wheels["tokenfed"]
    assert sdk.metadata["License-Expression"] == "Apache-2.0"
    assert sdk.metadata.get_all("License-File") == ["LICENSE"]
    assert "tokenfed = tokenfed.cli:run" in sdk.entry_points
    assert "tokenfed-conformance" not in sdk.requires()


def test_sdk_sdist_is_the_sdk_alone(tmp_path: Path) -> None:
    """The tokenfed source distribution holds the SDK, its README, change log and licence; not
    the spec folder, the test keys, the tests or the conformance suite."""
    result = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "--target", "sdist", "-d", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (sdist,) = tmp_path.glob("tokenfed-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    tops = {name.split("/")[0] for name in names}
    # hatchling adds the .gitignore it read to every sdist.
    expected = {"sdk", "README.md", "CHANGELOG.md", "LICENSE", "pyproject.toml", "PKG-INFO"}
    assert tops - {".gitignore"} == expected, tops
    assert {name.split("/")[1] for name in names if name.startswith("sdk/")} == {"tokenfed"}


def test_conformance_wheel_holds_the_spec_and_the_suite(wheels: dict[str, Wheel]) -> None:
    """Every vector file, schema and chapter of spec/, the test keys and the licence texts are
    in the conformance wheel, under tokenfed_conformance/_spec where spec_dir() looks."""
    suite = wheels["tokenfed_conformance"]
    spec = suite.under("tokenfed_conformance/_spec/")
    assert {n[len("vectors/") :] for n in spec if n.startswith("vectors/")} == _spec_files(
        "vectors"
    )
    assert {n[len("schemas/") :] for n in spec if n.startswith("schemas/")} == _spec_files(
        "schemas"
    )
    assert {n for n in spec if "/" not in n and n.endswith(".md")} == {
        path.name for path in SPEC.glob("*.md")
    } | {"LICENSE-spec.md"}
    assert "test-keys.json" in spec
    assert {"__init__.py", "vectors.py", "LICENSE"} <= suite.under("tokenfed_conformance/")
    assert not [name for name in suite.names if "__pycache__" in name or name.endswith(".pyc")]


def test_conformance_wheel_does_not_hold_or_need_the_sdk(wheels: dict[str, Wheel]) -> None:
    """The suite judges implementations without one: no tokenfed package in its wheel, no
    dependency on tokenfed, and no module of the suite imports it."""
    suite = wheels["tokenfed_conformance"]
    assert not [name for name in suite.names if name.startswith("tokenfed/")]
    assert "tokenfed" not in suite.requires()
    importers = []
    for name, source in suite.sources.items():
        if "/_spec/" in name:
            continue
        for node in ast.walk(ast.parse(source)):
            modules = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            if any(module.split(".")[0] == "tokenfed" for module in modules):
                importers.append(name)
    assert not importers, f"conformance modules importing the SDK: {importers}"


def test_conformance_wheel_metadata(wheels: dict[str, Wheel]) -> None:
    """Code under Apache-2.0, spec under CC BY 4.0, the suite's command, the SDK's version."""
    suite = wheels["tokenfed_conformance"]
    assert suite.metadata["Name"] == "tokenfed-conformance"
    assert suite.metadata["License-Expression"] == "Apache-2.0 AND CC-BY-4.0"
    assert "tokenfed-conformance = tokenfed_conformance.cli:main" in suite.entry_points
    assert suite.metadata["Version"] == wheels["tokenfed"].metadata["Version"]


def test_installed_conformance_wheel_finds_its_spec(
    wheels: dict[str, Wheel], tmp_path: Path
) -> None:
    """Unpacked on its own (no checkout, no SDK on the path), the suite loads the vectors and
    the test keys from the copy inside the wheel."""
    with zipfile.ZipFile(wheels["tokenfed_conformance"].path) as archive:
        archive.extractall(tmp_path)
    probe = (
        "import tokenfed_conformance as c, importlib.util as u; "
        "assert u.find_spec('tokenfed') is None, 'the SDK is importable'; "
        "print(c.spec_dir()); print(len(c.load_vectors('receipts').vectors)); "
        "print(sorted(c.load_test_keys()) != [])"
    )
    env = {key: value for key, value in os.environ.items() if key != "TOKENFED_SPEC_DIR"}
    env["PYTHONPATH"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found, count, has_keys = result.stdout.split()
    assert Path(found) == tmp_path / "tokenfed_conformance" / "_spec"
    assert int(count) > 0
    assert has_keys == "True"


def test_versions_agree() -> None:
    """Both manifests and the SDK's __version__ name one version: they are released together."""
    import tokenfed

    sdk = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    suite = tomllib.loads((ROOT / "conformance" / "pyproject.toml").read_text(encoding="utf-8"))
    assert sdk["project"]["version"] == tokenfed.__version__
    assert suite["project"]["version"] == tokenfed.__version__


def test_licence_is_the_verbatim_apache_2_0_text() -> None:
    """LICENSE is the Apache License 2.0, byte for byte as the ASF publishes it."""
    assert hashlib.sha256((ROOT / "LICENSE").read_bytes()).hexdigest() == APACHE_2_0_SHA256
