"""runtime.py and events.py: what every resource handler shares. One backoff, a deadline it never
waits past, reasons that fit CloudFormation's response, one way to treat a failed call while
waiting, and the event read once. (The idempotency token is tested with the request it goes into.)"""

from __future__ import annotations

import logging

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from events import ResourceEvent
from handler_support import LOGICAL_ID, STACK_ID, FakeClock, make_event
from runtime import (
    BACKOFF_CAP_SECONDS,
    MAX_REASON_BYTES,
    Budget,
    Clock,
    InvalidProperties,
    ResourceError,
    backoff,
    reason,
    transient_or_fail,
)


class WidgetError(ResourceError):
    what = "widget"


def service_error(code: str, message: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


# --- backoff and budget ---------------------------------------------------------------------------


def test_backoff_doubles_up_to_the_cap_with_jitter_between_half_and_all_of_it() -> None:
    least, most = Clock(random=lambda: 0.0), Clock(random=lambda: 0.999999)

    assert [backoff(attempt, least) for attempt in range(6)] == [1.0, 2.0, 4.0, 8.0, 15.0, 15.0]
    assert [round(backoff(attempt, most), 3) for attempt in range(6)] == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert max(backoff(attempt, most) for attempt in range(20)) <= BACKOFF_CAP_SECONDS


def test_a_budget_allows_a_wait_only_if_it_ends_by_the_deadline() -> None:
    clock = FakeClock()
    budget = clock.budget(seconds=10.0)

    assert budget.allows(10.0)
    assert not budget.allows(10.5)
    clock.sleep(4.0)
    assert not budget.allows(6.5)


def test_a_budget_within_a_window_ends_at_the_earlier_of_the_two() -> None:
    clock = FakeClock()
    budget = clock.budget(seconds=100.0)

    assert budget.within(30.0).deadline == clock.now + 30.0
    assert budget.within(300.0).deadline == budget.deadline


def test_a_budget_of_seconds_counts_from_now_on_its_clock() -> None:
    clock = FakeClock(now=50.0)

    assert Budget.of_seconds(20.0, clock.clock()).deadline == 70.0


# --- reasons --------------------------------------------------------------------------------------


def test_a_short_reason_is_left_whole() -> None:
    assert reason("nope") == "nope"
    assert str(WidgetError("w-1", "nope")) == "widget w-1: nope"


def test_a_long_reason_is_cut_to_the_limit_and_marked() -> None:
    cut = reason("x" * 5000)

    assert len(cut) == MAX_REASON_BYTES
    assert cut.endswith("x...")


def test_a_long_reason_in_other_scripts_is_cut_by_its_utf8_bytes_without_breaking_a_character() -> None:
    # given a reason of 3-byte characters, as long in characters as the limit is in bytes
    cut = reason("評" * MAX_REASON_BYTES)

    # then what CloudFormation receives fits the limit in bytes, and decodes
    assert len(cut.encode()) <= MAX_REASON_BYTES
    assert cut == "評" * ((MAX_REASON_BYTES - 3) // 3) + "..."


# --- a failed call while waiting ------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [service_error("ThrottlingException", "Rate exceeded", 429), EndpointConnectionError(endpoint_url="https://x")],
    ids=["throttled", "connection failed"],
)
def test_a_transient_error_is_logged_and_left_for_the_next_look(error, caplog) -> None:
    log = logging.getLogger("bedrock_evaluation.handler.test")

    with caplog.at_level(logging.WARNING):
        transient_or_fail(error, log, "reading widget w-1", lambda text: WidgetError("w-1", text))

    assert "transient error reading widget w-1, will look again" in caplog.text


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (service_error("AccessDeniedException", "Not authorized.", 403), "Not authorized."),
        (NoCredentialsError(), "Unable to locate credentials"),
    ],
    ids=["refused by the service", "botocore's own"],
)
def test_fails_on_a_lasting_error_with_the_resources_error_and_the_services_words(error, message) -> None:
    log = logging.getLogger("bedrock_evaluation.handler.test")

    with pytest.raises(WidgetError) as raised:
        transient_or_fail(error, log, "reading widget w-1", lambda text: WidgetError("w-1", f"could not read: {text}"))

    assert str(raised.value) == f"widget w-1: could not read: {message}"
    assert raised.value.__cause__ is error


# --- the event, read once -------------------------------------------------------------------------


def test_an_event_is_read_into_its_typed_fields() -> None:
    event = ResourceEvent.parse(make_event("Update", old_properties={"Removal": "stop"}, physical_id="id-1"))

    assert (event.request_type, event.stack_id, event.logical_id, event.request_id, event.physical_id) == (
        "Update",
        STACK_ID,
        LOGICAL_ID,
        "req-1",
        "id-1",
    )
    assert event.resource_type == "Custom::BedrockEvaluationJob"
    assert event.properties is not None and event.properties["JobNamePrefix"] == "eval-boolq"
    assert event.old_properties is not None and event.old_properties["Removal"] == "stop"


def test_a_create_has_no_physical_id_and_no_old_properties() -> None:
    event = ResourceEvent.parse(make_event("Create"))

    assert event.physical_id == ""
    assert event.old_properties is None


def test_fails_for_an_unknown_request_type() -> None:
    with pytest.raises(InvalidProperties, match="^unknown RequestType 'Replace'; expected Create, Update or Delete$"):
        ResourceEvent.parse(make_event("Replace"))
