"""The example app: what `make synth` produces, checked as a reviewer and as CloudFormation would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from botocore.validate import ParamValidator
from cfn import as_delivered, resolve, resources_of_type

import app
from bedrock_evaluation import contract
from bedrock_evaluation.service_model import input_shape

HANDLER_DIR = Path(__file__).resolve().parents[1] / "lambda" / "evaluation_job"
if str(HANDLER_DIR) not in sys.path:
    sys.path.insert(0, str(HANDLER_DIR))

import request as handler_request  # noqa: E402  (the handler's own module)

JOB_TYPE = contract.RESOURCE_TYPE


def jobs_of(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources_of_type(template, JOB_TYPE)


def test_one_custom_resource_per_job_and_one_provider_for_all(model_template):
    jobs = jobs_of(model_template)
    assert sorted(k[:-8] for k in jobs) == ["BoolQAccuracy", "LocalQaAccuracy", "LocalQaJudge", "NovaHeadToHead"]
    tokens = {json.dumps(job["Properties"]["ServiceToken"]) for job in jobs.values()}
    assert len(tokens) == 1, "every job uses the same provider"
    assert len(resources_of_type(model_template, "AWS::StepFunctions::StateMachine")) == 1
    handlers = [
        f["Properties"]["Handler"]
        for f in resources_of_type(model_template, "AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") in ("index.on_event", "index.is_complete")
    ]
    assert sorted(handlers) == ["index.is_complete", "index.on_event"]


def test_every_request_passes_botocore_validation_once_tokens_have_values(model_template):
    for logical_id, job in jobs_of(model_template).items():
        request = resolve(job["Properties"][contract.PROP_REQUEST], model_template)
        report = ParamValidator().validate({"jobName": "example-0123456789", **request}, input_shape())
        assert not report.has_errors(), f"{logical_id}: {report.generate_report()}"


def test_the_handler_reads_back_exactly_the_request_the_construct_wrote(model_template):
    """The contract: property names and value encoding cannot drift between the two sides."""
    names = contract
    for logical_id, job in jobs_of(model_template).items():
        properties = resolve(job["Properties"], model_template)
        assert set(properties) - {"ServiceToken", "ServiceTimeout"} == {
            names.PROP_REQUEST,
            names.PROP_JOB_NAME_PREFIX,
            names.PROP_REMOVAL,
        }
        spec = handler_request.job_spec(
            as_delivered(properties),
            stack_id="arn:aws:cloudformation:us-east-1:123456789012:stack/Eval/1",
            logical_id=logical_id,
        )
        sent = dict(spec.request)
        assert sent.pop("jobName").startswith(properties[names.PROP_JOB_NAME_PREFIX] + "-")
        assert sent == properties[names.PROP_REQUEST], logical_id


def test_the_human_job_routes_through_the_stacks_flow_definition_which_the_handler_reads_back(model_template):
    import flow_definition as handler_flow_definition  # the handler's own module

    (flow_id, flow), = resources_of_type(model_template, contract.FLOW_DEFINITION_RESOURCE_TYPE).items()
    (job,) = [j for k, j in jobs_of(model_template).items() if k.startswith("NovaHeadToHead")]
    human = job["Properties"]["Request"]["evaluationConfig"]["human"]
    assert human["humanWorkflowConfig"]["flowDefinitionArn"] == {"Fn::GetAtt": [flow_id, contract.ATTR_FLOW_DEFINITION_ARN]}
    assert [(m["name"], m["ratingMethod"]) for m in human["customMetrics"]] == [
        ("Helpfulness", "IndividualLikertScale"),
        ("Preference", "ComparisonChoice"),
    ]
    assert len(job["Properties"]["Request"]["inferenceConfig"]["models"]) == 2
    # as CloudFormation delivers it, the handler restores the numbers and names it; botocore accepts it
    spec = handler_flow_definition.flow_spec(
        as_delivered(resolve(flow["Properties"], model_template)),
        stack_id="arn:aws:cloudformation:us-east-1:123456789012:stack/BedrockModelEvaluation/1",
        logical_id=flow_id,
    )
    assert spec.request["HumanLoopConfig"]["TaskTimeLimitInSeconds"] == 1800
    shape = handler_flow_definition.flow_definition_input_shape()
    report = ParamValidator().validate({"FlowDefinitionName": spec.name, **spec.request}, shape)
    assert not report.has_errors(), report.generate_report()


def test_judge_job_names_its_evaluator_and_reads_the_uploaded_dataset(model_template):
    (judge,) = [j for k, j in jobs_of(model_template).items() if k.startswith("LocalQaJudge")]
    request = resolve(judge["Properties"]["Request"], model_template)
    automated = request["evaluationConfig"]["automated"]
    assert automated["evaluatorModelConfig"] == {
        "bedrockEvaluatorModels": [{"modelIdentifier": app.JUDGE_MODEL}]
    }
    location = automated["datasetMetricConfigs"][0]["dataset"]["datasetLocation"]["s3Uri"]
    assert location.startswith("s3://") and "/datasets/" in location and location.endswith("/qa.jsonl")


def test_jobs_wait_for_their_role_policy_and_their_dataset_upload(model_template):
    for logical_id, job in jobs_of(model_template).items():
        depends = job.get("DependsOn", [])
        policies = [d for d in depends if model_template["Resources"][d]["Type"] == "AWS::IAM::Policy"]
        # A role the job created holds its policy inline: the roleArn reference orders the job after it.
        role = model_template["Resources"][job["Properties"]["Request"]["roleArn"]["Fn::GetAtt"][0]]
        assert policies or role["Properties"].get("Policies"), f"{logical_id} must depend on its service role's policy"
        uploads = [d for d in depends if model_template["Resources"][d]["Type"] == "Custom::CDKBucketDeployment"]
        uses_file = "datasetLocation" in json.dumps(job["Properties"]["Request"])
        assert bool(uploads) == uses_file, f"{logical_id}: depends on the upload exactly when it reads one"


def test_stack_outputs_give_each_jobs_arn_results_and_console_link(model_template):
    outputs = model_template["Outputs"]
    for name in ("BoolQAccuracy", "LocalQaAccuracy", "LocalQaJudge"):
        assert {f"{name}Arn", f"{name}Results", f"{name}Console"} <= set(outputs)


def test_two_synths_give_byte_identical_templates(tmp_path):
    """No timestamps, random values or machine paths: a no-op deploy starts no new job."""
    first = app.build_app(str(tmp_path / "one")).synth()
    second = app.build_app(str(tmp_path / "two")).synth()
    for a, b in zip(first.stacks, second.stacks, strict=True):
        assert Path(a.template_full_path).read_bytes() == Path(b.template_full_path).read_bytes()
        assert str(tmp_path) not in Path(a.template_full_path).read_text()


def test_cfn_lint_finds_nothing(example_templates, tmp_path):
    for name, template in example_templates.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(template))
        result = subprocess.run(
            [str(Path(sys.executable).parent / "cfn-lint"), str(path)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
