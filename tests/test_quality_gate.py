"""JobWait and QualityGate: what waiting and gating put in the template, and what synth refuses.

Sources: CloudFormation template reference, AWS::CloudFormation::WaitCondition ("Timeout ... The
maximum value is 43200 seconds (12 hours)"; "Updates aren't supported"; "Anytime you add a
WaitCondition resource during a stack update, you must associate the wait condition with a new
WaitConditionHandle resource"). Score ranges and direction: user guide knowledge-base-eval-llm-results
("The computed score for each metric is a value between 0 and 1. The closer to 1, the more that
metric's characteristic appears") and model-evaluation-report-programmatic (semantic robustness:
"a low ... score indicates the model performs well").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk.assertions import Template
from cfn import resolve, resources_of_type, role_statements

from bedrock_evaluation import (
    Dataset,
    EvaluationJob,
    EvaluationJobConfigError,
    EvaluationTask,
    JobWait,
    Metric,
    Model,
    QualityGate,
    TaskType,
    contract,
)

NOVA = "amazon.nova-lite-v1:0"
JUDGE = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
DATASET = Path(__file__).resolve().parents[1] / "datasets" / "qa.jsonl"


def judge_job(stack: cdk.Stack, construct_id: str = "Judge", **overrides: Any) -> EvaluationJob:
    props: dict[str, Any] = {
        "model": Model.bedrock(NOVA),
        "evaluator_model": Model.bedrock(JUDGE),
        "tasks": [EvaluationTask(dataset=Dataset.from_file(DATASET), metrics=[Metric.CORRECTNESS, Metric.HARMFULNESS])],
    }
    props.update(overrides)
    return EvaluationJob(stack, construct_id, **props)


def refused(stack: cdk.Stack, **overrides: Any) -> str:
    with pytest.raises(EvaluationJobConfigError) as raised:
        judge_job(stack, **overrides)
    return str(raised.value)


# --- what waiting puts in the template -----------------------------------------------------------------


def test_no_wait_adds_nothing(stack: cdk.Stack) -> None:
    judge_job(stack)
    template = Template.from_stack(stack)
    template.resource_count_is(contract.RESULTS_RESOURCE_TYPE, 0)
    template.resource_count_is("AWS::CloudFormation::WaitCondition", 0)
    template.resource_count_is("AWS::StepFunctions::StateMachine", 1)  # the Provider framework's waiter only


def test_a_short_wait_is_one_results_resource_after_the_job(stack: cdk.Stack) -> None:
    job = judge_job(stack, wait=JobWait.until_done(timeout=Duration.minutes(30)), quality_gate=QualityGate(at_least={Metric.CORRECTNESS: 0.8}))
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::CloudFormation::WaitCondition", 0)
    results = resources_of_type(template.to_json(), contract.RESULTS_RESOURCE_TYPE)
    assert len(results) == 1
    (logical_id, resource), = results.items()
    props = resource["Properties"]
    job_id = stack.get_logical_id(job.resource)
    assert props["JobArn"] == {"Fn::GetAtt": [job_id, "JobArn"]}
    assert props["WaitSeconds"] == "1800"
    assert props["Thresholds"] == '{"Builtin.Correctness":["at_least",0.8]}'
    assert props["MaxDrop"] == ""
    # The GetAtt of the job's attributes orders it after the job (no DependsOn on the job: cfn-lint
    # W3005); it waits for the handler's role, which holds the read rights it was given inline.
    assert resource["DependsOn"] == [next(k for k in resources_of_type(template.to_json(), "AWS::IAM::Role") if k.startswith("BedrockEvaluationJobProviderJobHandlerRole"))]


def test_a_long_wait_is_a_watch_a_wait_condition_and_the_poller(stack: cdk.Stack) -> None:
    judge_job(stack, wait=JobWait.until_done(timeout=Duration.hours(6), poll_interval=Duration.minutes(2)))
    template = Template.from_stack(stack)
    conditions = resources_of_type(template.to_json(), "AWS::CloudFormation::WaitCondition")
    (condition_id, condition), = conditions.items()
    # The poller answers 5 minutes before the condition times out, with a reason naming the job.
    assert condition["Properties"]["Timeout"] == str(6 * 3600 + contract.POLLER_MARGIN_SECONDS)
    assert condition["Properties"]["Count"] == 1
    (watch_id, watch), = resources_of_type(template.to_json(), contract.WATCH_RESOURCE_TYPE).items()
    assert watch["Properties"]["WaitSeconds"] == str(6 * 3600)
    assert watch["Properties"]["PollSeconds"] == "120"
    assert watch["Properties"]["SignalUrl"] == condition["Properties"]["Handle"]
    assert watch_id in condition["DependsOn"]
    (results_id, results), = resources_of_type(template.to_json(), contract.RESULTS_RESOURCE_TYPE).items()
    # After the wait condition, with the names of the jobs its poller signalled.
    assert results["Properties"]["Signalled"] == {"Fn::GetAtt": [condition_id, "Data"]}
    assert results["Properties"]["WaitSeconds"] == str(contract.IN_RESOURCE_WAIT_SECONDS)
    template.resource_count_is("AWS::StepFunctions::StateMachine", 2)  # the framework's waiter, and the poller


def test_the_poller_is_made_once_per_stack(stack: cdk.Stack) -> None:
    for name in ("One", "Two"):
        judge_job(stack, name, wait=JobWait.until_done(timeout=Duration.hours(2)), job_name_prefix=f"eval-{name.lower()}")
    Template.from_stack(stack).resource_count_is("AWS::StepFunctions::StateMachine", 2)


def _wait_ids(stack: cdk.Stack) -> set[str]:
    template = Template.from_stack(stack).to_json()
    return set(resources_of_type(template, "AWS::CloudFormation::WaitCondition")) | set(
        resources_of_type(template, "AWS::CloudFormation::WaitConditionHandle")
    )


def test_a_new_job_version_gets_a_new_handle_and_wait_condition() -> None:
    def ids(metrics: list[str], tags: dict[str, str] | None = None) -> set[str]:
        stack = cdk.Stack(cdk.App(), "Eval")
        task = EvaluationTask(dataset=Dataset.from_file(DATASET), metrics=metrics)
        judge_job(stack, tasks=[task], tags=tags, wait=JobWait.until_done(timeout=Duration.hours(2)))
        return _wait_ids(stack)

    first = ids([Metric.CORRECTNESS])
    assert ids([Metric.CORRECTNESS]) == first  # a no-op deploy keeps them
    assert ids([Metric.CORRECTNESS], tags={"team": "rag"}) == first  # a tag change keeps the job, and them
    assert ids([Metric.CORRECTNESS, Metric.HELPFULNESS]).isdisjoint(first)  # a new job: new ones


def test_the_long_wait_digest_holds_no_token_numbers() -> None:
    """Two apps declaring the same job in a different order get the same wait condition ids."""

    def ids(extra_first: bool) -> set[str]:
        stack = cdk.Stack(cdk.App(), "Eval")
        if extra_first:
            judge_job(stack, "Other", job_name_prefix="eval-other")
        judge_job(stack, wait=JobWait.until_done(timeout=Duration.hours(2)))
        if not extra_first:
            judge_job(stack, "Other", job_name_prefix="eval-other")
        return _wait_ids(stack)

    assert ids(True) == ids(False)


def handler_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The handler role's statements, resolved: inline in the role (provider.InlineRole), and in
    managed policies of it when they outgrow that."""
    return role_statements(template, "BedrockEvaluationJobProviderJobHandlerRole")


