"""Knowledge-base (RAG) evaluation: what is retrieved, how answers are generated, or
responses you bring yourself. Each type renders its part of inferenceConfig.ragConfigs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from aws_cdk import aws_s3 as s3

from .boundary import check_fields, checked
from .datasets import check_object_key
from .errors import EvaluationJobConfigError
from .lazy_modules import DeferredModule

if TYPE_CHECKING:
    from aws_cdk import aws_bedrock as bedrock
else:
    bedrock = DeferredModule("aws_cdk.aws_bedrock")

_MIN_GROUP = 2
"""Filters in an andAll or orAll group."""


class SearchType(StrEnum):
    HYBRID = "HYBRID"
    SEMANTIC = "SEMANTIC"


class AttributeType(StrEnum):
    STRING = "STRING"
    NUMBER = "NUMBER"
    BOOLEAN = "BOOLEAN"
    STRING_LIST = "STRING_LIST"


@dataclass(frozen=True)
class Filter:
    """A metadata filter on retrieved chunks. Build with the class methods; nest with
    `Filter.and_all` / `Filter.or_all` (each takes two or more filters)."""

    rendered: dict[str, Any]

    def __post_init__(self) -> None:
        check_fields(self)

    @classmethod
    def _compare(cls, operator: str, key: str, value: Any) -> Filter:
        return cls({operator: {"key": key, "value": value}})

    @classmethod
    @checked
    def equals(cls, key: str, value: Any) -> Filter:
        return cls._compare("equals", key, value)

    @classmethod
    @checked
    def not_equals(cls, key: str, value: Any) -> Filter:
        return cls._compare("notEquals", key, value)

    @classmethod
    @checked
    def greater_than(cls, key: str, value: float) -> Filter:
        return cls._compare("greaterThan", key, value)

    @classmethod
    @checked
    def greater_than_or_equals(cls, key: str, value: float) -> Filter:
        return cls._compare("greaterThanOrEquals", key, value)

    @classmethod
    @checked
    def less_than(cls, key: str, value: float) -> Filter:
        return cls._compare("lessThan", key, value)

    @classmethod
    @checked
    def less_than_or_equals(cls, key: str, value: float) -> Filter:
        return cls._compare("lessThanOrEquals", key, value)

    @classmethod
    @checked
    def in_(cls, key: str, values: Sequence[Any]) -> Filter:
        return cls._compare("in", key, list(values))

    @classmethod
    @checked
    def not_in(cls, key: str, values: Sequence[Any]) -> Filter:
        return cls._compare("notIn", key, list(values))

    @classmethod
    @checked
    def starts_with(cls, key: str, value: str) -> Filter:
        return cls._compare("startsWith", key, value)

    @classmethod
    @checked
    def list_contains(cls, key: str, value: Any) -> Filter:
        return cls._compare("listContains", key, value)

    @classmethod
    @checked
    def string_contains(cls, key: str, value: str) -> Filter:
        return cls._compare("stringContains", key, value)

    @classmethod
    @checked
    def and_all(cls, *filters: Filter) -> Filter:
        return cls._group("andAll", filters)

    @classmethod
    @checked
    def or_all(cls, *filters: Filter) -> Filter:
        return cls._group("orAll", filters)

    @classmethod
    def _group(cls, operator: str, filters: Sequence[Filter]) -> Filter:
        if len(filters) < _MIN_GROUP:
            where = f"Filter.{'and_all' if operator == 'andAll' else 'or_all'}"
            rule = f"takes at least {_MIN_GROUP} filters, got {len(filters)}"
            raise EvaluationJobConfigError.of(where, "filters", filters, rule)
        return cls({operator: [f.rendered for f in filters]})


@dataclass(frozen=True, kw_only=True)
class MetadataAttribute:
    """A metadata field the model may filter on (implicit filtering)."""

    key: str
    type: AttributeType | str
    description: str

    def __post_init__(self) -> None:
        check_fields(self)

    def render(self) -> dict[str, Any]:
        return {"key": self.key, "type": str(self.type), "description": self.description}


@dataclass(frozen=True, kw_only=True)
class ImplicitFilter:
    """Lets a model derive filters from the query (implicitFilterConfiguration)."""

    attributes: Sequence[MetadataAttribute]
    model_arn: str

    def __post_init__(self) -> None:
        check_fields(self)

    def render(self) -> dict[str, Any]:
        return {"metadataAttributes": [a.render() for a in self.attributes], "modelArn": self.model_arn}


@dataclass(frozen=True, kw_only=True)
class Reranking:
    """Reorders retrieved chunks with a Bedrock reranking model.

    :param fields_to_include / fields_to_exclude: metadata fields the reranker sees
        (selection mode SELECTIVE); give at most one. @default - all fields (ALL)
    """

    model_arn: str
    number_of_reranked_results: int | None = None
    additional_model_request_fields: Mapping[str, Any] | None = None
    fields_to_include: Sequence[str] | None = None
    fields_to_exclude: Sequence[str] | None = None

    def __post_init__(self) -> None:
        check_fields(self)
        if self.fields_to_include is not None and self.fields_to_exclude is not None:
            rule = "give fields_to_include or fields_to_exclude, not both"
            raise EvaluationJobConfigError.of("Reranking", "fields_to_exclude", self.fields_to_exclude, rule)

    def render(self) -> dict[str, Any]:
        model: dict[str, Any] = {"modelArn": self.model_arn}
        if self.additional_model_request_fields is not None:
            model["additionalModelRequestFields"] = dict(self.additional_model_request_fields)
        config: dict[str, Any] = {"modelConfiguration": model}
        if self.number_of_reranked_results is not None:
            config["numberOfRerankedResults"] = self.number_of_reranked_results
        if self.fields_to_include is not None or self.fields_to_exclude is not None:
            key, names = (
                ("fieldsToInclude", self.fields_to_include)
                if self.fields_to_include is not None
                else ("fieldsToExclude", self.fields_to_exclude)
            )
            config["metadataConfiguration"] = {
                "selectionMode": "SELECTIVE",
                "selectiveModeConfiguration": {key: [{"fieldName": n} for n in names or []]},
            }
        elif self.number_of_reranked_results is not None or self.additional_model_request_fields is not None:
            config["metadataConfiguration"] = {"selectionMode": "ALL"}
        return {"type": "BEDROCK_RERANKING_MODEL", "bedrockRerankingConfiguration": config}


@dataclass(frozen=True, kw_only=True)
class VectorSearch:
    """How chunks are retrieved (vectorSearchConfiguration). Every field is optional."""

    number_of_results: int | None = None
    search_type: SearchType | str | None = None
    filter: Filter | None = None
    implicit_filter: ImplicitFilter | None = None
    reranking: Reranking | None = None

    def __post_init__(self) -> None:
        check_fields(self)

    def render(self) -> dict[str, Any]:
        rendered: dict[str, Any] = {}
        if self.number_of_results is not None:
            rendered["numberOfResults"] = self.number_of_results
        if self.search_type is not None:
            rendered["overrideSearchType"] = str(self.search_type)
        if self.filter is not None:
            rendered["filter"] = self.filter.rendered
        if self.implicit_filter is not None:
            rendered["implicitFilterConfiguration"] = self.implicit_filter.render()
        if self.reranking is not None:
            rendered["rerankingConfiguration"] = self.reranking.render()
        return rendered


@dataclass(frozen=True, kw_only=True)
class Guardrail:
    guardrail_id: str
    version: str

    def __post_init__(self) -> None:
        check_fields(self)

    def render(self) -> dict[str, Any]:
        return {"guardrailId": self.guardrail_id, "guardrailVersion": self.version}


@dataclass(frozen=True, kw_only=True)
class Generation:
    """How answers are generated (generationConfiguration). Every field is optional.

    :param prompt_template: must contain $search_results$ (and usually $query$).
    """

    prompt_template: str | None = None
    guardrail: Guardrail | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop_sequences: Sequence[str] | None = None
    additional_model_request_fields: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        check_fields(self)

    def render(self) -> dict[str, Any]:
        rendered: dict[str, Any] = {}
        if self.prompt_template is not None:
            rendered["promptTemplate"] = {"textPromptTemplate": self.prompt_template}
        if self.guardrail is not None:
            rendered["guardrailConfiguration"] = self.guardrail.render()
        text = {
            k: v
            for k, v in (
                ("temperature", self.temperature),
                ("topP", self.top_p),
                ("maxTokens", self.max_tokens),
                ("stopSequences", list(self.stop_sequences) if self.stop_sequences is not None else None),
            )
            if v is not None
        }
        if text:
            rendered["kbInferenceConfig"] = {"textInferenceConfig": text}
        if self.additional_model_request_fields is not None:
            rendered["additionalModelRequestFields"] = dict(self.additional_model_request_fields)
        return rendered


class RagKind(StrEnum):
    RETRIEVE = "retrieve"
    RETRIEVE_AND_GENERATE = "retrieve-and-generate"


@dataclass(frozen=True)
class ExternalSource:
    """A document the generator reads instead of a knowledge base. Use the class methods."""

    rendered: dict[str, Any]
    bucket: s3.IBucket | None = None
    key: str | None = None

    def __post_init__(self) -> None:
        check_fields(self)

    @classmethod
    @checked
    def s3(cls, bucket: s3.IBucket, key: str) -> ExternalSource:
        """A document in S3 (in the job's region); its role may read exactly this object."""
        check_object_key("ExternalSource.s3", key)
        return cls({"sourceType": "S3", "s3Location": {"uri": f"s3://{bucket.bucket_name}/{key}"}}, bucket, key)

    @classmethod
    @checked
    def byte_content(cls, *, identifier: str, content_type: str, data: str) -> ExternalSource:
        content = {"identifier": identifier, "contentType": content_type, "data": data}
        return cls({"sourceType": "BYTE_CONTENT", "byteContent": content})


@dataclass(frozen=True)
class RagSource:
    """What a knowledge-base evaluation evaluates. Use the class methods."""

    kind: RagKind
    rendered: dict[str, Any]
    precomputed_identifier: str | None = None
    sources: tuple[ExternalSource, ...] = field(default=())
    """The external sources a retrieve-and-generate configuration reads, if any."""
    knowledge_base: bedrock.CfnKnowledgeBase | None = None
    """The knowledge base, when it is declared in the same app."""

    def __post_init__(self) -> None:
        check_fields(self)

    @classmethod
    @checked
    def retrieve(
        cls, knowledge_base: str | bedrock.CfnKnowledgeBase, *, search: VectorSearch | None = None
    ) -> RagSource:
        """Retrieve only: the evaluation scores the retrieved chunks."""
        retrieval = {"vectorSearchConfiguration": (search or VectorSearch()).render()}
        return cls(
            RagKind.RETRIEVE,
            {
                "knowledgeBaseConfig": {
                    "retrieveConfig": {
                        "knowledgeBaseId": knowledge_base_id(knowledge_base),
                        "knowledgeBaseRetrievalConfiguration": retrieval,
                    }
                }
            },
            knowledge_base=_declared(knowledge_base),
        )

    @classmethod
    @checked
    def retrieve_and_generate(
        cls,
        knowledge_base: str | bedrock.CfnKnowledgeBase,
        *,
        model_arn: str,
        search: VectorSearch | None = None,
        generation: Generation | None = None,
        query_decomposition: bool = False,
    ) -> RagSource:
        """Retrieve and generate with a knowledge base (type KNOWLEDGE_BASE).

        :param model_arn: the generator: a model or inference profile id or ARN.
        :param query_decomposition: break complex queries into sub-queries. @default - False
        """
        configuration: dict[str, Any] = {"knowledgeBaseId": knowledge_base_id(knowledge_base), "modelArn": model_arn}
        if search is not None:
            configuration["retrievalConfiguration"] = {"vectorSearchConfiguration": search.render()}
        if generation is not None:
            configuration["generationConfiguration"] = generation.render()
        if query_decomposition:
            configuration["orchestrationConfiguration"] = {
                "queryTransformationConfiguration": {"type": "QUERY_DECOMPOSITION"}
            }
        generate = {"type": "KNOWLEDGE_BASE", "knowledgeBaseConfiguration": configuration}
        return cls(
            RagKind.RETRIEVE_AND_GENERATE,
            {"knowledgeBaseConfig": {"retrieveAndGenerateConfig": generate}},
            knowledge_base=_declared(knowledge_base),
        )

    @classmethod
    @checked
    def external_sources(
        cls, *, model_arn: str, source: ExternalSource, generation: Generation | None = None
    ) -> RagSource:
        """Generate from a given document instead of a knowledge base (type EXTERNAL_SOURCES)."""
        configuration: dict[str, Any] = {"modelArn": model_arn, "sources": [source.rendered]}
        if generation is not None:
            configuration["generationConfiguration"] = generation.render()
        generate = {"type": "EXTERNAL_SOURCES", "externalSourcesConfiguration": configuration}
        return cls(
            RagKind.RETRIEVE_AND_GENERATE,
            {"knowledgeBaseConfig": {"retrieveAndGenerateConfig": generate}},
            sources=(source,),
        )

    @classmethod
    @checked
    def precomputed(cls, kind: RagKind, source_identifier: str) -> RagSource:
        """Responses from your own RAG system, carried in the dataset's ``output`` objects."""
        key = "retrieveSourceConfig" if kind is RagKind.RETRIEVE else "retrieveAndGenerateSourceConfig"
        return cls(
            kind,
            {"precomputedRagSourceConfig": {key: {"ragSourceIdentifier": source_identifier}}},
            precomputed_identifier=source_identifier,
        )


def _declared(knowledge_base: str | bedrock.CfnKnowledgeBase) -> bedrock.CfnKnowledgeBase | None:
    return knowledge_base if isinstance(knowledge_base, bedrock.CfnKnowledgeBase) else None


def knowledge_base_id(knowledge_base: str | bedrock.CfnKnowledgeBase) -> str:
    if isinstance(knowledge_base, bedrock.CfnKnowledgeBase):
        return knowledge_base.attr_knowledge_base_id
    return knowledge_base
