"""Run every lifecycle scenario against the Bedrock emulator with fault injection; print a table
and the totals. Exits non-zero if a scenario fails or a total is not what it must be.

    .venv/bin/python scripts/reliability_report.py        (or: make report)

The scenarios are tests/lifecycle_scenarios.py, the ones the test suite runs. Each runs here under
background chaos (the first request, and every third after it, meets a throttle, a 500, a 503 or a
dropped connection) on top of its own faults. "left running" counts jobs still InProgress after
the stack's Delete, except a job kept on purpose (removal retain).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "lambda" / "evaluation_job"))  # the handler's modules, as conftest puts them

import lifecycle_scenarios  # noqa: E402
from lifecycle_scenarios import SCENARIOS, Outcome, Totals  # noqa: E402

COLUMNS = ("scenario", "events sent", "events answered", "faults injected", "jobs created", "duplicates",
           "left running", "result")


def table(outcomes: list[Outcome]) -> str:
    rows = [
        (o.scenario, o.events_sent, o.events_answered, o.faults_injected, o.jobs_created, o.duplicates,
         o.left_running, "pass" if o.passed else "FAIL")
        for o in outcomes
    ]
    widths = [max(len(str(cell)) for cell in column) for column in zip(COLUMNS, *rows, strict=True)]
    lines = []
    for index, row in enumerate([COLUMNS, *rows]):
        cells = [str(c).ljust(w) if i in (0, len(row) - 1) else str(c).rjust(w) for i, (c, w) in
                 enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary(totals: Totals) -> str:
    lines = [
        ("scenarios", f"{totals.scenarios} ({totals.passed} passed)"),
        ("events sent", totals.events_sent),
        ("events answered", totals.events_answered),
        ("faults injected", totals.faults_injected),
        ("duplicate jobs", totals.duplicates),
        ("jobs left running after delete", totals.left_running),
    ]
    return "\n".join(f"{label + ':':<32} {value}" for label, value in lines)


def main() -> int:
    # The handler logs every event at INFO; the table is the report.
    logging.getLogger().addHandler(logging.NullHandler())
    outcomes = [lifecycle_scenarios.run(scenario, chaos=True) for scenario in SCENARIOS]
    totals = lifecycle_scenarios.totals(outcomes)
    print(table(outcomes))
    print()
    print(summary(totals))
    for outcome in outcomes:
        if not outcome.passed:
            print(f"\n{outcome.scenario} failed: {outcome.failure}", file=sys.stderr)
    healthy = (
        totals.passed == totals.scenarios
        and totals.events_answered == totals.events_sent
        and totals.duplicates == 0
        and totals.left_running == 0
    )
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