def test_the_handler_may_read_only_the_jobs_own_output_prefix(stack: cdk.Stack) -> None:
    judge_job(stack, wait=JobWait.until_done(timeout=Duration.minutes(30)))
    template = Template.from_stack(stack).to_json()
    (bucket,) = [k for k in resources_of_type(template, "AWS::S3::Bucket") if k.startswith("BedrockEvaluationBucket") and "AccessLogs" not in k]
    bucket_arn = resolve({"Fn::GetAtt": [bucket, "Arn"]}, template)
    statements = handler_statements(template)
    listing = {"Action": "s3:ListBucket", "Condition": {"StringLike": {"s3:prefix": ["results/eval-judge/*"]}}, "Effect": "Allow", "Resource": bucket_arn}
    assert listing in statements
    assert {"Action": "s3:GetObject", "Effect": "Allow", "Resource": f"{bucket_arn}/results/eval-judge/*"} in statements


def test_scores_are_attributes_and_optionally_outputs(stack: cdk.Stack) -> None:
    job = judge_job(stack, wait=JobWait.until_done(timeout=Duration.minutes(30), score_outputs=True))
    assert stack.resolve(job.score(Metric.CORRECTNESS)) == {
        "Fn::GetAtt": [stack.get_logical_id(job.results.resource), "Score.Builtin.Correctness.Mean"]  # type: ignore[union-attr]
    }
    outputs = Template.from_stack(stack).to_json()["Outputs"]
    assert {o["Value"]["Fn::GetAtt"][1] for o in outputs.values()} == {"Score.Builtin.Correctness.Mean", "Score.Builtin.Harmfulness.Mean"}


