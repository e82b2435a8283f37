"""Wrong Python types fail where they are given, as one EvaluationJobConfigError naming the
factory or construct, the argument, the type expected and the type received; never as an
AttributeError, TypeError or KeyError from deep inside synth."""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Union

import aws_cdk as cdk
import pytest
from aws_cdk import Fn, Token
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

import bedrock_evaluation
from bedrock_evaluation import (
    AttributeType,
    CustomMetric,
    Dataset,
    EvaluationJobConfigError,
    EvaluationTask,
    ExternalSource,
    Filter,
    Generation,
    Guardrail,
    HumanMetric,
    HumanWorkflow,
    ImplicitFilter,
    KnowledgeBaseIngestion,
    Latency,
    MetadataAttribute,
    Metric,
    Model,
    RagKind,
    RagSource,
    Rating,
    RatingMethod,
    Reranking,
    SearchType,
    TaskType,
    VectorSearch,
    boundary,
    documents_hash,
)
from bedrock_evaluation.boundary import check_fields, checked, checked_construct
from bedrock_evaluation.errors import NOT_GIVEN

NOVA = "amazon.nova-lite-v1:0"
KB_ID = "KB12345678"
FLOW = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/reviewers"
PROMPTS = Path(__file__).resolve().parents[1] / "datasets" / "qa.jsonl"
BOOLQ = Dataset.builtin("Builtin.BoolQ")
YEAR = MetadataAttribute(key="year", type=AttributeType.NUMBER, description="the year of publication")


def bucket(stack: cdk.Stack) -> s3.IBucket:
    return s3.Bucket.from_bucket_name(stack, "Datasets", "my-datasets")


def knowledge_base(stack: cdk.Stack) -> bedrock.CfnKnowledgeBase:
    declared = stack.node.try_find_child("Kb")
    if isinstance(declared, bedrock.CfnKnowledgeBase):
        return declared
    return bedrock.CfnKnowledgeBase(
        stack,
        "Kb",
        name="kb",
        role_arn="arn:aws:iam::123456789012:role/kb",
        knowledge_base_configuration=bedrock.CfnKnowledgeBase.KnowledgeBaseConfigurationProperty(type="VECTOR"),
    )


def data_source(stack: cdk.Stack) -> bedrock.CfnDataSource:
    return bedrock.CfnDataSource(
        stack,
        "Docs",
        name="docs",
        knowledge_base_id=knowledge_base(stack).attr_knowledge_base_id,
        data_source_configuration=bedrock.CfnDataSource.DataSourceConfigurationProperty(
            type="S3",
            s3_configuration=bedrock.CfnDataSource.S3DataSourceConfigurationProperty(bucket_arn="arn:aws:s3:::docs"),
        ),
    )


def refused(call: Callable[[], object]) -> EvaluationJobConfigError:
    with pytest.raises(EvaluationJobConfigError) as raised:
        call()
    return raised.value


# --- one wrong type for each factory and value type


@dataclass(frozen=True)
class WrongType:
    """A call with a wrong type, and the error it must raise: where, the field, the type expected, the type given."""

    case: str
    where: str
    field: str
    expected: str
    got: str
    call: Callable[[cdk.Stack], object]


