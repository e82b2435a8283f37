"""Waited jobs end to end: the job's resource, its results resource and, for a long wait, its watch,
wait condition and poller, played as CloudFormation plays them against the Bedrock emulator, which
ends each job after its running time and writes its result files into a local S3 (moto's server).

The handler's unmodified boto3 clients do the work: Bedrock's over HTTP to the emulator, S3's over
HTTP to moto. Two AWS parts are emulated here, by what their documentation says they do:
- the wait condition (`WaitConditions`): a local HTTP endpoint standing for the handle's presigned
  URL; the condition succeeds on a SUCCESS signal, fails on a FAILURE one, and times out after its
  Timeout (CloudFormation template reference, AWS::CloudFormation::WaitCondition);
- the poller state machine (`Pollers`): Poll, then Wait `pollSeconds`, until Poll answers done; a poll
  that raises is retried every 20 s, 30 times at most (the Retry of poller.py).

Each scenario ends with its stack deleted (or rolled back) and is reported by the reliability
report like the others.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest import mock

import bedrock
import index
from emulator.results import ScorePlan
from emulator.service import Outcome as JobOutcome
from handler_support import OUTPUT_S3_URI, model_request, valid_properties
from lifecycle_driver import Answer
from lifecycle_scenarios import Outcome, World, invariant_violations, played, world
from local_s3 import LocalS3

from bedrock_evaluation import contract
from bedrock_evaluation.poller import POLL_TIMEOUT

RESULTS = contract.RESULTS_RESOURCE_TYPE
WATCH = contract.WATCH_RESOURCE_TYPE
POLL_RETRY_SECONDS, POLL_RETRY_ATTEMPTS = 20.0, 30
OUTPUT_BUCKET = OUTPUT_S3_URI.removeprefix("s3://").split("/", 1)[0]
JUDGE = "anthropic.claude-3-5-haiku-20241022-v1:0"


# --- emulated AWS parts -------------------------------------------------------------------------------------


class WaitConditions:
    """Wait condition handles: presigned URLs that record the signals PUT to them."""

    def __init__(self) -> None:
        self.signals: dict[str, list[dict[str, Any]]] = {}
        """The signals each handle received, by its name (the URL's path, without its query)."""
        self.received: list[dict[str, Any]] = []
        """Every signal, in order, and the headers it came with."""
        self.headers: list[dict[str, str]] = []
        conditions = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:  # noqa: N802 (http.server's name)
                signal = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                conditions.signals.setdefault(self.path.lstrip("/").split("?")[0], []).append(signal)
                conditions.received.append(signal)
                conditions.headers.append(dict(self.headers))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def handle(self, name: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/{name}"

    def outcome(self, name: str) -> dict[str, Any] | None:
        """The signal the condition acts on: the latest for its one UniqueId (Count 1)."""
        received = self.signals.get(name, [])
        return received[-1] if received else None

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class Execution:
    name: str
    state: dict[str, Any]
    polls: int = 0
    failed_polls: int = 0
    result: str = "RUNNING"


class Pollers:
    """The stack's poller state machine: executions started by name, run on the scenario's clock."""

    def __init__(self, w: World) -> None:
        self.w = w
        self.executions: dict[str, Execution] = {}
        self.starts = 0

    def start(self, state_machine_arn: str, *, name: str, state: dict[str, Any]) -> bool:
        self.starts += 1
        assert state_machine_arn.startswith("arn:aws:states:"), state_machine_arn
        assert len(name) <= 80 and all(c.isalnum() or c in "-_" for c in name), name  # StartExecution's name rule
        if name in self.executions:
            return False
        self.executions[name] = Execution(name, json.loads(json.dumps(state)))
        return True

    def run(self) -> None:
        """Every running execution, to its end: Poll, then Wait, until done."""
        for execution in self.executions.values():
            while execution.result == "RUNNING":
                try:
                    execution.state = dict(index.poll(dict(execution.state), _Context(self.w)))
                    execution.polls += 1
                except Exception:
                    execution.failed_polls += 1
                    if execution.failed_polls >= POLL_RETRY_ATTEMPTS:
                        execution.result = "FAILED"
                        break
                    self.w.clock.wait(POLL_RETRY_SECONDS)
                    continue
                if execution.state.get("done"):
                    execution.result = "SUCCEEDED"
                else:
                    self.w.clock.wait(float(execution.state["nextWait"]))


class _Context:
    def __init__(self, w: World) -> None:
        self.w = w
        self.started = w.clock.monotonic()

    def get_remaining_time_in_millis(self) -> int:
        return int((POLL_TIMEOUT.to_seconds() - (self.w.clock.monotonic() - self.started)) * 1000)


class StackStatus:
    """CloudFormation's status of the scenario's stack, as DescribeStacks gives it: the scenario says
    when it rolls back."""

    def __init__(self) -> None:
        self.status = "UPDATE_IN_PROGRESS"
        self.asked = 0

    def rolling_back(self, stack_id: str) -> bool:
        self.asked += 1
        return self.status in bedrock.StackStatuses.ROLLING_BACK


@dataclass
class ResultsWorld(World):
    s3: LocalS3 = field(default=None)  # type: ignore[assignment]
    conditions: WaitConditions = field(default=None)  # type: ignore[assignment]
    pollers: Pollers = field(default=None)  # type: ignore[assignment]
    stack: StackStatus = field(default_factory=StackStatus)

    def read_keys(self) -> list[str]:
        return self.s3.keys(OUTPUT_BUCKET)


@contextmanager
def results_world(*, chaos: bool = False, **service: Any) -> Iterator[ResultsWorld]:
    """A world whose jobs end after `run_seconds` (default 20 minutes) and write their results into LocalS3."""
    with ExitStack() as stack:
        s3 = stack.enter_context(LocalS3())
        s3.reset()  # moto's state is the process's: another world's objects may still be there
        options = {"run_seconds": 20 * 60.0, "results": s3, **service}
        base = stack.enter_context(world(chaos=chaos, service=options))
        conditions = WaitConditions()
        stack.callback(conditions.close)
        w = ResultsWorld(emulator=base.emulator, cfn=base.cfn, clock=base.clock, botocore_delays=base.botocore_delays, s3=s3, conditions=conditions)
        w.pollers = Pollers(w)
        store = bedrock.ResultObjects(s3.client(bedrock.CLIENT_CONFIG))
        stack.enter_context(mock.patch.object(index, "result_objects", lambda: store))
        stack.enter_context(mock.patch.object(index, "pollers", lambda: w.pollers))
        stack.enter_context(mock.patch.object(index, "stacks", lambda: w.stack))
        yield w


# --- a stack with one waited job -------------------------------------------------------------------------------


def job_props(request: dict[str, Any] | None = None, *, removal: str = "stop", prefix: str = "eval-boolq") -> dict[str, Any]:
    return valid_properties(request=request, Removal=removal, JobNamePrefix=prefix)


def results_props(job: Answer, *, wait_seconds: int = 1800, bounds: dict[str, Any] | None = None, max_drop: float | None = None) -> dict[str, Any]:
    """The results resource's properties, with the job's attributes resolved as CloudFormation would."""
    return {
        contract.PROP_RESULTS_JOB_ARN: job.data[contract.ATTR_JOB_ARN],
        contract.PROP_RESULTS_JOB_NAME: job.data[contract.ATTR_JOB_NAME],
        contract.PROP_RESULTS_OUTPUT_S3_URI: OUTPUT_S3_URI,
        contract.PROP_WAIT_SECONDS: str(wait_seconds),
        contract.PROP_THRESHOLDS: json.dumps(bounds or {}, sort_keys=True, separators=(",", ":")),
        contract.PROP_MAX_DROP: "" if max_drop is None else repr(max_drop),
    }


@dataclass
class Deployed:
    job: Answer
    job_props: dict[str, Any]
    results: Answer | None = None
    results_props: dict[str, Any] | None = None
    watch_props: dict[str, Any] | None = None


def deploy(w: ResultsWorld, props: dict[str, Any], *, long_wait: int | None = None, **results: Any) -> Deployed:
    """Create the job, then (for a long wait) its watch and wait condition, then its results resource;
    on a failure, roll the Create back as CloudFormation does (delete what was made, newest first)."""
    job = w.cfn.create(props, logical_id="Job")
    assert job.ok, job.reason
    deployed = Deployed(job, props)
    if long_wait is not None and not _long_wait(w, deployed, long_wait, logical_id="Watch"):
        return deployed
    deployed.results_props = results_props(job, **results)
    if long_wait is not None:
        # Fn::GetAtt of the wait condition's Data: {UniqueId: Data} of its signals.
        signal = deployed.condition  # type: ignore[attr-defined]
        deployed.results_props[contract.PROP_RESULTS_SIGNALLED] = json.dumps({signal["UniqueId"]: signal["Data"]})
    deployed.results = w.cfn.create(deployed.results_props, logical_id="Results", resource_type=RESULTS)
    if not deployed.results.ok:
        roll_back_create(w, deployed)
    return deployed


def _long_wait(w: ResultsWorld, deployed: Deployed, seconds: int, *, logical_id: str, poll_seconds: int = 60, old: Deployed | None = None) -> bool:
    """Watch (created, or updated from `old`'s), then the wait condition: True when it succeeded; on
    failure the Create is rolled back."""
    handle = f"Completion{len(w.conditions.signals) + len(w.pollers.executions)}"
    deployed.watch_props = {
        contract.PROP_WATCH_JOB_ARN: deployed.job.data[contract.ATTR_JOB_ARN],
        contract.PROP_WATCH_JOB_NAME: deployed.job.data[contract.ATTR_JOB_NAME],
        contract.PROP_SIGNAL_URL: w.conditions.handle(handle),
        contract.PROP_POLLER_ARN: "arn:aws:states:us-east-1:123456789012:stateMachine:BedrockEvaluationJobPoller",
        contract.PROP_WAIT_SECONDS: str(seconds),
        contract.PROP_POLL_SECONDS: str(poll_seconds),
    }
    if old is not None and old.watch_props is not None:
        watch = w.cfn.update(
            deployed.watch_props,
            old_properties=old.watch_props,
            physical_id=old.job.data[contract.ATTR_JOB_ARN] + "/watch",
            logical_id=logical_id,
            resource_type=WATCH,
        )
    else:
        watch = w.cfn.create(deployed.watch_props, logical_id=logical_id, resource_type=WATCH)
    assert watch.ok, watch.reason
    started = w.clock.monotonic()
    w.pollers.run()
    # A Create's results resource would follow the wait condition with its Data.
    signal = w.conditions.outcome(handle)
    timed_out = w.clock.monotonic() - started > seconds + contract.POLLER_MARGIN_SECONDS
    deployed.condition = signal  # type: ignore[attr-defined]
    if signal is not None and signal["Status"] == "SUCCESS" and not timed_out:
        return True
    w.cfn.delete(deployed.watch_props, physical_id=watch.physical_id, logical_id=logical_id, resource_type=WATCH)
    w.cfn.delete(deployed.job_props, physical_id=deployed.job.physical_id, logical_id="Job")
    return False


def roll_back_create(w: ResultsWorld, deployed: Deployed) -> None:
    results = deployed.results
    assert results is not None and deployed.results_props is not None
    w.cfn.delete(deployed.results_props, physical_id=results.physical_id, logical_id="Results", resource_type=RESULTS)
    if deployed.watch_props is not None:
        w.cfn.delete(deployed.watch_props, physical_id=deployed.job.data[contract.ATTR_JOB_ARN] + "/watch", logical_id="Watch", resource_type=WATCH)
    assert w.cfn.delete(deployed.job_props, physical_id=deployed.job.physical_id, logical_id="Job").ok


def delete_stack(w: ResultsWorld, deployed: Deployed) -> None:
    if deployed.results is not None and deployed.results.ok and deployed.results_props is not None:
        assert w.cfn.delete(deployed.results_props, physical_id=deployed.results.physical_id, logical_id="Results", resource_type=RESULTS).ok
    assert w.cfn.delete(deployed.job_props, physical_id=deployed.job.physical_id, logical_id="Job").ok


def judge_request(*metrics: str) -> dict[str, Any]:
    """An LLM-as-a-judge model evaluation of Nova Lite on one custom dataset."""
    request = model_request()
    automated = request["evaluationConfig"]["automated"]
    automated["datasetMetricConfigs"] = [
        {
            "taskType": "General",
            "dataset": {"name": "qa", "datasetLocation": {"s3Uri": "s3://results-bucket/datasets/qa.jsonl"}},
            "metricNames": list(metrics) or ["Builtin.Correctness", "Builtin.Faithfulness"],
        }
    ]
    automated["evaluatorModelConfig"] = {"bedrockEvaluatorModels": [{"modelIdentifier": JUDGE}]}
    return request


# --- the scenarios ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultsScenario:
    name: str
    run: Callable[[ResultsWorld], None]
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.run.__name__


RESULTS_SCENARIOS: list[ResultsScenario] = []


def scenario(name: str, **options: Any) -> Callable[[Callable[[ResultsWorld], None]], Callable[[ResultsWorld], None]]:
    def register(run: Callable[[ResultsWorld], None]) -> Callable[[ResultsWorld], None]:
        RESULTS_SCENARIOS.append(ResultsScenario(name, run, options))
        return run

    return register


GOOD = ScorePlan(records=4, scores={"Builtin.Correctness": [1.0, 0.75, None, 0.5], "Builtin.Faithfulness": [1.0, 1.0, 0.5, 0.5]})
"""Correctness: mean 0.75 over 3 scored, 1 not scored, min 0.5. Faithfulness: mean 0.75 over 4, min 0.5."""
WORSE = ScorePlan(records=4, scores={"Builtin.Correctness": [0.75, 0.75, 0.5, 0.5], "Builtin.Faithfulness": [0.5, 0.5, 0.25, 0.25]})
"""Correctness: mean 0.625. Faithfulness: mean 0.375, 0.375 below GOOD's."""


@scenario("A waited job runs to Completed; its scores become the results resource's attributes", scores=GOOD)
def waited_job_completes(w: ResultsWorld) -> None:
    deployed = deploy(w, job_props(judge_request()))
    results = deployed.results
    assert results is not None and results.ok, results and results.reason
    assert w.emulator.status(deployed.job.physical_id) == "Completed"
    # The results resource waited: the framework polled it until the job ended (20 minutes).
    assert len([i for e in w.cfn.exchanges[1:] for i in e.invocations if i.entry == "is_complete"]) > 30
    assert results.data["Score.Builtin.Correctness.Mean"] == "0.75"
    assert (results.data["Score.Builtin.Correctness.Scored"], results.data["Score.Builtin.Correctness.NotScored"]) == ("3", "1")
    assert results.data["Score.Builtin.Correctness.Min"] == "0.5"
    assert results.data["Score.Builtin.Faithfulness.Mean"] == "0.75"
    assert results.data["Status"] == "Completed"
    assert any(key.endswith("_output.jsonl") for key in w.read_keys())
    delete_stack(w, deployed)


@scenario("A quality gate the scores reach lets the deploy go on", scores=GOOD)
def gate_passes(w: ResultsWorld) -> None:
    deployed = deploy(w, job_props(judge_request()), bounds={"Builtin.Correctness": ["at_least", 0.7]}, max_drop=0.1)
    assert deployed.results is not None and deployed.results.ok, deployed.results.reason
    assert deployed.results.data["Baseline"] == "none: the first job of this resource"
    delete_stack(w, deployed)


@scenario("A missed quality gate fails the resource with the scores in its reason; the rollback removes the job as removal says", scores=WORSE)
def gate_fails_and_rolls_back(w: ResultsWorld) -> None:
    deployed = deploy(w, job_props(judge_request(), removal="delete"), bounds={"Builtin.Faithfulness": ["at_least", 0.7]})
    results = deployed.results
    assert results is not None and not results.ok
    assert "missed its quality gate" in str(results.reason)
    assert "Builtin.Faithfulness" in str(results.reason) and "0.375" in str(results.reason) and "0.7" in str(results.reason)
    assert "Deleting" in w.emulator.service.ever(deployed.job.physical_id).history, "removal=delete: the rolled-back job is deleted"


@scenario("A replacing job that scores worse than the job it replaces is rolled back to it; no job is made twice")
def regression_gate(w: ResultsWorld) -> None:
    first = deploy(w, job_props(judge_request(), removal="delete"), max_drop=0.1)
    assert first.results is not None and first.results.ok
    # The knowledge base changed: a new request, so a new job, which scores worse.
    w.emulator.service.scores = WORSE
    new_props = job_props(judge_request("Builtin.Correctness", "Builtin.Faithfulness", "Builtin.Helpfulness"), removal="delete")
    job = w.cfn.update(new_props, old_properties=first.job_props, physical_id=first.job.physical_id, logical_id="Job")
    assert job.ok and job.physical_id != first.job.physical_id
    new_results_props = results_props(job, max_drop=0.1)
    assert first.results_props is not None
    results = w.cfn.update(new_results_props, old_properties=first.results_props, physical_id=first.results.physical_id, logical_id="Results", resource_type=RESULTS)
    assert not results.ok
    assert "Builtin.Faithfulness" in str(results.reason) and "0.375" in str(results.reason), results.reason
    # The rollback: each resource goes back to its old properties, then the new job is deleted.
    w.stack.status = "UPDATE_ROLLBACK_IN_PROGRESS"
    back = w.cfn.update(first.job_props, old_properties=new_props, physical_id=job.physical_id, logical_id="Job")
    assert back.ok and back.physical_id == first.job.physical_id, "the rollback returns to the first job"
    again = w.cfn.update(first.results_props, old_properties=new_results_props, physical_id=results.physical_id or first.results.physical_id, logical_id="Results", resource_type=RESULTS)
    assert again.ok, again.reason
    assert again.data["Baseline"] == "none: the stack is rolling back to this job"
    assert w.cfn.delete(new_props, physical_id=job.physical_id, logical_id="Job").ok
    w.stack.status = "UPDATE_ROLLBACK_COMPLETE"
    assert len(w.made()) == 2
    assert "Deleting" in w.emulator.service.ever(job.physical_id).history
    delete_stack(w, first)


@scenario(
    "A job Bedrock fails fails the resource with Bedrock's own message",
    outcome=JobOutcome.failed("Encountered throttling exception while serving the request for model"),
)
def failed_job(w: ResultsWorld) -> None:
    deployed = deploy(w, job_props(judge_request()))
    assert deployed.results is not None and not deployed.results.ok
    assert "the job failed: Encountered throttling exception while serving the request for model" in str(deployed.results.reason)


@scenario("A job stopped outside the deploy fails the resource", outcome=JobOutcome.stopped())
def stopped_job(w: ResultsWorld) -> None:
    deployed = deploy(w, job_props(judge_request()))
    assert deployed.results is not None and not deployed.results.ok
    assert "is Stopped" in str(deployed.results.reason)


@scenario("A job still running at the wait's timeout fails the resource with its status and age; the rollback stops it", run_seconds=3 * 3600.0)
def job_outlives_its_wait(w: ResultsWorld) -> None:
    deployed = deploy(w, job_props(judge_request()), wait_seconds=1800)
    assert deployed.results is not None and not deployed.results.ok
    reason = str(deployed.results.reason)
    assert "still InProgress" in reason and "past the wait's timeout of 30 min" in reason, reason
    assert w.emulator.status(deployed.job.physical_id) in ("Stopping", "Stopped")


@scenario("A long wait: the poller signals the wait condition when the job completes, then the scores are read", run_seconds=3 * 3600.0, scores=GOOD)
def long_wait_completes(w: ResultsWorld) -> None:
    deployed = deploy(w, job_props(judge_request()), long_wait=6 * 3600, wait_seconds=600)
    assert deployed.condition["Status"] == "SUCCESS"  # type: ignore[attr-defined]
    assert deployed.results is not None and deployed.results.ok, deployed.results.reason
    assert deployed.results.data["Score.Builtin.Correctness.Mean"] == "0.75"
    (execution,) = w.pollers.executions.values()
    assert 170 <= execution.polls <= 185  # one a minute for the job's 3 hours
    delete_stack(w, deployed)


@scenario("A long wait the job outlives: the poller signals FAILURE naming the job and its status; the rollback stops the job", run_seconds=13 * 3600.0)
def long_wait_outlived(w: ResultsWorld) -> None:
    deployed = deploy(w, job_props(judge_request()), long_wait=2 * 3600)
    signal = deployed.condition  # type: ignore[attr-defined]
    assert signal["Status"] == "FAILURE"
    assert deployed.job.data[contract.ATTR_JOB_NAME] in signal["Reason"] and "still InProgress 2 h" in signal["Reason"], signal
    assert deployed.results is None
    assert w.emulator.status(deployed.job.physical_id) in ("Stopping", "Stopped")


@scenario("S3 throttles the reads of the results: the resource looks again and reads them", scores=GOOD)
def results_read_while_throttled(w: ResultsWorld) -> None:
    w.s3.throttle("ListObjectsV2", times=5)  # more than botocore's 3 attempts: one is_complete gives up, the next reads
    w.s3.throttle("GetObject", times=4)
    deployed = deploy(w, job_props(judge_request()))
    assert deployed.results is not None and deployed.results.ok, deployed.results.reason
    assert deployed.results.data["Score.Builtin.Correctness.Mean"] == "0.75"
    delete_stack(w, deployed)


@scenario("A result file listed but missing when read: looked for again until the deadline, then the resource fails naming it", scores=GOOD)
def result_file_missing(w: ResultsWorld) -> None:
    deploy_props = job_props(judge_request())
    job = w.cfn.create(deploy_props, logical_id="Job")
    w.clock.wait(21 * 60)  # the job has completed and written its files
    assert w.emulator.service.get_evaluation_job(job.physical_id)["status"] == "Completed"
    (output,) = [k for k in w.read_keys() if k.endswith("_output.jsonl")]
    w.s3.hide(OUTPUT_BUCKET, output)
    results = w.cfn.create(results_props(job, wait_seconds=600), logical_id="Results", resource_type=RESULTS)
    assert not results.ok
    assert "NoSuchKey" in str(results.reason) or output.rsplit("/", 1)[-1] in str(results.reason), results.reason
    roll_back_create(w, Deployed(job, deploy_props, results, results_props(job, wait_seconds=600)))


@scenario("A rollback to a job whose results are gone and whose reads are throttled still succeeds; nothing is made twice")
def rollback_without_its_scores(w: ResultsWorld) -> None:
    first = deploy(w, job_props(judge_request(), removal="delete"), max_drop=0.1)
    assert first.results is not None and first.results.ok and first.results_props is not None
    w.emulator.service.scores = WORSE
    new_props = job_props(judge_request("Builtin.Correctness", "Builtin.Faithfulness", "Builtin.Helpfulness"), removal="delete")
    job = w.cfn.update(new_props, old_properties=first.job_props, physical_id=first.job.physical_id, logical_id="Job")
    new_results_props = results_props(job, max_drop=0.1)
    failed = w.cfn.update(new_results_props, old_properties=first.results_props, physical_id=first.results.physical_id, logical_id="Results", resource_type=RESULTS)
    assert not failed.ok
    # The first job's results were removed meanwhile (a lifecycle rule), and S3 throttles.
    for key in w.read_keys():
        if first.job.physical_id.rsplit("/", 1)[-1] in key:
            w.s3.client().delete_object(Bucket=OUTPUT_BUCKET, Key=key)
    w.s3.throttle("ListObjectsV2", times=4)
    w.stack.status = "UPDATE_ROLLBACK_IN_PROGRESS"
    back = w.cfn.update(first.job_props, old_properties=new_props, physical_id=job.physical_id, logical_id="Job")
    assert back.physical_id == first.job.physical_id
    again = w.cfn.update(first.results_props, old_properties=new_results_props, physical_id=first.results.physical_id, logical_id="Results", resource_type=RESULTS)
    assert again.ok, again.reason
    assert "no result files" in again.data["ScoresOmitted"] or "all:" in again.data["ScoresOmitted"], again.data
    assert w.cfn.delete(new_props, physical_id=job.physical_id, logical_id="Job").ok
    w.stack.status = "UPDATE_ROLLBACK_COMPLETE"
    assert len(w.made()) == 2
    delete_stack(w, first)


@scenario("Returning to an earlier job outside a rollback is gated like any other deploy", scores=GOOD)
def return_to_an_earlier_job_is_gated(w: ResultsWorld) -> None:
    first = deploy(w, job_props(judge_request()))
    assert first.results is not None and first.results.ok and first.results_props is not None
    second_props = job_props(judge_request("Builtin.Correctness", "Builtin.Faithfulness", "Builtin.Helpfulness"))
    second = w.cfn.update(second_props, old_properties=first.job_props, physical_id=first.job.physical_id, logical_id="Job")
    second_results = results_props(second)
    assert w.cfn.update(second_results, old_properties=first.results_props, physical_id=first.results.physical_id, logical_id="Results", resource_type=RESULTS).ok
    # A later deploy returns to the first request (the first job is adopted) with a stricter bound.
    back = w.cfn.update(first.job_props, old_properties=second_props, physical_id=second.physical_id, logical_id="Job")
    assert back.physical_id == first.job.physical_id
    strict = results_props(back, bounds={"Builtin.Correctness": ["at_least", 0.9]})
    gated = w.cfn.update(strict, old_properties=second_results, physical_id=second.physical_id + "/results", logical_id="Results", resource_type=RESULTS)
    assert not gated.ok and "Builtin.Correctness mean 0.750 is below the threshold 0.900" in str(gated.reason), gated.reason
    assert w.cfn.delete(second_props, physical_id=second.physical_id, logical_id="Job").ok
    delete_stack(w, first)


@scenario("A long wait across an update that replaces the job: a new wait condition, a new poller, then the regression gate", run_seconds=2 * 3600.0)
def long_wait_update_with_replacement(w: ResultsWorld) -> None:
    first = deploy(w, job_props(judge_request(), removal="delete"), long_wait=4 * 3600, max_drop=0.2)
    assert first.results is not None and first.results.ok and first.results_props is not None and first.watch_props is not None
    new_props = job_props(judge_request("Builtin.Correctness", "Builtin.Faithfulness", "Builtin.Helpfulness"), removal="delete")
    job = w.cfn.update(new_props, old_properties=first.job_props, physical_id=first.job.physical_id, logical_id="Job")
    replaced = Deployed(job, new_props)
    # The new job version's wait condition and handle are new resources; the watch is updated.
    assert _long_wait(w, replaced, 4 * 3600, logical_id="Watch", old=first)
    assert len(w.pollers.executions) == 2
    new_results_props = {**results_props(job, max_drop=0.2), contract.PROP_RESULTS_SIGNALLED: json.dumps({job.data[contract.ATTR_JOB_NAME]: "completed"})}
    results = w.cfn.update(new_results_props, old_properties=first.results_props, physical_id=first.results.physical_id, logical_id="Results", resource_type=RESULTS)
    assert results.ok, results.reason
    assert results.data["Baseline"] == first.job.data[contract.ATTR_JOB_NAME]
    assert w.cfn.delete(first.job_props, physical_id=first.job.physical_id, logical_id="Job").ok  # the cleanup of the replaced job
    delete_stack(w, Deployed(job, new_props, results, new_results_props))


def run(s: ResultsScenario, *, chaos: bool = True) -> Outcome:
    with results_world(chaos=chaos, **s.options) as w:
        outcome = played(s.id, w, s.run, invariant_violations, w.left_running)
        # S3's faults (throttling, a missing object) count with Bedrock's.
        return dataclasses.replace(outcome, faults_injected=outcome.faults_injected + sum(w.s3.injected.values()))



