"""`bedrock-evaluation-results` against the Bedrock emulator and a local S3 (moto's server) holding
result files in each job kind's layout: the table and --json value by value, waiting, gates, exit
codes and the errors a person meets (never a traceback).

CloudFormation (--stack) is answered by botocore's Stubber through the command's seam: moto's
CloudFormation creates a Custom:: resource only by invoking its Lambda function in Docker, so it
cannot hold a stack of evaluation jobs here. The Stubber still checks each request and answer
against CloudFormation's service model."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from emulator import Outcome, ScorePlan
from local_s3 import LocalS3
from results_world import (
    NOVA_LITE,
    ResultsWorld,
    automatic,
    custom_metric,
    human,
    judged,
    results_world,
    retrieve_and_generate,
    retrieve_only,
)

from bedrock_evaluation import contract
from bedrock_evaluation.results_command import EXIT_AWS, EXIT_GATE, EXIT_NOT_FINISHED, EXIT_OK, EXIT_RESULTS, EXIT_USAGE, Aws, parser, wait
from bedrock_evaluation.results_view import JobResults

ROOT = Path(__file__).resolve().parents[1]
ARN_PREFIX = "arn:aws:bedrock:us-east-1:123456789012:evaluation-job/"
KB_LABEL = "knowledge base KBID123456, generator amazon.nova-lite-v1:0"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy credentials and a region from the environment, and nothing else of the machine's AWS set-up."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def world(local_s3: LocalS3, aws_env: None) -> Iterator[ResultsWorld]:
    """Jobs stay InProgress until a test ends them (`world.completed`)."""
    with results_world(local_s3) as made:
        yield made


def score_rows(out: str) -> list[list[str]]:
    """The score table's rows (after the jobs table), each split into its columns."""
    _, scores = out.split("\n\n", 1)
    lines = scores.strip().splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["JOB", "SOURCE", "METRIC", "MEAN", "MIN", "COUNT", "SCORED"]
    return [re.split(r"\s{2,}", line.strip()) for line in lines[1:]]


def job_rows(out: str) -> list[list[str]]:
    jobs = out.split("\n\n", 1)[0].strip().splitlines()
    assert re.split(r"\s{2,}", jobs[0]) == ["JOB", "STATUS", "KIND", "SCORED PER", "ARN"]
    return [re.split(r"\s{2,}", line.strip()) for line in jobs[1:]]


def overall(answer: dict[str, Any], job: int = 0) -> dict[tuple[str, str | None], tuple[Any, ...]]:
    """--json's overall summary of one job: (metric, rating method) -> (mean, scored, not scored, minimum)."""
    return {
        (m["metric"], m["rating_method"]): (m["mean"], m["scored"], m["not_scored"], m["minimum"])
        for m in answer["jobs"][job]["summary"]["overall"]
    }


# --- every job kind, value by value -----------------------------------------------------------------------