# fmt: off
WRONG_TYPES = [
    # models
    WrongType("model identifier as a number", "Model.bedrock", "identifier", "str", "int",
              lambda s: Model.bedrock(3)),
    WrongType("inference params as a list",
              "Model.bedrock", "inference_params", "Mapping[str, Any] | str | None", "list",
              lambda s: Model.bedrock(NOVA, inference_params=[("maxTokens", 5)])),
    WrongType("latency as a bool", "Model.bedrock", "latency", "Latency | str | None", "bool",
              lambda s: Model.bedrock(NOVA, latency=True)),
    WrongType("precomputed source as a list", "Model.precomputed_responses", "source_identifier", "str", "list",
              lambda s: Model.precomputed_responses(["app-a"])),
    WrongType("model built directly without an identifier string", "Model", "identifier", "str", "None",
              lambda s: Model(identifier=None)),
    # datasets
    WrongType("builtin dataset name as None", "Dataset.builtin", "name", "str", "None",
              lambda s: Dataset.builtin(None)),
    WrongType("dataset file as a number", "Dataset.from_file", "path", "str | Path", "int",
              lambda s: Dataset.from_file(3)),
    WrongType("dataset name as a number", "Dataset.from_file", "name", "str | None", "int",
              lambda s: Dataset.from_file(PROMPTS, name=3)),
    WrongType("dataset bucket as a name", "Dataset.from_s3", "bucket", "IBucket", "str",
              lambda s: Dataset.from_s3("my-datasets", "qa.jsonl")),
    WrongType("dataset key as a path", "Dataset.from_s3", "key", "str", "PosixPath",
              lambda s: Dataset.from_s3(bucket(s), Path("qa.jsonl"))),
    WrongType("dataset built directly with a path as source",
              "Dataset", "source", "_Builtin | _LocalFile | _S3Object", "PosixPath",
              lambda s: Dataset(name="qa", source=PROMPTS)),
    # tasks
    WrongType("task dataset as a name", "EvaluationTask", "dataset", "Dataset", "str",
              lambda s: EvaluationTask(dataset="Builtin.BoolQ", metrics=[Metric.ACCURACY])),
    WrongType("task type as a number", "EvaluationTask", "task_type", "TaskType | str | None", "int",
              lambda s: EvaluationTask(dataset=BOOLQ, metrics=[Metric.ACCURACY], task_type=1)),
    # custom and human metrics
    WrongType("rating number as a string", "Rating.number", "value", "float", "str",
              lambda s: Rating.number("good", "5")),
    WrongType("rating text as a number", "Rating.text", "value", "str", "int",
              lambda s: Rating.text("polite", 1)),
    WrongType("rating built directly with a bare value", "Rating", "value", "dict[str, Any]", "float",
              lambda s: Rating("good", 5.0)),
    WrongType("custom metric scale as one rating", "CustomMetric", "rating_scale", "Sequence[Rating] | None", "Rating",
              lambda s: CustomMetric(name="X", instructions="{{prediction}}", rating_scale=Rating.number("good", 1))),
    WrongType("custom metric name as None", "CustomMetric", "name", "str", "None",
              lambda s: CustomMetric(name=None, instructions="{{prediction}}")),
    WrongType("human rating method as a number", "HumanMetric", "rating_method", "RatingMethod | str", "int",
              lambda s: HumanMetric(name="Helpful", rating_method=1)),
    WrongType("human workflow as a dict", "HumanWorkflow", "flow_definition_arn", "str | None", "dict",
              lambda s: HumanWorkflow(flow_definition_arn={"arn": FLOW})),
    # knowledge-base settings
    WrongType("filter key as a number", "Filter.equals", "key", "str", "int",
              lambda s: Filter.equals(1, "search")),
    WrongType("filter bound as a string", "Filter.greater_than", "value", "float", "str",
              lambda s: Filter.greater_than("year", "2020")),
    WrongType("filter values as a set", "Filter.in_", "values", "Sequence[Any]", "set",
              lambda s: Filter.in_("lang", {"en", "fr"})),
    WrongType("filter group of raw dicts", "Filter.and_all", "filters[1]", "Filter", "dict",
              lambda s: Filter.and_all(Filter.equals("a", 1), {"equals": {"key": "b", "value": 2}})),
    WrongType("filter built directly from a string", "Filter", "rendered", "dict[str, Any]", "str",
              lambda s: Filter(rendered="equals")),
    WrongType("metadata attribute type as a number", "MetadataAttribute", "type", "AttributeType | str", "int",
              lambda s: MetadataAttribute(key="year", type=1, description="d")),
    WrongType("implicit filter of one attribute",
              "ImplicitFilter", "attributes", "Sequence[MetadataAttribute]", "MetadataAttribute",
              lambda s: ImplicitFilter(attributes=YEAR, model_arn=NOVA)),
    WrongType("reranked results as a string", "Reranking", "number_of_reranked_results", "int | None", "str",
              lambda s: Reranking(model_arn=NOVA, number_of_reranked_results="5")),
    WrongType("search filter as a dict", "VectorSearch", "filter", "Filter | None", "dict",
              lambda s: VectorSearch(filter={"equals": {"key": "a", "value": 1}})),
    WrongType("search result count as a bool", "VectorSearch", "number_of_results", "int | None", "bool",
              lambda s: VectorSearch(number_of_results=True)),
    WrongType("guardrail version as a number", "Guardrail", "version", "str", "int",
              lambda s: Guardrail(guardrail_id="gr1", version=1)),
    WrongType("generation temperature as a string", "Generation", "temperature", "float | None", "str",
              lambda s: Generation(temperature="0.2")),
    WrongType("external source bucket as a name", "ExternalSource.s3", "bucket", "IBucket", "str",
              lambda s: ExternalSource.s3("my-docs", "handbook.pdf")),
    WrongType("external source data as bytes", "ExternalSource.byte_content", "data", "str", "bytes",
              lambda s: ExternalSource.byte_content(identifier="h", content_type="text/plain", data=b"hi")),
    WrongType("external source built directly from a URI", "ExternalSource", "rendered", "dict[str, Any]", "str",
              lambda s: ExternalSource(rendered="s3://docs/handbook.pdf")),
    WrongType("knowledge base as a number", "RagSource.retrieve", "knowledge_base", "str | CfnKnowledgeBase", "int",
              lambda s: RagSource.retrieve(12345678)),
    WrongType("generator given as a Model", "RagSource.retrieve_and_generate", "model_arn", "str", "Model",
              lambda s: RagSource.retrieve_and_generate(KB_ID, model_arn=Model.bedrock(NOVA))),
    WrongType("external sources given a URI", "RagSource.external_sources", "source", "ExternalSource", "str",
              lambda s: RagSource.external_sources(model_arn=NOVA, source="s3://docs/handbook.pdf")),
    WrongType("precomputed rag kind as a string", "RagSource.precomputed", "kind", "RagKind", "str",
              lambda s: RagSource.precomputed("retrieve", "my-rag")),
    WrongType("rag source built directly with a string kind", "RagSource", "kind", "RagKind", "str",
              lambda s: RagSource("retrieve", {})),
    # knowledge bases
    WrongType("ingestion of a knowledge base id", "Eval/Ingest", "knowledge_base", "CfnKnowledgeBase", "str",
              lambda s: KnowledgeBaseIngestion(s, "Ingest", knowledge_base=KB_ID, data_source=data_source(s))),
    WrongType("ingestion lookup by id", "KnowledgeBaseIngestion.of", "data_source", "CfnDataSource", "str",
              lambda s: KnowledgeBaseIngestion.of("DS12345678")),
    WrongType("documents hash of a number", "documents_hash", "path", "str | Path", "int",
              lambda s: documents_hash(3)),
]
# fmt: on


