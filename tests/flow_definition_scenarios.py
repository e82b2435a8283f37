"""Whole custom-resource lifecycles of a human evaluation's flow definition, against the SageMaker
emulator: CloudFormation's events (`lifecycle_driver.CloudFormation`, async Provider framework) to
the unmodified handler, whose real boto3 SageMaker client talks HTTP to `emulator.SageMakerEmulator`.
Each scenario asserts on the flow definitions the emulator holds afterwards, and ends with its
stack deleted. The tests (tests/test_flow_definition_emulated.py) and the reliability report run
these same functions, the report under background chaos.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import bedrock
import boto3
import index
from emulator import fast_retries, total_attempts
from emulator.sagemaker import ACTIVE, DELETING, FAILED, GONE, FlowDefinition, SageMakerEmulator
from lifecycle_driver import CloudFormation, VirtualClock
from lifecycle_scenarios import Outcome, played

from bedrock_evaluation.contract import BEDROCK_HUMAN_LOOP_REQUEST_SOURCE, FLOW_DEFINITION_RESOURCE_TYPE

BOTOCORE_ATTEMPTS = total_attempts(bedrock.CLIENT_CONFIG)
LOGICAL_ID = "ReviewFlow"
ROLE_ARN = "arn:aws:iam::123456789012:role/review-flow"


def flow_properties(task_count: int = 1) -> dict[str, Any]:
    """A HumanFlowDefinition's resource properties, as CloudFormation delivers them (numbers as strings)."""
    return {
        "FlowDefinition": {
            "HumanLoopRequestSource": {"AwsManagedHumanLoopRequestSource": BEDROCK_HUMAN_LOOP_REQUEST_SOURCE},
            "HumanLoopConfig": {
                "WorkteamArn": "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/reviewers",
                "HumanTaskUiArn": "arn:aws:sagemaker:us-east-1:394669845002:human-task-ui/Evaluation",
                "TaskTitle": "Amazon Bedrock model evaluation",
                "TaskDescription": "Rate the model responses to each prompt.",
                "TaskCount": str(task_count),
            },
            "OutputConfig": {"S3OutputPath": "s3://evaluation-bucket/human-reviews/eval-review-flow/"},
            "RoleArn": ROLE_ARN,
        },
        "NamePrefix": "eval-review-flow",
    }


@dataclass
class FlowWorld:
    emulator: SageMakerEmulator
    cfn: CloudFormation
    clock: VirtualClock

    @property
    def service(self) -> Any:
        return self.emulator.flow_service

    def made(self) -> list[FlowDefinition]:
        return list(self.service.created)

    def only(self) -> FlowDefinition:
        made = self.made()
        assert len(made) == 1, f"expected one flow definition, SageMaker holds {[f.name for f in made]}"
        return made[0]

    def duplicates(self) -> int:
        """Flow definitions beyond the first made for the same request."""
        return sum(n - 1 for n in Counter(repr(sorted(f.request.items())) for f in self.made()).values())

    def left_behind(self) -> list[FlowDefinition]:
        """Flow definitions SageMaker still holds, other than those being deleted."""
        return [f for f in self.service.flows() if f.status != DELETING]