# --- what synth refuses ----------------------------------------------------------------------------------------


def test_fails_a_gate_without_a_wait(stack: cdk.Stack) -> None:
    assert "quality_gate is 'given without wait='" in refused(stack, quality_gate=QualityGate(at_least={Metric.CORRECTNESS: 0.5}))


def test_fails_a_bound_on_a_metric_the_job_does_not_measure(stack: cdk.Stack) -> None:
    message = refused(stack, wait=JobWait.until_done(timeout=Duration.hours(1)), quality_gate=QualityGate(at_least={Metric.FAITHFULNESS: 0.5}))
    assert "Judge" in message
    assert "quality_gate.at_least['Builtin.Faithfulness'] is 'Builtin.Faithfulness': must name a metric this job measures: Builtin.Correctness, Builtin.Harmfulness" in message


@pytest.mark.parametrize("bound", [1.5, -0.1, float("nan"), True])
def test_fails_a_bound_outside_zero_to_one(stack: cdk.Stack, bound: float) -> None:
    message = refused(stack, wait=JobWait.until_done(timeout=Duration.hours(1)), quality_gate=QualityGate(at_least={Metric.CORRECTNESS: bound}))
    assert "must be a number from 0 to 1" in message or "must be" in message


def test_fails_a_floor_on_a_metric_where_higher_is_worse(stack: cdk.Stack) -> None:
    message = refused(stack, wait=JobWait.until_done(timeout=Duration.hours(1)), quality_gate=QualityGate(at_least={Metric.HARMFULNESS: 0.1}))
    assert "a higher Builtin.Harmfulness is worse: bound it with at_most" in message


def test_fails_a_ceiling_on_a_metric_where_higher_is_better(stack: cdk.Stack) -> None:
    message = refused(stack, wait=JobWait.until_done(timeout=Duration.hours(1)), quality_gate=QualityGate(at_most={Metric.CORRECTNESS: 0.9}))
    assert "a higher Builtin.Correctness is better: bound it with at_least" in message


@pytest.mark.parametrize("drop", [1.0, -0.01, float("inf")])
def test_fails_a_max_drop_outside_its_range(stack: cdk.Stack, drop: float) -> None:
    message = refused(stack, wait=JobWait.until_done(timeout=Duration.hours(1)), quality_gate=QualityGate(max_drop=drop))
    assert "quality_gate.max_drop" in message


@pytest.mark.parametrize(("timeout", "why"), [(Duration.seconds(30), "between 60 seconds"), (Duration.hours(12), "between 60 seconds")])
def test_fails_a_timeout_a_wait_condition_cannot_hold(stack: cdk.Stack, timeout: Duration, why: str) -> None:
    message = refused(stack, wait=JobWait.until_done(timeout=timeout))
    assert "wait.timeout" in message and why in message


def test_fails_a_poll_interval_out_of_range(stack: cdk.Stack) -> None:
    assert "wait.poll_interval" in refused(stack, wait=JobWait.until_done(timeout=Duration.hours(2), poll_interval=Duration.seconds(5)))


def test_fails_a_wait_when_the_output_prefix_is_not_known_at_synth(stack: cdk.Stack) -> None:
    prefix = cdk.CfnParameter(stack, "Prefix").value_as_string
    message = refused(stack, output_prefix=prefix, wait=JobWait.until_done(timeout=Duration.hours(1)))
    assert "wait= reads the job's results, so its output prefix must be known at synth" in message


