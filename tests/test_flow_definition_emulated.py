"""Flow-definition lifecycles against the SageMaker emulator (tests/emulator/sagemaker.py), played by
the CloudFormation driver to the unmodified handler: each scenario on its own, then all of them under
background chaos as the reliability report runs them."""

from __future__ import annotations

import flow_definition_scenarios
import pytest
from botocore.validate import ParamValidator
from emulator.sagemaker import ACCEPTED_REQUEST_SOURCES, OPERATIONS, SAGEMAKER_MODEL, SageMakerEmulator
from flow_definition_scenarios import FLOW_SCENARIOS, FlowScenario, flow_world, invariant_violations


@pytest.mark.parametrize("scenario", FLOW_SCENARIOS, ids=[s.id for s in FLOW_SCENARIOS])
def test_flow_definition_scenario(scenario: FlowScenario) -> None:
    with flow_world() as w:
        scenario.run(w)

        assert invariant_violations(w) == [], scenario.name


def test_every_flow_definition_scenario_under_chaos_answers_every_event_and_leaves_nothing_behind() -> None:
    outcomes = [flow_definition_scenarios.run(s, chaos=True) for s in FLOW_SCENARIOS]
    assert [o.failure for o in outcomes if not o.passed] == []
    assert len(outcomes) >= 9
    assert all(o.faults_injected > 0 for o in outcomes)
    assert sum(o.duplicates + o.left_running for o in outcomes) == 0


def test_the_emulator_serves_exactly_the_models_flow_definition_operations_in_its_protocol() -> None:
    # botocore sagemaker 2017-07-24: protocol json 1.1, target prefix SageMaker
    assert SAGEMAKER_MODEL.metadata["protocol"] == "json"
    assert set(OPERATIONS) <= set(SAGEMAKER_MODEL.operation_names)
    # the model's enum, and the Bedrock source the user guide requires
    assert ACCEPTED_REQUEST_SOURCES - set(SAGEMAKER_MODEL.shape_for("AwsManagedHumanLoopRequestSource").enum) == {"AWS/Bedrock/Evaluation"}


def test_the_emulator_refuses_a_request_source_it_does_not_know_and_a_request_botocore_would_refuse() -> None:
    import boto3

    with SageMakerEmulator() as emulator:
        client = boto3.client("sagemaker", region_name="us-east-1", endpoint_url=emulator.url, aws_access_key_id="x", aws_secret_access_key="x")
        request = flow_definition_scenarios.flow_properties()["FlowDefinition"]
        request["HumanLoopConfig"]["TaskCount"] = 1
        wrong = {**request, "HumanLoopRequestSource": {"AwsManagedHumanLoopRequestSource": "AWS/Bedrock/ModelEvaluation"}}
        with pytest.raises(client.exceptions.ClientError, match="Unsupported AwsManagedHumanLoopRequestSource"):
            client.create_flow_definition(FlowDefinitionName="probe", **wrong)
        # a name the model's pattern refuses: botocore sends it, the emulator (as the service) refuses it
        with pytest.raises(client.exceptions.ClientError, match="does not match the pattern"):
            client.create_flow_definition(FlowDefinitionName="Not_A_Name", **request)
        assert not ParamValidator().validate({"FlowDefinitionName": "Not_A_Name", **request}, SAGEMAKER_MODEL.operation_model("CreateFlowDefinition").input_shape).has_errors()
        assert client.create_flow_definition(FlowDefinitionName="probe", **request)["FlowDefinitionArn"].endswith(":flow-definition/probe")
        with pytest.raises(client.exceptions.ResourceInUse):
            client.create_flow_definition(FlowDefinitionName="probe", **request)
        with pytest.raises(client.exceptions.ResourceNotFound):
            client.describe_flow_definition(FlowDefinitionName="missing")
    assert emulator.crashes == []
