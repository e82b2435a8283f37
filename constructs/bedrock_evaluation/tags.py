"""CDK tags on a job's scope become its jobTags; tags given in props or in the request win."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_cdk import TagManager, TagType

from . import contract, service_model
from .errors import EvaluationJobConfigError, Violation
from .event_size import job_properties_violations


def job_tag_manager() -> TagManager:
    return TagManager(TagType.KEY_VALUE, contract.RESOURCE_TYPE)


class RequestWithTags:
    """The job's Request property with the CDK tags of its scope rendered into jobTags, once every
    Tags aspect has run (``LateProperties`` asks, once per stack). No aspect per job: the tags are
    read once, from the job's tag manager.

    tag_manager: the job's tag manager, None while nothing asked for it (no Tags aspect reached the
    job: it has no CDK tags); request: the job's request as validated; encoded: the same as the
    template holds it (documents encoded); settings: the job's other properties, to measure them
    with the tags."""

    def __init__(
        self,
        path: str,
        tag_manager: Callable[[], TagManager | None],
        request: Mapping[str, Any],
        encoded: Mapping[str, Any],
        settings: Mapping[str, str],
    ) -> None:
        self._path, self._tag_manager, self._request, self._encoded, self._settings = path, tag_manager, request, encoded, settings

    def render(self) -> dict[str, Any] | None:
        """The request with its CDK tags in jobTags; None when the job has no CDK tags (the
        request written at construction stands)."""
        manager = self._tag_manager()
        cdk_tags = {t["Key"]: t["Value"] for t in (manager.render_tags() or [] if manager is not None else [])}
        if not cdk_tags:
            return None
        explicit = {t["key"]: t["value"] for t in self._request.get("jobTags", [])}
        rendered = [{"key": k, "value": v} for k, v in sorted({**cdk_tags, **explicit}.items())]
        errors, _ = service_model.constraint_violations({"jobTags": rendered})
        errors += job_properties_violations({**self._request, "jobTags": rendered}, self._settings)
        if errors:
            raise EvaluationJobConfigError(self._path, [Violation("CDK tags", cdk_tags, "they make jobTags invalid"), *errors])
        request = dict(self._encoded)
        request["jobTags"] = rendered
        return request
