"""`bedrock-evaluation-summary`: what `make synth` prints about the example app's jobs."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest

from bedrock_evaluation import summary

ROOT = Path(__file__).resolve().parents[1]
ASSET_LINE = re.compile(r"^handler asset asset\.[0-9a-f]{64}: \d+ files, \d+ KiB unzipped \(\d+ KiB of it the bundled Bedrock service model\)$")


@pytest.fixture(scope="module")
def example_outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import app

    outdir = tmp_path_factory.mktemp("cdk.out")
    # As `cdk synth` runs the app: with cdk.json's feature flags, and version reporting (each stack's CDKMetadata).
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app.cdk, "App", functools.partial(cdk.App, analytics_reporting=True, context=context))
        app.build_app(str(outdir)).synth()
    return outdir


def test_the_summary_of_the_example_app_is_the_one_make_synth_has_always_printed(example_outdir: Path) -> None:
    """tests/golden/example_summary.txt is the output of the script this command replaced, with the
    output directory and the handler asset's hash and sizes (which change with the handler) masked."""
    printed = subprocess.run(
        [sys.executable, "-m", "bedrock_evaluation.summary", str(example_outdir)], check=True, capture_output=True, text=True
    ).stdout
    lines = printed.replace(f"{example_outdir}/", "<outdir>/").splitlines()
    assert ASSET_LINE.match(lines[-1]), lines[-1]
    expected = (ROOT / "tests" / "golden" / "example_summary.txt").read_text().splitlines()
    assert lines[:-1] == expected[:-1]


def test_each_job_of_the_templates_is_summarized_with_its_kind(example_outdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert summary.main([str(example_outdir)]) == 0
    printed = capsys.readouterr().out
    jobs = 0
    for template_file in example_outdir.glob("*.template.json"):
        resources = json.loads(template_file.read_text())["Resources"]
        for logical_id, resource in resources.items():
            if resource["Type"] == "Custom::BedrockEvaluationJob":
                jobs += 1
                assert f"  {logical_id}: {summary.kind(resource['Properties']['Request'])}, name " in printed
    assert f"\n{jobs} evaluation job(s) in all\n" in printed and jobs == 6


def test_an_assembly_without_stacks_has_no_jobs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"artifacts": {}}))
    assert summary.main([str(tmp_path)]) == 0
    assert capsys.readouterr().out == "0 evaluation job(s) in all\n"


def test_make_synth_prints_it_with_the_installed_command() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "\t$(VENV)/bin/bedrock-evaluation-summary cdk.out\n" in makefile
    assert 'bedrock-evaluation-summary = "bedrock_evaluation.summary:main"' in (ROOT / "pyproject.toml").read_text()
