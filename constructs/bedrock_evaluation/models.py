"""Models: the ones evaluated, the judges, and the ARNs a role needs to invoke them."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aws_cdk import Stack

from .boundary import check_fields, checked
from .errors import EvaluationJobConfigError
from .scopes import facts_of
from .tokens import is_unresolved

# Geographic prefixes of system (cross-region) inference profiles: "us.anthropic.claude-...".
INFERENCE_PROFILE_PREFIXES = frozenset({"us", "eu", "apac", "us-gov", "jp", "au", "ca", "global"})
_MODEL_ID = re.compile(r"[a-z0-9-]{1,63}[.][a-z0-9-]{1,63}([.:]?[a-z0-9-]{1,63})*(:[a-z0-9-]+)*")


class Latency(StrEnum):
    """performanceConfig.latency of an evaluated Bedrock model."""

    STANDARD = "standard"
    OPTIMIZED = "optimized"


_LATENCIES = tuple(value.value for value in Latency)


@dataclass(frozen=True, kw_only=True)
class Model:
    """A Bedrock model, by model id, inference profile id or ARN.

    Use `Model.bedrock(...)`.
    """

    identifier: str
    inference_params: str | None = None
    """JSON string sent as inferenceParams; None leaves the model's defaults."""
    latency: Latency | str | None = None
    """A Latency, or a token that resolves to one."""
    precomputed: bool = False
    """True for responses you bring in the dataset (precomputedInferenceSource)."""

    def __post_init__(self) -> None:
        check_fields(self)

    @classmethod
    @checked
    def bedrock(
        cls,
        identifier: str,
        *,
        inference_params: Mapping[str, Any] | str | None = None,
        latency: Latency | str | None = None,
    ) -> Model:
        """A model hosted by Amazon Bedrock.

        :param identifier: a foundation-model id (``amazon.nova-lite-v1:0``), a cross-region
            inference profile id (``us.anthropic.claude-3-5-haiku-20241022-v1:0``), or an ARN.
        :param inference_params: the model's inference parameters, as a mapping or a JSON string,
            for example ``{"inferenceConfig": {"maxTokens": 512, "temperature": 0}}``.
            @default - the model's defaults
        :param latency: ``optimized`` for latency-optimized inference. @default - standard
        """
        if isinstance(inference_params, Mapping):
            params: str | None = json.dumps(inference_params, sort_keys=True, separators=(",", ":"))
        else:
            params = inference_params
        if params is not None and not is_unresolved(params):
            try:
                json.loads(params)
            except json.JSONDecodeError as error:
                raise EvaluationJobConfigError.of(
                    "Model.bedrock", "inference_params", inference_params, f"it is not valid JSON ({error.msg})"
                ) from None
        return cls(identifier=identifier, inference_params=params, latency=_latency(latency))

    @classmethod
    @checked
    def precomputed_responses(cls, source_identifier: str) -> Model:
        """Responses your own system produced, carried in the dataset's ``modelResponses``
        under this ``modelIdentifier`` (bring your own inference)."""
        return cls(identifier=source_identifier, precomputed=True)

    def render(self) -> dict[str, Any]:
        """One item of inferenceConfig.models."""
        if self.precomputed:
            return {"precomputedInferenceSource": {"inferenceSourceIdentifier": self.identifier}}
        return {"bedrockModel": self.bedrock_model()}

    def bedrock_model(self) -> dict[str, Any]:
        """The request's bedrockModel object."""
        rendered: dict[str, Any] = {"modelIdentifier": self.identifier}
        if self.inference_params is not None:
            rendered["inferenceParams"] = self.inference_params
        if self.latency is not None:
            rendered["performanceConfig"] = {"latency": str(self.latency)}
        return rendered


def _latency(latency: Latency | str | None) -> Latency | str | None:
    if latency is None or isinstance(latency, Latency):
        return latency
    if latency in _LATENCIES:
        return Latency(latency)
    if is_unresolved(latency):
        return latency
    known = ", ".join(repr(value) for value in _LATENCIES)
    raise EvaluationJobConfigError.of("Model.bedrock", "latency", latency, f"expected one of {known}")



@dataclass(frozen=True)
class ModelAccess:
    """The resources a role must be allowed to use for a set of model identifiers."""

    models: list[str] = field(default_factory=list)
    """Foundation-model, inference-profile, provisioned, imported and prompt-router ARNs."""
    inference_profiles: list[str] = field(default_factory=list)
    """System (cross-region) and application inference profiles."""
    described: list[str] = field(default_factory=list)
    """Provisioned models, imported models and prompt routers, whose metadata the job reads."""
    sagemaker_endpoints: list[str] = field(default_factory=list)


