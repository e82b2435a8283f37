"""CDK tags on a job's scope become its jobTags; tags given in props or in the request win."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsii
from aws_cdk import AspectPriority, Aspects, CfnResource, IAspect, TagManager, TagType
from constructs import IConstruct

from . import contract, service_model
from .errors import EvaluationJobConfigError, Violation
from .event_size import job_properties_violations


def job_tag_manager() -> TagManager:
    return TagManager(TagType.KEY_VALUE, contract.RESOURCE_TYPE)


def render_tags_after_tagging(
    job: IConstruct, tag_manager: TagManager, request: dict[str, Any], settings: Mapping[str, str]
) -> None:
    """Renders the job's CDK tags into its request once the Tags aspect has run; settings: the
    job's other properties, to measure them with the tags."""
    Aspects.of(job).add(_RenderTags(job, tag_manager, request, settings), priority=AspectPriority.DEFAULT)


@jsii.implements(IAspect)
class _RenderTags:
    """Runs after the Tags aspect (a mutating one), so every tag applied to the job's scope is in its request."""

    def __init__(self, job: IConstruct, tag_manager: TagManager, request: dict[str, Any], settings: Mapping[str, str]) -> None:
        self._job, self._tag_manager, self._request, self._settings = job, tag_manager, request, settings

    def visit(self, node: IConstruct) -> None:
        if node is not self._job:
            return
        cdk_tags = {t["Key"]: t["Value"] for t in self._tag_manager.render_tags() or []}
        if not cdk_tags:
            return
        explicit = {t["key"]: t["value"] for t in self._request.get("jobTags", [])}
        rendered = [{"key": k, "value": v} for k, v in sorted({**cdk_tags, **explicit}.items())]
        errors, _ = service_model.constraint_violations({"jobTags": rendered})
        errors += job_properties_violations({**self._request, "jobTags": rendered}, self._settings)
        if errors:
            raise EvaluationJobConfigError(self._job.node.path, [Violation("CDK tags", cdk_tags, "they make jobTags invalid"), *errors])
        resource = self._job.node.find_child("Resource").node.default_child
        assert isinstance(resource, CfnResource)
        resource.add_property_override(f"{contract.PROP_REQUEST}.jobTags", rendered)
