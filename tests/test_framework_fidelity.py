"""The driver answers as the CDK Provider framework does: checked against the framework's own
code. aws-cdk-lib's framework.js and cfn-response.js (the files a synth copies into cdk.out) run
under Node with their outbound calls stubbed (tests/framework_harness.js), given the same handler
answers as the driver; their response bodies must be the driver's, byte for byte, once the
framework's directory is named /var/task as in Lambda."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import aws_cdk
import pytest
from handler_support import make_event, valid_properties
from lifecycle_driver import IS_COMPLETE_FUNCTION, ON_EVENT_FUNCTION, framework_reason, response_body

RUNTIME = "package/custom-resources/lib/provider-framework/runtime/"
HARNESS = Path(__file__).resolve().parent / "framework_harness.js"


@pytest.fixture(scope="module")
def framework(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The provider framework's runtime, from the jsii bundle of the installed aws-cdk-lib."""
    bundle = next((Path(aws_cdk.__file__).parent / "_jsii").glob("aws-cdk-lib@*.jsii.tgz"))
    target = tmp_path_factory.mktemp("framework")
    with tarfile.open(bundle) as archive:
        for member in archive.getmembers():
            if member.name.startswith(RUNTIME) and member.name.endswith(".js"):
                member.name = member.name[len(RUNTIME) :]
                archive.extract(member, target, filter="data")
    assert (target / "framework.js").is_file()
    return target


def run_framework(framework: Path, entry: str, event: dict[str, Any], reply: dict[str, Any]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    assert node is not None, "Node is needed to run the Provider framework's code (make setup installs it)"
    given = {"entry": entry, "event": event, "reply": reply, "onEventFunction": ON_EVENT_FUNCTION,
             "isCompleteFunction": IS_COMPLETE_FUNCTION}
    done = subprocess.run([node, str(HARNESS), str(framework)], input=json.dumps(given), capture_output=True,
                          text=True, check=True)
    return [{**s, "body": s["body"].replace(str(framework), "/var/task")} if "body" in s else s
            for s in json.loads(done.stdout)]


def python_error(message: str) -> dict[str, Any]:
    """How Lambda reports an exception of a Python function."""
    payload = {"errorMessage": message, "errorType": "JobError", "requestId": "x", "stackTrace": ["  File x"]}
    return {"FunctionError": "Unhandled", "Payload": json.dumps(payload)}


@pytest.mark.parametrize(("entry", "framework_entry"), [("on_event", "onEvent"), ("is_complete", "isComplete")])
def test_a_handler_error_is_answered_with_the_reason_the_framework_sends(framework, entry, framework_entry) -> None:
    event = make_event("Delete", physical_id="arn:aws:bedrock:us-east-1:123456789012:evaluation-job/abcdef012345")
    message = 'evaluation job x: "quoted" and ünïcode'

    sent = run_framework(framework, framework_entry, event, python_error(message))

    assert sent[-1]["type"] == "response"
    assert sent[-1]["body"] == response_body("FAILED", event, framework_reason(entry, message))


def test_a_failed_create_is_answered_under_the_marker(framework) -> None:
    event = make_event("Create")

    sent = run_framework(framework, "onEvent", event, python_error("no"))

    body = json.loads(sent[-1]["body"])
    assert body["PhysicalResourceId"] == "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"


def test_on_event_answers_are_merged_into_the_event_the_waiter_starts_with(framework) -> None:
    event = make_event("Update", properties=valid_properties(), old_properties=valid_properties(), physical_id="old")
    answer = {"PhysicalResourceId": "new", "ResourceProperties": {"Removal": "stop"}, "OldResourceProperties": {}}

    sent = run_framework(framework, "onEvent", event, {"Payload": json.dumps(answer)})

    # the answer replaces the event's members: the driver's merge, `{**event, **answer}`
    assert sent[-1]["type"] == "startExecution"
    assert json.loads(sent[-1]["input"]) == {**event, **answer}
