"""No wildcard from input becomes a grant. IAM reads * and ? in a policy's Resource as wildcards
(IAM user guide, "IAM JSON policy elements: Resource"), so a value that becomes a policy resource
(dataset and external-source keys, output prefixes, model and reranker identifiers, knowledge base
and guardrail ids, flow definition, role and KMS key ARNs) with one would grant every match. Each is
refused at synth with its field and value; the only wildcards left are the ones the construct
writes itself, each acknowledged only in the form the construct writes it."""

from __future__ import annotations

import copy
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from test_construct import rag_request, raw_request, template_of

from bedrock_evaluation import (
    Dataset,
    EvaluationJob,
    EvaluationJobConfigError,
    EvaluationTask,
    ExternalSource,
    Generation,
    Guardrail,
    HumanMetric,
    HumanWorkflow,
    Metric,
    Model,
    RagMetric,
    RagSource,
    RatingMethod,
    Reranking,
    TaskType,
    VectorSearch,
    access,
)
from bedrock_evaluation.access import Holder
from bedrock_evaluation.compliance import wildcard_entry

NOVA = "amazon.nova-lite-v1:0"
JUDGE = "amazon.nova-pro-v1:0"
GENERATOR = "anthropic.claude-3-sonnet-20240229-v1:0"
ACCOUNT = "123456789012"


def bucket(stack: cdk.Stack) -> s3.IBucket:
    return s3.Bucket.from_bucket_name(stack, "Datasets", "my-datasets")


def boolq() -> list[EvaluationTask]:
    return [EvaluationTask(task_type=TaskType.QUESTION_AND_ANSWER, dataset=Dataset.builtin("Builtin.BoolQ"), metrics=[Metric.ACCURACY])]


def kb_task(stack: cdk.Stack, metric: str = RagMetric.CORRECTNESS) -> list[EvaluationTask]:
    return [EvaluationTask(dataset=Dataset.from_s3(bucket(stack), "kb/questions.jsonl"), metrics=[metric])]


# --- typed factories refuse a wildcard key where it is given ----------------------------------------


@pytest.mark.parametrize("key", ["*", "data/*", "data/*.jsonl"])
def test_fails_for_a_dataset_key_with_a_wildcard(stack, key):
    with pytest.raises(EvaluationJobConfigError, match=rf"^Dataset.from_s3: key is '{re.escape(key)}': .*IAM wildcards"):
        Dataset.from_s3(bucket(stack), key)


def test_fails_for_a_dataset_key_with_a_question_mark(stack):
    with pytest.raises(EvaluationJobConfigError, match=r"^Dataset.from_s3: key is 'data/q\?.jsonl'"):
        Dataset.from_s3(bucket(stack), "data/q?.jsonl")


@pytest.mark.parametrize("key", ["*", "docs/*", "docs/a?.pdf"])
def test_fails_for_an_external_source_key_with_a_wildcard(stack, key):
    with pytest.raises(EvaluationJobConfigError, match=rf"^ExternalSource.s3: key is '{re.escape(key)}'"):
        ExternalSource.s3(bucket(stack), key)


def test_fails_for_an_output_prefix_with_a_wildcard(stack):
    with pytest.raises(EvaluationJobConfigError, match=r"output_prefix is 'results/\*': .*IAM wildcard"):
        EvaluationJob(stack, "Job", model=Model.bedrock(NOVA), tasks=boolq(), output_prefix="results/*")


# --- the request rule: typed props and raw requests alike -------------------------------------------

