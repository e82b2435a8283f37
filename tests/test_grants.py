"""Grants derived from the request: the service role may read and use exactly what the request
names, whichever way it was written, and every grant is recorded for the acknowledgements.

IAM facts: ../shared/reference/bedrock-evaluation.md, "IAM" (the per-kind permissions AWS lists
for evaluation service roles: S3 read on datasets, write on the output prefix, Retrieve and
RetrieveAndGenerate on knowledge bases, ApplyGuardrail, the human-loop actions).
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from cfn import policy_documents, resolve

from bedrock_evaluation import (
    Dataset,
    EvaluationJob,
    EvaluationServiceRole,
    EvaluationTask,
    ExternalSource,
    Generation,
    Guardrail,
    Model,
    RagMetric,
    RagSource,
)
from bedrock_evaluation.compliance import WildcardAcknowledgements

JUDGE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
GENERATOR = "anthropic.claude-3-sonnet-20240229-v1:0"


def statements_of(stack: cdk.Stack, role_path: str) -> list[dict[str, Any]]:
    template = Template.from_stack(stack).to_json()
    roles = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role" and role_path in k]
    return [s for role in roles for _, document in policy_documents(template, role) for s in resolve(document["Statement"], template)]


def allows(statements: list[dict[str, Any]], action: str, resource: str) -> bool:
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if action in actions and resource in resources:
            return True
    return False


def external_sources_job(stack: cdk.Stack) -> EvaluationJob:
    documents = s3.Bucket(stack, "Documents")  # its name is a token until deploy
    datasets = s3.Bucket.from_bucket_name(stack, "Datasets", "my-datasets")
    return EvaluationJob(
        stack,
        "Job",
        rag=RagSource.external_sources(model_arn=GENERATOR, source=ExternalSource.s3(documents, "docs/handbook.pdf")),
        evaluator_model=Model.bedrock(JUDGE),
        tasks=[EvaluationTask(dataset=Dataset.from_s3(datasets, "rag/questions.jsonl"), metrics=[RagMetric.CORRECTNESS])],
    )


def test_the_role_reads_the_external_source_a_retrieve_and_generate_job_names(stack):
    external_sources_job(stack)
    statements = statements_of(stack, "JobServiceRole")
    bucket = resolve({"Fn::GetAtt": [stack.get_logical_id(stack.node.find_child("Documents").node.default_child), "Arn"]}, Template.from_stack(stack).to_json())
    assert allows(statements, "s3:GetObject", f"{bucket}/docs/handbook.pdf")
    assert allows(statements, "s3:ListBucket", bucket)
    # and nothing else of that bucket
    assert not allows(statements, "s3:GetObject", f"{bucket}/*")


def test_the_role_reads_the_dataset_and_writes_only_under_its_output_prefix(stack):
    external_sources_job(stack)
    statements = statements_of(stack, "JobServiceRole")
    assert allows(statements, "s3:GetObject", "arn:aws:s3:::my-datasets/rag/questions.jsonl")
    writes = [s for s in statements if "s3:PutObject" in s["Action"]]
    (write,) = writes
    assert write["Resource"].startswith("arn:aws:s3:::") and write["Resource"].endswith("/results/eval-job/*")


def test_a_raw_request_gets_the_same_grants_from_its_literal_uris(stack):
    request = {
        "applicationType": "RagEvaluation",
        "evaluationConfig": {
            "automated": {
                "datasetMetricConfigs": [
                    {"taskType": "General", "dataset": {"name": "questions", "datasetLocation": {"s3Uri": "s3://my-datasets/rag/questions.jsonl"}}, "metricNames": [RagMetric.CORRECTNESS]}
                ],
                "evaluatorModelConfig": {"bedrockEvaluatorModels": [{"modelIdentifier": JUDGE}]},
            }
        },
        "inferenceConfig": {
            "ragConfigs": [
                {
                    "knowledgeBaseConfig": {
                        "retrieveAndGenerateConfig": {
                            "type": "KNOWLEDGE_BASE",
                            "knowledgeBaseConfiguration": {
                                "knowledgeBaseId": "KB12345678",
                                "modelArn": GENERATOR,
                                "generationConfiguration": {"guardrailConfiguration": {"guardrailId": "gr12345678", "guardrailVersion": "1"}},
                            },
                        }
                    }
                }
            ]
        },
        "outputDataConfig": {"s3Uri": "s3://my-results/evaluations/"},
    }
    EvaluationJob(stack, "Job", request=request)
    statements = statements_of(stack, "JobServiceRole")
    assert allows(statements, "s3:GetObject", "arn:aws:s3:::my-datasets/rag/questions.jsonl")
    assert allows(statements, "bedrock:Retrieve", "arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KB12345678")
    assert allows(statements, "bedrock:ApplyGuardrail", "arn:aws:bedrock:us-east-1:123456789012:guardrail/gr12345678")
    assert allows(statements, "s3:PutObject", "arn:aws:s3:::my-results/evaluations/*")


def test_typed_knowledge_base_and_guardrail_grants_match_the_raw_ones(stack):
    EvaluationJob(
        stack,
        "Job",
        rag=RagSource.retrieve_and_generate(
            "KB12345678", model_arn=GENERATOR, generation=Generation(guardrail=Guardrail(guardrail_id="gr12345678", version="1"))
        ),
        evaluator_model=Model.bedrock(JUDGE),
        tasks=[EvaluationTask(dataset=Dataset.from_s3(s3.Bucket.from_bucket_name(stack, "D", "my-datasets"), "rag/q.jsonl"), metrics=[RagMetric.CORRECTNESS])],
    )
    statements = statements_of(stack, "JobServiceRole")
    assert allows(statements, "bedrock:RetrieveAndGenerate", "arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KB12345678")
    assert allows(statements, "bedrock:ApplyGuardrail", "arn:aws:bedrock:us-east-1:123456789012:guardrail/gr12345678")


def test_grants_to_a_role_that_is_not_ours_are_recorded_for_the_acknowledgements(stack):
    from aws_cdk import aws_iam as iam

    role = iam.Role(stack, "Mine", assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com"))
    EvaluationJob(
        stack,
        "Job",
        role=role,
        model=Model.bedrock("us.anthropic.claude-3-5-haiku-20241022-v1:0"),
        evaluator_model=Model.bedrock(JUDGE),
        tasks=[EvaluationTask(task_type="General", dataset=Dataset.from_s3(s3.Bucket.from_bucket_name(stack, "D", "my-datasets"), "qa.jsonl"), metrics=["Builtin.Correctness"])],
    )
    aspect = WildcardAcknowledgements.of(stack)
    watched = aspect.watched(role)
    assert watched is not None and not watched.ours
    assert any("foundation-model" in str(stack.resolve(r)) for r in watched.granted)


# --- permissions AWS lists per feature (../shared/reference/bedrock-evaluation.md, "IAM") ---------


def _retrieve_with(stack: cdk.Stack, reranker: str) -> None:
    from bedrock_evaluation import Reranking, VectorSearch

    EvaluationJob(
        stack,
        "Job",
        rag=RagSource.retrieve("KB12345678", search=VectorSearch(reranking=Reranking(model_arn=reranker))),
        evaluator_model=Model.bedrock(JUDGE),
        tasks=[EvaluationTask(dataset=Dataset.from_s3(s3.Bucket.from_bucket_name(stack, "D", "my-datasets"), "rag/q.jsonl"), metrics=[RagMetric.CONTEXT_RELEVANCE])],
    )


def test_reranking_grants_rerank_and_invoke_on_the_reranker(stack):
    # User guide rerank-prereq: Retrieve with reranking needs Retrieve, Rerank and InvokeModel.
    reranker = "arn:aws:bedrock:us-west-2::foundation-model/amazon.rerank-v1:0"
    _retrieve_with(stack, reranker)
    statements = statements_of(stack, "JobServiceRole")
    assert allows(statements, "bedrock:Rerank", "*")
    assert allows(statements, "bedrock:InvokeModel", reranker)
    assert not any("aws-marketplace" in str(s["Action"]) for s in statements), "an Amazon reranker needs no subscription"


def test_a_third_party_reranker_also_gets_the_marketplace_subscription_actions(stack):
    # User guide rerank-prereq: third-party rerankers also need aws-marketplace:ViewSubscriptions and Subscribe.
    _retrieve_with(stack, "arn:aws:bedrock:us-west-2::foundation-model/cohere.rerank-v3-5:0")
    statements = statements_of(stack, "JobServiceRole")
    assert allows(statements, "aws-marketplace:Subscribe", "*") and allows(statements, "aws-marketplace:ViewSubscriptions", "*")


def test_model_metadata_actions_follow_the_model_type(stack):
    # Service-role pages: GetInferenceProfile for system and application profiles, ListInferenceProfiles,
    # GetProvisionedModelThroughput, GetImportedModel, GetPromptRouter.
    profile = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdef012345"
    router = "arn:aws:bedrock:us-east-1:123456789012:prompt-router/abcdef012345"
    for index, model in enumerate((profile, router)):
        EvaluationJob(
            stack,
            f"Job{index}",
            model=Model.bedrock(model),
            tasks=[EvaluationTask(task_type="QuestionAndAnswer", dataset=Dataset.builtin("Builtin.BoolQ"), metrics=["Builtin.Accuracy"])],
        )
    first, second = statements_of(stack, "Job0ServiceRole"), statements_of(stack, "Job1ServiceRole")
    assert allows(first, "bedrock:GetInferenceProfile", profile) and allows(first, "bedrock:ListInferenceProfiles", "*")
    assert allows(second, "bedrock:GetPromptRouter", router) and allows(second, "bedrock:InvokeModel", router)


def test_human_loop_actions_are_on_star_as_the_user_guide_requires(stack):
    # User guide (human evaluation service role): "you must use Resource: *" for the human-loop actions.
    from bedrock_evaluation import HumanMetric, HumanWorkflow, RatingMethod

    EvaluationJob(
        stack,
        "Job",
        models=[Model.bedrock("amazon.nova-lite-v1:0")],
        human_workflow=HumanWorkflow(flow_definition_arn="arn:aws:sagemaker:us-east-1:123456789012:flow-definition/review"),
        human_metrics=[HumanMetric(name="Helpful", rating_method=RatingMethod.THUMBS_UP_DOWN)],
        tasks=[EvaluationTask(task_type="Generation", dataset=Dataset.from_s3(s3.Bucket.from_bucket_name(stack, "D", "my-datasets"), "h.jsonl"), metrics=["Helpful"])],
    )
    statements = statements_of(stack, "JobServiceRole")
    for action in ("sagemaker:StartHumanLoop", "sagemaker:DescribeFlowDefinition", "sagemaker:DescribeHumanLoop", "sagemaker:StopHumanLoop"):
        assert allows(statements, action, "*"), action


def test_a_knowledge_base_job_with_a_key_may_use_it_through_bedrock_too(stack):
    # User guide rag-evaluation-security-data: the evaluation calls the knowledge base through Bedrock.
    from aws_cdk import aws_kms as kms

    key = kms.Key(stack, "Key")
    EvaluationJob(
        stack,
        "Job",
        rag=RagSource.retrieve("KB12345678"),
        evaluator_model=Model.bedrock(JUDGE),
        encryption_key=key,
        tasks=[EvaluationTask(dataset=Dataset.from_s3(s3.Bucket.from_bucket_name(stack, "D", "my-datasets"), "rag/q.jsonl"), metrics=[RagMetric.CONTEXT_RELEVANCE])],
    )
    conditions = [s.get("Condition", {}) for s in statements_of(stack, "JobServiceRole") if "kms:Decrypt" in s["Action"]]
    via = sorted(c["StringEquals"]["kms:ViaService"] for c in conditions if "StringEquals" in c and "kms:ViaService" in c["StringEquals"])
    assert via == ["bedrock.us-east-1.amazonaws.com", "s3.us-east-1.amazonaws.com"]


def test_an_imported_key_that_cannot_take_bedrocks_statements_is_named_in_a_warning(stack):
    # CDK's add_to_resource_policy does nothing for Key.from_key_arn: the key owner must add
    # Bedrock's statements (../shared/reference/bedrock-evaluation.md, "IAM", KMS).
    from aws_cdk import aws_kms as kms
    from aws_cdk.assertions import Annotations, Match

    key = kms.Key.from_key_arn(stack, "Key", "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555")
    EvaluationJob(
        stack,
        "Job",
        model=Model.bedrock("amazon.nova-lite-v1:0"),
        encryption_key=key,
        tasks=[EvaluationTask(task_type="QuestionAndAnswer", dataset=Dataset.builtin("Builtin.BoolQ"), metrics=["Builtin.Accuracy"])],
    )
    (warning,) = Annotations.from_stack(stack).find_warning("/Eval/Job", Match.string_like_regexp("cannot be changed by this stack"))
    text = str(warning.entry.data)
    assert "BedrockEvaluationJobsUseKey" in text and "kms:EncryptionContext:evaluationJobArn" in text
    assert "BedrockEvaluationJobsDescribeKey" in text


def test_an_immutable_role_gets_a_warning_with_every_statement_it_lacks(stack):
    from aws_cdk import aws_iam as iam
    from aws_cdk.assertions import Annotations, Match

    role = iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::123456789012:role/evaluations", mutable=False)
    EvaluationJob(
        stack,
        "Job",
        role=role,
        model=Model.bedrock("amazon.nova-lite-v1:0"),
        tasks=[EvaluationTask(task_type="QuestionAndAnswer", dataset=Dataset.builtin("Builtin.BoolQ"), metrics=["Builtin.Accuracy"])],
    )
    (warning,) = Annotations.from_stack(stack).find_warning("/Eval/Job", Match.string_like_regexp("cannot be changed by this stack"))
    text = str(warning.entry.data)
    assert "bedrock:InvokeModel" in text and "foundation-model/amazon.nova-lite-v1:0" in text and "s3:PutObject" in text


def test_a_role_of_the_stack_gets_no_such_warning(stack):
    from aws_cdk.assertions import Annotations, Match

    EvaluationJob(
        stack,
        "Job",
        role=EvaluationServiceRole(stack, "Shared"),
        model=Model.bedrock("amazon.nova-lite-v1:0"),
        tasks=[EvaluationTask(task_type="QuestionAndAnswer", dataset=Dataset.builtin("Builtin.BoolQ"), metrics=["Builtin.Accuracy"])],
    )
    assert not Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("cannot be changed by this stack"))
