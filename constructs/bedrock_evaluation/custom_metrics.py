"""Metrics you define: judged by a model (customMetricConfig) or rated by people (human jobs)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .boundary import check_fields, checked
from .errors import EvaluationJobConfigError
from .flow_definition import HumanFlowDefinition


@dataclass(frozen=True)
class Rating:
    """One step of a custom metric's rating scale. Use `Rating.number` or `Rating.text`."""

    definition: str
    value: dict[str, Any]

    def __post_init__(self) -> None:
        check_fields(self)

    @classmethod
    @checked
    def number(cls, definition: str, value: float) -> Rating:
        return cls(definition, {"floatValue": value})

    @classmethod
    @checked
    def text(cls, definition: str, value: str) -> Rating:
        return cls(definition, {"stringValue": value})


@dataclass(frozen=True, kw_only=True)
class CustomMetric:
    """A metric a judge model scores from your instructions.

    :param instructions: the judge's prompt; it must use the variables of its job kind:
        {{prediction}} for model and retrieve-and-generate evaluations, {{context}} for
        retrieve-only ones; {{prompt}}, {{ground_truth}} and {{reference_contexts}} are optional.
    :param rating_scale: 1 to 10 ratings, all numbers or all text. @default - the judge answers freely
    """

    name: str
    instructions: str
    rating_scale: Sequence[Rating] | None = None

    def __post_init__(self) -> None:
        check_fields(self)

    def render(self) -> dict[str, Any]:
        definition: dict[str, Any] = {"name": self.name, "instructions": self.instructions}
        if self.rating_scale is not None:
            definition["ratingScale"] = [
                {"definition": r.definition, "value": dict(r.value)} for r in self.rating_scale
            ]
        return {"customMetricDefinition": definition}


class RatingMethod(StrEnum):
    """How human workers rate: one response at a time, or two side by side."""

    THUMBS_UP_DOWN = "ThumbsUpDown"
    INDIVIDUAL_LIKERT_SCALE = "IndividualLikertScale"
    COMPARISON_LIKERT_SCALE = "ComparisonLikertScale"
    COMPARISON_CHOICE = "ComparisonChoice"
    COMPARISON_RANK = "ComparisonRank"


COMPARISON_METHODS = frozenset(
    {RatingMethod.COMPARISON_LIKERT_SCALE, RatingMethod.COMPARISON_CHOICE, RatingMethod.COMPARISON_RANK}
)


@dataclass(frozen=True, kw_only=True)
class HumanMetric:
    """A metric human workers rate."""

    name: str
    rating_method: RatingMethod | str
    description: str | None = None

    def __post_init__(self) -> None:
        check_fields(self)

    def render(self) -> dict[str, Any]:
        rendered: dict[str, Any] = {"name": self.name, "ratingMethod": str(self.rating_method)}
        if self.description is not None:
            rendered["description"] = self.description
        return rendered


@dataclass(frozen=True, kw_only=True)
class HumanWorkflow:
    """The SageMaker flow definition (work team and task UI) that routes prompts to workers.

    Give a ``HumanFlowDefinition`` of the app (the job then grants both roles what they need), or
    the ARN of a flow definition made elsewhere with the human loop request source
    "AWS/Bedrock/Evaluation" (its role is then yours to grant).

    :param flow_definition: a ``HumanFlowDefinition``. @default - flow_definition_arn
    :param flow_definition_arn: a flow definition made elsewhere. @default - flow_definition's
    :param instructions: what workers read first. @default - none
    """

    flow_definition_arn: str | None = None
    instructions: str | None = None
    flow_definition: HumanFlowDefinition | None = None

    def __post_init__(self) -> None:
        check_fields(self)
        if (self.flow_definition is None) == (self.flow_definition_arn is None):
            given = "both" if self.flow_definition is not None else "neither"
            raise EvaluationJobConfigError.of(
                "HumanWorkflow", "flow_definition", given, "give exactly one of flow_definition (a HumanFlowDefinition) or flow_definition_arn"
            )

    @property
    def arn(self) -> str:
        """The flow definition's ARN (a token for a HumanFlowDefinition)."""
        if self.flow_definition is not None:
            return self.flow_definition.flow_definition_arn
        assert self.flow_definition_arn is not None  # __post_init__
        return self.flow_definition_arn

    def render(self) -> dict[str, Any]:
        rendered: dict[str, Any] = {"flowDefinitionArn": self.arn}
        if self.instructions is not None:
            rendered["instructions"] = self.instructions
        return rendered
