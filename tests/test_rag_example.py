"""The knowledge-base example: a knowledge base and its evaluations deploy together, in order,
each role allowed exactly what it uses."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_bedrock as bedrock
from cfn import resolve, resources_of_type, role_statements

from bedrock_evaluation import Dataset, EvaluationJob, EvaluationTask, KnowledgeBaseIngestion, Model, RagMetric, RagSource, contract

JOB = contract.RESOURCE_TYPE
INGESTION = contract.INGESTION_RESOURCE_TYPE


@pytest.fixture(scope="module")
def rag_template(example_templates) -> dict[str, Any]:
    return example_templates["BedrockRagEvaluation"]


def logical(template: dict[str, Any], kind: str, prefix: str = "") -> str:
    (found,) = [k for k in resources_of_type(template, kind) if k.startswith(prefix)]
    return found


def depends_on(template: dict[str, Any], logical_id: str, other: str) -> bool:
    """Whether `logical_id` waits for `other`: DependsOn or a Ref/GetAtt, directly or through others."""
    seen: set[str] = set()
    stack = [logical_id]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        resource = template["Resources"][current]
        direct = set(resource.get("DependsOn", []))
        text = json.dumps(resource.get("Properties", {}))
        direct |= {k for k in template["Resources"] if f'"Ref": "{k}"' in text or f'["{k}",' in text}
        if other in direct:
            return True
        stack.extend(direct)
    return False


def test_the_example_has_a_vector_store_knowledge_base_data_source_and_two_evaluations(rag_template):
    assert len(resources_of_type(rag_template, "AWS::S3Vectors::VectorBucket")) == 1
    assert len(resources_of_type(rag_template, "AWS::S3Vectors::Index")) == 1
    (kb,) = resources_of_type(rag_template, "AWS::Bedrock::KnowledgeBase").values()
    assert kb["Properties"]["StorageConfiguration"]["Type"] == "S3_VECTORS"
    embedding = json.dumps(kb["Properties"]["KnowledgeBaseConfiguration"])
    assert "amazon.titan-embed-text-v2:0" in embedding
    assert len(resources_of_type(rag_template, "AWS::Bedrock::DataSource")) == 1
    kinds = sorted(
        "retrieve" if "retrieveConfig" in json.dumps(j["Properties"]["Request"]) else "retrieve-and-generate"
        for j in resources_of_type(rag_template, JOB).values()
    )
    assert kinds == ["retrieve", "retrieve-and-generate"]


def test_evaluation_waits_for_ingestion_which_waits_for_documents_data_source_knowledge_base_and_roles(rag_template):
    ingestion = logical(rag_template, INGESTION)
    data_source = logical(rag_template, "AWS::Bedrock::DataSource")
    knowledge_base = logical(rag_template, "AWS::Bedrock::KnowledgeBase")
    upload = logical(rag_template, "Custom::CDKBucketDeployment", "UploadDocuments")
    kb_policy = logical(rag_template, "AWS::IAM::Policy", "KnowledgeBaseRoleDefaultPolicy")
    handler_policy = logical(rag_template, "AWS::IAM::Role", "BedrockEvaluationJobProviderJobHandlerRole")  # its statements are inline
    for job in resources_of_type(rag_template, JOB):
        assert ingestion in rag_template["Resources"][job]["DependsOn"], job
    for before in (data_source, knowledge_base, upload, kb_policy, handler_policy):
        assert depends_on(rag_template, ingestion, before), before
    assert depends_on(rag_template, data_source, knowledge_base)
    assert kb_policy in rag_template["Resources"][knowledge_base]["DependsOn"]


def test_ingestion_runs_again_only_when_the_documents_change(rag_template, tmp_path):
    from bedrock_evaluation import documents_hash

    (ingestion,) = resources_of_type(rag_template, INGESTION).values()
    digest = ingestion["Properties"][contract.PROP_DOCUMENTS_HASH]
    import app

    assert digest == documents_hash(app.DOCUMENTS)
    copy = tmp_path / "docs"
    copy.mkdir()
    for file in app.DOCUMENTS.iterdir():
        (copy / file.name).write_bytes(file.read_bytes())
    assert documents_hash(copy) == digest, "same documents, same hash: no new ingestion"
    (copy / "leave-and-holidays.md").write_text("changed")
    assert documents_hash(copy) != digest


def statements_of(template: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    return role_statements(template, prefix)


def resources_for(statements: list[dict[str, Any]], action: str) -> set[str]:
    found: set[str] = set()
    for s in statements:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        if action in actions:
            found |= set(s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    return found


def test_evaluation_roles_reach_exactly_their_knowledge_base_and_models(rag_template):
    kb_arn = resolve({"Fn::GetAtt": [logical(rag_template, "AWS::Bedrock::KnowledgeBase"), "KnowledgeBaseArn"]}, rag_template)
    retrieval = statements_of(rag_template, "RetrievalServiceRole")
    answers = statements_of(rag_template, "AnswersServiceRole")
    kb_by_id = "arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KnowledgeBase.KnowledgeBaseId"
    assert resources_for(retrieval, "bedrock:Retrieve") == {kb_by_id}
    assert resources_for(answers, "bedrock:RetrieveAndGenerate") == {kb_by_id}
    judge = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0"
    assert resources_for(retrieval, "bedrock:InvokeModel") == {judge}
    assert resources_for(answers, "bedrock:InvokeModel") == {
        judge,
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0",
        "arn:aws:bedrock:*::foundation-model/amazon.nova-pro-v1:0",
    }
    handler = statements_of(rag_template, "BedrockEvaluationJobProviderJobHandlerRole")
    assert resources_for(handler, "bedrock:StartIngestionJob") == {kb_arn}
    assert resources_for(handler, "bedrock:GetIngestionJob") == {kb_arn}


def test_knowledge_base_role_embeds_with_one_model_reads_its_documents_and_writes_its_index(rag_template):
    statements = statements_of(rag_template, "KnowledgeBaseRole")
    assert resources_for(statements, "bedrock:InvokeModel") == {"arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"}
    (documents_read,) = resources_for(statements, "s3:GetObject")
    assert documents_read.endswith("/documents/*")
    index = resolve({"Fn::GetAtt": [logical(rag_template, "AWS::S3Vectors::Index"), "IndexArn"]}, rag_template)
    assert resources_for(statements, "s3vectors:PutVectors") == {index}


def test_a_guardrail_of_the_request_may_be_applied():
    from bedrock_evaluation import Generation, Guardrail

    stack = cdk.Stack(cdk.App(), "Guarded")
    EvaluationJob(
        stack,
        "Job",
        rag=RagSource.retrieve_and_generate("KB12345678", model_arn="amazon.nova-lite-v1:0", generation=Generation(guardrail=Guardrail(guardrail_id="gr1234abcd", version="2"))),
        evaluator_model=Model.bedrock("anthropic.claude-3-5-sonnet-20240620-v1:0"),
        tasks=[EvaluationTask(dataset=Dataset.from_file("datasets/kb-conversations.jsonl"), metrics=[RagMetric.CORRECTNESS])],
    )
    template = cdk.assertions.Template.from_stack(stack).to_json()
    assert resources_for(statements_of(template, "JobServiceRole"), "bedrock:ApplyGuardrail") == {
        "arn:aws:bedrock:us-east-1:123456789012:guardrail/gr1234abcd"
    }


def _kb_stack(*, declare_data_source_first: bool, wait: bool = True) -> dict[str, Any]:
    stack = cdk.Stack(cdk.App(), "Kb")
    kb = bedrock.CfnKnowledgeBase(
        stack, "Kb", name="kb", role_arn="arn:aws:iam::123456789012:role/kb",
        knowledge_base_configuration=bedrock.CfnKnowledgeBase.KnowledgeBaseConfigurationProperty(type="VECTOR"),
    )

    def data_source() -> None:
        bedrock.CfnDataSource(
            stack, "Docs", name="docs", knowledge_base_id=kb.attr_knowledge_base_id,
            data_source_configuration=bedrock.CfnDataSource.DataSourceConfigurationProperty(
                type="S3", s3_configuration=bedrock.CfnDataSource.S3DataSourceConfigurationProperty(bucket_arn="arn:aws:s3:::docs")
            ),
        )

    if declare_data_source_first:
        data_source()
    EvaluationJob(
        stack, "Eval", rag=RagSource.retrieve(kb), evaluator_model=Model.bedrock("anthropic.claude-3-5-sonnet-20240620-v1:0"),
        tasks=[EvaluationTask(dataset=Dataset.from_file("datasets/kb-retrieve.jsonl"), metrics=[RagMetric.CONTEXT_RELEVANCE])],
        wait_for_ingestion=wait,
    )
    if not declare_data_source_first:
        data_source()
    return cdk.assertions.Template.from_stack(stack).to_json()


def test_a_same_stack_data_source_is_ingested_before_evaluation_without_being_asked():
    template = _kb_stack(declare_data_source_first=True)
    ingestion = logical(template, INGESTION)
    assert ingestion in template["Resources"][logical(template, JOB)]["DependsOn"]


def test_waiting_for_ingestion_can_be_turned_off():
    template = _kb_stack(declare_data_source_first=True, wait=False)
    assert not resources_of_type(template, INGESTION)


def test_a_data_source_declared_after_its_evaluation_is_ingested_first_too():
    template = _kb_stack(declare_data_source_first=False)
    (ingestion,) = resources_of_type(template, INGESTION).keys()
    assert ingestion in template["Resources"][logical(template, JOB)]["DependsOn"]


def test_the_job_waits_on_the_ingestion_the_user_declares_after_it_and_no_second_one_is_made():
    """The README's order: knowledge base and data source, the evaluation, then the ingestion that
    waits for the documents' upload. The evaluation must wait on that one ingestion."""
    stack = cdk.Stack(cdk.App(), "Kb")
    kb = bedrock.CfnKnowledgeBase(
        stack, "Kb", name="kb", role_arn="arn:aws:iam::123456789012:role/kb",
        knowledge_base_configuration=bedrock.CfnKnowledgeBase.KnowledgeBaseConfigurationProperty(type="VECTOR"),
    )
    docs = bedrock.CfnDataSource(
        stack, "Docs", name="docs", knowledge_base_id=kb.attr_knowledge_base_id,
        data_source_configuration=bedrock.CfnDataSource.DataSourceConfigurationProperty(
            type="S3", s3_configuration=bedrock.CfnDataSource.S3DataSourceConfigurationProperty(bucket_arn="arn:aws:s3:::docs")
        ),
    )
    EvaluationJob(
        stack, "Eval", rag=RagSource.retrieve(kb), evaluator_model=Model.bedrock("amazon.nova-pro-v1:0"),
        tasks=[EvaluationTask(dataset=Dataset.from_file("datasets/kb-retrieve.jsonl"), metrics=[RagMetric.CONTEXT_RELEVANCE])],
    )
    KnowledgeBaseIngestion(stack, "Indexed", knowledge_base=kb, data_source=docs, documents_hash="abc")
    template = cdk.assertions.Template.from_stack(stack).to_json()
    (ingestion,) = resources_of_type(template, INGESTION).keys()
    assert ingestion.startswith("Indexed")
    assert ingestion in template["Resources"][logical(template, JOB)]["DependsOn"]