TYPED: dict[str, tuple[str, Any]] = {
    "reranker": (
        "inferenceConfig.ragConfigs[0].knowledgeBaseConfig.retrieveConfig.knowledgeBaseRetrievalConfiguration"
        ".vectorSearchConfiguration.rerankingConfiguration.bedrockRerankingConfiguration.modelConfiguration.modelArn",
        lambda s: {
            "rag": RagSource.retrieve("KB12345678", search=VectorSearch(reranking=Reranking(model_arn="arn:aws:bedrock:us-east-1::foundation-model/*"))),
            "evaluator_model": Model.bedrock(JUDGE),
            "tasks": kb_task(s, RagMetric.CONTEXT_RELEVANCE),
        },
    ),
    "generator": (
        "inferenceConfig.ragConfigs[0].knowledgeBaseConfig.retrieveAndGenerateConfig.knowledgeBaseConfiguration.modelArn",
        lambda s: {"rag": RagSource.retrieve_and_generate("KB12345678", model_arn="arn:aws:bedrock:us-east-1::foundation-model/*"),
                   "evaluator_model": Model.bedrock(JUDGE), "tasks": kb_task(s)},
    ),
    "guardrail": (
        "inferenceConfig.ragConfigs[0].knowledgeBaseConfig.retrieveAndGenerateConfig.knowledgeBaseConfiguration"
        ".generationConfiguration.guardrailConfiguration.guardrailId",
        lambda s: {"rag": RagSource.retrieve_and_generate("KB12345678", model_arn=GENERATOR, generation=Generation(guardrail=Guardrail(guardrail_id="*", version="1"))),
                   "evaluator_model": Model.bedrock(JUDGE), "tasks": kb_task(s)},
    ),
    "flow definition": (
        "evaluationConfig.human.humanWorkflowConfig.flowDefinitionArn",
        lambda s: {"model": Model.bedrock(NOVA),
                   "human_workflow": HumanWorkflow(flow_definition_arn=f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:flow-definition/*"),
                   "human_metrics": [HumanMetric(name="Helpful", rating_method=RatingMethod.THUMBS_UP_DOWN)],
                   "tasks": [EvaluationTask(task_type=TaskType.GENERATION, dataset=Dataset.from_s3(bucket(s), "data/qa.jsonl"), metrics=["Helpful"])]},
    ),
    "KMS key": (
        "customerEncryptionKeyId",
        lambda s: {"model": Model.bedrock(NOVA), "tasks": boolq(),
                   "encryption_key": kms.Key.from_key_arn(s, "Key", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/*")},
    ),
}


@pytest.mark.parametrize("case", sorted(TYPED))
def test_fails_for_a_wildcard_that_typed_props_would_grant(stack, case):
    field, props = TYPED[case]
    with pytest.raises(EvaluationJobConfigError) as raised:
        EvaluationJob(stack, "Job", **props(stack))
    refused = {(v.field, v.key) for v in raised.value.violations}
    assert (field, "no-iam-wildcard") in refused, raised.value


def _set(request: dict[str, Any], path: str, value: str) -> dict[str, Any]:
    request = copy.deepcopy(request)
    *parents, last = re.findall(r"[^.\[\]]+", path)
    node: Any = request
    for part in parents:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    node[last] = value
    return request


DATASET = "evaluationConfig.automated.datasetMetricConfigs[0].dataset.datasetLocation.s3Uri"
RAW: dict[str, tuple[str, str, Any]] = {
    "role": ("roleArn", f"arn:aws:iam::{ACCOUNT}:role/*", raw_request),
    "dataset": (DATASET, "s3://my-datasets/*", rag_request),
    "output": ("outputDataConfig.s3Uri", "s3://my-results/results/*/", raw_request),
    "model": ("inferenceConfig.models[0].bedrockModel.modelIdentifier", "amazon.*", raw_request),
    "knowledge base": ("inferenceConfig.ragConfigs[0].knowledgeBaseConfig.retrieveConfig.knowledgeBaseId", "KB????????", rag_request),
}


@pytest.mark.parametrize("case", sorted(RAW))
def test_fails_for_a_wildcard_in_a_raw_request_naming_the_field_and_value(stack, case):
    field, value, request = RAW[case]
    with pytest.raises(EvaluationJobConfigError) as raised:
        EvaluationJob(stack, "Job", request=_set(request(), field, value))
    assert any(v.field == field and v.value == value and v.key == "no-iam-wildcard" for v in raised.value.violations), raised.value


# --- what the construct writes itself is kept ------------------------------------------------


def test_a_cross_region_profile_still_gets_its_foundation_model_in_every_region(stack):
    EvaluationJob(stack, "Job", model=Model.bedrock(NOVA), evaluator_model=Model.bedrock("us.anthropic.claude-haiku-4-5-20251001-v1:0"),
                  tasks=[EvaluationTask(dataset=Dataset.from_s3(bucket(stack), "data/qa.jsonl"), metrics=[Metric.CORRECTNESS])])
    rendered = str(template_of(stack))
    assert ":bedrock:*::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0" in rendered


READ, WRITE = access.DATASET_READ.actions, access.OUTPUT_OBJECTS.actions


@pytest.mark.parametrize(
    ("resource", "actions"),
    [
        ("arn:<AWS::Partition>:s3:::my-datasets/rag/*", READ),
        ("<BedrockEvaluationBucket863B7EBF.Arn>/results/eval-job/*", WRITE),
        ("arn:aws:s3:::my-results/a/b/c/*", WRITE),
    ],
)
def test_a_prefix_the_construct_made_is_acknowledged(resource, actions):
    assert wildcard_entry(resource, actions, Holder.SERVICE_ROLE) is not None


@pytest.mark.parametrize(
    ("resource", "actions"),
    [
        ("arn:<AWS::Partition>:s3:::my-datasets/*", READ),  # the whole bucket
        ("<BedrockEvaluationBucket863B7EBF.Arn>/*", WRITE),
        ("arn:aws:s3:::my-results/results/*/*", WRITE),  # a wildcard inside the prefix
        ("arn:aws:s3:::my-results/results*", WRITE),  # not a prefix of whole segments
        ("arn:aws:s3:::my-results/res?lts/*", WRITE),
    ],
)
def test_fails_to_acknowledge_a_wildcard_that_is_not_a_prefix_the_construct_made(resource, actions):
    assert wildcard_entry(resource, actions, Holder.SERVICE_ROLE) is None