@pytest.mark.parametrize("wrong", WRONG_TYPES, ids=[w.case for w in WRONG_TYPES])
def test_fails_on_a_wrong_type_naming_where_the_field_the_type_expected_and_the_type_given(
    stack: cdk.Stack, wrong: WrongType
) -> None:
    error = refused(lambda: wrong.call(stack))
    assert (error.where, error.field) == (wrong.where, wrong.field)
    assert error.rule.startswith(f"expected {wrong.expected}, got {wrong.got}")
    assert str(error).startswith(f"{wrong.where}: {wrong.field} is ")


# --- the wrong types users pass most


def test_fails_when_metrics_is_one_metric_instead_of_a_list_and_suggests_the_list() -> None:
    error = refused(lambda: EvaluationTask(dataset=BOOLQ, metrics=Metric.ACCURACY))
    assert (error.where, error.field, error.value) == ("EvaluationTask", "metrics", "Builtin.Accuracy")
    assert error.rule.startswith("expected Sequence[str], got str")
    assert "[Metric.ACCURACY]" in error.rule


def test_fails_when_a_custom_metric_name_is_given_instead_of_a_list_and_suggests_the_list() -> None:
    error = refused(lambda: EvaluationTask(dataset=BOOLQ, metrics="Conciseness"))
    assert "['Conciseness']" in error.rule


def test_fails_when_a_bucket_is_given_as_an_arn_string(stack: cdk.Stack) -> None:
    error = refused(lambda: Dataset.from_s3("arn:aws:s3:::my-datasets", "qa.jsonl"))
    assert (error.field, error.value) == ("bucket", "arn:aws:s3:::my-datasets")
    assert error.rule == "expected IBucket, got str"


class _Probe(Construct):
    """A construct shaped like EvaluationJob, to show what the construct decorator does."""

    @checked_construct
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: Model,
        role: iam.IRole | None = None,
        tasks: Sequence[EvaluationTask] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.model, self.role, self.tasks = model, role, tasks


