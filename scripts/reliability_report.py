"""Run every lifecycle scenario against the Bedrock emulator with fault injection; print a table
and the totals. Exits non-zero if a scenario fails or a total is not what it must be.

    .venv/bin/python scripts/reliability_report.py        (or: make report)

The scenarios are tests/lifecycle_scenarios.py (evaluation jobs, Bedrock emulator) and
tests/flow_definition_scenarios.py (flow definitions, SageMaker emulator) and tests/results_scenarios.py
(waited jobs and their quality gates, Bedrock emulator and a local S3), the ones the test suite runs. Each runs here under
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
sys.path.insert(0, str(ROOT / "lambda" / "evaluation_job"))  # the handler's modules, as Lambda imports them

import flow_definition_scenarios  # noqa: E402
import lifecycle_scenarios  # noqa: E402
import results_scenarios  # noqa: E402
from flow_definition_scenarios import FLOW_SCENARIOS  # noqa: E402
from lifecycle_scenarios import SCENARIOS, Outcome, Totals  # noqa: E402
from results_scenarios import RESULTS_SCENARIOS  # noqa: E402

COLUMNS = ("scenario", "events sent", "events answered", "faults injected", "jobs created", "duplicates",
           "left running", "result")
FLOW_COLUMNS = ("scenario", "events sent", "events answered", "faults injected", "flows created", "duplicates",
                "left behind", "result")


def table(outcomes: list[Outcome], columns: tuple[str, ...] = COLUMNS) -> str:
    rows = [
        (o.scenario, o.events_sent, o.events_answered, o.faults_injected, o.jobs_created, o.duplicates,
         o.left_running, "pass" if o.passed else "FAIL")
        for o in outcomes
    ]
    widths = [max(len(str(cell)) for cell in column) for column in zip(columns, *rows, strict=True)]
    lines = []
    for index, row in enumerate([columns, *rows]):
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
        ("duplicate jobs or flows", totals.duplicates),
        ("left running or behind", totals.left_running),
    ]
    return "\n".join(f"{label + ':':<32} {value}" for label, value in lines)


def main() -> int:
    # The handler logs every event at INFO; the table is the report.
    logging.getLogger().addHandler(logging.NullHandler())
    job_outcomes = [lifecycle_scenarios.run(scenario, chaos=True) for scenario in SCENARIOS]
    # Flow definitions (SageMaker emulator): "jobs created" counts flow definitions made, "left
    # running" those SageMaker still holds after the stack's Delete.
    flow_outcomes = [flow_definition_scenarios.run(scenario, chaos=True) for scenario in FLOW_SCENARIOS]
    # Waited jobs (Bedrock emulator and a local S3): the job, its results resource and, for a long wait,
    # its watch, wait condition and poller.
    results_outcomes = [results_scenarios.run(scenario, chaos=True) for scenario in RESULTS_SCENARIOS]
    outcomes = job_outcomes + flow_outcomes + results_outcomes
    totals = lifecycle_scenarios.totals(outcomes)
    print(table(job_outcomes))
    print()
    print(table(flow_outcomes, FLOW_COLUMNS))
    print()
    print(table(results_outcomes))
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