KINDS = {
    "automatic": (
        automatic("eval-auto"),
        ScorePlan(records=4, scores={"Builtin.Accuracy": [1.0, 0.5, 0.25, 0.25], "Builtin.Toxicity": [0.0, 0.5, 0.0, 0.0]}),
        "automatic",
        "record",
        [
            ["eval-auto", NOVA_LITE, "Builtin.Accuracy", "0.500", "0.250", "4", "100%"],
            ["eval-auto", NOVA_LITE, "Builtin.Toxicity (lower is better)", "0.125", "0.000", "4", "100%"],
        ],
        {("Builtin.Accuracy", None): (0.5, 4, 0, 0.25), ("Builtin.Toxicity", None): (0.125, 4, 0, 0.0)},
    ),
    "judge": (
        judged("eval-judge"),
        ScorePlan(records=4, scores={"Builtin.Correctness": [1.0, 0.75, None, 0.5], "Builtin.Completeness": [1.0, 1.0, 0.5, 0.5]}),
        "llm-as-a-judge",
        "record",
        [
            ["eval-judge", NOVA_LITE, "Builtin.Completeness", "0.750", "0.500", "4", "100%"],
            ["eval-judge", NOVA_LITE, "Builtin.Correctness", "0.750", "0.500", "4", "75%"],
        ],
        {("Builtin.Completeness", None): (0.75, 4, 0, 0.5), ("Builtin.Correctness", None): (0.75, 3, 1, 0.5)},
    ),
    "custom metric": (
        custom_metric("eval-custom"),
        ScorePlan(records=3, scores={"Builtin.Correctness": [1.0, 1.0, 0.25], "Concise": [1.0, 0.0, None]}),
        "llm-as-a-judge + custom metrics",
        "record",
        [
            ["eval-custom", NOVA_LITE, "Builtin.Correctness", "0.750", "0.250", "3", "100%"],
            ["eval-custom", NOVA_LITE, "Concise", "0.500", "0.000", "3", "67%"],
        ],
        {("Builtin.Correctness", None): (0.75, 3, 0, 0.25), ("Concise", None): (0.5, 2, 1, 0.0)},
    ),
    "retrieve only": (
        retrieve_only("eval-retrieve"),
        ScorePlan(records=3, scores={"Builtin.ContextRelevance": [1.0, 0.5, 0.0], "Builtin.ContextCoverage": [0.75, None, 0.25]}),
        "rag retrieve-only",
        "turn",
        [
            ["eval-retrieve", "knowledge base KBID123456", "Builtin.ContextCoverage", "0.500", "0.250", "3", "67%"],
            ["eval-retrieve", "knowledge base KBID123456", "Builtin.ContextRelevance", "0.500", "0.000", "3", "100%"],
        ],
        {("Builtin.ContextCoverage", None): (0.5, 2, 1, 0.25), ("Builtin.ContextRelevance", None): (0.5, 3, 0, 0.0)},
    ),
    "retrieve and generate": (
        retrieve_and_generate("eval-rag"),
        # Two conversations of three turns: six scores per metric, one per turn.
        ScorePlan(records=2, turns=3, scores={"Builtin.Correctness": [1.0, 0.5, 0.5, 1.0, 0.0, 0.5], "Grounded": [1.0, 1.0, 0.0, None, 1.0, 1.0]}),
        "rag retrieve-and-generate + custom metrics",
        "turn",
        [
            ["eval-rag", KB_LABEL, "Builtin.Correctness", "0.583", "0.000", "6", "100%"],
            ["eval-rag", KB_LABEL, "Grounded", "0.800", "0.000", "6", "83%"],
        ],
        {("Builtin.Correctness", None): (3.5 / 6, 6, 0, 0.0), ("Grounded", None): (0.8, 5, 1, 0.0)},
    ),
    "human": (
        human("eval-human"),
        ScorePlan(
            records=4,
            scores={"Helpful": [1.0, 0.0, 1.0, 1.0], "Clarity": [4, 5, 3, 4]},
            per_source={"support-bot-v2": {"Helpful": [0.0, 0.0, 1.0, 0.0], "Clarity": [2, 3, 2, 1]}},
        ),
        "human",
        "rating",
        [
            ["eval-human", NOVA_LITE, "Clarity (IndividualLikertScale)", "4.000", "3.000", "4", "100%"],
            ["eval-human", NOVA_LITE, "Helpful (ThumbsUpDown)", "0.750", "0.000", "4", "100%"],
            ["eval-human", "support-bot-v2", "Clarity (IndividualLikertScale)", "2.000", "1.000", "4", "100%"],
            ["eval-human", "support-bot-v2", "Helpful (ThumbsUpDown)", "0.250", "0.000", "4", "100%"],
        ],
        # Over both sources: what --json's overall summary says.
        {("Clarity", "IndividualLikertScale"): (3.0, 8, 0, 1.0), ("Helpful", "ThumbsUpDown"): (0.5, 8, 0, 0.0)},
    ),
}


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_of_job_is_shown_per_source_and_metric(world: ResultsWorld, kind: str) -> None:
    request, plan, kind_name, unit, rows, _ = KINDS[kind]
    arn = world.completed(request, plan)

    ran = world.run(arn)

    assert (ran.code, ran.err) == (EXIT_OK, "")
    assert job_rows(ran.out) == [[request["jobName"], "Completed", kind_name, unit, arn]]
    assert score_rows(ran.out) == rows


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_of_job_as_json(world: ResultsWorld, kind: str) -> None:
    request, plan, kind_name, unit, _, means = KINDS[kind]
    arn = world.completed(request, plan)

    ran = world.run(arn, "--json")

    answer = json.loads(ran.out)
    assert (ran.code, ran.err, answer["exit_code"]) == (EXIT_OK, "", EXIT_OK)
    (job,) = answer["jobs"]
    job_id = arn.rsplit("/", 1)[1]
    assert (job["arn"], job["name"], job["status"], job["kind"], job["scored_per"]) == (arn, request["jobName"], "Completed", kind_name, unit)
    assert job["results"] == f"s3://results-bucket/results/job/{request['jobName']}/{job_id}/"
    assert job["failure_messages"] == []
    assert overall(answer).keys() == means.keys()
    for key, (mean, scored, not_scored, minimum) in means.items():
        got = overall(answer)[key]
        assert got[0] == pytest.approx(mean) and got[1:] == (scored, not_scored, minimum), key
    assert answer["gate"] == {"passed": True, "failures": []}


def test_json_groups_say_which_source_each_summary_is_about(world: ResultsWorld) -> None:
    request, plan, *_ = KINDS["human"]
    answer = json.loads(world.run(world.completed(request, plan), "--json").out)

    (job,) = answer["jobs"]
    nova = f"arn:aws:bedrock:us-east-1::foundation-model/{NOVA_LITE}"
    assert job["sources"] == {nova: NOVA_LITE, "support-bot-v2": "support-bot-v2"}
    groups = {(g["metric"], g["source"]): (g["mean"], g["scored"]) for g in job["summary"]["groups"]}
    assert groups == {
        ("Clarity", nova): (4.0, 4),
        ("Clarity", "support-bot-v2"): (2.0, 4),
        ("Helpful", nova): (0.75, 4),
        ("Helpful", "support-bot-v2"): (0.25, 4),
    }


def test_several_jobs_are_compared_in_one_table(world: ResultsWorld) -> None:
    lite = world.completed(judged("qa-lite"), ScorePlan(records=2, scores={"Builtin.Correctness": [1.0, 0.5]}))
    micro = world.completed(
        judged("qa-micro", model="amazon.nova-micro-v1:0"), ScorePlan(records=2, scores={"Builtin.Correctness": [0.5, 0.0]})
    )

    ran = world.run(lite, micro)

    assert ran.code == EXIT_OK
    assert [row[0] for row in job_rows(ran.out)] == ["qa-lite", "qa-micro"]
    rows = [row for row in score_rows(ran.out) if row[2] == "Builtin.Correctness"]
    assert rows == [
        ["qa-lite", NOVA_LITE, "Builtin.Correctness", "0.750", "0.500", "2", "100%"],
        ["qa-micro", "amazon.nova-micro-v1:0", "Builtin.Correctness", "0.250", "0.000", "2", "100%"],
    ]


# --- waiting ---------------------------------------------------------------------------------------------------