def test_a_construct_given_the_right_types_is_built(stack: cdk.Stack) -> None:
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com"))
    imported = iam.Role.from_role_arn(stack, "Imported", "arn:aws:iam::123456789012:role/eval")
    task = EvaluationTask(dataset=BOOLQ, metrics=[Metric.ACCURACY])
    assert _Probe(stack, "Probe", model=Model.bedrock(NOVA), role=role, tasks=[task]).role is role
    assert _Probe(stack, "WithImportedRole", model=Model.bedrock(NOVA), role=imported, tasks=(task,)).role is imported


def test_fails_when_model_is_given_as_a_string(stack: cdk.Stack) -> None:
    error = refused(lambda: _Probe(stack, "Probe", model=NOVA))
    assert (error.where, error.field, error.value) == ("Eval/Probe", "model", NOVA)
    assert error.rule == "expected Model, got str"


def test_fails_when_role_is_given_as_an_arn_string(stack: cdk.Stack) -> None:
    error = refused(
        lambda: _Probe(stack, "Probe", model=Model.bedrock(NOVA), role="arn:aws:iam::123456789012:role/eval")
    )
    assert (error.field, error.rule) == ("role", "expected IRole | None, got str")


def test_fails_when_tasks_is_one_task_instead_of_a_list(stack: cdk.Stack) -> None:
    task = EvaluationTask(dataset=BOOLQ, metrics=[Metric.ACCURACY])
    error = refused(lambda: _Probe(stack, "Probe", model=Model.bedrock(NOVA), tasks=task))
    assert (error.field, error.rule) == ("tasks", "expected Sequence[EvaluationTask], got EvaluationTask")


def test_reports_every_wrong_argument_in_one_error(stack: cdk.Stack) -> None:
    error = refused(lambda: _Probe(stack, "Probe", model=NOVA, role="arn:aws:iam::123456789012:role/eval"))
    assert [v.field for v in error.violations] == ["model", "role"]
    assert str(error) == (
        "Eval/Probe: model is 'amazon.nova-lite-v1:0': expected Model, got str; "
        "role is 'arn:aws:iam::123456789012:role/eval': expected IRole | None, got str"
    )


def test_a_construct_error_is_named_by_the_construct_path(stack: cdk.Stack) -> None:
    group = Construct(stack, "Nightly")
    assert refused(lambda: _Probe(group, "Probe", model=NOVA)).where == "Eval/Nightly/Probe"
    assert refused(lambda: _Probe(cdk.App(), "Probe", model=NOVA)).where == "Probe"


def test_fails_when_scope_is_not_a_construct() -> None:
    error = refused(lambda: _Probe("Eval", "Probe", model=Model.bedrock(NOVA)))
    assert (error.where, error.field, error.value) == ("_Probe('Probe')", "scope", "Eval")
    assert error.rule == "expected Construct, got str"


def test_fails_when_scope_and_id_are_given_by_keyword_and_scope_is_not_a_construct() -> None:
    error = refused(lambda: _Probe(scope=None, construct_id="Probe", model=Model.bedrock(NOVA)))
    assert (error.where, error.field) == ("_Probe('Probe')", "scope")


def test_fails_when_documents_is_one_construct_instead_of_a_list(stack: cdk.Stack) -> None:
    kb = knowledge_base(stack)
    error = refused(
        lambda: KnowledgeBaseIngestion(stack, "Ingest", knowledge_base=kb, data_source=data_source(stack), documents=kb)
    )
    assert (error.where, error.field) == ("Eval/Ingest", "documents")
    assert error.rule == "expected Sequence[IConstruct], got CfnKnowledgeBase"


def test_fails_when_the_ingestion_scope_is_not_a_construct(stack: cdk.Stack) -> None:
    kb = knowledge_base(stack)
    error = refused(lambda: KnowledgeBaseIngestion("Eval", "Ingest", knowledge_base=kb, data_source=data_source(stack)))
    assert (error.where, error.field) == ("KnowledgeBaseIngestion('Ingest')", "scope")


def test_an_ingestion_of_the_right_types_is_built(stack: cdk.Stack) -> None:
    kb = knowledge_base(stack)
    ingestion = KnowledgeBaseIngestion(
        stack, "Ingest", knowledge_base=kb, data_source=data_source(stack), documents=[kb], documents_hash="abc123"
    )
    assert KnowledgeBaseIngestion.of(ingestion.data_source) is ingestion


# --- a str is never taken for a sequence of its characters


