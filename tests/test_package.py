"""The wheel users install: its license and what it carries."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--quiet", "--disable-pip-version-check", "-w", str(out)],
        check=True,
    )
    (built,) = out.glob("bedrock_evaluation_cdk-*.whl")
    return built


def _dist_info(archive: zipfile.ZipFile, name: str) -> str:
    (path,) = [p for p in archive.namelist() if p.endswith(f".dist-info/{name}")]
    return archive.read(path).decode()


def test_the_wheel_declares_apache_2_and_carries_the_license_text(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        metadata = _dist_info(archive, "METADATA")
        license_text = _dist_info(archive, "licenses/LICENSE")
    assert "License-Expression: Apache-2.0" in metadata.splitlines()
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    assert license_text == (ROOT / "LICENSE").read_text()


def test_the_wheel_carries_the_handler(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        assert "bedrock_evaluation/_lambda/evaluation_job/index.py" in archive.namelist()


def test_the_wheel_installs_the_summary_command(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        entry_points = _dist_info(archive, "entry_points.txt")
    assert "bedrock-evaluation-summary = bedrock_evaluation.summary:main" in entry_points.splitlines()


def test_the_changelog_states_the_versioning_promise_and_its_tests_exist() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "never changes an existing job's request or its name" in changelog
    for test in ("tests/test_golden_example.py", "tests/test_handler_names_golden.py"):
        assert f"`{test}`" in changelog and (ROOT / test).is_file()


def test_pip_install_of_the_checkout_gives_a_package_that_imports_with_its_handler(tmp_path: Path) -> None:
    """The README's `pip install /path/to/this/checkout`, into a fresh virtual environment (its
    dependencies taken from this one)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], check=True, capture_output=True, text=True
    ).stdout.strip()
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")  # this environment's packages, after its own
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", str(ROOT)], check=True)
    where = subprocess.run(
        [str(python), "-c", "import bedrock_evaluation, pathlib; print(pathlib.Path(bedrock_evaluation.__file__).parent)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout.strip()
    package = Path(where)
    assert package.is_relative_to(venv)
    assert (package / "_lambda" / "evaluation_job" / "index.py").is_file()
    (tmp_path / "empty.out").mkdir()
    (tmp_path / "empty.out" / "manifest.json").write_text('{"artifacts": {}}')
    printed = subprocess.run(
        [str(venv / "bin" / "bedrock-evaluation-summary"), str(tmp_path / "empty.out")], check=True, capture_output=True, text=True
    ).stdout
    assert printed == "0 evaluation job(s) in all\n"
