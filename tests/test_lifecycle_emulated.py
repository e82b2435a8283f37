"""Whole custom-resource lifecycles: CloudFormation's events, through the Provider framework's
logic, to the unmodified handler, whose real boto3 client talks HTTP to the Bedrock emulator.

The scenarios live in lifecycle_scenarios.py (the reliability report runs the same ones); each
asserts on the jobs the emulator holds afterwards. Here every scenario runs on its own, then all
of them under background chaos for the report's totals; then the driver's own behaviour, and the
handler bugs the emulator found (expected failures until the handler is fixed).
"""

from __future__ import annotations

import index
import lifecycle_driver
import lifecycle_scenarios
import pytest
from handler_support import make_event
from lifecycle_driver import CloudFormation, VirtualClock
from lifecycle_scenarios import (
    BOTOCORE_ATTEMPTS,
    IN_PROGRESS,
    SCENARIOS,
    STOPPED,
    STOPPING,
    Scenario,
    changed_request,
    invariant_violations,
    props,
    world,
)

from bedrock_evaluation.contract import CREATE_FAILED_MARKER

# --- every scenario, one at a time -------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_lifecycle_scenario(scenario: Scenario) -> None:
    """Each scenario's own assertions, then what must hold after any lifecycle: every event answered,
    no duplicate job, no job left running after its Delete, no Lambda past its timeout."""
    with world(**scenario.options) as w:
        scenario.run(w)

        assert invariant_violations(w) == [], scenario.name


def test_every_scenario_under_chaos_answers_every_event_and_leaves_no_duplicate_or_running_job() -> None:
    # when every scenario runs as the reliability report runs it, with background chaos
    outcomes = [lifecycle_scenarios.run(scenario, chaos=True) for scenario in SCENARIOS]
    totals = lifecycle_scenarios.totals(outcomes)

    # then
    assert [o.scenario for o in outcomes if not o.passed] == [], [o.failure for o in outcomes if not o.passed]
    assert totals.scenarios == totals.passed == len(SCENARIOS) >= 19
    assert totals.events_answered == totals.events_sent > 0
    assert totals.duplicates == 0
    assert totals.left_running == 0
    assert totals.faults_injected > 0
    assert [o.scenario for o in outcomes if o.bedrock_requests and not o.faults_injected] == []


# --- the driver behaves like CloudFormation and the Provider framework ---------------------------------


def test_driver_timeouts_are_the_providers() -> None:
    from bedrock_evaluation import provider

    assert lifecycle_driver.ON_EVENT_TIMEOUT_SECONDS == provider.ON_EVENT_TIMEOUT.to_seconds()
    assert lifecycle_driver.IS_COMPLETE_TIMEOUT_SECONDS == provider.IS_COMPLETE_TIMEOUT.to_seconds()
    assert lifecycle_driver.QUERY_INTERVAL_SECONDS == provider.QUERY_INTERVAL.to_seconds()
    assert lifecycle_driver.TOTAL_TIMEOUT_SECONDS == provider.TOTAL_TIMEOUT.to_seconds()


def test_an_exception_from_the_handler_becomes_a_failed_answer_with_its_message() -> None:
    with world() as w:
        answer = w.cfn.send(make_event("Replace", physical_id="some-id"))

    # the reason is the framework's: "Error: ", the message, the log group, the framework's stack
    assert answer.status == "FAILED"
    assert answer.reason == lifecycle_driver.framework_reason(
        "on_event", "unknown RequestType 'Replace'; expected Create, Update or Delete"
    )
    assert answer.physical_id == "some-id"
    assert w.cfn.events_answered == w.cfn.events_sent == 1


def test_a_handler_that_runs_past_its_lambda_timeout_is_answered_task_timed_out(monkeypatch) -> None:
    clock = VirtualClock()
    cfn = CloudFormation(clock)

    def slow_on_event(event, context):
        clock.wait(context.get_remaining_time_in_millis() / 1000 + 1)
        return {"PhysicalResourceId": "too-late"}

    monkeypatch.setattr(index, "on_event", slow_on_event)

    answer = cfn.create(props())

    assert answer.status == "FAILED"
    assert "Error: Task timed out after 720.00 seconds" in (answer.reason or "")
    assert answer.physical_id == CREATE_FAILED_MARKER
    assert cfn.exchanges[0].invocations[0].timed_out