def test_wait_polls_until_the_job_completes_with_progress_on_stderr_and_clean_json_on_stdout(local_s3: LocalS3, aws_env: None) -> None:
    with results_world(local_s3, complete_after_gets=3) as world:
        arn = world.create(judged("eval-slow"), ScorePlan(records=2, scores={"Builtin.Correctness": [1.0, 0.5]}))

        ran = world.run(arn, "--wait", "--poll-interval", "0.01", "--json")

        assert ran.code == EXIT_OK
        assert overall(json.loads(ran.out))[("Builtin.Correctness", None)] == (0.75, 2, 0, 0.5)
        assert world.emulator.calls("GetEvaluationJob") == 3
    progress = ran.err.splitlines()
    assert progress[0].startswith("waiting: 0 of 1 jobs ended (eval-slow InProgress) after ")
    assert progress[-1].startswith("waiting: 1 of 1 jobs ended (eval-slow Completed) after ")
    assert len(progress) == 2  # a line per change, not per poll, when stderr is not a terminal


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_wait_rewrites_one_progress_line(world: ResultsWorld) -> None:
    arn = world.create(judged("eval-slow"))
    jobs = [JobResults.described(world.emulator.service.get_evaluation_job(arn))]
    terminal = Terminal()
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds
        if now[0] == 60.0:
            world.emulator.finish(arn)

    ended = wait(Aws(endpoints={"bedrock": world.emulator.url}), jobs, timeout=600, interval=30, err=terminal, clock=lambda: now[0], sleep=sleep)

    assert [job.status for job in ended] == ["Completed"]
    assert terminal.getvalue() == (
        "\r\033[Kwaiting: 0 of 1 jobs ended (eval-slow InProgress) 0m00s"
        "\r\033[Kwaiting: 0 of 1 jobs ended (eval-slow InProgress) 0m30s"
        "\r\033[Kwaiting: 1 of 1 jobs ended (eval-slow Completed) 1m00s\n"
    )


def test_in_a_log_wait_prints_a_line_per_change_and_one_every_10_minutes_without_any(world: ResultsWorld) -> None:
    arn = world.create(judged("eval-slow"))
    jobs = [JobResults.described(world.emulator.service.get_evaluation_job(arn))]
    log = io.StringIO()
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds
        if now[0] == 1500.0:
            world.emulator.finish(arn)

    wait(Aws(endpoints={"bedrock": world.emulator.url}), jobs, timeout=7200, interval=300, err=log, clock=lambda: now[0], sleep=sleep)

    assert log.getvalue().splitlines() == [
        "waiting: 0 of 1 jobs ended (eval-slow InProgress) after 0s",
        "waiting: 0 of 1 jobs ended (eval-slow InProgress) after 600s",
        "waiting: 0 of 1 jobs ended (eval-slow InProgress) after 1200s",
        "waiting: 1 of 1 jobs ended (eval-slow Completed) after 1500s",
    ]


def test_a_running_job_without_wait_is_shown_and_exits_3(world: ResultsWorld) -> None:
    arn = world.create(judged("eval-running"))

    ran = world.run(arn)

    assert ran.code == EXIT_NOT_FINISHED
    assert job_rows(ran.out) == [["eval-running", "InProgress", "llm-as-a-judge", "record", arn]]
    assert "\n\n" not in ran.out.strip()  # no scores yet
    assert ran.err == "bedrock-evaluation-results: eval-running is InProgress: pass --wait to wait for it to end\n"


def test_wait_gives_up_after_its_timeout(world: ResultsWorld) -> None:
    arn = world.create(judged("eval-forever"))

    ran = world.run(arn, "--wait", "--timeout", "0.2", "--poll-interval", "0.05")

    assert ran.code == EXIT_NOT_FINISHED
    assert "eval-forever is still InProgress: --timeout passed before it ended" in ran.err
    assert "Traceback" not in ran.err


def test_a_failed_job_exits_3_with_its_failure_messages(local_s3: LocalS3, aws_env: None) -> None:
    with results_world(local_s3, outcome=Outcome.failed("The judge model was throttled.")) as world:
        arn = world.completed(judged("eval-failed"))

        ran = world.run(arn, "--json")

    answer = json.loads(ran.out)
    assert ran.code == answer["exit_code"] == EXIT_NOT_FINISHED
    assert answer["jobs"][0]["status"] == "Failed" and answer["jobs"][0]["summary"] is None
    assert answer["jobs"][0]["failure_messages"] == ["The judge model was throttled."]
    assert "eval-failed is Failed, not Completed: it has no results: The judge model was throttled." in ran.err


# --- gates -----------------------------------------------------------------------------------------------------

GATED = ScorePlan(records=4, scores={"Builtin.Correctness": [1.0, 0.75, None, 0.5], "Builtin.Harmfulness": [0.0, 0.25, 0.0, 0.0]})


def test_a_missed_threshold_exits_1_with_the_reason(world: ResultsWorld) -> None:
    arn = world.completed(judged("eval-gated", metrics=("Builtin.Correctness", "Builtin.Harmfulness")), GATED)

    ran = world.run(arn, "--fail-under", "Builtin.Correctness=0.8", "--fail-over", "Builtin.Harmfulness=0.1")

    assert ran.code == EXIT_GATE
    assert ran.err.splitlines() == [
        "bedrock-evaluation-results: gate missed:",
        "  eval-gated: Builtin.Correctness mean 0.750 is below the threshold 0.800 (3 scored, 1 not scored)",
    ]


def test_a_missed_limit_of_a_lower_is_better_metric_exits_1(world: ResultsWorld) -> None:
    arn = world.completed(judged("eval-gated", metrics=("Builtin.Correctness", "Builtin.Harmfulness")), GATED)

    ran = world.run(arn, "--fail-over", "Builtin.Harmfulness=0.05", "--json")

    answer = json.loads(ran.out)
    assert ran.code == answer["exit_code"] == EXIT_GATE
    assert answer["gate"] == {
        "passed": False,
        "failures": ["eval-gated: Builtin.Harmfulness mean 0.062 is above the limit 0.050 (4 scored, 0 not scored)"],
    }


def test_bounds_the_scores_meet_exit_0(world: ResultsWorld) -> None:
    arn = world.completed(judged("eval-gated", metrics=("Builtin.Correctness", "Builtin.Harmfulness")), GATED)

    ran = world.run(arn, "--fail-under", "Builtin.Correctness=0.75", "Correctness=0.7", "--fail-over", "Builtin.Harmfulness=0.0625")

    assert (ran.code, ran.err) == (EXIT_OK, "")


