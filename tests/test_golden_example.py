"""The example app's evaluation jobs, pinned: the exact custom resource properties and the job
name the handler derives from them. A change here starts new (paid) jobs on the next deploy, so
this file changes only when that is the point of the change.

Regenerate deliberately with `python tests/test_golden_example.py --write`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # app.py, when run as a script

import handler_support  # noqa: F401  (puts the handler on sys.path)
import request as handler_request
from cfn import as_delivered, resolve, resources_of_type  # noqa: E402

import app  # noqa: E402

GOLDEN = Path(__file__).resolve().parent / "golden" / "example_jobs.json"
JOB_TYPE = "Custom::BedrockEvaluationJob"


def pinned_jobs(templates: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    pinned: dict[str, dict[str, Any]] = {}
    for stack_name, template in sorted(templates.items()):
        jobs = {}
        for logical_id, resource in sorted(resources_of_type(template, JOB_TYPE).items()):
            properties = resource["Properties"]
            spec = handler_request.job_spec(
                as_delivered(resolve(properties, template)),
                stack_id=f"arn:aws:cloudformation:us-east-1:123456789012:stack/{stack_name}/1",
                logical_id=logical_id,
            )
            jobs[logical_id] = {"Properties": properties, "JobName": spec.name}
        pinned[stack_name] = jobs
    return pinned


def test_example_jobs_keep_their_properties_and_names(example_templates):
    assert pinned_jobs(example_templates) == json.loads(GOLDEN.read_text())


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    import tempfile

    with tempfile.TemporaryDirectory() as outdir:
        assembly = app.build_app(outdir).synth()
        templates = {s.stack_name: json.loads(Path(s.template_full_path).read_text()) for s in assembly.stacks}
        GOLDEN.write_text(json.dumps(pinned_jobs(templates), indent=1, sort_keys=True) + "\n")