# fmt: off
STRING_FOR_A_LIST: list[tuple[str, Callable[[], object], str, str]] = [
    ("filter values", lambda: Filter.in_("lang", "en"), "values", "['en']"),
    ("reranked fields, optional", lambda: Reranking(model_arn=NOVA, fields_to_include="title"),
     "fields_to_include", "['title']"),
    ("stop sequences, optional", lambda: Generation(stop_sequences="END"), "stop_sequences", "['END']"),
    ("rag metric", lambda: EvaluationTask(dataset=BOOLQ, metrics="Builtin.ContextRelevance"),
     "metrics", "[RagMetric.CONTEXT_RELEVANCE]"),
]
# fmt: on


@pytest.mark.parametrize(
    ("case", "call", "field", "suggested"), STRING_FOR_A_LIST, ids=[c[0] for c in STRING_FOR_A_LIST]
)
def test_fails_when_a_string_is_given_for_a_list(
    case: str, call: Callable[[], object], field: str, suggested: str
) -> None:
    error = refused(call)
    assert error.field == field
    assert "got str; a str is not taken as a list of its characters" in error.rule
    assert error.rule.endswith(f"write {suggested}")


def test_fails_when_an_item_of_a_list_is_of_the_wrong_type_naming_the_item() -> None:
    error = refused(lambda: EvaluationTask(dataset=BOOLQ, metrics=[Metric.ACCURACY, 7]))
    assert error.rule == "expected Sequence[str], got list (type of metrics[1] must be str; got int instead)"


def test_fails_when_a_string_token_is_given_for_a_list_and_names_the_list_token() -> None:
    error = refused(lambda: Generation(stop_sequences=Fn.ref("StopSequences")))
    assert "Token.as_list" in error.rule


def test_a_list_token_is_accepted_for_a_list() -> None:
    stop = Token.as_list(Fn.ref("StopSequences"))
    assert Generation(stop_sequences=stop).stop_sequences == stop


def test_a_list_or_a_tuple_is_accepted_for_a_sequence() -> None:
    assert Filter.in_("lang", ("en", "fr")).rendered == {"in": {"key": "lang", "value": ["en", "fr"]}}
    assert Generation(stop_sequences=["END"]).render()["kbInferenceConfig"]["textInferenceConfig"]["stopSequences"] == [
        "END"
    ]


# --- what is accepted


def test_none_is_accepted_where_the_type_is_optional(stack: cdk.Stack) -> None:
    assert Model.bedrock(NOVA, inference_params=None, latency=None).render() == {
        "bedrockModel": {"modelIdentifier": NOVA}
    }
    assert Dataset.from_s3(bucket(stack), "qa/prompts.jsonl", name=None).name == "prompts"
    assert RagSource.retrieve(KB_ID, search=None).kind is RagKind.RETRIEVE
    assert CustomMetric(name="X", instructions="{{prediction}}", rating_scale=None).render() == {
        "customMetricDefinition": {"name": "X", "instructions": "{{prediction}}"}
    }


def test_fails_when_none_is_given_where_the_type_is_not_optional() -> None:
    assert refused(lambda: Guardrail(guardrail_id="gr1", version=None)).rule == "expected str, got None"


def test_an_enum_typed_value_is_accepted_as_the_enum_or_its_string() -> None:
    for latency in (Latency.OPTIMIZED, "optimized"):
        assert Model.bedrock(NOVA, latency=latency).render()["bedrockModel"]["performanceConfig"] == {
            "latency": "optimized"
        }
    for search_type in (SearchType.HYBRID, "HYBRID"):
        assert VectorSearch(search_type=search_type).render() == {"overrideSearchType": "HYBRID"}
    for attribute_type in (AttributeType.NUMBER, "NUMBER"):
        assert MetadataAttribute(key="year", type=attribute_type, description="d").render()["type"] == "NUMBER"
    for method in (RatingMethod.THUMBS_UP_DOWN, "ThumbsUpDown"):
        assert HumanMetric(name="Helpful", rating_method=method).render()["ratingMethod"] == "ThumbsUpDown"
    for task_type in (TaskType.CUSTOM, "General"):
        assert EvaluationTask(dataset=BOOLQ, metrics=["M"], task_type=task_type).task_type == task_type


def test_fails_when_latency_is_a_string_that_is_not_a_latency() -> None:
    error = refused(lambda: Model.bedrock(NOVA, latency="fast"))
    assert (error.where, error.field, error.value) == ("Model.bedrock", "latency", "fast")
    assert error.rule == "expected one of 'standard', 'optimized'"


