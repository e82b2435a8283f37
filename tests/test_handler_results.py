"""The results and watch resources and the poller, one function at a time: what each answers for
each event, including events CloudFormation could only send by mistake.

Sources: the CloudFormation user guide, "Using wait condition handles" (a signal is a PUT of
{"Status", "Reason", "UniqueId", "Data"} to the handle's presigned URL); the Step Functions API
reference, StartExecution (an execution's name: 1-80 characters; "ExecutionAlreadyExists" for a
name used before with another input).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import bedrock
import boto3
import index
import pytest
import runtime
import watch
from botocore.stub import Stubber
from events import ResourceEvent
from handler_support import JOB_ARN, OTHER_JOB_ARN, FakeClock, job_description, make_event, stubbed_jobs
from results_scenarios import WaitConditions

from bedrock_evaluation import contract

POLLER_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:BedrockEvaluationJobPoller"


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def results_properties(**overrides: Any) -> dict[str, Any]:
    props = {
        contract.PROP_RESULTS_JOB_ARN: JOB_ARN,
        contract.PROP_RESULTS_JOB_NAME: "eval-boolq-4d98c8c4b5",
        contract.PROP_RESULTS_OUTPUT_S3_URI: "s3://results-bucket/results/job/",
        contract.PROP_WAIT_SECONDS: "1800",
        contract.PROP_THRESHOLDS: '{"Builtin.Accuracy":["at_least",0.5]}',
        contract.PROP_MAX_DROP: "",
    }
    props.update(overrides)
    return props


def watch_properties(**overrides: Any) -> dict[str, Any]:
    props = {
        contract.PROP_WATCH_JOB_ARN: JOB_ARN,
        contract.PROP_WATCH_JOB_NAME: "eval-boolq-4d98c8c4b5",
        contract.PROP_SIGNAL_URL: "https://cloudformation-waitcondition-us-east-1.s3.amazonaws.com/handle",
        contract.PROP_POLLER_ARN: POLLER_ARN,
        contract.PROP_WAIT_SECONDS: "21600",
        contract.PROP_POLL_SECONDS: "60",
    }
    props.update(overrides)
    return props


# --- the results resource ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({contract.PROP_RESULTS_JOB_ARN: None}, "property JobArn must be a non-empty string"),
        ({contract.PROP_WAIT_SECONDS: "soon"}, "cannot be read"),
        ({contract.PROP_THRESHOLDS: '{"Builtin.Accuracy": ["above", 0.5]}'}, "a value the construct never writes"),
        ({contract.PROP_THRESHOLDS: "not json"}, "cannot be read"),
        ({contract.PROP_MAX_DROP: "a lot"}, "cannot be read"),
    ],
)
def test_results_properties_the_construct_never_writes_fail_with_a_reason(overrides: dict[str, Any], why: str) -> None:
    event = make_event("Create", properties=results_properties(**overrides), resource_type=contract.RESULTS_RESOURCE_TYPE)
    with pytest.raises(runtime.InvalidProperties, match=why):
        index.on_event(event, Context())


def test_the_results_resource_is_named_after_its_job_and_waits_until_the_deadline() -> None:
    event = make_event("Create", properties=results_properties(), resource_type=contract.RESULTS_RESOURCE_TYPE)
    answer = index.on_event(event, Context())
    assert answer["PhysicalResourceId"] == JOB_ARN + contract.RESULTS_PHYSICAL_ID_SUFFIX
    assert answer["BedrockEvaluationWait"]["names"] == ["eval-boolq-4d98c8c4b5"]  # type: ignore[typeddict-item]


def test_deleting_the_results_resource_leaves_the_job_to_its_own_resource() -> None:
    event = make_event("Delete", properties=results_properties(), physical_id=JOB_ARN + "/results", resource_type=contract.RESULTS_RESOURCE_TYPE)
    assert index.on_event(event, Context()) == {"PhysicalResourceId": JOB_ARN + "/results"}
    assert index.is_complete({**event, "PhysicalResourceId": JOB_ARN + "/results"}, Context()) == {"IsComplete": True}


class NotRollingBack:
    def rolling_back(self, stack_id: str) -> bool:
        return False


class NoResults:
    def within(self, allows: Any) -> NoResults:
        return self

    def keys(self, bucket: str, prefix: str) -> list[str]:
        raise AssertionError("a job that did not complete has no results to read")

    def lines(self, bucket: str, key: str) -> list[bytes]:
        raise AssertionError("a job that did not complete has no results to read")


def _results_event(request_type: str = "Create", **kwargs: Any) -> ResourceEvent:
    return ResourceEvent.parse(make_event(request_type, properties=results_properties(), resource_type=contract.RESULTS_RESOURCE_TYPE, **kwargs))


def test_a_running_job_is_not_complete_until_the_deadline_then_fails_with_its_status_and_age() -> None:
    import scores

    clock = FakeClock()
    created = datetime.fromtimestamp(1_000_000, UTC)
    with stubbed_jobs() as stubbed:
        stubbed.stubber.add_response("get_evaluation_job", {**job_description(), "creationTime": created}, {"jobIdentifier": JOB_ARN})
        stubbed.stubber.add_response("get_evaluation_job", {**job_description(), "creationTime": created}, {"jobIdentifier": JOB_ARN})
        wall = runtime.Clock(monotonic=clock.monotonic, sleep=clock.sleep, random=clock.random, wall=lambda: 1_000_000 + 3600.0)
        budget = runtime.Budget.of_seconds(200, wall)
        event = ResourceEvent(**{**_results_event().__dict__, "wait": {"deadline": 1_000_000 + 7200.0, "names": ["x"]}})
        assert scores.is_complete(event, stubbed.jobs, NoResults(), NotRollingBack(), budget) == (False, {})  # type: ignore[arg-type]
        late = ResourceEvent(**{**event.__dict__, "wait": {"deadline": 1_000_000 + 1800.0, "names": ["x"]}})
        with pytest.raises(scores.ResultsFailure, match=r"still InProgress 1 h 0 min after it was created, past the wait's timeout of 30 min"):
            scores.is_complete(late, stubbed.jobs, NoResults(), NotRollingBack(), budget)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "messages", "why"),
    [
        ("Failed", ["Encountered throttling exception while serving the request for model"], "the job failed: Encountered throttling exception"),
        ("Failed", [], "the job failed: Bedrock gave no reason"),
        ("Stopped", [], "the job is Stopped"),
        ("Stopping", [], "the job is Stopping"),
    ],
)
def test_a_job_that_will_never_complete_fails_the_resource_at_once(status: str, messages: list[str], why: str) -> None:
    import scores

    with stubbed_jobs() as stubbed:
        answer = {**job_description(status=status), **({"failureMessages": messages} if messages else {})}
        stubbed.stubber.add_response("get_evaluation_job", answer, {"jobIdentifier": JOB_ARN})
        with pytest.raises(scores.ResultsFailure, match=why):
            scores.is_complete(_results_event(), stubbed.jobs, NoResults(), NotRollingBack(), FakeClock().budget())  # type: ignore[arg-type]


def test_a_passing_fault_while_reading_the_status_is_not_yet_and_a_lasting_one_fails() -> None:
    import scores

    with stubbed_jobs() as stubbed:
        stubbed.stubber.add_client_error("get_evaluation_job", "ThrottlingException", http_status_code=429)
        stubbed.stubber.add_client_error("get_evaluation_job", "AccessDeniedException", "not authorized to perform: bedrock:GetEvaluationJob", 403)
        assert scores.is_complete(_results_event(), stubbed.jobs, NoResults(), NotRollingBack(), FakeClock().budget()) == (False, {})  # type: ignore[arg-type]
        with pytest.raises(scores.ResultsFailure, match="reading its status failed: not authorized to perform: bedrock:GetEvaluationJob"):
            scores.is_complete(_results_event(), stubbed.jobs, NoResults(), NotRollingBack(), FakeClock().budget())  # type: ignore[arg-type]


def test_metric_names_are_read_from_the_jobs_description() -> None:
    from bedrock_evaluation.results import requested_metrics

    assert requested_metrics(job_description()) == ["Builtin.Accuracy"]
    assert requested_metrics({"evaluationConfig": {"human": {"datasetMetricConfigs": [{"metricNames": ["Helpful", "Preference"]}]}}}) == [
        "Helpful",
        "Preference",
    ]
    assert requested_metrics({}) == []


# --- the watch resource ---------------------------------------------------------------------------------


def _stubbed_pollers() -> tuple[bedrock.PollerExecutions, Stubber]:
    client = boto3.client("stepfunctions", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return bedrock.PollerExecutions(client), Stubber(client)


def test_the_watch_starts_one_poller_execution_named_after_the_request() -> None:
    pollers, stubber = _stubbed_pollers()
    event = ResourceEvent.parse(make_event("Create", properties=watch_properties(), resource_type=contract.WATCH_RESOURCE_TYPE))
    clock = FakeClock()
    budget = runtime.Budget.of_seconds(300, runtime.Clock(monotonic=clock.monotonic, sleep=clock.sleep, wall=lambda: 5000.0))
    captured: dict[str, Any] = {}

    def capture(params: dict[str, Any], **_: Any) -> None:
        captured.update(params)

    stubber.add_response("start_execution", {"executionArn": POLLER_ARN.replace("stateMachine", "execution") + ":x", "startDate": datetime.now(UTC)})
    stubber.add_client_error("start_execution", "ExecutionAlreadyExists", "Execution Already Exists", 400)
    pollers.client.meta.events.register("provide-client-params.states.StartExecution", capture)
    with stubber:
        first = watch.on_event(event, pollers, budget)
        name = captured["name"]
        again = watch.on_event(event, pollers, budget)  # a repeated delivery of the same request
        assert captured["name"] == name
    assert first == again == {"PhysicalResourceId": JOB_ARN + "/watch"}
    assert name.startswith("job-") and len(name) <= 80
    state = json.loads(captured["input"])
    assert state == {
        "jobArn": JOB_ARN,
        "jobName": "eval-boolq-4d98c8c4b5",
        "signalUrl": watch_properties()[contract.PROP_SIGNAL_URL],
        "deadline": 5000.0 + 21600,
        "waitSeconds": 21600.0,
        "pollSeconds": 60,
        "nextWait": 60,
        "missing": 0,
        "done": False,
    }


def _watch_update() -> ResourceEvent:
    return ResourceEvent.parse(
        make_event("Update", properties=watch_properties(), old_properties=watch_properties(), physical_id=JOB_ARN + "/watch", resource_type=contract.WATCH_RESOURCE_TYPE)
    )


def test_the_watch_fails_with_a_reason_when_the_poller_cannot_start() -> None:
    pollers, stubber = _stubbed_pollers()
    stubber.add_client_error("start_execution", "StateMachineDoesNotExist", "State Machine Does Not Exist", 400)
    with stubber, pytest.raises(watch.WatchError, match="could not start its poller: State Machine Does Not Exist"):
        watch.on_event(_watch_update(), pollers, FakeClock().budget())


def test_the_watch_waits_for_a_new_grant_to_start_the_poller_then_gives_up_with_a_reason() -> None:
    pollers, stubber = _stubbed_pollers()
    clock = FakeClock()
    stubber.add_client_error("start_execution", "AccessDeniedException", "not authorized to perform: states:StartExecution", 400)
    stubber.add_response("start_execution", {"executionArn": POLLER_ARN.replace("stateMachine", "execution") + ":x", "startDate": datetime.now(UTC)})
    with stubber:
        assert watch.on_event(_watch_update(), pollers, clock.budget())["PhysicalResourceId"] == JOB_ARN + "/watch"
    assert len(clock.sleeps) == 1
    pollers, stubber = _stubbed_pollers()
    for _ in range(20):
        stubber.add_client_error("start_execution", "AccessDeniedException", "not authorized to perform: states:StartExecution", 400)
    with stubber, pytest.raises(watch.WatchError, match="could not start its poller: not authorized to perform: states:StartExecution"):
        watch.on_event(_watch_update(), pollers, clock.budget())
    assert sum(clock.sleeps) <= watch.IAM_RETRY_WINDOW_SECONDS


# --- the poller -------------------------------------------------------------------------------------------


class Signals(WaitConditions):
    """One wait condition handle: a presigned URL (signature and all) that records what is PUT to it."""

    def __init__(self) -> None:
        super().__init__()
        self.url = self.handle("handle?X-Amz-Signature=abc")


@pytest.fixture
def signals() -> Iterator[Signals]:
    handle = Signals()
    yield handle
    handle.close()


def _state(url: str, **overrides: Any) -> watch.PollState:
    state: dict[str, Any] = {"jobArn": JOB_ARN, "jobName": "eval-boolq-4d98c8c4b5", "signalUrl": url, "deadline": 10_000.0, "waitSeconds": 3600.0, "pollSeconds": 60, "missing": 0, "done": False}
    state.update(overrides)
    return watch.parse_state(state)


def test_a_signal_is_a_put_of_the_documented_document(signals: Signals) -> None:
    watch.send_signal(signals.url, "SUCCESS", "eval-boolq-4d98c8c4b5 completed", "eval-boolq-4d98c8c4b5")
    assert signals.received == [{"Status": "SUCCESS", "Reason": "eval-boolq-4d98c8c4b5 completed", "UniqueId": "eval-boolq-4d98c8c4b5", "Data": "eval-boolq-4d98c8c4b5 completed"}]
    assert signals.headers[0].get("Content-Type", "") == ""  # the URL is presigned without one


def test_a_signal_that_cannot_be_sent_raises_so_the_state_machine_retries_the_poll() -> None:
    with pytest.raises(watch.WatchError, match="could not signal its wait condition"):
        watch.send_signal("http://127.0.0.1:9/handle", "SUCCESS", "done", "job")


@pytest.mark.parametrize(
    ("status", "signal"),
    [("Completed", "SUCCESS"), ("Failed", "FAILURE"), ("Stopped", "FAILURE")],
)
def test_the_poller_signals_once_the_job_has_ended(signals: Signals, status: str, signal: str) -> None:
    clock = runtime.Clock(wall=lambda: 5000.0)
    with stubbed_jobs() as stubbed:
        stubbed.stubber.add_response("get_evaluation_job", {**job_description(status=status), **({"failureMessages": ["out of quota"]} if status == "Failed" else {})}, {"jobIdentifier": JOB_ARN})
        state = watch.poll(_state(signals.url), stubbed.jobs, clock, watch.send_signal)
    assert state["done"] is True
    assert [s["Status"] for s in signals.received] == [signal]
    if status == "Failed":
        assert signals.received[0]["Reason"] == "eval-boolq-4d98c8c4b5 failed: out of quota"


def test_the_poller_keeps_polling_a_running_job_and_through_passing_faults(signals: Signals) -> None:
    clock = runtime.Clock(wall=lambda: 5000.0)
    with stubbed_jobs() as stubbed:
        stubbed.stubber.add_response("get_evaluation_job", job_description(), {"jobIdentifier": JOB_ARN})
        stubbed.stubber.add_client_error("get_evaluation_job", "ThrottlingException", http_status_code=429)
        state = watch.poll(_state(signals.url), stubbed.jobs, clock, watch.send_signal)
        assert state["done"] is False
        state = watch.poll(state, stubbed.jobs, clock, watch.send_signal)
        assert state["done"] is False
    assert signals.received == []


def test_the_poller_gives_up_at_the_deadline_naming_the_job_and_how_far_it_got(signals: Signals) -> None:
    clock = runtime.Clock(wall=lambda: 1_000_000 + 2 * 3600.0 + 60)
    with stubbed_jobs() as stubbed:
        stubbed.stubber.add_response("get_evaluation_job", {**job_description(), "creationTime": datetime.fromtimestamp(1_000_000, UTC)}, {"jobIdentifier": JOB_ARN})
        state = watch.poll(_state(signals.url, deadline=1_000_000 + 7200.0, waitSeconds=7200.0), stubbed.jobs, clock, watch.send_signal)
    assert state["done"] is True
    assert signals.received[0]["Status"] == "FAILURE"
    assert signals.received[0]["Reason"] == (
        "eval-boolq-4d98c8c4b5 is still InProgress 2 h 1 min after it was created, past the wait's timeout of 2 h 0 min; "
        "give it a longer wait= (the job then runs again: deploy with removal=JobRemoval.DELETE, which frees its name, "
        "or a new job_name_prefix)"
    )


def test_a_job_the_poller_no_longer_finds_fails_the_wait_after_a_few_looks(signals: Signals) -> None:
    clock = runtime.Clock(wall=lambda: 5000.0)
    with stubbed_jobs() as stubbed:
        for _ in range(watch.MISSING_POLLS):
            stubbed.stubber.add_client_error("get_evaluation_job", "ResourceNotFoundException", http_status_code=404)
        state = _state(signals.url)
        for _ in range(watch.MISSING_POLLS):
            state = watch.poll(state, stubbed.jobs, clock, watch.send_signal)
    assert state["done"] is True
    assert signals.received[0]["Reason"] == "eval-boolq-4d98c8c4b5 no longer exists (deleted outside this deploy?)"


def test_a_poll_state_the_state_machine_never_passes_is_refused_with_a_reason() -> None:
    with pytest.raises(runtime.InvalidProperties, match="the poller's state cannot be read"):
        watch.parse_state({"jobArn": OTHER_JOB_ARN})


def test_the_answer_with_every_score_fits_cloudformations_4096_bytes_at_the_longest_ids() -> None:
    """CloudFormation reads at most 4,096 bytes of a custom resource's answer (reference, "CloudFormation
    custom resources"): the longest stack name (128) and logical id (255), the most metrics a job can
    measure (the judge metrics and 10 custom metrics of 63 characters), and the longest Baseline."""
    import scores
    from lifecycle_driver import response_body

    from bedrock_evaluation.results import Score, attributes, summarize
    from bedrock_evaluation.tasks import Metric

    builtins = [v for k, v in vars(Metric).items() if k.isupper()]
    customs = [f"custom-{i}-" + "m" * 54 for i in range(10)]
    summary = summarize(
        Score(metric=name, value=0.123456789, source="amazon.nova-lite-v1:0", task_type="General", dataset="qa", record=r, key="k")
        for name in builtins + customs
        for r in range(3)
    )
    data = {
        **attributes(summary, limit_bytes=contract.SCORE_ATTRIBUTES_LIMIT_BYTES),
        scores.ATTR_STATUS: "Completed",
        scores.ATTR_BASELINE: scores.reason_part("none: the results of x cannot be read (" + "s3://bucket/" + "k" * 1000 + ")"),
    }
    assert all(f"Score.{name}.Mean" in data for name in builtins + customs)  # every mean is there
    stack_id = "arn:aws:cloudformation:us-east-1:123456789012:stack/" + "s" * 128 + "/11111111-2222-3333-4444-555555555555"
    event = {**make_event("Create", properties=results_properties(), logical_id="L" * 255, stack_id=stack_id), "PhysicalResourceId": JOB_ARN + "/results", "Data": data}
    assert len(response_body("SUCCESS", event).encode()) <= 4096
