"""What every resource handler needs from the Lambda it runs in: a clock and a deadline, one
backoff, failure reasons CloudFormation can show, idempotency tokens, and one way to treat a
failed call while waiting for something.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from bedrock import error_message, is_transient

LOGGER_NAME = "bedrock_evaluation.handler"
"""The handler's logger: index sets its level once, each module logs to a child of it."""

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 30.0
# CloudFormation refuses a custom-resource response over 4096 bytes of JSON. The reason shares it
# with the stack id, request id, physical id, logical id (up to 255) and the data (an output URI
# can reach 1,100 bytes), and the Provider framework appends "Error: ", the log group and its own
# stack trace (about 300 bytes, tests/test_framework_fidelity.py): the reason, as the response's
# JSON escapes it, gets at most this many bytes.
MAX_REASON_BYTES = 1000
_CUT = "..."


def module_logger(name: str) -> logging.Logger:
    """The logger of one handler module, a child of the handler's."""
    return logging.getLogger(f"{LOGGER_NAME}.{name}")


@dataclass(frozen=True)
class Clock:
    """Time, sleeping and jitter, replaceable in tests."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    random: Callable[[], float] = random.random
    wall: Callable[[], float] = time.time
    """Seconds since the epoch: the one time on_event and later is_complete invocations share."""


@dataclass(frozen=True)
class Budget:
    """The point after which the handler starts no new waiting, so it always answers in time."""

    deadline: float
    clock: Clock = field(default_factory=Clock)

    @classmethod
    def of_seconds(cls, seconds: float, clock: Clock | None = None) -> Budget:
        clock = clock or Clock()
        return cls(deadline=clock.monotonic() + seconds, clock=clock)

    def within(self, seconds: float) -> Budget:
        """This budget, ending no later than `seconds` from now."""
        return Budget(deadline=min(self.deadline, self.clock.monotonic() + seconds), clock=self.clock)

    def allows(self, seconds: float) -> bool:
        """Whether a wait of this long, starting now, ends by the deadline."""
        return self.clock.monotonic() + seconds <= self.deadline

    def left(self) -> float:
        return self.deadline - self.clock.monotonic()


def backoff(attempt: int, clock: Clock) -> float:
    """Seconds to wait before retry `attempt` (counting from 0): doubling up to a cap, with jitter
    so that resources failing together do not retry together."""
    return min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2.0**attempt) * (0.5 + clock.random() / 2)


def reason(text: str, limit: int = MAX_REASON_BYTES) -> str:
    """The text, cut to `limit` bytes (MAX_REASON_BYTES) as a JSON response holds it (and marked where it was cut)."""
    if _json_bytes(text) <= limit:
        return text
    # The longest head that fits: quotes, backslashes and control characters take more than one byte.
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if _json_bytes(text[:middle]) + len(_CUT) <= limit:
            low = middle
        else:
            high = middle - 1
    return text[:low] + _CUT


def _json_bytes(text: str) -> int:
    """The bytes `text` takes inside a JSON document (UTF-8, as the framework's JSON.stringify writes it)."""
    return len(json.dumps(text, ensure_ascii=False).encode()) - 2


def brief(error: BaseException) -> BaseException:
    """The same error, its message cut to a reason CloudFormation can show: every failure the
    entry points raise passes through here, whatever raised it (botocore, a parser, a bug)."""
    text = reason(str(error) or type(error).__name__)
    if text == str(error):
        return error
    error.args = (text,)
    # An error whose str() does not show its args (KeyError quotes them) becomes a plain one.
    return error if str(error) == text else RuntimeError(text)


class InvalidProperties(ValueError):
    """The event or its resource properties cannot describe the resource."""


class ResourceError(RuntimeError):
    """A failure CloudFormation should report; the message is the reason it shows."""

    what: ClassVar[str]
    """What kind of thing failed, as the reason names it."""

    def __init__(self, subject: str, message: str) -> None:
        super().__init__(reason(f"{self.what} {subject}: {message}"))


def duration_text(seconds: float) -> str:
    """A wait or an age as a reason says it: "42 min", "3 h 5 min"."""
    minutes = int(seconds // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def idempotency_token(*, stack_id: str, logical_id: str, request_id: str) -> str:
    """Same CloudFormation request, same token: a repeated delivery never starts a second job or ingestion."""
    return hashlib.sha256(f"{stack_id}\n{logical_id}\n{request_id}".encode()).hexdigest()


def transient_or_fail(error: Exception, log: logging.Logger, doing: str, fail: Callable[[str], ResourceError]) -> None:
    """For a call that failed while the handler waits for something: return if the error may pass
    (the caller looks again on its next turn), else raise `fail(the error's message)`."""
    if is_transient(error):
        log.warning("transient error %s, will look again: %s", doing, error)
        return
    raise fail(error_message(error)) from error
