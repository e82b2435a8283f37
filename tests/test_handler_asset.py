"""The handler's Lambda asset stands on its own: the handler's files, the contract and the results
reader under the names the handler imports them by, and the bundled Bedrock model; nothing else of
this package, no CDK."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bedrock_evaluation.handler_asset import build_asset
from bedrock_evaluation.service_model import service_model_dir

# Run inside the asset: import the handler the way Lambda does, then say what got loaded.
PROBE = """
import json, os, sys
import index
import bedrock, bedrock_evaluation
import bedrock_evaluation.results
bedrock.create_input_shape()
print(json.dumps({
    "package": bedrock_evaluation.__file__,
    "results": bedrock_evaluation.results.__file__,
    "data_path": os.environ.get("AWS_DATA_PATH"),
    "cdk": sorted(m for m in sys.modules if m.split(".")[0] in ("aws_cdk", "jsii", "constructs")),
}))
"""


def test_the_built_asset_imports_with_its_own_contract_results_reader_and_model_and_without_the_cdk(tmp_path: Path) -> None:
    # given the asset as the construct builds it
    build_asset(tmp_path)

    # when a fresh Python imports the handler with the asset first on its path (so the asset's
    # bedrock_evaluation shadows the installed package)
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        env={**{k: v for k, v in os.environ.items() if k != "AWS_DATA_PATH"}, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )

    # then the import succeeds, the contract and the results reader come from the asset (the only
    # modules of the package it carries), the model is the bundled one, and no CDK code was loaded
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert sorted(p.name for p in (tmp_path / "bedrock_evaluation").glob("*.py")) == ["__init__.py", "contract.py", "results.py"]
    assert Path(loaded["package"]).resolve() == (tmp_path / "bedrock_evaluation" / "__init__.py").resolve()
    assert Path(loaded["results"]).resolve() == (tmp_path / "bedrock_evaluation" / "results.py").resolve()
    assert Path(loaded["data_path"]).resolve() == (tmp_path / "data").resolve()
    assert loaded["cdk"] == []


SAGEMAKER_PROBE = """
import json
import bedrock
from botocore.validate import ParamValidator
model = bedrock.botocore.session.get_session().get_service_model("sagemaker")
shape = model.operation_model("CreateFlowDefinition").input_shape
request = json.loads(REQUEST)
print(json.dumps({"operations": sorted(model.operation_names), "errors": ParamValidator().validate(request, shape).generate_report()}))
"""
FLOW_REQUEST = {
    "FlowDefinitionName": "eval-review-flow-0123456789",
    "RoleArn": "arn:aws:iam::123456789012:role/review",
    "HumanLoopRequestSource": {"AwsManagedHumanLoopRequestSource": "AWS/Bedrock/Evaluation"},
    "HumanLoopConfig": {
        "WorkteamArn": "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/reviewers",
        "HumanTaskUiArn": "arn:aws:sagemaker:us-east-1:394669845002:human-task-ui/Evaluation",
        "TaskTitle": "Compare two answers",
        "TaskDescription": "Rate each answer",
        "TaskCount": 1,
    },
    "OutputConfig": {"S3OutputPath": "s3://results/human-reviews/"},
}


def test_the_asset_carries_only_the_sagemaker_operations_the_handler_calls_and_they_still_validate(tmp_path: Path) -> None:
    build_asset(tmp_path)
    probe = SAGEMAKER_PROBE.replace("REQUEST", repr(json.dumps(FLOW_REQUEST)))
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={**{k: v for k, v in os.environ.items() if k != "AWS_DATA_PATH"}, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {"operations": ["CreateFlowDefinition", "DeleteFlowDefinition", "DescribeFlowDefinition"], "errors": ""}
    model = tmp_path / "data" / "sagemaker"
    assert sum(f.stat().st_size for f in model.rglob("*.json")) < 100_000, "a few shapes, not SageMaker's whole model"


def test_synth_checks_requests_against_the_model_the_asset_bundles(tmp_path: Path, monkeypatch) -> None:
    # given a model of the user's own in AWS_DATA_PATH, which a botocore session would prefer
    from bedrock_evaluation import service_model

    custom = tmp_path / "bedrock" / "2099-01-01"
    custom.mkdir(parents=True)
    (custom / "service-2.json").write_text(json.dumps({"metadata": {"apiVersion": "2099-01-01"}, "operations": {}, "shapes": {}}))
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    service_model.service_model.cache_clear()
    try:
        # when synth reads the model it checks CreateEvaluationJob against
        model = service_model.service_model("bedrock")
        # then it is botocore's own newest model, the one the handler asset carries
        # (service_model.service_model_dir, which build_asset copies), not the user's
        bundled = service_model_dir("bedrock")
        assert model.api_version == bundled.name
        assert "CreateEvaluationJob" in model.operation_names
    finally:
        service_model.service_model.cache_clear()
