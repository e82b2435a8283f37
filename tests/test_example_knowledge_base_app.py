"""examples/knowledge-base-app: an app outside the library, with the package installed from its wheel
into a virtual environment of its own, synthesizes a knowledge base with an evaluation job next to it."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "knowledge-base-app"


def test_the_example_app_synthesizes_with_the_package_installed_from_its_wheel(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--quiet", "--disable-pip-version-check", "-w", str(tmp_path / "dist")],
        check=True,
    )
    (wheel,) = (tmp_path / "dist").glob("bedrock_evaluation_cdk-*.whl")
    venv = tmp_path / ".venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], check=True, capture_output=True, text=True
    ).stdout.strip()
    # aws-cdk-lib and the other dependencies from this environment (after the venv's own packages), so the
    # test needs no index; the package itself only from the wheel.
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", str(wheel)], check=True)

    outdir = tmp_path / "cdk.out"
    env = {"PATH": "/usr/bin:/bin", "CDK_OUTDIR": str(outdir), "HOME": str(tmp_path)}
    where = subprocess.run(
        [str(python), "-c", "import bedrock_evaluation; print(bedrock_evaluation.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=EXAMPLE,
        env=env,
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), where
    subprocess.run([str(python), "app.py"], check=True, cwd=EXAMPLE, env=env, capture_output=True)

    template = json.loads((outdir / "SupportKnowledgeBase.template.json").read_text())
    types = {resource["Type"] for resource in template["Resources"].values()}
    assert {"AWS::Bedrock::KnowledgeBase", "Custom::BedrockEvaluationJob", "Custom::BedrockKnowledgeBaseIngestion"} <= types
    (job,) = [r for r in template["Resources"].values() if r["Type"] == "Custom::BedrockEvaluationJob"]
    rag = job["Properties"]["Request"]["inferenceConfig"]["ragConfigs"][0]["knowledgeBaseConfig"]
    assert "retrieveAndGenerateConfig" in rag
    assert any(key.startswith("Ingestion") for key in job.get("DependsOn", [])), job.get("DependsOn")
