"""Faults the emulator injects on demand, one request at a time, and counts.

Each operation has a queue of single-shot faults: the next request of that operation takes the
first one. Background chaos, when switched on, gives the first and then every n-th request that
found its queue empty
a fault from a fixed cycle of those botocore's standard retries absorb (throttling, 500, 503, a
connection dropped before the service saw the request), so it can run under any scenario without
changing what the service does.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter, deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    kind: str
    """What the fault is, for counting: "throttling", "server error 500", "iam not ready", ..."""


@dataclass(frozen=True)
class ErrorFault(Fault):
    """Answer with this error instead of serving the request."""

    code: str
    message: str


@dataclass(frozen=True)
class DelayFault(Fault):
    """Serve the request, then wait this long before answering (the client may give up first)."""

    seconds: float


@dataclass(frozen=True)
class DropFault(Fault):
    """Close the connection without an answer, before or after the service acted on the request."""

    after_processing: bool
    seconds: float = 0.0
    """How long the client waited before it gave up (its read timeout)."""


THROTTLED = ErrorFault("throttling", "ThrottlingException", "Too many requests, please wait before trying again.")
INTERNAL_ERROR = ErrorFault("server error 500", "InternalServerException", "Internal server error.")
UNAVAILABLE = ErrorFault("server error 503", "ServiceUnavailableException", "Service unavailable.")
DROPPED_BEFORE = DropFault("dropped connection", after_processing=False)
DROPPED_AFTER = DropFault("dropped connection after processing", after_processing=True)

CHAOS_CYCLE = (THROTTLED, INTERNAL_ERROR, UNAVAILABLE, DROPPED_BEFORE)


class FaultPlan:
    """The faults still to inject, per operation, and those injected so far. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Fault]] = {}
        self._chaos_every: int | None = None
        self._chaos_cycle = itertools.cycle(CHAOS_CYCLE)
        self._unfaulted = 0
        self.injected: Counter[str] = Counter()
        """Faults injected, per kind."""

    def add(self, operation: str, fault: Fault, times: int = 1) -> None:
        if times < 1:
            raise ValueError("a fault is injected at least once")
        with self._lock:
            self._queues.setdefault(operation, deque()).extend([fault] * times)

    def chaos(self, every: int) -> None:
        if every < 2:
            raise ValueError("chaos needs at least one clean request between two faults")
        with self._lock:
            self._chaos_every = every

    def pending(self, operation: str) -> int:
        with self._lock:
            return len(self._queues.get(operation, ()))

    def take(self, operation: str) -> Fault | None:
        """The fault the next request of this operation meets, if any; counted as injected."""
        with self._lock:
            queue = self._queues.get(operation)
            if queue:
                fault: Fault | None = queue.popleft()
            elif self._chaos_every is not None:
                # The 1st, (1 + every)th, ... unplanned request: even a short lifecycle meets one.
                fault = next(self._chaos_cycle) if self._unfaulted % self._chaos_every == 0 else None
                self._unfaulted += 1
            else:
                fault = None
            if fault is not None:
                self.injected[fault.kind] += 1
            return fault

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.injected.values())