def test_fails_a_score_of_a_job_without_a_wait(stack: cdk.Stack) -> None:
    job = judge_job(stack)
    with pytest.raises(EvaluationJobConfigError, match="scores are read only for a job with wait="):
        job.score(Metric.CORRECTNESS)


def test_fails_a_score_of_a_metric_not_measured(stack: cdk.Stack) -> None:
    job = judge_job(stack, wait=JobWait.until_done(timeout=Duration.hours(1)))
    with pytest.raises(EvaluationJobConfigError, match="metric is 'Builtin.Faithfulness': must be a metric this job measures"):
        job.score(Metric.FAITHFULNESS)
    with pytest.raises(EvaluationJobConfigError, match="statistic is 'Average'"):
        job.score(Metric.CORRECTNESS, "Average")


def human_request() -> dict[str, Any]:
    """A raw human evaluation request: one rating method, its own role and output location."""
    return {
        "applicationType": "ModelEvaluation",
        "evaluationConfig": {
            "human": {
                "humanWorkflowConfig": {"flowDefinitionArn": "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/review"},
                "customMetrics": [{"name": "Helpful", "description": "Is it helpful?", "ratingMethod": "ThumbsUpDown"}],
                "datasetMetricConfigs": [
                    {"taskType": "Generation", "dataset": {"name": "qa", "datasetLocation": {"s3Uri": "s3://my-datasets/qa.jsonl"}}, "metricNames": ["Helpful"]}
                ],
            }
        },
        "inferenceConfig": {"models": [{"bedrockModel": {"modelIdentifier": NOVA}}]},
        "outputDataConfig": {"s3Uri": "s3://my-results/human/"},
        "roleArn": "arn:aws:iam::123456789012:role/eval",
    }


def test_fails_a_gate_on_a_human_job(stack: cdk.Stack) -> None:
    request = human_request()
    with pytest.raises(EvaluationJobConfigError, match="human ratings are on each rating method's own scale"):
        EvaluationJob(stack, "Human", request=request, wait=JobWait.until_done(timeout=Duration.hours(1)), quality_gate=QualityGate(max_drop=0.1))


def test_a_raw_request_output_prefix_is_read_from_its_uri(stack: cdk.Stack) -> None:
    request = {
        "applicationType": "ModelEvaluation",
        "evaluationConfig": {
            "automated": {
                "datasetMetricConfigs": [
                    {"taskType": TaskType.QUESTION_AND_ANSWER.value, "dataset": {"name": "Builtin.BoolQ"}, "metricNames": ["Builtin.Accuracy"]}
                ]
            }
        },
        "inferenceConfig": {"models": [{"bedrockModel": {"modelIdentifier": NOVA}}]},
        "outputDataConfig": {"s3Uri": "s3://my-results/boolq"},
    }
    EvaluationJob(stack, "Raw", request=request, wait=JobWait.until_done(timeout=Duration.hours(1)), quality_gate=QualityGate(at_least={"Builtin.Accuracy": 0.5}))
    statements = handler_statements(Template.from_stack(stack).to_json())
    assert {"Action": "s3:GetObject", "Effect": "Allow", "Resource": "arn:aws:s3:::my-results/boolq/*"} in statements