def test_an_int_is_accepted_where_a_float_is_expected_but_a_bool_is_not() -> None:
    assert Rating.number("good", 1).value == {"floatValue": 1}
    assert refused(lambda: Rating.number("good", True)).rule == "expected float, got bool"


def test_tokens_are_accepted_for_the_type_they_encode(stack: cdk.Stack) -> None:
    model_id = cdk.CfnParameter(stack, "ModelId").value_as_string
    latency = cdk.CfnParameter(stack, "Latency").value_as_string
    count = cdk.CfnParameter(stack, "Results", type="Number").value_as_number
    key = cdk.CfnParameter(stack, "Key").value_as_string

    datasets = bucket(stack)

    assert Model.bedrock(model_id, latency=latency).render()["bedrockModel"]["performanceConfig"] == {
        "latency": latency
    }
    assert VectorSearch(number_of_results=count).render() == {"numberOfResults": count}
    assert Dataset.from_s3(datasets, key, name="prompts").name == "prompts"
    assert Dataset.from_s3(datasets, "qa.jsonl", name=key).name == key


def test_a_token_for_another_type_is_refused(stack: cdk.Stack) -> None:
    count = cdk.CfnParameter(stack, "Results", type="Number").value_as_number
    assert refused(lambda: Guardrail(guardrail_id="gr1", version=count)).rule == "expected str, got float"
    assert (
        refused(lambda: VectorSearch(number_of_results=cdk.CfnParameter(stack, "Text").value_as_string)).field
        == "number_of_results"
    )


def test_a_resolvable_that_is_not_encoded_is_refused_with_how_to_encode_it() -> None:
    error = refused(lambda: Guardrail(guardrail_id=Fn.get_att("Guardrail", "GuardrailId"), version="1"))
    assert error.rule.startswith("expected str, got ")
    assert "Token.as_string" in error.rule


def test_a_dataset_key_given_as_a_token_needs_a_name(stack: cdk.Stack) -> None:
    error = refused(lambda: Dataset.from_s3(bucket(stack), cdk.CfnParameter(stack, "Key").value_as_string))
    assert (error.where, error.field, error.value) == ("Dataset.from_s3", "name", NOT_GIVEN)


def test_jsii_interfaces_are_accepted_from_constructs_and_from_lookups(stack: cdk.Stack) -> None:
    owned = s3.Bucket(stack, "Owned")
    looked_up = s3.Bucket.from_bucket_arn(stack, "LookedUp", "arn:aws:s3:::looked-up")
    assert Dataset.from_s3(owned, "qa.jsonl").source.bucket is owned  # type: ignore[union-attr]
    assert ExternalSource.s3(looked_up, "handbook.pdf").bucket is looked_up


def test_a_jsii_object_of_another_interface_is_refused(stack: cdk.Stack) -> None:
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com"))
    error = refused(lambda: ExternalSource.s3(role, "handbook.pdf"))
    assert error.rule == "expected IBucket, got Role"


# --- the error messages of value rules name where, the field and the value


def test_fails_on_a_builtin_dataset_that_does_not_exist() -> None:
    error = refused(lambda: Dataset.builtin("Builtin.TriviaQa"))
    assert (error.where, error.field, error.value) == ("Dataset.builtin", "name", "Builtin.TriviaQa")
    assert error.rule.startswith("it is not a built-in dataset; expected one of Builtin.Bold, ")


def test_fails_on_a_dataset_file_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    error = refused(lambda: Dataset.from_file(missing))
    assert (error.where, error.field, error.value) == ("Dataset.from_file", "path", missing)
    assert error.rule.startswith("it is not a file")


def test_fails_on_a_dataset_name_derived_from_a_file_name_and_says_to_give_one(tmp_path: Path) -> None:
    path = tmp_path / ("q" * 64 + ".jsonl")
    path.write_text('{"prompt": "a"}\n')
    error = refused(lambda: Dataset.from_file(path))
    assert (error.field, error.value) == ("name", "q" * 64)
    assert error.rule.endswith("this one comes from the file name: give name=")
    assert Dataset.from_file(path, name="qa").name == "qa"


