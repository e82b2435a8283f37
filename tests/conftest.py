"""Shared fixtures: synthesized stacks and the example app's template."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # app.py
sys.path.insert(0, str(Path(__file__).resolve().parent))  # test helpers
sys.path.insert(0, str(ROOT / "lambda" / "evaluation_job"))  # the handler's modules, as Lambda imports them
# The scenario modules' own assertions report their values, whichever test module imports them first.
pytest.register_assert_rewrite("lifecycle_driver", "lifecycle_scenarios", "flow_definition_scenarios", "results_scenarios")


@pytest.fixture(scope="session")
def example_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Every stack template of the example app, synthesized once for the session."""
    import app

    outdir = tmp_path_factory.mktemp("example")
    assembly = app.build_app(str(outdir)).synth()
    return {stack.stack_name: json.loads(Path(stack.template_full_path).read_text()) for stack in assembly.stacks}


@pytest.fixture(scope="session")
def model_template(example_templates: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return example_templates["BedrockModelEvaluation"]


@pytest.fixture
def stack() -> cdk.Stack:
    """A fresh env-agnostic stack for one construct configuration."""
    return cdk.Stack(cdk.App(), "Eval")


# --- the handler tests' Bedrock client and clock --------------------------------------------------


@pytest.fixture
def bedrock_api() -> Iterator[Any]:
    """EvaluationJobs over a Stubber-answered client; every queued answer must be used."""
    from handler_support import stubbed_jobs

    with stubbed_jobs() as stubbed:
        yield stubbed


@pytest.fixture
def clock() -> Any:
    """Time that moves only when the handler sleeps."""
    from handler_support import FakeClock

    return FakeClock()


# --- a local S3 -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def local_s3_server() -> Iterator[Any]:
    """moto's S3 on 127.0.0.1, one server for the session (it starts in milliseconds, but tests need not wait)."""
    from local_s3 import LocalS3

    with LocalS3() as s3:
        yield s3


@pytest.fixture
def local_s3(local_s3_server: Any) -> Any:
    """The session's LocalS3, empty (no buckets, no objects) and with no faults planned."""
    local_s3_server.reset()
    return local_s3_server