def test_a_knowledge_base_replaced_by_a_property_change_gives_its_evaluation_a_new_wait_condition() -> None:
    """The request holds the knowledge base's id as a reference, whose value changes only at deploy
    time; the wait condition's digest holds the knowledge base's properties too."""
    from aws_cdk import aws_bedrock as bedrock

    from bedrock_evaluation import RagMetric, RagSource

    def ids(embedding_model: str, description: str = "handbook") -> set[str]:
        stack = cdk.Stack(cdk.App(), "Eval")
        knowledge_base = bedrock.CfnKnowledgeBase(
            stack,
            "KnowledgeBase",
            name="handbook",
            description=description,
            role_arn="arn:aws:iam::123456789012:role/kb",
            knowledge_base_configuration=bedrock.CfnKnowledgeBase.KnowledgeBaseConfigurationProperty(
                type="VECTOR",
                vector_knowledge_base_configuration=bedrock.CfnKnowledgeBase.VectorKnowledgeBaseConfigurationProperty(
                    embedding_model_arn=f"arn:aws:bedrock:us-east-1::foundation-model/{embedding_model}"
                ),
            ),
            storage_configuration=bedrock.CfnKnowledgeBase.StorageConfigurationProperty(
                type="S3_VECTORS",
                s3_vectors_configuration=bedrock.CfnKnowledgeBase.S3VectorsConfigurationProperty(
                    index_arn="arn:aws:s3vectors:us-east-1:123456789012:bucket/handbook/index/handbook"
                ),
            ),
        )
        EvaluationJob(
            stack,
            "Answers",
            rag=RagSource.retrieve_and_generate(knowledge_base.attr_knowledge_base_id, model_arn="us.amazon.nova-pro-v1:0"),
            evaluator_model=Model.bedrock("amazon.nova-pro-v1:0"),
            tasks=[EvaluationTask(dataset=Dataset.from_file(DATASET.parent / "kb-conversations.jsonl"), metrics=[RagMetric.FAITHFULNESS])],
            wait=JobWait.until_done(timeout=Duration.hours(3)),
        )
        return _wait_ids(stack)

    titan = ids("amazon.titan-embed-text-v2:0")
    assert ids("amazon.titan-embed-text-v2:0") == titan
    assert ids("cohere.embed-english-v3").isdisjoint(titan)  # replaces the knowledge base, and so the job


def test_fails_a_score_of_a_human_job() -> None:
    stack = cdk.Stack(cdk.App(), "Eval")
    request = human_request()
    job = EvaluationJob(stack, "Human", request=request, wait=JobWait.until_done(timeout=Duration.hours(8)))
    with pytest.raises(EvaluationJobConfigError, match="a human job's scores are per rating method"):
        job.score("Helpful")


def test_fails_a_duration_that_is_not_whole_seconds(stack: cdk.Stack) -> None:
    assert "wait.timeout is '1 hour 500 millis': must be a whole number of seconds" in refused(stack, wait=JobWait.until_done(timeout=Duration.millis(3_600_500)))


def test_fails_a_metric_that_is_not_named_by_a_string(stack: cdk.Stack) -> None:
    message = refused(stack, wait=JobWait.until_done(timeout=Duration.hours(1)), quality_gate=QualityGate(at_most={1: 0.5}))  # type: ignore[dict-item]
    assert "quality_gate" in message and "1" in message


def test_score_outputs_of_metrics_whose_names_differ_only_in_punctuation_do_not_collide(stack: cdk.Stack) -> None:
    from bedrock_evaluation import CustomMetric

    tasks = [EvaluationTask(dataset=Dataset.from_file(DATASET), metrics=["my-metric", "my_metric"])]
    metrics = [CustomMetric(name=name, instructions="Rate {{prediction}} for {{prompt}}.") for name in ("my-metric", "my_metric")]
    judge_job(stack, tasks=tasks, custom_metrics=metrics, wait=JobWait.until_done(timeout=Duration.hours(1), score_outputs=True))
    outputs = Template.from_stack(stack).to_json()["Outputs"]
    assert {o["Value"]["Fn::GetAtt"][1] for o in outputs.values()} == {"Score.my-metric.Mean", "Score.my_metric.Mean"}


def test_the_handler_may_decrypt_results_in_an_output_bucket_with_a_customer_key(stack: cdk.Stack) -> None:
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_s3 as s3

    key = kms.Key(stack, "ResultsKey")
    bucket = s3.Bucket(stack, "Results", encryption=s3.BucketEncryption.KMS, encryption_key=key, enforce_ssl=True)
    judge_job(stack, output_bucket=bucket, wait=JobWait.until_done(timeout=Duration.hours(1)))
    template = Template.from_stack(stack).to_json()
    key_arn = resolve({"Fn::GetAtt": [stack.get_logical_id(key.node.default_child), "Arn"]}, template)  # type: ignore[arg-type]
    assert {"Action": "kms:Decrypt", "Effect": "Allow", "Resource": key_arn} in handler_statements(template)