def test_fails_on_a_dataset_key_an_s3_uri_cannot_carry(stack: cdk.Stack) -> None:
    error = refused(lambda: Dataset.from_s3(bucket(stack), "qa//prompts.jsonl"))
    assert (error.where, error.field, error.value) == ("Dataset.from_s3", "key", "qa//prompts.jsonl")


def test_fails_on_inference_params_that_are_not_json() -> None:
    error = refused(lambda: Model.bedrock(NOVA, inference_params="{maxTokens: 5}"))
    assert (error.where, error.field, error.value) == ("Model.bedrock", "inference_params", "{maxTokens: 5}")
    assert error.rule.startswith("it is not valid JSON")


def test_fails_on_a_filter_group_of_one() -> None:
    error = refused(lambda: Filter.or_all(Filter.equals("a", 1)))
    assert (error.where, error.field, error.rule) == ("Filter.or_all", "filters", "takes at least 2 filters, got 1")


def test_fails_on_reranking_fields_both_included_and_excluded_when_built() -> None:
    error = refused(lambda: Reranking(model_arn=NOVA, fields_to_include=["a"], fields_to_exclude=["b"]))
    assert (error.where, error.field, error.value) == ("Reranking", "fields_to_exclude", ["b"])


# --- every public factory and class refuses a wrong type with the library's error


# Every export is walked, constructs included.
NOT_WALKED: set[str] = set()
PUBLIC_CALLABLES = 51
"""Classes, factories and functions walked today; more may come, none may go unnoticed."""


@dataclass(frozen=True)
class Entry:
    """A public callable, its where, and the parameter the walk gives a wrong type."""

    name: str
    call: Callable[..., object]
    hints: Mapping[str, Any]
    parameters: tuple[inspect.Parameter, ...]

    @property
    def first(self) -> inspect.Parameter:
        required = [p for p in self.parameters if p.default is inspect.Parameter.empty and p.kind is not p.VAR_KEYWORD]
        return (required or list(self.parameters))[0]


def public_entries() -> Iterator[Entry]:
    for export in sorted(set(bedrock_evaluation.__all__) - NOT_WALKED):
        value = getattr(bedrock_evaluation, export)
        if inspect.isfunction(value):
            yield _entry(export, value, value)
        elif inspect.isclass(value) and not issubclass(value, (Enum, Exception)):
            # Enums are looked up by value and Metric holds constants: neither has a constructor of ours.
            if value.__init__ is not object.__init__:
                yield _entry(export, value, value.__init__, skip=1)  # self
            for attribute, raw in vars(value).items():
                if not attribute.startswith("_") and isinstance(raw, classmethod | staticmethod):
                    method = getattr(value, attribute)
                    yield _entry(f"{export}.{attribute}", method, method)


def _entry(name: str, call: Callable[..., object], defined: Callable[..., object], skip: int = 0) -> Entry:
    hints = typing.get_type_hints(inspect.unwrap(defined))
    return Entry(name, call, hints, tuple(inspect.signature(defined).parameters.values())[skip:])


ENTRIES = list(public_entries())


