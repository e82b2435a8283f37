#!/usr/bin/env python3
"""An app of its own that uses the package as any CDK app would: installed from a wheel into its own
virtual environment (see README.md). One stack: a knowledge base on S3 Vectors with its documents, and
an evaluation of it declared next to it, which starts once the documents are indexed."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from aws_cdk import aws_s3vectors as s3vectors
from constructs import Construct

from bedrock_evaluation import Dataset, EvaluationJob, EvaluationTask, KnowledgeBaseIngestion, Model, RagMetric, RagSource, documents_hash

HERE = Path(__file__).resolve().parent
EMBEDDING_MODEL = "amazon.titan-embed-text-v2:0"
DIMENSIONS = 1024


class SupportKnowledgeBase(cdk.Stack):
    """The application's knowledge base, and how well it answers."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)
        documents = s3.Bucket(
            self,
            "Documents",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
        )
        upload = s3_deployment.BucketDeployment(
            self, "Upload", sources=[s3_deployment.Source.asset(str(HERE / "documents"))], destination_bucket=documents
        )
        vectors = s3vectors.CfnVectorBucket(self, "Vectors")
        index = s3vectors.CfnIndex(
            self,
            "Index",
            vector_bucket_arn=vectors.attr_vector_bucket_arn,
            data_type="float32",
            dimension=DIMENSIONS,
            distance_metric="cosine",
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
        )
        role.add_to_principal_policy(iam.PolicyStatement(actions=["bedrock:InvokeModel"], resources=[embedding_model]))
        documents.grant_read(role)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3vectors:PutVectors", "s3vectors:GetVectors", "s3vectors:DeleteVectors", "s3vectors:QueryVectors", "s3vectors:GetIndex"],
                resources=[index.attr_index_arn],
            )
        )
        knowledge_base = bedrock.CfnKnowledgeBase(
            self,
            "KnowledgeBase",
            name=f"{construct_id}-support",
            role_arn=role.role_arn,
            knowledge_base_configuration=bedrock.CfnKnowledgeBase.KnowledgeBaseConfigurationProperty(
                type="VECTOR",
                vector_knowledge_base_configuration=bedrock.CfnKnowledgeBase.VectorKnowledgeBaseConfigurationProperty(
                    embedding_model_arn=embedding_model,
                ),
            ),
            storage_configuration=bedrock.CfnKnowledgeBase.StorageConfigurationProperty(
                type="S3_VECTORS",
                s3_vectors_configuration=bedrock.CfnKnowledgeBase.S3VectorsConfigurationProperty(index_arn=index.attr_index_arn),
            ),
        )
        knowledge_base.node.add_dependency(role.node.find_child("DefaultPolicy"))
        data_source = bedrock.CfnDataSource(
            self,
            "DataSource",
            name=f"{construct_id}-documents",
            knowledge_base_id=knowledge_base.attr_knowledge_base_id,
            data_source_configuration=bedrock.CfnDataSource.DataSourceConfigurationProperty(
                type="S3", s3_configuration=bedrock.CfnDataSource.S3DataSourceConfigurationProperty(bucket_arn=documents.bucket_arn)
            ),
        )
        KnowledgeBaseIngestion(
            self,
            "Ingestion",
            knowledge_base=knowledge_base,
            data_source=data_source,
            documents=[upload, role.node.find_child("DefaultPolicy")],
            documents_hash=documents_hash(HERE / "documents"),
        )

        # The evaluation, next to what it evaluates.
        job = EvaluationJob(
            self,
            "Answers",
            rag=RagSource.retrieve_and_generate(knowledge_base, model_arn="us.amazon.nova-pro-v1:0"),
            evaluator_model=Model.bedrock("amazon.nova-pro-v1:0"),
            tasks=[
                EvaluationTask(
                    dataset=Dataset.from_file(HERE / "datasets" / "questions.jsonl"),
                    metrics=[RagMetric.CORRECTNESS, RagMetric.FAITHFULNESS],
                )
            ],
        )
        cdk.CfnOutput(self, "EvaluationJobArn", value=job.job_arn)


app = cdk.App()
SupportKnowledgeBase(app, "SupportKnowledgeBase")
app.synth()