def model_access(stack: Stack, identifiers: list[str]) -> ModelAccess:
    access = ModelAccess()
    for identifier in identifiers:
        _add(stack, identifier, access)
    return ModelAccess(
        models=_unique(access.models),
        inference_profiles=_unique(access.inference_profiles),
        described=_unique(access.described),
        sagemaker_endpoints=_unique(access.sagemaker_endpoints),
    )


def _add(stack: Stack, identifier: str, access: ModelAccess) -> None:
    if is_unresolved(identifier):
        access.models.append(identifier)  # an ARN from another resource
    elif identifier.startswith("arn:") and ":sagemaker:" in identifier:
        access.sagemaker_endpoints.append(identifier)
    elif identifier.startswith("arn:"):
        access.models.append(identifier)
        resource = identifier.split(":", 5)[-1]
        if resource.startswith("inference-profile/"):
            access.inference_profiles.append(identifier)
            access.models.append(_foundation_model(stack, _profile_model(resource.split("/", 1)[1]), "*"))
        elif resource.startswith("application-inference-profile/"):
            # Its models are not in its ARN: they are the user's to grant (see the README).
            access.inference_profiles.append(identifier)
        elif resource.startswith(DESCRIBED_MODEL_RESOURCES):
            access.described.append(identifier)
    elif _is_profile_id(identifier):
        profile = stack.format_arn(service="bedrock", resource="inference-profile", resource_name=identifier)
        access.models.append(profile)
        access.inference_profiles.append(profile)
        # A cross-region profile routes each call to any region of its geography: the foundation
        # model must be allowed in every region, which only a region wildcard can say.
        access.models.append(_foundation_model(stack, _profile_model(identifier), "*"))
    else:
        access.models.append(_foundation_model(stack, identifier, facts_of(stack).region))


# Model types whose metadata the job reads (the service-role pages: GetProvisionedModelThroughput,
# GetImportedModel, GetPromptRouter).
DESCRIBED_MODEL_RESOURCES = ("provisioned-model/", "imported-model/", "prompt-router/", "default-prompt-router/")


def _is_profile_id(identifier: str) -> bool:
    head, _, rest = identifier.partition(".")
    return head in INFERENCE_PROFILE_PREFIXES and "." in rest


def _profile_model(profile_id: str) -> str:
    head, _, rest = profile_id.partition(".")
    return rest if head in INFERENCE_PROFILE_PREFIXES else profile_id


def _foundation_model(stack: Stack, model_id: str, region: str) -> str:
    return f"arn:{facts_of(stack).partition}:bedrock:{region}::foundation-model/{model_id}"


# Judge models the user guide lists (evaluation-judge, "Supported models"): for built-in metrics,
# and for custom metrics (the same and two more). Others may work: the list grows, so an
# unlisted judge is a warning.
KNOWN_JUDGE_MODELS = frozenset(
    {
        "amazon.nova-pro-v1:0",
        "amazon.nova-2-lite-v1:0",
        "amazon.nova-micro-v1:0",
        "amazon.nova-premier-v1:0",
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "anthropic.claude-3-5-sonnet-20241022-v2:0",
        "anthropic.claude-3-7-sonnet-20250219-v1:0",
        "anthropic.claude-sonnet-4-20250514-v1:0",
        "anthropic.claude-3-haiku-20240307-v1:0",
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        "anthropic.claude-opus-4-5-20251101-v1:0",
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "meta.llama3-1-70b-instruct-v1:0",
        "mistral.mistral-large-2402-v1:0",
    }
)
KNOWN_CUSTOM_METRIC_JUDGE_MODELS = KNOWN_JUDGE_MODELS | {"mistral.mistral-large-2407-v1:0", "meta.llama3-3-70b-instruct-v1:0"}


def is_known_judge(identifier: str, *, custom_metrics: bool = False) -> bool:
    """Whether the user guide lists this judge (a model id, a system profile id, or an ARN of either)."""
    if is_unresolved(identifier):
        return True
    model_id = identifier.rsplit("/", 1)[-1] if identifier.startswith("arn:") else identifier
    known = KNOWN_CUSTOM_METRIC_JUDGE_MODELS if custom_metrics else KNOWN_JUDGE_MODELS
    return _profile_model(model_id) in known


def is_model_identifier(identifier: str) -> bool:
    """A bare model or profile id (not an ARN) of the documented form."""
    return bool(_MODEL_ID.fullmatch(identifier))


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))