def valid(annotation: Any, stack: cdk.Stack) -> object:
    """A value of the annotated type, for the parameters the walk gets right."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Union or origin is types.UnionType:
        return None if type(None) in args else valid(args[0], stack)
    simple = {str: "x", Any: "x", int: 1, float: 1, dict: {}, Mapping: {}, Sequence: [], list: [], tuple: ()}
    if (origin or annotation) in simple:
        return simple[origin or annotation]
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return next(iter(annotation))
    made: dict[Any, Callable[[], object]] = {
        Dataset: lambda: BOOLQ,
        ExternalSource: lambda: ExternalSource.byte_content(identifier="doc", content_type="text/plain", data="x"),
        bedrock.CfnKnowledgeBase: lambda: knowledge_base(stack),
        bedrock.CfnDataSource: lambda: data_source(stack),
    }
    return made[annotation]() if annotation in made else annotation()  # e.g. Dataset's _Builtin()


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_every_public_factory_refuses_a_wrong_type_with_the_library_error(stack: cdk.Stack, entry: Entry) -> None:
    wrong = entry.first
    args: list[object] = []
    kwargs: dict[str, object] = {}
    for parameter in entry.parameters:
        if parameter is wrong:
            value: object = object()
        elif parameter.default is inspect.Parameter.empty and parameter.kind is not parameter.VAR_POSITIONAL:
            value = valid(entry.hints[parameter.name], stack)
        else:
            continue
        if parameter.kind is parameter.VAR_POSITIONAL:
            args.append(value)
        else:
            kwargs[parameter.name] = value

    # Anything else (AttributeError, TypeError, KeyError) escapes pytest.raises and fails the test.
    error = refused(lambda: entry.call(*args, **kwargs))

    assert [v.field for v in error.violations] == [
        f"{wrong.name}[0]" if wrong.kind is wrong.VAR_POSITIONAL else wrong.name
    ]
    assert error.rule.startswith("expected ") and error.rule.endswith(", got object")
    constructor_scope = wrong.name == "scope" and "." not in entry.name
    where = f"{entry.name}('x')" if constructor_scope else entry.name
    assert error.where == where


def test_the_walk_reaches_every_kind_of_public_callable() -> None:
    names = {e.name for e in ENTRIES}
    assert {
        "Model",
        "Model.bedrock",
        "Dataset.from_s3",
        "EvaluationTask",
        "Rating.number",
        "Filter.and_all",
        "RagSource.retrieve_and_generate",
        "KnowledgeBaseIngestion",
        "KnowledgeBaseIngestion.of",
        "documents_hash",
    } <= names
    assert not names & NOT_WALKED
    assert len(ENTRIES) >= PUBLIC_CALLABLES


# --- the boundary itself


def test_type_hints_are_resolved_once_per_function(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    resolve = typing.get_type_hints

    def counting(owner: Any) -> dict[str, Any]:
        calls.append(owner)
        return resolve(owner)

    monkeypatch.setattr(boundary, "get_type_hints", counting)

    @checked
    def scale(factor: float) -> float:
        return factor * 2

    assert [scale(1), scale(2.5), scale(3)] == [2, 5.0, 6]
    assert len(calls) == 1


def test_arguments_left_at_their_default_are_not_checked() -> None:
    unset = typing.cast(int, "unset")

    @checked
    def pick(count: int = unset) -> object:
        return count

    assert pick() == "unset"
    assert refused(lambda: pick("unset")).field == "count"


def test_dataclass_fields_left_at_their_default_and_private_fields_are_not_checked() -> None:
    @dataclass(frozen=True, kw_only=True)
    class Settings:
        size: int
        label: str = typing.cast(str, 0)
        _cache: str = ""

        def __post_init__(self) -> None:
            check_fields(self)

    assert Settings(size=1, _cache=typing.cast(str, 2)).label == 0
    error = refused(lambda: Settings(size="1", label=1))
    assert (error.where, [v.field for v in error.violations]) == ("Settings", ["size", "label"])


# --- EvaluationJob itself ------------------------------------------------------------------------

JOB_WRONG_TYPES: list[tuple[str, dict[str, Any], str]] = [
    ("model", {"model": NOVA}, "expected Model | None, got str"),
    ("tasks", {"tasks": EvaluationTask(dataset=BOOLQ, metrics=[Metric.ACCURACY], task_type="QuestionAndAnswer")}, "got EvaluationTask"),
    ("role", {"role": "arn:aws:iam::123456789012:role/eval"}, "expected IRole | None, got str"),
    ("encryption_key", {"encryption_key": "arn:aws:kms:us-east-1:123456789012:key/1234"}, "got str"),
    ("removal", {"removal": "delete"}, "expected JobRemoval | None, got str"),
    ("tags", {"tags": [("team", "ml")]}, "got list"),
    ("request", {"request": ["not", "a", "mapping"]}, "got list"),
    ("wait_for_ingestion", {"wait_for_ingestion": "yes"}, "expected bool, got str"),
    ("output_bucket", {"output_bucket": "my-results"}, "got str"),
]


@pytest.mark.parametrize(("field", "given", "rule"), JOB_WRONG_TYPES, ids=[c[0] for c in JOB_WRONG_TYPES])
def test_evaluation_job_fails_on_a_wrong_type_naming_path_field_and_types(stack: cdk.Stack, field: str, given: dict[str, Any], rule: str) -> None:
    from bedrock_evaluation import EvaluationJob

    props: dict[str, Any] = {"model": Model.bedrock(NOVA), "tasks": [EvaluationTask(dataset=BOOLQ, metrics=[Metric.ACCURACY], task_type="QuestionAndAnswer")]}
    error = refused(lambda: EvaluationJob(stack, "Job", **{**props, **given}))
    assert (error.where, error.field) == ("Eval/Job", field)
    assert rule in error.rule
