#!/usr/bin/env python3
"""Example app, env-agnostic (no AWS account needed to synth):

- BedrockModelEvaluation: four model evaluations (automatic on a built-in dataset, automatic
  on a shipped dataset, LLM-as-a-judge, and a human comparison of two models by a work team);
- BedrockRagEvaluation: a knowledge base on S3 Vectors built from the documents in knowledge/,
  indexed before its two evaluations (retrieve-only, retrieve-and-generate) run.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_s3_deployment as s3_deployment
from aws_cdk import aws_s3vectors as s3vectors
from constructs import Construct

from bedrock_evaluation import (
    Dataset,
    EvaluationBucket,
    EvaluationJob,
    EvaluationTask,
    EvaluationWorkTeam,
    Generation,
    HumanFlowDefinition,
    HumanMetric,
    HumanWorkflow,
    JobWait,
    KnowledgeBaseIngestion,
    Metric,
    Model,
    QualityGate,
    RagMetric,
    RagSource,
    RatingMethod,
    TaskType,
    VectorSearch,
    documents_hash,
)
from bedrock_evaluation.compliance import (
    CDK_UPLOAD_RUNTIME,
    ENVIRONMENT_WITHOUT_SECRETS,
    LOGS_SERVICE_ENCRYPTED,
    NO_DEAD_LETTER_QUEUE,
    NO_RESERVED_CONCURRENCY,
    NO_VPC,
    acknowledge,
)
from bedrock_evaluation.lint import acknowledge_role_dependencies

HERE = Path(__file__).resolve().parent
EVALUATED_MODEL = "amazon.nova-lite-v1:0"
COMPARED_MODEL = "amazon.nova-micro-v1:0"
# The account's private workforce (SageMaker AI > Ground Truth > Labeling workforces > Private) and
# its Cognito user pool and app client must exist; give their ids with
# `cdk deploy -c workforceUserPoolId=<id> -c workforceClientId=<id>`. These stand in until then.
WORKFORCE_USER_POOL_ID = "us-east-1_Workforce"
WORKFORCE_CLIENT_ID = "workforceappclientid"
REVIEWERS_GROUP = "bedrock-reviewers"
# Judges from the user guide's current list (evaluation-judge); Claude 3.x judges are reported end of life.
JUDGE_MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
RAG_JUDGE_MODEL = "amazon.nova-pro-v1:0"
GENERATOR_MODEL = "us.amazon.nova-pro-v1:0"
EMBEDDING_MODEL = "amazon.titan-embed-text-v2:0"
EMBEDDING_DIMENSIONS = 1024
DOCUMENTS = HERE / "knowledge"
DOCUMENTS_PREFIX = "documents/"


class ModelEvaluationStack(cdk.Stack):
    """An automatic job on a built-in dataset, one on a local dataset, an LLM-as-a-judge job, and a
    human job comparing two models, with its work team and flow definition."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)
        model = Model.bedrock(EVALUATED_MODEL, inference_params={"inferenceConfig": {"maxTokens": 512, "temperature": 0}})
        qa = Dataset.from_file(HERE / "datasets" / "qa.jsonl")

        jobs = {
            "BoolQAccuracy": EvaluationJob(
                self,
                "BoolQAccuracy",
                description="Nova Lite on BoolQ: accuracy and robustness",
                model=model,
                tasks=[
                    EvaluationTask(
                        task_type=TaskType.QUESTION_AND_ANSWER,
                        dataset=Dataset.builtin("Builtin.BoolQ"),
                        metrics=[Metric.ACCURACY, Metric.ROBUSTNESS],
                    )
                ],
            ),
            "LocalQaAccuracy": EvaluationJob(
                self,
                "LocalQaAccuracy",
                description="Nova Lite on the shipped QA dataset: accuracy and toxicity",
                model=model,
                tasks=[
                    EvaluationTask(
                        task_type=TaskType.QUESTION_AND_ANSWER,
                        dataset=qa,
                        metrics=[Metric.ACCURACY, Metric.TOXICITY],
                    )
                ],
            ),
            "LocalQaJudge": EvaluationJob(
                self,
                "LocalQaJudge",
                description="Nova Lite on the shipped QA dataset, judged by Claude Haiku 4.5",
                model=model,
                evaluator_model=Model.bedrock(JUDGE_MODEL),
                tasks=[
                    EvaluationTask(  # task type "General", as judge jobs take
                        dataset=qa,
                        metrics=[Metric.CORRECTNESS, Metric.COMPLETENESS, Metric.HELPFULNESS],
                    )
                ],
            ),
        }
        jobs["NovaHeadToHead"] = self.human_comparison(model, qa)
        add_job_outputs(self, jobs)

    def human_comparison(self, model: Model, qa: Dataset) -> EvaluationJob:
        """Nova Lite and Nova Micro side by side, rated by the workforce's "bedrock-reviewers" group."""
        reviewers = EvaluationWorkTeam(
            self,
            "Reviewers",
            user_pool=cognito.UserPool.from_user_pool_id(
                self, "Workforce", self.node.try_get_context("workforceUserPoolId") or WORKFORCE_USER_POOL_ID
            ),
            user_pool_client=cognito.UserPoolClient.from_user_pool_client_id(
                self, "WorkforceClient", self.node.try_get_context("workforceClientId") or WORKFORCE_CLIENT_ID
            ),
            user_group=REVIEWERS_GROUP,
        )
        review = HumanFlowDefinition(
            self,
            "ReviewFlow",
            work_team=reviewers,
            task_title="Compare two answers",
            task_description="Rate each answer for helpfulness, then pick the one you prefer.",
            task_time_limit=cdk.Duration.minutes(30),
        )
        return EvaluationJob(
            self,
            "NovaHeadToHead",
            description="Nova Lite and Nova Micro on the shipped QA dataset, rated by people",
            models=[model, Model.bedrock(COMPARED_MODEL, inference_params={"inferenceConfig": {"maxTokens": 512, "temperature": 0}})],
            human_workflow=HumanWorkflow(flow_definition=review, instructions="Rate each answer on its own, then compare the two."),
            human_metrics=[
                HumanMetric(name="Helpfulness", rating_method=RatingMethod.INDIVIDUAL_LIKERT_SCALE, description="How well the answer helps, 1 to 5"),
                HumanMetric(name="Preference", rating_method=RatingMethod.COMPARISON_CHOICE, description="Which answer is better"),
            ],
            tasks=[EvaluationTask(task_type=TaskType.GENERATION, dataset=qa, metrics=["Helpfulness", "Preference"])],
        )


