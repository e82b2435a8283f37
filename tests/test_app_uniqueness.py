"""No two jobs of an app may take each other's place: fixed job names are unique per account and
region, default prefixes are unique per job, and no job's output prefix holds another's on the
same bucket (each job's role may write everything under its own prefix)."""

from __future__ import annotations

import re
import time

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from test_construct import automatic, raw_request, template_of

from bedrock_evaluation import EvaluationJob
from bedrock_evaluation.naming import default_name_prefix
from bedrock_evaluation.uniqueness import AppJobs


def synth_errors(app: cdk.App) -> str:
    with pytest.raises(Exception, match="Validation failed") as raised:
        app.synth()
    return str(raised.value)


# --- fixed job names ---------------------------------------------------------------------------


def test_fails_for_two_jobs_with_the_same_typed_job_name_naming_both_paths():
    app = cdk.App()
    automatic(cdk.Stack(app, "One"), "Nightly", job_name="nightly-qa")
    automatic(cdk.Stack(app, "Two"), "Weekly", job_name="nightly-qa")
    errors = synth_errors(app)
    assert re.search(r"One/Nightly and Two/Weekly both fix the job name 'nightly-qa'", errors), errors


def test_fails_for_a_raw_request_whose_job_name_another_job_has():
    app = cdk.App()
    stack = cdk.Stack(app, "Eval")
    automatic(stack, "Typed", job_name="nightly-qa")
    EvaluationJob(stack, "Raw", request=raw_request(jobName="nightly-qa"))
    assert "Eval/Typed and Eval/Raw both fix the job name 'nightly-qa'" in synth_errors(app)


def test_the_same_fixed_name_in_different_accounts_or_regions_is_allowed():
    app = cdk.App()
    automatic(cdk.Stack(app, "East", env=cdk.Environment(account="123456789012", region="us-east-1")), "Job", job_name="nightly-qa")
    automatic(cdk.Stack(app, "West", env=cdk.Environment(account="123456789012", region="us-west-2")), "Job", job_name="nightly-qa")
    app.synth()


def test_fails_for_the_same_fixed_name_in_an_env_agnostic_stack_and_a_pinned_one():
    app = cdk.App()
    automatic(cdk.Stack(app, "Anywhere"), "Job", job_name="nightly-qa")
    automatic(cdk.Stack(app, "East", env=cdk.Environment(account="123456789012", region="us-east-1")), "Job", job_name="nightly-qa")
    assert "Anywhere/Job and East/Job both fix the job name" in synth_errors(app)


# --- default prefixes ---------------------------------------------------------------------------


def test_construct_ids_that_make_the_same_default_prefix_get_distinct_prefixes_and_outputs():
    stack = cdk.Stack(cdk.App(), "Eval")
    jobs = [automatic(stack, construct_id) for construct_id in ("QaJudge", "Qa-Judge", "qa_judge")]
    assert {default_name_prefix(job.node.path) for job in jobs} == {"eval-qa-judge"}  # what used to collide
    prefixes = [job.job_name_prefix for job in jobs]
    assert prefixes[0] == "eval-qa-judge"  # the first keeps its name: only a colliding default changes
    assert len(set(prefixes)) == 3 and all(p.startswith("eval-qa-judge-") for p in prefixes[1:]), prefixes
    assert len({job.output_prefix for job in jobs}) == 3
    template_of(stack)  # and the app synthesizes: no overlap is left


def test_a_default_prefix_that_collides_with_no_other_is_unchanged():
    stack = cdk.Stack(cdk.App(), "Eval")
    assert automatic(stack, "QaJudge").job_name_prefix == automatic(stack, "BoolQ").job_name_prefix.replace("bool-q", "qa-judge")


# --- overlapping output prefixes ---------------------------------------------------------------


def test_fails_for_an_output_prefix_that_holds_another_jobs_on_the_same_bucket():
    app = cdk.App()
    stack = cdk.Stack(app, "Eval")
    automatic(stack, "Outer", output_prefix="results/team")
    automatic(stack, "Inner", output_prefix="results/team/nightly")
    errors = synth_errors(app)
    assert "Eval/Outer writes its results under s3://<BedrockEvaluationBucket" in errors, errors
    assert "/results/team/ and Eval/Inner under s3://" in errors and "one holds the other" in errors


def test_fails_for_two_raw_requests_with_the_same_output_location():
    app = cdk.App()
    stack = cdk.Stack(app, "Eval")
    for construct_id in ("One", "Two"):
        EvaluationJob(stack, construct_id, request=raw_request(outputDataConfig={"s3Uri": "s3://my-results/results/"}))
    assert "Eval/One writes its results under s3://my-results/results/ and Eval/Two under s3://my-results/results/" in synth_errors(app)


def test_fails_for_a_default_prefix_taken_by_another_jobs_explicit_prefix():
    app = cdk.App()
    stack = cdk.Stack(app, "Eval")
    automatic(stack, "Nightly")
    automatic(stack, "Other", job_name_prefix="eval-nightly")
    assert "Eval/Nightly writes its results under" in synth_errors(app)


def test_the_same_prefix_on_different_buckets_and_sibling_prefixes_are_allowed():
    app = cdk.App()
    stack = cdk.Stack(app, "Eval")
    automatic(stack, "A", output_prefix="results/team")
    automatic(stack, "B", output_prefix="results/team", output_bucket=s3.Bucket.from_bucket_name(stack, "Other", "other-results"))
    automatic(stack, "C", output_prefix="results/team-b")  # a sibling: "results/team/" does not hold it
    app.synth()


def test_checking_a_hundred_jobs_adds_little_to_synth():
    app = cdk.App()
    stack = cdk.Stack(app, "Eval")
    jobs = [automatic(stack, f"Job{index}") for index in range(100)]
    started = time.perf_counter()
    assert AppJobs.of(jobs[0]).validate() == []
    assert time.perf_counter() - started < 1.0