def test_a_bound_applies_to_the_jobs_that_report_its_metric_and_a_metric_no_job_reports_fails(world: ResultsWorld) -> None:
    judge = world.completed(judged("eval-judge"), ScorePlan(records=2, scores={"Builtin.Correctness": [1.0, 0.5]}))
    retrieve = world.completed(retrieve_only("eval-retrieve"))

    passes = world.run(judge, retrieve, "--fail-under", "Builtin.Correctness=0.7")
    misspelt = world.run(judge, retrieve, "--fail-under", "Builtin.Corectness=0.7")

    assert (passes.code, passes.err) == (EXIT_OK, "")
    assert misspelt.code == EXIT_GATE
    assert "  Builtin.Corectness: no job reports it (threshold 0.700)" in misspelt.err.splitlines()


def test_a_gate_on_an_unfinished_job_exits_3_not_1(world: ResultsWorld) -> None:
    done = world.completed(judged("eval-done"), ScorePlan(records=1, scores={"Builtin.Correctness": [0.0]}))
    running = world.create(judged("eval-running"))

    ran = world.run(done, running, "--fail-under", "Builtin.Correctness=0.5")

    assert ran.code == EXIT_NOT_FINISHED


def test_fail_under_on_a_lower_is_better_metric_notes_fail_over(world: ResultsWorld) -> None:
    arn = world.completed(judged("eval-gated", metrics=("Builtin.Correctness", "Builtin.Harmfulness")), GATED)

    ran = world.run(arn, "--fail-under", "Builtin.Harmfulness=0.0")

    assert "note: lower is better for Builtin.Harmfulness; --fail-over bounds it from above" in ran.err


# --- a baseline job: --baseline, --max-drop ----------------------------------------------------------------------

GATED_METRICS = ("Builtin.Correctness", "Builtin.Harmfulness")
BASELINE = ScorePlan(records=4, scores={"Builtin.Correctness": [1.0, 1.0, 0.5, 0.5], "Builtin.Harmfulness": [0.0, 0.0, 0.0, 0.0]})
"""Correctness 0.750, Harmfulness 0.000."""


def baseline_rows(out: str) -> list[list[str]]:
    """The score table's rows when a baseline is given: its mean and the change after each mean."""
    _, scores = out.split("\n\n", 1)
    lines = scores.strip().splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["JOB", "SOURCE", "METRIC", "MEAN", "BASELINE", "CHANGE", "MIN", "COUNT", "SCORED"]
    return [re.split(r"\s{2,}", line.strip()) for line in lines[1:]]


def new_and_baseline(world: ResultsWorld, correctness: list[float], harmfulness: list[float]) -> tuple[str, str]:
    base = world.completed(judged("eval-base", metrics=GATED_METRICS), BASELINE)
    new = world.completed(
        judged("eval-new", metrics=GATED_METRICS), ScorePlan(records=4, scores={"Builtin.Correctness": correctness, "Builtin.Harmfulness": harmfulness})
    )
    return new, base


def test_a_drop_beyond_max_drop_exits_1_naming_the_metric_both_means_and_the_margin(world: ResultsWorld) -> None:
    new, base = new_and_baseline(world, [1.0, 0.5, 0.5, 0.0], [0.0, 0.0, 0.0, 0.0])

    ran = world.run(new, "--baseline", base, "--max-drop", "0.1")

    assert ran.code == EXIT_GATE
    assert ran.err.splitlines() == [
        "bedrock-evaluation-results: gate missed:",
        "  eval-new: Builtin.Correctness mean 0.500 fell 0.250 from 0.750, more than 0.100 (4 scored, 0 not scored)",
    ]
    assert job_rows(ran.out) == [
        ["eval-new", "Completed", "llm-as-a-judge", "record", new],
        ["eval-base (baseline)", "Completed", "llm-as-a-judge", "record", base],
    ]
    assert baseline_rows(ran.out) == [
        ["eval-new", NOVA_LITE, "Builtin.Correctness", "0.500", "0.750", "-0.250", "0.000", "4", "100%"],
        ["eval-new", NOVA_LITE, "Builtin.Harmfulness (lower is better)", "0.000", "0.000", "+0.000", "0.000", "4", "100%"],
    ]


def test_a_drop_within_max_drop_passes(world: ResultsWorld) -> None:
    new, base = new_and_baseline(world, [1.0, 1.0, 0.5, 0.25], [0.0, 0.0, 0.0, 0.25])  # -0.0625, +0.0625

    ran = world.run(new, "--baseline", base, "--max-drop", "0.1")

    assert (ran.code, ran.err) == (EXIT_OK, "")
    assert [row[3:6] for row in baseline_rows(ran.out)] == [["0.688", "0.750", "-0.062"], ["0.062", "0.000", "+0.062"]]


def test_a_drop_of_exactly_max_drop_passes(world: ResultsWorld) -> None:
    new, base = new_and_baseline(world, [1.0, 0.5, 0.5, 0.5], [0.0, 0.0, 0.0, 0.0])  # 0.625: 0.125 below

    assert world.run(new, "--baseline", base, "--max-drop", "0.125").code == EXIT_OK
    assert world.run(new, "--baseline", base, "--max-drop", "0.12").code == EXIT_GATE


