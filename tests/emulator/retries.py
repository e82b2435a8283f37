"""botocore's standard retry mode, with its waits taken out of real time.

botocore decides whether to retry (`StandardRetryConditions`, the retry quota) and how long to
wait (`ExponentialBackoff.delay_amount`), then its endpoint sleeps that long. The seam is the
backoff class, which `botocore.retries.standard.register_retry_handler` looks up when a client is
made: the replacement computes botocore's own delay, records it, hands it to `on_delay` (a virtual
clock, say) and lets the endpoint sleep for zero seconds. Every retry decision stays botocore's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from botocore.retries import standard


@contextmanager
def fast_retries(
    *, on_delay: Callable[[float], None] | None = None, jitter: float | None = None
) -> Iterator[list[float]]:
    """While inside, clients made get instant retries; yields the delays botocore asked for.

    `jitter` fixes botocore's random factor (0 to 1) so that recorded delays are repeatable.
    """
    delays: list[float] = []

    class RecordedBackoff(standard.ExponentialBackoff):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if jitter is not None:
                self._random = lambda: jitter

        def delay_amount(self, context: Any) -> float:
            delay = float(super().delay_amount(context))
            delays.append(delay)
            if on_delay is not None:
                on_delay(delay)
            return 0.0

    with mock.patch.object(standard, "ExponentialBackoff", RecordedBackoff):
        yield delays


def total_attempts(config: Any) -> int:
    """How many attempts one call makes under this client Config: the first and the retries.

    botocore's `max_attempts` counts retries, and making a client rewrites the Config's own dict
    to `total_max_attempts` (attempts), so a shared Config may hold either.
    """
    retries = config.retries or {}
    if "total_max_attempts" in retries:
        return int(retries["total_max_attempts"])
    return int(retries.get("max_attempts", 2)) + 1
