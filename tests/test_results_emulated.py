"""Waited jobs against the Bedrock emulator and a local S3 (tests/results_scenarios.py): each
scenario on its own, then all of them under background chaos as the reliability report runs them."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("results_scenarios", "lifecycle_scenarios", "lifecycle_driver")

import results_scenarios  # noqa: E402
from lifecycle_scenarios import invariant_violations  # noqa: E402
from results_scenarios import RESULTS_SCENARIOS, ResultsScenario, results_world  # noqa: E402


@pytest.mark.parametrize("scenario", RESULTS_SCENARIOS, ids=[s.id for s in RESULTS_SCENARIOS])
def test_results_scenario(scenario: ResultsScenario) -> None:
    with results_world(**scenario.options) as w:
        scenario.run(w)

        assert invariant_violations(w) == [], scenario.name


def test_every_results_scenario_under_chaos_answers_every_event_and_leaves_nothing_running() -> None:
    outcomes = [results_scenarios.run(s, chaos=True) for s in RESULTS_SCENARIOS]
    assert [o.failure for o in outcomes if not o.passed] == []
    assert all(o.faults_injected > 0 for o in outcomes)
    assert sum(o.duplicates + o.left_running for o in outcomes) == 0