def test_a_rise_of_a_lower_is_better_metric_beyond_max_drop_fails(world: ResultsWorld) -> None:
    new, base = new_and_baseline(world, [1.0, 1.0, 0.5, 0.5], [0.25, 0.25, 0.0, 0.0])  # Harmfulness 0.000 -> 0.125

    ran = world.run(new, "--baseline", base, "--max-drop", "0.1", "--json")

    answer = json.loads(ran.out)
    reason = "eval-new: Builtin.Harmfulness mean 0.125 rose 0.125 from 0.000, more than 0.100 (4 scored, 0 not scored)"
    assert ran.code == answer["exit_code"] == EXIT_GATE
    assert answer["gate"] == {"passed": False, "failures": [reason]}
    (regression,) = answer["regressions"]
    assert regression["job"] == new and regression["reason"] == reason
    assert (regression["metric"], regression["mean"], regression["baseline_mean"], regression["bound"]) == ("Builtin.Harmfulness", 0.125, 0.0, 0.1)
    assert (regression["source"], regression["dataset"]) == (NOVA_LITE, "qa")
    baseline = answer["baseline"]
    assert (baseline["arn"], baseline["name"], baseline["status"], baseline["max_drop"]) == (base, "eval-base", "Completed", 0.1)
    assert {m["metric"]: m["mean"] for m in baseline["summary"]["overall"]} == {"Builtin.Correctness": 0.75, "Builtin.Harmfulness": 0.0}
    assert baseline["compared"] == [{"job": new, "groups": 2}] and baseline["not_compared"] == []
    assert "  " + reason in ran.err.splitlines()


def test_a_baseline_without_max_drop_is_shown_and_gates_nothing(world: ResultsWorld) -> None:
    new, base = new_and_baseline(world, [0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0])

    ran = world.run(new, "--baseline", base)
    as_json = json.loads(world.run(new, "--baseline", base, "--json").out)

    assert (ran.code, ran.err) == (EXIT_OK, "")
    assert [row[3:6] for row in baseline_rows(ran.out)] == [["0.000", "0.750", "-0.750"], ["1.000", "0.000", "+1.000"]]
    assert as_json["exit_code"] == EXIT_OK and as_json["regressions"] == [] and as_json["baseline"]["max_drop"] is None
    assert as_json["gate"] == {"passed": True, "failures": []}


def test_without_baseline_json_says_so_and_the_table_has_no_baseline_columns(world: ResultsWorld) -> None:
    arn = world.completed(judged("eval-new", metrics=GATED_METRICS), BASELINE)

    answer = json.loads(world.run(arn, "--json").out)
    ran = world.run(arn)

    assert (answer["baseline"], answer["regressions"]) == (None, [])
    assert "BASELINE" not in ran.out and len(score_rows(ran.out)) == 2


def test_bounds_and_max_drop_gate_together(world: ResultsWorld) -> None:
    new, base = new_and_baseline(world, [1.0, 0.5, 0.5, 0.0], [0.25, 0.0, 0.0, 0.0])

    ran = world.run(new, "--fail-over", "Builtin.Harmfulness=0.05", "--baseline", base, "--max-drop", "0.2")

    assert ran.code == EXIT_GATE
    assert ran.err.splitlines()[1:] == [
        "  eval-new: Builtin.Harmfulness mean 0.062 is above the limit 0.050 (4 scored, 0 not scored)",
        "  eval-new: Builtin.Correctness mean 0.500 fell 0.250 from 0.750, more than 0.200 (4 scored, 0 not scored)",
    ]


def test_groups_only_one_of_the_two_jobs_has_are_not_compared_and_noted(world: ResultsWorld) -> None:
    """The baseline also scored Completeness; the new job also scored Harmfulness: neither is compared."""
    base = world.completed(
        judged("eval-base", metrics=("Builtin.Correctness", "Builtin.Completeness")),
        ScorePlan(records=2, scores={"Builtin.Correctness": [1.0, 1.0], "Builtin.Completeness": [1.0, 1.0]}),
    )
    new = world.completed(judged("eval-new", metrics=GATED_METRICS), ScorePlan(records=2, scores={"Builtin.Correctness": [1.0, 0.5], "Builtin.Harmfulness": [1.0, 1.0]}))

    ran = world.run(new, "--baseline", base, "--max-drop", "0.3")
    answer = json.loads(world.run(new, "--baseline", base, "--max-drop", "0.3", "--json").out)

    assert ran.code == EXIT_OK
    assert ran.err.splitlines() == [
        "bedrock-evaluation-results: note: eval-new: 2 groups not compared with the baseline eval-base (in only one of the two jobs, "
        f"or not scored in the baseline): Builtin.Completeness, {NOVA_LITE}, General, qa (baseline); Builtin.Harmfulness, {NOVA_LITE}, General, qa"
    ]
    assert [row[2:6] for row in baseline_rows(ran.out)] == [
        ["Builtin.Correctness", "0.750", "1.000", "-0.250"],
        ["Builtin.Harmfulness (lower is better)", "1.000", "-", "-"],
    ]
    assert answer["baseline"]["compared"] == [{"job": new, "groups": 1}]
    assert [(g["only_in"], g["metric"]) for g in answer["baseline"]["not_compared"]] == [("job", "Builtin.Harmfulness"), ("baseline", "Builtin.Completeness")]


def test_a_baseline_of_another_model_compares_nothing_and_max_drop_fails(world: ResultsWorld) -> None:
    """Groups are matched by model too: a baseline that evaluated another model has no group in common,
    and a gate that would check nothing fails rather than pass."""
    base = world.completed(judged("eval-micro", model="amazon.nova-micro-v1:0"), ScorePlan(records=2, scores={"Builtin.Correctness": [1.0, 1.0]}))
    new = world.completed(judged("eval-lite"), ScorePlan(records=2, scores={"Builtin.Correctness": [0.0, 0.0]}))

    shown = world.run(new, "--baseline", base)
    gated = world.run(new, "--baseline", base, "--max-drop", "0.1")

    assert shown.code == EXIT_OK and "note: eval-lite: 4 groups not compared with the baseline eval-micro" in shown.err
    assert {row[4] for row in baseline_rows(shown.out)} == {"-"}
    assert gated.code == EXIT_GATE
    assert gated.err.splitlines()[-1] == (
        "  no job has a metric, model or knowledge base, task type, dataset and rating method the baseline eval-micro "
        "has scores for: nothing compared (max drop 0.100)"
    )


