"""cfn-lint on every template of the security matrix, and checkov (in its own virtual environment,
.venv-checkov, made by `make test`) on the example and three matrix templates that together hold
every kind of resource the constructs create. Acknowledgements are per resource, in its
Metadata, with the reasons of compliance.py; a copy of a template without them shows that each
one answers a warning or failed check that is really there."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from test_security_nag import example, matrix

from bedrock_evaluation.compliance import RESOURCE_FINDINGS

ROOT = Path(__file__).resolve().parents[1]
CFN_LINT = Path(sys.executable).parent / "cfn-lint"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
# Provider, evaluation and access-log buckets, dataset upload, three jobs | a human job on the
# user's own role (CORS, human loops) | a customer managed key | a raw request's S3 prefixes |
# a work team, a flow definition and its SageMaker role.
CHECKOV_TEMPLATES = ("plain-role-human-job", "customer-managed-key", "raw-request-prefixes", "human-flow-definition")


def cfn_lint(paths: list[Path]) -> list[dict[str, Any]]:
    """All matches, the templates linted in two processes at once (one per core)."""
    halves = [paths[0::2], paths[1::2]]
    runs = [
        subprocess.Popen([str(CFN_LINT), "--format", "json", *map(str, half)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for half in halves
        if half
    ]
    matches = []
    for run in runs:
        stdout, stderr = run.communicate()
        assert stdout.strip() or run.returncode == 0, stderr
        matches += json.loads(stdout or "[]")
    return matches


def without_metadata(path: Path, directory: Path, key: str) -> Path:
    """A copy of the template without our metadata under key, everything else unchanged."""
    template = json.loads(path.read_text())
    for resource in template["Resources"].values():
        resource.get("Metadata", {}).pop(key, None)
    copy = directory / f"unskipped-{path.name}"
    copy.write_text(json.dumps(template))
    return copy


def test_cfn_lint_finds_nothing_in_any_template_and_every_ignore_answers_a_real_warning(tmp_path):
    example_path = example()[2]["BedrockModelEvaluation"]
    paths = [*matrix().paths.values(), example_path]
    assert len(paths) > 30
    matches = cfn_lint([*paths, without_metadata(example_path, tmp_path, "cfn-lint")])
    findings = [f"{Path(m['Filename']).name}: {m['Rule']['Id']} {m['Message']}" for m in matches if "unskipped-" not in m["Filename"]]
    assert findings == []
    without = {(m["Location"]["Path"][1], m["Rule"]["Id"]) for m in matches if "unskipped-" in m["Filename"]}
    template = json.loads(example_path.read_text())
    ignored = {
        (logical_id, rule)
        for logical_id, resource in template["Resources"].items()
        for rule in resource.get("Metadata", {}).get("cfn-lint", {}).get("config", {}).get("ignore_checks", [])
    }
    assert ignored and sorted(without) == sorted(ignored)


def checkov(paths: list[Path]) -> dict[str, Any]:
    """One checkov run over all the templates (it starts slowly)."""
    assert CHECKOV.is_file(), f"{CHECKOV} is missing: `make test` sets up .venv-checkov"
    args = [arg for path in paths for arg in ("-f", str(path))]
    run = subprocess.run(
        [str(CHECKOV), "--framework", "cloudformation", "--skip-download", "-o", "json", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.stdout.strip(), run.stderr
    report = json.loads(run.stdout)
    (cloudformation,) = report if isinstance(report, list) else [report]
    return cloudformation


def annotated_skips(path: Path) -> set[tuple[str, str, str]]:
    template = json.loads(path.read_text())
    return {
        (path.name, logical_id, skip["id"])
        for logical_id, resource in template["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }


def test_checkov_fails_no_check_and_every_skip_answers_a_real_failure(tmp_path):
    """The templates as synthesized: nothing fails, every skip carries its reason from the table.
    The same templates without our skips: exactly the skipped checks fail, on exactly those resources."""
    paths = [*example()[2].values(), *(matrix().paths[name] for name in CHECKOV_TEMPLATES)]
    copies = [without_metadata(path, tmp_path, "checkov") for path in paths]
    report = checkov([*paths, *copies])
    assert report["summary"]["parsing_errors"] == 0
    results = report["results"]

    def file_of(check: dict[str, Any]) -> str:
        return Path(check["file_path"]).name

    failed = [f"{file_of(c)}: {c['check_id']} {c['resource']}" for c in results["failed_checks"] if not file_of(c).startswith("unskipped-")]
    assert failed == []
    reasons = {rule: f.reason for f in RESOURCE_FINDINGS for rule in f.rules if rule.startswith("CKV")}
    for check in results["skipped_checks"]:
        assert check["check_result"].get("suppress_comment") == reasons[check["check_id"]], check["check_id"]

    without = {
        (file_of(c).removeprefix("unskipped-"), c["resource"].split(".", 1)[1], c["check_id"])
        for c in results["failed_checks"]
        if file_of(c).startswith("unskipped-")
    }
    annotated = set().union(*(annotated_skips(path) for path in paths))
    assert len(annotated) > 40
    assert sorted(without) == sorted(annotated)
    assert {check for *_, check in annotated} == set(reasons), "every checkov rule of the table is needed"