class RagEvaluationStack(cdk.Stack):
    """A knowledge base and its evaluations, deployed together and in order."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # The documents follow the library's own pattern: a secure bucket whose access is logged,
        # filled by an upload function with a role of ours that reads one asset and writes one prefix.
        access_logs = EvaluationBucket.of(self).access_logs
        documents = s3.Bucket(
            self,
            "Documents",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=cdk.RemovalPolicy.DESTROY,
            auto_delete_objects=False,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="documents-bucket/",
        )
        upload = self._upload(documents)
        vectors = s3vectors.CfnVectorBucket(self, "Vectors")
        index = s3vectors.CfnIndex(
            self,
            "VectorIndex",
            vector_bucket_arn=vectors.attr_vector_bucket_arn,
            data_type="float32",
            dimension=EMBEDDING_DIMENSIONS,
            distance_metric="cosine",
            # Bedrock stores the chunk text and its metadata with each vector; they are read back,
            # never filtered on, and would exceed the filterable-metadata size.
            metadata_configuration=s3vectors.CfnIndex.MetadataConfigurationProperty(
                non_filterable_metadata_keys=["AMAZON_BEDROCK_TEXT", "AMAZON_BEDROCK_METADATA"]
            ),
        )
        embedding_model = f"arn:{self.partition}:bedrock:{self.region}::foundation-model/{EMBEDDING_MODEL}"
        role = iam.Role(
            self,
            "KnowledgeBaseRole",
            assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com").with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": self.account},
                    "ArnLike": {"aws:SourceArn": self.format_arn(service="bedrock", resource="knowledge-base", resource_name="*")},
                }
            ),
            description="Knowledge base: embeds the documents into the vector index",
        )
        role.add_to_principal_policy(iam.PolicyStatement(actions=["bedrock:InvokeModel"], resources=[embedding_model]))
        role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:ListBucket"], resources=[documents.bucket_arn]))
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[documents.arn_for_objects(f"{DOCUMENTS_PREFIX}*")])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3vectors:PutVectors", "s3vectors:GetVectors", "s3vectors:DeleteVectors", "s3vectors:QueryVectors", "s3vectors:GetIndex"],
                resources=[index.attr_index_arn],
            )
        )
        knowledge_base = bedrock.CfnKnowledgeBase(
            self,
            "KnowledgeBase",
            name=f"{construct_id}-handbook",
            role_arn=role.role_arn,
            knowledge_base_configuration=bedrock.CfnKnowledgeBase.KnowledgeBaseConfigurationProperty(
                type="VECTOR",
                vector_knowledge_base_configuration=bedrock.CfnKnowledgeBase.VectorKnowledgeBaseConfigurationProperty(
                    embedding_model_arn=embedding_model,
                    embedding_model_configuration=bedrock.CfnKnowledgeBase.EmbeddingModelConfigurationProperty(
                        bedrock_embedding_model_configuration=bedrock.CfnKnowledgeBase.BedrockEmbeddingModelConfigurationProperty(
                            dimensions=EMBEDDING_DIMENSIONS, embedding_data_type="FLOAT32"
                        )
                    ),
                ),
            ),
            storage_configuration=bedrock.CfnKnowledgeBase.StorageConfigurationProperty(
                type="S3_VECTORS",
                s3_vectors_configuration=bedrock.CfnKnowledgeBase.S3VectorsConfigurationProperty(index_arn=index.attr_index_arn),
            ),
        )
        cdk.Validations.of(role).acknowledge(
            cdk.Acknowledgment(
                id=f"AwsSolutions::AwsSolutions-IAM5[Resource::<{self.get_logical_id(documents.node.default_child)}.Arn>/{DOCUMENTS_PREFIX}*]",
                reason="The knowledge base reads the documents under documents/, whose file names the app chooses; "
                "read only, and nothing else of the bucket.",
            )
        )
        # The service checks the role's permissions when the knowledge base is created.
        knowledge_base.node.add_dependency(role.node.find_child("DefaultPolicy"))
        data_source = bedrock.CfnDataSource(
            self,
            "DataSource",
            name=f"{construct_id}-documents",
            knowledge_base_id=knowledge_base.attr_knowledge_base_id,
            data_source_configuration=bedrock.CfnDataSource.DataSourceConfigurationProperty(
                type="S3",
                s3_configuration=bedrock.CfnDataSource.S3DataSourceConfigurationProperty(
                    bucket_arn=documents.bucket_arn, inclusion_prefixes=[DOCUMENTS_PREFIX]
                ),
            ),
        )
        KnowledgeBaseIngestion(
            self,
            "Ingestion",
            knowledge_base=knowledge_base,
            data_source=data_source,
            documents=[upload, role.node.find_child("DefaultPolicy")],
            documents_hash=documents_hash(DOCUMENTS),
        )
        judge = Model.bedrock(RAG_JUDGE_MODEL)
        jobs = {
            "Retrieval": EvaluationJob(
                self,
                "Retrieval",
                description="Handbook knowledge base: retrieval quality",
                rag=RagSource.retrieve(knowledge_base, search=VectorSearch(number_of_results=5)),
                evaluator_model=judge,
                tasks=[
                    EvaluationTask(
                        dataset=Dataset.from_file(HERE / "datasets" / "kb-retrieve.jsonl"),
                        metrics=[RagMetric.CONTEXT_RELEVANCE, RagMetric.CONTEXT_COVERAGE],
                    )
                ],
            ),
            "Answers": EvaluationJob(
                self,
                "Answers",
                description="Handbook knowledge base: answers generated from retrieved passages",
                rag=RagSource.retrieve_and_generate(
                    knowledge_base,
                    model_arn=GENERATOR_MODEL,
                    search=VectorSearch(number_of_results=5),
                    generation=Generation(temperature=0, max_tokens=512),
                ),
                evaluator_model=judge,
                tasks=[
                    EvaluationTask(
                        dataset=Dataset.from_file(HERE / "datasets" / "kb-conversations.jsonl"),
                        metrics=[
                            RagMetric.CORRECTNESS,
                            RagMetric.COMPLETENESS,
                            RagMetric.FAITHFULNESS,
                            RagMetric.CITATION_PRECISION,
                            RagMetric.CITATION_COVERAGE,
                        ],
                    )
                ],
                # The deploy waits for the job (up to 4 hours), and is rolled back when the answers
                # are not faithful enough, or got worse than the previous version's.
                wait=JobWait.until_done(timeout=cdk.Duration.hours(4), score_outputs=True),
                quality_gate=QualityGate(at_least={RagMetric.FAITHFULNESS: 0.8, RagMetric.CORRECTNESS: 0.7}, max_drop=0.05),
            ),
        }
        cdk.CfnOutput(self, "KnowledgeBaseId", value=knowledge_base.attr_knowledge_base_id)
        add_job_outputs(self, jobs)


    def _upload(self, documents: s3.Bucket) -> s3_deployment.BucketDeployment:
        """Copy knowledge/ into the documents bucket: read the asset's one object, write under documents/."""
        asset = s3_assets.Asset(self, "DocumentsAsset", path=str(DOCUMENTS))
        role = iam.Role(
            self,
            "UploadDocumentsRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Copies the knowledge base's documents into their bucket",
        )
        logs_group = logs.LogGroup(self, "UploadDocumentsLogs", retention=logs.RetentionDays.THREE_MONTHS, removal_policy=cdk.RemovalPolicy.DESTROY)
        logs_group.grant_write(role)
        role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[asset.bucket.arn_for_objects(asset.s3_object_key)]))
        role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:ListBucket"], resources=[documents.bucket_arn]))
        documents_objects = documents.arn_for_objects(f"{DOCUMENTS_PREFIX}*")
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"], resources=[documents_objects])
        )
        upload = s3_deployment.BucketDeployment(
            self,
            "UploadDocuments",
            sources=[s3_deployment.Source.bucket(asset.bucket, asset.s3_object_key)],
            destination_bucket=documents,
            destination_key_prefix=DOCUMENTS_PREFIX,
            role=role.without_policy_updates(),
            log_group=logs_group,
        )
        upload.node.add_dependency(role)
        function = self.node.find_child("Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C")
        resource = function.node.default_child
        for finding in (CDK_UPLOAD_RUNTIME, NO_DEAD_LETTER_QUEUE, NO_VPC, NO_RESERVED_CONCURRENCY, ENVIRONMENT_WITHOUT_SECRETS):
            acknowledge(resource, finding)
        acknowledge(logs_group.node.default_child, LOGS_SERVICE_ENCRYPTED)  # it holds the upload's file names
        # CDK's BucketDeployment function depends on its role on purpose (cfn-lint W3005).
        acknowledge_role_dependencies(function)
        reason = (
            "The upload syncs the knowledge/ folder into the documents/ prefix, file names chosen by the app: "
            "it writes and deletes only under that prefix, and reads one asset object."
        )
        cdk.Validations.of(role).acknowledge(
            cdk.Acknowledgment(id=f"AwsSolutions::AwsSolutions-IAM5[Resource::<{self.get_logical_id(documents.node.default_child)}.Arn>/{DOCUMENTS_PREFIX}*]", reason=reason)
        )
        return upload

def add_job_outputs(stack: cdk.Stack, jobs: dict[str, EvaluationJob]) -> None:
    for name, job in jobs.items():
        cdk.CfnOutput(stack, f"{name}Arn", value=job.job_arn, description=f"{name}: evaluation job ARN")
        cdk.CfnOutput(stack, f"{name}Results", value=job.output_s3_uri, description=f"{name}: results location")
        cdk.CfnOutput(
            stack,
            f"{name}Console",
            value=f"https://{stack.region}.console.aws.amazon.com/bedrock/home?region={stack.region}#/evaluations",
            description=f"{name}: the Bedrock console's evaluations page (find the job by the name in its ARN output)",
        )


def build_app(outdir: str | None = None) -> cdk.App:
    app = cdk.App(outdir=outdir) if outdir else cdk.App()
    ModelEvaluationStack(app, "BedrockModelEvaluation")
    RagEvaluationStack(app, "BedrockRagEvaluation")
    return app


if __name__ == "__main__":
    build_app().synth()