def test_each_job_is_compared_with_the_baseline(world: ResultsWorld) -> None:
    base = world.completed(judged("eval-base"), ScorePlan(records=2, scores={"Builtin.Correctness": [1.0, 0.5]}))
    kept = world.completed(judged("eval-kept"), ScorePlan(records=2, scores={"Builtin.Correctness": [1.0, 0.5]}))
    fell = world.completed(judged("eval-fell"), ScorePlan(records=2, scores={"Builtin.Correctness": [0.5, 0.5]}))

    ran = world.run(kept, fell, "--baseline", base, "--max-drop", "0.2")

    assert ran.code == EXIT_GATE
    assert ran.err.splitlines()[1:] == ["  eval-fell: Builtin.Correctness mean 0.500 fell 0.250 from 0.750, more than 0.200 (2 scored, 0 not scored)"]


def test_a_baseline_that_has_not_completed_exits_3(local_s3: LocalS3, aws_env: None) -> None:
    with results_world(local_s3) as world:
        new = world.completed(judged("eval-new"))
        running = world.create(judged("eval-base"))

        ran = world.run(new, "--baseline", running, "--max-drop", "0.1", "--json")

    answer = json.loads(ran.out)
    assert ran.code == answer["exit_code"] == EXIT_NOT_FINISHED
    assert answer["baseline"]["status"] == "InProgress" and answer["baseline"]["summary"] is None and answer["regressions"] == []
    assert ran.err == (
        "bedrock-evaluation-results: --baseline: eval-base is InProgress: pass --wait to wait for it to end, so nothing is compared with it\n"
    )


def test_a_failed_baseline_exits_3_with_its_failure_messages(world: ResultsWorld) -> None:
    new = world.completed(judged("eval-new"))
    failed = world.create(judged("eval-base"))
    world.emulator.finish(failed, "Failed", "The judge model was throttled.")

    ran = world.run(new, "--baseline", failed)

    assert ran.code == EXIT_NOT_FINISHED
    assert ran.err == (
        "bedrock-evaluation-results: --baseline: eval-base is Failed, not Completed: it has no results: The judge model was throttled., "
        "so nothing is compared with it\n"
    )
    assert [row[:2] for row in job_rows(ran.out)] == [["eval-new", "Completed"], ["eval-base (baseline)", "Failed"]]
    assert {tuple(row[4:6]) for row in baseline_rows(ran.out)} == {("-", "-")}


