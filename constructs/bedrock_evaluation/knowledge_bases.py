"""Knowledge bases deployed with their evaluations: index the documents, then evaluate."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import jsii
from aws_cdk import AspectPriority, Aspects, CfnResource, IAspect, Stack
from constructs import Construct, IConstruct

from . import contract
from .boundary import checked, checked_construct
from .lazy_modules import DeferredModule
from .provider import EvaluationJobProvider, attribute_of

if TYPE_CHECKING:
    from aws_cdk import aws_bedrock as bedrock
else:
    bedrock = DeferredModule("aws_cdk.aws_bedrock")


class KnowledgeBaseIngestion(Construct):
    """Starts an ingestion job of a data source and waits until it has completed.

    Evaluations of the knowledge base depend on it, so no job evaluates an empty or stale
    index. It runs on first deploy, again whenever ``documents_hash`` changes, and not otherwise;
    a failed ingestion fails the deploy with the ingestion's own reasons.
    """

    @checked_construct
    def __init__(  # noqa: PLR0913 (keyword-only props, as in generated CDK constructs)
        self,
        scope: Construct,
        construct_id: str,
        *,
        knowledge_base: bedrock.CfnKnowledgeBase,
        data_source: bedrock.CfnDataSource,
        documents: Sequence[IConstruct] = (),
        documents_hash: str | None = None,
    ) -> None:
        """
        :param documents: what puts the documents in place (a BucketDeployment, the knowledge
            base role's policies): the ingestion starts after them. @default - nothing more
            than the data source and the knowledge base
        :param documents_hash: changes when the documents change, e.g. `documents_hash(path)`.
            @default - ingest once, and again only when the data source changes
        """
        super().__init__(scope, construct_id)
        provider = EvaluationJobProvider.of(self)
        provider.allow_ingestion(knowledge_base.attr_knowledge_base_arn)
        self.knowledge_base = knowledge_base
        self.data_source = data_source
        # The handler's permission to ingest must exist before it is used.
        self.resource = provider.resource(
            self,
            contract.INGESTION_RESOURCE_TYPE,
            {
                contract.PROP_KNOWLEDGE_BASE_ID: knowledge_base.attr_knowledge_base_id,
                contract.PROP_DATA_SOURCE_ID: data_source.attr_data_source_id,
                contract.PROP_DOCUMENTS_HASH: documents_hash or "",
            },
            after=[provider.role],
        )
        for construct in documents:
            self.resource.node.add_dependency(construct)

    @property
    def ingestion_job_id(self) -> str:
        return attribute_of(self.resource, contract.ATTR_INGESTION_JOB_ID)

    @staticmethod
    @checked
    def of(data_source: bedrock.CfnDataSource) -> KnowledgeBaseIngestion | None:
        """The ingestion of this data source declared in its stack, if any."""
        for construct in Stack.of(data_source).node.find_all():
            if isinstance(construct, KnowledgeBaseIngestion) and construct.data_source is data_source:
                return construct
        return None


def data_sources_of(knowledge_base: bedrock.CfnKnowledgeBase) -> list[bedrock.CfnDataSource]:
    """The data sources of this knowledge base declared in its stack."""
    knowledge_base_id = knowledge_base.attr_knowledge_base_id
    return [
        construct
        for construct in Stack.of(knowledge_base).node.find_all()
        if isinstance(construct, bedrock.CfnDataSource) and construct.knowledge_base_id == knowledge_base_id
    ]


@checked
def documents_hash(path: str | Path) -> str:
    """A digest of a directory of documents (names and contents), for `documents_hash=`."""
    root = Path(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(file.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()[:16]


def evaluate_after_ingestion(job: Construct, resource: CfnResource, knowledge_base: bedrock.CfnKnowledgeBase) -> None:
    """The job's resource waits for an ingestion of every data source of the knowledge base.

    Decided at synth, once the whole app is declared (a mutating aspect), so the order of
    declarations does not matter: a `KnowledgeBaseIngestion` the user declared for a data source,
    before or after the job, is the one waited on; one is made only for a data source that has none.
    """
    Aspects.of(job).add(_AfterIngestion(job, resource, knowledge_base), priority=AspectPriority.MUTATING)


@jsii.implements(IAspect)
class _AfterIngestion:
    def __init__(self, job: Construct, resource: CfnResource, knowledge_base: bedrock.CfnKnowledgeBase) -> None:
        self._job, self._resource, self._knowledge_base = job, resource, knowledge_base
        self._done = False

    def visit(self, node: IConstruct) -> None:
        if node is not self._job or self._done:
            return
        self._done = True
        for data_source in data_sources_of(self._knowledge_base):
            ingestion = KnowledgeBaseIngestion.of(data_source) or KnowledgeBaseIngestion(
                Stack.of(data_source) if data_source.node.scope is None else data_source.node.scope,  # type: ignore[arg-type]
                f"{data_source.node.id}Ingestion",
                knowledge_base=self._knowledge_base,
                data_source=data_source,
            )
            self._resource.node.add_dependency(ingestion)