def test_a_job_that_never_stops_fails_the_delete_with_a_reason_well_inside_cloudformations_hour() -> None:
    with world() as w:
        # given a removal=delete job whose stop never completes
        w.emulator.service.stop_after_gets = 10**6
        job_arn = w.cfn.create(props(removal="delete")).physical_id

        # when
        answer = w.cfn.delete(props(removal="delete"), physical_id=job_arn)

        # then the handler stopped waiting after its limit, before the framework's and CloudFormation's
        assert (answer.status, answer.physical_id) == ("FAILED", job_arn)
        assert "still Stopping after 35 minutes of waiting" in (answer.reason or "")
        assert answer.unreadable is None
        assert 35 * 60 <= w.last().seconds <= 36 * 60 < lifecycle_driver.TOTAL_TIMEOUT_SECONDS
        assert w.emulator.status(job_arn) == STOPPING


# --- handler bugs the emulator found -------------------------------------------------------------------


def test_a_batch_delete_whose_answer_was_lost_still_deletes_the_resource() -> None:
    with world() as w:
        # given a removal=delete job; the service will delete it but the answer will not arrive
        job_arn = w.cfn.create(props(removal="delete")).physical_id
        w.emulator.drop_connection("BatchDeleteEvaluationJob", after_processing=True)

        # when
        answer = w.cfn.delete(props(removal="delete"), physical_id=job_arn)

        # then the job is being deleted, as asked: the Delete should succeed
        assert w.emulator.status(job_arn) == "Deleting"
        assert answer.ok, answer.reason


def test_a_create_that_made_its_job_but_never_got_an_answer_leaves_no_job_running() -> None:
    with world() as w:
        # given the service makes the job on the first attempt, and no attempt's answer arrives
        w.emulator.drop_connection("CreateEvaluationJob", times=BOTOCORE_ATTEMPTS, after_processing=True)

        # when CloudFormation creates, and then (the Create having failed) rolls back
        answer = w.cfn.create(props())
        w.cfn.delete(props(), physical_id=answer.physical_id)

        # then no job may be left running: either the Create adopted it, or it was stopped
        job = w.only_job()
        assert answer.physical_id == job.arn or w.emulator.status(job.arn) != IN_PROGRESS


def test_a_deploy_that_returns_to_an_earlier_request_does_not_silently_point_at_a_stopped_job() -> None:
    with world() as w:
        # given request A was replaced by B, and A's job was stopped in the cleanup (removal stop)
        a, b = props(), props(request=changed_request())
        job_a = w.cfn.create(a).physical_id
        job_b = w.cfn.update(b, old_properties=a, physical_id=job_a).physical_id
        assert w.cfn.delete(a, physical_id=job_a).ok
        w.emulator.settle()

        # when a later deploy changes the request back to A
        answer = w.cfn.update(a, old_properties=b, physical_id=job_b)

        # then A runs again, or the update fails saying why; it does not succeed with a stopped job
        assert w.emulator.status(job_a) == STOPPED
        assert not answer.ok or w.emulator.status(answer.physical_id) == IN_PROGRESS, answer


def test_a_version_that_drops_the_earlier_digest_turns_a_rollback_after_an_upgrade_into_a_duplicate() -> None:
    # The rollback_across_a_handler_upgrade scenario, with what the handler did before it kept
    # earlier digests: the rollback creates a second job for request A.
    from unittest import mock

    import request as handler_request

    with world() as w:
        a, b = props(), props(request=changed_request())
        with mock.patch.object(handler_request, "NAME_DIGESTS", (lifecycle_scenarios._digest_v0,)):
            job_a = w.cfn.create(a).physical_id
        job_b = w.cfn.update(b, old_properties=a, physical_id=job_a).physical_id
        rollback = w.cfn.update(a, old_properties=b, physical_id=job_b)

        assert rollback.physical_id != job_a
        assert w.duplicates() == 1