def test_wait_also_waits_for_the_baseline(local_s3: LocalS3, aws_env: None) -> None:
    with results_world(local_s3, complete_after_gets=3) as world:
        base = world.create(judged("eval-base"), ScorePlan(records=2, scores={"Builtin.Correctness": [1.0, 1.0]}))
        new = world.create(judged("eval-new"), ScorePlan(records=2, scores={"Builtin.Correctness": [1.0, 0.5]}))

        ran = world.run(new, "--baseline", base, "--max-drop", "0.1", "--wait", "--poll-interval", "0.01")

    assert ran.code == EXIT_GATE
    assert "waiting: 0 of 2 jobs ended (eval-new InProgress, eval-base InProgress)" in ran.err
    assert "  eval-new: Builtin.Correctness mean 0.750 fell 0.250 from 1.000, more than 0.100 (2 scored, 0 not scored)" in ran.err.splitlines()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([ARN_PREFIX + "abcdefabcdef", "--max-drop", "0.1"], "--max-drop needs --baseline JOB_ARN"),
        ([ARN_PREFIX + "abcdefabcdef", "--baseline", ARN_PREFIX + "bbbbbbbbbbbb", "--max-drop", "-0.1"], "expected a number 0 or more (0.05), not '-0.1'"),
        ([ARN_PREFIX + "abcdefabcdef", "--baseline", ARN_PREFIX + "bbbbbbbbbbbb", "--max-drop", "a lot"], "expected a number 0 or more"),
        ([ARN_PREFIX + "abcdefabcdef", "--baseline", ARN_PREFIX + "bbbbbbbbbbbb", "--max-drop", "nan"], "expected a number 0 or more"),
        ([ARN_PREFIX + "abcdefabcdef", "--baseline", "eval-base"], "'eval-base' is not an evaluation job ARN"),
        ([ARN_PREFIX + "abcdefabcdef", "--baseline"], "expected one argument"),
    ],
)
def test_bad_baseline_arguments_are_usage_errors(world: ResultsWorld, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    ran = world.run(*argv)

    printed = ran.err + capsys.readouterr().err
    assert (ran.code, ran.out) == (EXIT_USAGE, "")
    assert message in printed and "Traceback" not in printed
    assert world.emulator.calls("GetEvaluationJob") == 0


def test_a_baseline_that_does_not_exist_is_a_usage_error(world: ResultsWorld) -> None:
    new = world.completed(judged("eval-new"))

    ran = world.run(new, "--baseline", ARN_PREFIX + "abcdefabcdef", "--max-drop", "0.1")

    assert ran.code == EXIT_USAGE
    assert ran.err.startswith(f"bedrock-evaluation-results: no evaluation job {ARN_PREFIX}abcdefabcdef (in its account and region): ")


# --- --stack ---------------------------------------------------------------------------------------------------


def stack_resources(*resources: tuple[str, str, str]) -> dict[str, Any]:
    from datetime import UTC, datetime

    return {
        "StackResourceSummaries": [
            {
                "LogicalResourceId": logical_id,
                "PhysicalResourceId": physical_id,
                "ResourceType": resource_type,
                "LastUpdatedTimestamp": datetime(2026, 1, 1, tzinfo=UTC),
                "ResourceStatus": "CREATE_COMPLETE",
            }
            for logical_id, physical_id, resource_type in resources
        ]
    }


@pytest.fixture
def cloudformation() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_stack_reads_every_evaluation_job_of_the_stack(world: ResultsWorld, cloudformation: tuple[Any, Stubber]) -> None:
    client, stubber = cloudformation
    judge = world.completed(judged("eval-judge"), ScorePlan(records=2, scores={"Builtin.Correctness": [1.0, 0.5]}))
    rag = world.completed(retrieve_only("eval-retrieve"))
    stubber.add_response(
        "list_stack_resources",
        stack_resources(
            ("ResultsBucket", "bucket-name", "AWS::S3::Bucket"),
            ("Retrieve", rag, contract.RESOURCE_TYPE),
            ("Judge", judge, contract.RESOURCE_TYPE),
            ("JudgeResults", judge + "/results", contract.RESULTS_RESOURCE_TYPE),
        ),
        {"StackName": "BedrockModelEvaluation"},
    )

    ran = world.run("--stack", "BedrockModelEvaluation", clients={"cloudformation": client})

    assert ran.code == EXIT_OK, ran.err
    assert [row[:2] for row in job_rows(ran.out)] == [["eval-judge", "Completed"], ["eval-retrieve", "Completed"]]  # by logical id


def test_a_stack_job_whose_create_failed_is_noted_and_skipped(world: ResultsWorld, cloudformation: tuple[Any, Stubber]) -> None:
    client, stubber = cloudformation
    judge = world.completed(judged("eval-judge"))
    stubber.add_response(
        "list_stack_resources",
        stack_resources(("Broken", "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED", contract.RESOURCE_TYPE), ("Judge", judge, contract.RESOURCE_TYPE)),
        {"StackName": "Evals"},
    )

    ran = world.run("--stack", "Evals", clients={"cloudformation": client})

    assert ran.code == EXIT_OK
    assert "note: Broken has no job (AWSCDK::CustomResourceProviderFramework::CREATE_FAILED)" in ran.err


def test_a_stack_without_evaluation_jobs_is_a_usage_error(world: ResultsWorld, cloudformation: tuple[Any, Stubber]) -> None:
    client, stubber = cloudformation
    stubber.add_response("list_stack_resources", stack_resources(("Bucket", "b", "AWS::S3::Bucket")), {"StackName": "Plain"})

    ran = world.run("--stack", "Plain", clients={"cloudformation": client})

    assert (ran.code, ran.out) == (EXIT_USAGE, "")
    assert ran.err == "bedrock-evaluation-results: stack Plain has no evaluation jobs (Custom::BedrockEvaluationJob resources)\n"


def test_a_stack_that_does_not_exist_is_a_usage_error(world: ResultsWorld, cloudformation: tuple[Any, Stubber]) -> None:
    client, stubber = cloudformation
    stubber.add_client_error("list_stack_resources", "ValidationError", "Stack with id Nope does not exist", 400, expected_params={"StackName": "Nope"})

    ran = world.run("--stack", "Nope", clients={"cloudformation": client})

    assert ran.code == EXIT_USAGE
    assert ran.err == "bedrock-evaluation-results: stack Nope: Stack with id Nope does not exist\n"


def test_listing_a_stack_without_permission_names_the_action(world: ResultsWorld, cloudformation: tuple[Any, Stubber]) -> None:
    client, stubber = cloudformation
    stubber.add_client_error(
        "list_stack_resources",
        "AccessDenied",
        "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: cloudformation:ListStackResources on resource: "
        "arn:aws:cloudformation:us-east-1:123456789012:stack/Evals/*",
        403,
    )

    ran = world.run("--stack", "Evals", clients={"cloudformation": client})

    assert ran.code == EXIT_AWS
    assert "access denied: the caller may not cloudformation:ListStackResources on Evals" in ran.err


def test_stack_without_a_region_is_a_usage_error(world: ResultsWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    ran = world.run("--stack", "Evals")

    assert (ran.code, ran.err) == (EXIT_USAGE, "bedrock-evaluation-results: no AWS region: pass --region or set AWS_REGION (or a region in the profile)\n")


# --- bad input and AWS problems: a message and an exit code, never a traceback ----------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["arn:aws:bedrock:us-east-1:123456789012:model-customization-job/abcdefabcdef"], "is not an evaluation job ARN"),
        (["eval-judge"], "'eval-judge' is not an evaluation job ARN"),
        ([], "give evaluation job ARNs or --stack STACK (one of the two)"),
        ([ARN_PREFIX + "abcdefabcdef", "--stack", "Evals"], "give evaluation job ARNs or --stack STACK (one of the two)"),
        ([ARN_PREFIX + "abcdefabcdef", "--fail-under", "Builtin.Correctness"], "expected METRIC=NUMBER"),
        ([ARN_PREFIX + "abcdefabcdef", "--fail-under", "Builtin.Correctness=high"], "expected METRIC=NUMBER"),
        ([ARN_PREFIX + "abcdefabcdef", "--timeout", "soon"], "expected a duration (90, 90s, 30m, 2h)"),
        (["--fail-under", "Builtin.Correctness=0.7", ARN_PREFIX + "abcdefabcdef"], "give job ARNs before --fail-under and --fail-over"),
    ],
)
def test_bad_arguments_are_usage_errors(world: ResultsWorld, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    ran = world.run(*argv)

    printed = ran.err + capsys.readouterr().err  # argparse writes its own errors to sys.stderr
    assert ran.code == EXIT_USAGE
    assert message in printed and "Traceback" not in printed
    assert world.emulator.calls("GetEvaluationJob") == 0


def test_an_evaluation_job_that_does_not_exist_is_a_usage_error(world: ResultsWorld) -> None:
    ran = world.run(ARN_PREFIX + "abcdefabcdef")

    assert ran.code == EXIT_USAGE
    assert ran.err.startswith(f"bedrock-evaluation-results: no evaluation job {ARN_PREFIX}abcdefabcdef (in its account and region): ")


def test_missing_credentials_exit_4_and_say_where_they_come_from(world: ResultsWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    ran = world.run(world.completed(judged()))

    assert ran.code == EXIT_AWS
    assert ran.err.startswith("bedrock-evaluation-results: no AWS credentials found: set AWS_PROFILE (or pass --profile)")


def test_an_unknown_profile_is_a_usage_error(world: ResultsWorld) -> None:
    ran = world.run(world.completed(judged()), "--profile", "nobody")

    assert ran.code == EXIT_USAGE
    assert "--profile nobody: The config profile (nobody) could not be found" in ran.err


def test_access_denied_by_bedrock_names_the_missing_action(world: ResultsWorld) -> None:
    arn = world.completed(judged())
    world.emulator.fail(
        "GetEvaluationJob",
        "AccessDeniedException",
        f"User: arn:aws:iam::123456789012:user/dev is not authorized to perform: bedrock:GetEvaluationJob on resource: {arn}",
    )

    ran = world.run(arn)

    assert ran.code == EXIT_AWS
    assert ran.err.startswith(f"bedrock-evaluation-results: access denied: the caller may not bedrock:GetEvaluationJob on {arn} (User: ")


def test_access_denied_by_s3_names_the_missing_action(world: ResultsWorld) -> None:
    """S3's AccessDenied says only "Access Denied": the action is the one the command was calling."""
    arn = world.completed(judged())
    s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(s3) as stubber:
        stubber.add_client_error("list_objects_v2", "AccessDenied", "Access Denied", 403)

        ran = world.run(arn, clients={"s3": s3})

    assert ran.code == EXIT_AWS
    job_id = arn.rsplit("/", 1)[1]
    assert ran.err == (
        "bedrock-evaluation-results: access denied: the caller may not s3:ListBucket on "
        f"s3://results-bucket/results/job/eval-judge/{job_id}/ (Access Denied)\n"
    )


def test_a_completed_job_without_result_files_exits_5(world: ResultsWorld, local_s3: LocalS3) -> None:
    job = world.emulator.seed_job(judged("eval-moved"), status="Completed")
    local_s3.bucket("results-bucket")

    ran = world.run(job.arn)

    assert ran.code == EXIT_RESULTS
    assert ran.err.startswith(
        "bedrock-evaluation-results: eval-moved: the job's result files are not where the job says, or cannot be read: "
        f"no result files under s3://results-bucket/results/job/eval-moved/{job.arn.rsplit('/', 1)[1]}/ (0 objects listed there)"
    )


def test_a_completed_job_whose_bucket_is_gone_exits_5(world: ResultsWorld) -> None:
    job = world.emulator.seed_job(judged("eval-gone"), status="Completed")

    ran = world.run(job.arn)

    assert ran.code == EXIT_RESULTS
    assert "the job's results are not where it says: s3://results-bucket/results/job/eval-gone/" in ran.err
    assert "NoSuchBucket" in ran.err


def test_an_unreadable_record_exits_5_naming_the_file_and_line(world: ResultsWorld, local_s3: LocalS3) -> None:
    arn = world.completed(judged("eval-broken"))
    (key,) = [k for k in local_s3.keys("results-bucket") if k.endswith("_output.jsonl")]
    body = local_s3.client().get_object(Bucket="results-bucket", Key=key)["Body"].read()
    local_s3.put_object(Bucket="results-bucket", Key=key, Body=body + b"{not json\n")

    ran = world.run(arn)

    assert ran.code == EXIT_RESULTS
    assert f"{key}, line 4: not JSON" in ran.err


# --- the command as installed ----------------------------------------------------------------------------------


def test_help_explains_each_option_and_the_exit_codes() -> None:
    text = parser().format_help()

    for option in (
        "--stack", "--region", "--profile", "--wait", "--timeout", "--poll-interval", "--json", "--html", "--worst", "--fail-under", "--fail-over",
        "--baseline", "--max-drop",
    ):  # fmt: skip
        assert option in text
    for code, meaning in ((0, "every job Completed"), (1, "bound was missed"), (2, "usage error"), (3, "has not Completed"), (4, "AWS access problem")):
        assert f"  {code}  {meaning}" in text or re.search(rf"^  {code}  .*{meaning}", text, flags=re.M), code
    assert "  5  a Completed job's result files are not where the job says" in text


def test_python_m_runs_it_with_endpoints_from_the_usual_environment(world: ResultsWorld, tmp_path: Path) -> None:
    """`python -m bedrock_evaluation`, the console script's code, in a process of its own: boto3 finds the
    endpoints in AWS_ENDPOINT_URL_<SERVICE>, as the AWS CLI does."""
    arn = world.completed(judged("eval-judge", metrics=("Builtin.Correctness",)), ScorePlan(records=2, scores={"Builtin.Correctness": [1.0, 0.5]}))
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_BEDROCK": world.emulator.url,
        "AWS_ENDPOINT_URL_S3": world.s3.url,
    }

    command = [sys.executable, "-m", "bedrock_evaluation", arn, "--fail-under", "Builtin.Correctness=0.8"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)

    assert done.returncode == EXIT_GATE, done.stderr
    assert score_rows(done.stdout) == [["eval-judge", NOVA_LITE, "Builtin.Correctness", "0.750", "0.500", "2", "100%"]]
    assert "eval-judge: Builtin.Correctness mean 0.750 is below the threshold 0.800" in done.stderr


def test_the_console_script_is_declared() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'bedrock-evaluation-results = "bedrock_evaluation.results_command:main"' in pyproject


def test_the_command_needs_neither_the_cdk_nor_node() -> None:
    """Reading results is boto3's work: importing the command loads neither aws_cdk nor jsii (which
    would start a Node process), while the constructs stay importable from the package as ever."""
    import subprocess
    import sys

    code = (
        "import sys, bedrock_evaluation.results_command as c; "
        "assert 'aws_cdk' not in sys.modules and 'jsii' not in sys.modules, sorted(sys.modules); "
        "from bedrock_evaluation import EvaluationJob, JobWait; assert 'aws_cdk' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