@contextmanager
def flow_world(*, chaos: bool = False) -> Iterator[FlowWorld]:
    clock = VirtualClock()
    with ExitStack() as stack:
        emulator = stack.enter_context(SageMakerEmulator(sleep=clock.wait))
        if chaos:
            emulator.chaos(every=3)
        stack.enter_context(fast_retries(on_delay=clock.wait, jitter=0.5))
        client = boto3.client(
            "sagemaker",
            region_name="us-east-1",
            endpoint_url=emulator.url,
            config=bedrock.CLIENT_CONFIG,
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        flows = bedrock.FlowDefinitions(client)
        stack.enter_context(mock.patch.object(index, "flow_definitions", lambda: flows))
        stack.enter_context(mock.patch.object(index, "clock", clock.handler_clock))
        yield FlowWorld(emulator, CloudFormation(clock, resource_type=FLOW_DEFINITION_RESOURCE_TYPE), clock)


@dataclass(frozen=True)
class FlowScenario:
    name: str
    run: Callable[[FlowWorld], None]

    @property
    def id(self) -> str:
        return self.run.__name__


FLOW_SCENARIOS: list[FlowScenario] = []


def scenario(name: str) -> Callable[[Callable[[FlowWorld], None]], Callable[[FlowWorld], None]]:
    def register(run: Callable[[FlowWorld], None]) -> Callable[[FlowWorld], None]:
        FLOW_SCENARIOS.append(FlowScenario(name, run))
        return run

    return register


def create(w: FlowWorld, properties: dict[str, Any] | None = None) -> str:
    answer = w.cfn.create(properties or flow_properties(), logical_id=LOGICAL_ID)
    assert answer.ok, answer.reason
    return answer.physical_id


def delete(w: FlowWorld, physical_id: str, properties: dict[str, Any] | None = None) -> None:
    answer = w.cfn.delete(properties or flow_properties(), physical_id=physical_id, logical_id=LOGICAL_ID)
    assert answer.ok, answer.reason


@scenario("create waits until the flow definition is Active; deleting the stack deletes it")
def flow_create(w: FlowWorld) -> None:
    answer = w.cfn.create(flow_properties(), logical_id=LOGICAL_ID)

    flow = w.only()
    assert answer.ok, answer.reason
    assert answer.physical_id == flow.arn
    assert answer.data == {"FlowDefinitionArn": flow.arn, "FlowDefinitionName": flow.name}
    # the Bedrock request source reached SageMaker, and the numbers are numbers again
    assert flow.request["HumanLoopRequestSource"] == {"AwsManagedHumanLoopRequestSource": "AWS/Bedrock/Evaluation"}
    assert flow.request["HumanLoopConfig"]["TaskCount"] == 1
    assert flow.history == ["Initializing", ACTIVE]
    assert [i.entry for i in w.cfn.exchanges[-1].invocations][:2] == ["on_event", "is_complete"]

    delete(w, flow.arn)
    assert w.service.status(flow.name) == GONE


@scenario("a flow definition that fails fails the deploy with SageMaker's reason; the rollback deletes it")
def flow_create_failed(w: FlowWorld) -> None:
    w.service.fail_next("The work team is not part of the private workforce.")

    answer = w.cfn.create(flow_properties(), logical_id=LOGICAL_ID)

    flow = w.only()
    assert answer.status == "FAILED" and answer.physical_id == flow.arn
    assert "it is Failed: The work team is not part of the private workforce." in (answer.reason or "")
    delete(w, flow.arn)
    assert w.service.status(flow.name) == GONE


@scenario("update with a changed request makes a new flow definition; the old one is deleted after")
def flow_update_with_replacement(w: FlowWorld) -> None:
    old = create(w)

    answer = w.cfn.update(flow_properties(task_count=3), old_properties=flow_properties(), physical_id=old, logical_id=LOGICAL_ID)

    assert answer.ok, answer.reason
    first, second = w.made()
    assert (first.arn, second.arn) == (old, answer.physical_id) and first.name != second.name
    assert second.request["HumanLoopConfig"]["TaskCount"] == 3
    delete(w, old)  # CloudFormation cleans up the replaced resource
    assert (w.service.status(first.name), w.service.status(second.name)) == (GONE, ACTIVE)
    delete(w, second.arn, flow_properties(task_count=3))


@scenario("update with an unchanged request keeps the flow definition and makes no call")
def flow_update_unchanged(w: FlowWorld) -> None:
    arn = create(w)
    creates = w.emulator.calls("CreateFlowDefinition")

    answer = w.cfn.update(flow_properties(), old_properties=flow_properties(), physical_id=arn, logical_id=LOGICAL_ID)

    assert answer.ok and answer.physical_id == arn
    assert w.emulator.calls("CreateFlowDefinition") == creates
    delete(w, arn)


@scenario("a Create whose answer was lost after SageMaker made it adopts that flow definition")
def flow_create_answer_lost(w: FlowWorld) -> None:
    w.emulator.drop_connection("CreateFlowDefinition", after_processing=True)

    arn = create(w)

    # botocore retried; SageMaker said the name is taken; the handler adopted its own flow definition
    assert w.emulator.calls("CreateFlowDefinition") == 2
    assert arn == w.only().arn
    delete(w, arn)


@scenario("create through throttling and server errors: retried, one flow definition")
def flow_create_while_throttled(w: FlowWorld) -> None:
    w.emulator.throttle("CreateFlowDefinition", times=BOTOCORE_ATTEMPTS)
    w.emulator.server_error("CreateFlowDefinition", status=500)

    arn = create(w)

    assert arn == w.only().arn
    assert w.emulator.calls("CreateFlowDefinition") == 1
    assert w.clock.handler_sleeps, "botocore's attempts ran out once: the handler waited and tried again"
    delete(w, arn)


@scenario("delete of a flow definition deleted outside the stack succeeds")
def flow_delete_not_found(w: FlowWorld) -> None:
    arn = create(w)
    w.service.delete_outside(w.only().name)

    delete(w, arn)

    assert w.emulator.calls("DeleteFlowDefinition") == 1


@scenario("delete while a stopping job's human loops still use it: tried again until it is gone")
def flow_delete_in_use(w: FlowWorld) -> None:
    arn = create(w)
    flow = w.only()
    w.service.in_use(flow.name, times=2)

    delete(w, arn)

    assert w.emulator.calls("DeleteFlowDefinition") == 3
    assert w.service.status(flow.name) == GONE


@scenario("delete while throttled past botocore's retries: waits a poll, then deletes")
def flow_delete_while_throttled(w: FlowWorld) -> None:
    arn = create(w)
    w.emulator.throttle("DeleteFlowDefinition", times=BOTOCORE_ATTEMPTS)

    delete(w, arn)

    assert w.service.status(w.only().name) == GONE
    assert w.emulator.calls("DeleteFlowDefinition") == 1


def invariant_violations(w: FlowWorld) -> list[str]:
    problems = []
    if w.cfn.events_answered != w.cfn.events_sent:
        problems.append(f"{w.cfn.events_sent - w.cfn.events_answered} events never answered")
    if w.duplicates():
        problems.append(f"{w.duplicates()} duplicate flow definitions")
    if w.left_behind():
        problems.append(f"left behind: {[f.name for f in w.left_behind()]}")
    if any(i.timed_out for i in w.cfn.invocations()):
        problems.append("a Lambda invocation ran past its timeout")
    if w.emulator.crashes:
        problems.append(f"the emulator crashed: {w.emulator.crashes[0]}")
    return problems


def run(flow_scenario: FlowScenario, *, chaos: bool = True) -> Outcome:
    """One scenario in a fresh world; reported in the report's terms ("jobs created" are flow
    definitions made, "left running" those SageMaker still holds after the stack's Delete)."""
    with flow_world(chaos=chaos) as w:
        return played(flow_scenario.id, w, flow_scenario.run, invariant_violations, w.left_behind)


STATUSES = (ACTIVE, FAILED, DELETING, GONE)
__all__ = ["FLOW_SCENARIOS", "FlowScenario", "FlowWorld", "flow_world", "invariant_violations", "run", "field"]
