"""CDK tags on a job's scope become its jobTags; tags given in props or in the request win."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jsii
from aws_cdk import IResolvable, IResolveContext, TagManager, TagType, Token

from . import contract, service_model
from .errors import EvaluationJobConfigError, Violation
from .event_size import job_properties_violations


def job_tag_manager() -> TagManager:
    return TagManager(TagType.KEY_VALUE, contract.RESOURCE_TYPE)


@jsii.implements(IResolvable)
class JobTags:
    """The job's jobTags: the CDK tags of its scope, with the tags given in props or in the request
    winning, read from the job's tag manager when the template is written (after every Tags aspect
    has run, wherever the job is in the tree). No aspect per job, and the rest of the request is
    plain data: only this value is resolved by calling back into Python.

    tag_manager: the job's tag manager, None while nothing asked for it (no Tags aspect reached the
    job: it has no CDK tags); request: the job's request as validated; settings: the job's other
    properties, to measure them with the tags."""

    def __init__(self, path: str, tag_manager: Callable[[], TagManager | None], request: Mapping[str, Any], settings: Mapping[str, str]) -> None:
        self._path, self._tag_manager, self._request, self._settings = path, tag_manager, request, settings

    @property
    def creation_stack(self) -> list[str]:
        return []

    def resolve(self, context: IResolveContext) -> list[dict[str, str]] | None:
        """The jobTags to write; None (no jobTags) when there are none."""
        manager = self._tag_manager()
        cdk_tags = {t["Key"]: t["Value"] for t in (manager.render_tags() or [] if manager is not None else [])}
        explicit = {t["key"]: t["value"] for t in self._request.get("jobTags", [])}
        if not cdk_tags:
            return list(self._request["jobTags"]) if "jobTags" in self._request else None
        rendered = [{"key": k, "value": v} for k, v in sorted({**cdk_tags, **explicit}.items())]
        errors, _ = service_model.constraint_violations({"jobTags": rendered})
        errors += job_properties_violations({**self._request, "jobTags": rendered}, self._settings)
        if errors:
            raise EvaluationJobConfigError(self._path, [Violation("CDK tags", cdk_tags, "they make jobTags invalid"), *errors])
        return rendered

    def to_string(self) -> str:
        return Token.as_string(self)
