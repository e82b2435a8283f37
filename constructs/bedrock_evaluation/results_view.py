"""What a person sees of evaluation jobs: each job as GetEvaluationJob describes it, its scores,
and the same numbers cut per model or knowledge base, for the terminal table, --json and the report.

Nothing here parses a result record or computes a mean itself: scores come from results.py's
`read_scores`, and every mean, count and minimum from its `summarize` (over one source's scores
when a job evaluated several), so the command, the report and the deploy-time gate agree."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .contract import LOWER_IS_BETTER
from .results import RatingMethod, Score, Summary, requested_metrics, summarize
from .summary import kind as request_kind

COMPLETED = "Completed"
FINAL_STATUSES = frozenset({COMPLETED, "Failed", "Stopped"})
"""Statuses a job does not leave (Deleting ends in no job at all)."""

_ARN_RESOURCE = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]*:[a-z-]+/(?P<id>.+)")


@dataclass(frozen=True, kw_only=True)
class JobResults:
    """One evaluation job: what GetEvaluationJob said, and its scores once it has Completed."""

    arn: str
    name: str
    status: str
    kind: str
    """As `bedrock-evaluation-summary` names it ("llm-as-a-judge", "rag retrieve-only", "human", ...),
    with " + custom metrics" when the job has some."""
    output_s3_uri: str
    metric_names: frozenset[str]
    """The metric names the request lists: how results.py spells bare built-in names."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """A result file's source (inference_configs/0) -> what a person calls it (the knowledge base)."""
    failure_messages: tuple[str, ...] = ()
    scores: tuple[Score, ...] = ()
    summary: Summary | None = None
    """The summary of `scores`; None until the job's results were read."""

    @classmethod
    def described(cls, description: Mapping[str, Any]) -> JobResults:
        """From GetEvaluationJob's answer (the request's evaluationConfig and inferenceConfig as sent)."""
        evaluation = description.get("evaluationConfig") or {}
        config = evaluation.get("automated") or evaluation.get("human") or {}
        metric_names = frozenset(requested_metrics(description))
        kind = request_kind(dict(description))
        if "customMetricConfig" in config:
            kind += " + custom metrics"
        return cls(
            arn=str(description["jobArn"]),
            name=str(description["jobName"]),
            status=str(description["status"]),
            kind=kind,
            output_s3_uri=str((description.get("outputDataConfig") or {}).get("s3Uri", "")),
            metric_names=metric_names,
            labels=_rag_labels(description.get("inferenceConfig") or {}),
            failure_messages=tuple(str(m) for m in description.get("failureMessages") or ()),
        )

    def with_scores(self, scores: Iterable[Score]) -> JobResults:
        kept = tuple(scores)
        return replace(self, scores=kept, summary=summarize(kept))

    @property
    def finished(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def unit(self) -> str:
        """What one score is about: knowledge-base jobs score each conversation turn, human jobs
        count each worker's rating per rating method, model jobs score each record."""
        if self.kind.startswith("rag"):
            return "turns"
        return "ratings" if self.kind == "human" else "records"

    def label(self, source: str | None) -> str:
        """A source as a person reads it: a model id rather than its ARN, the knowledge base
        rather than inference_configs/0; "all" for None."""
        if source is None:
            return "all"
        if source in self.labels:
            return self.labels[source]
        return " vs ".join(_short(part) for part in source.split(" vs "))

    def per_source(self) -> list[Series]:
        """The job's scores summarized per source (model, bring-your-own source, knowledge base,
        pair of compared models), in the order results.py sorts them."""
        sources: dict[str | None, list[Score]] = {}
        for score in self.scores:
            sources.setdefault(score.source, []).append(score)
        ordered = sorted(sources, key=lambda s: (s is not None, s or ""))
        return [Series(job=self, source=s, summary=summarize(sources[s]), scores=tuple(sources[s])) for s in ordered]


@dataclass(frozen=True, kw_only=True)
class Series:
    """One job's scores for one source: one set of bars in the charts, one block of table rows."""

    job: JobResults
    source: str | None
    summary: Summary
    scores: tuple[Score, ...]

    @property
    def label(self) -> str:
        return f"{self.job.name}: {self.job.label(self.source)}"


def metric_label(metric: str, rating_method: str | None) -> str:
    return metric if rating_method is None else f"{metric} ({rating_method})"


def lower_is_better(metric: str, rating_method: str | None = None) -> bool:
    """Higher is worse for the harm metrics (contract.LOWER_IS_BETTER) and for ranks (1 is best)."""
    return metric in LOWER_IS_BETTER or rating_method == RatingMethod.COMPARISON_RANK.value


def share(scored: int, not_scored: int) -> float | None:
    """The share of scores that were scored (a judge's N/A is not)."""
    total = scored + not_scored
    return scored / total if total else None


def worst(scores: Sequence[Score], per_metric: int) -> dict[tuple[str, str | None], list[Score]]:
    """The `per_metric` worst scored values of each metric (and rating method): the lowest, or the
    highest where lower is better. Ties keep the records' order."""
    found: dict[tuple[str, str | None], list[Score]] = {}
    for score in scores:
        if score.value is not None:
            found.setdefault((score.metric, score.rating_method), []).append(score)
    return {
        key: sorted(values, key=lambda s: -(s.value or 0.0) if lower_is_better(*key) else (s.value or 0.0))[:per_metric]
        for key, values in sorted(found.items(), key=lambda item: (item[0][0], item[0][1] or ""))
    }


def _short(source: str) -> str:
    """arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0 -> amazon.nova-lite-v1:0"""
    match = _ARN_RESOURCE.fullmatch(source)
    return match.group("id") if match else source


def _rag_labels(inference: Mapping[str, Any]) -> dict[str, str]:
    """inference_configs/<n> -> the nth ragConfig's knowledge base (or bring-your-own source) and generator."""
    labels: dict[str, str] = {}
    for n, rag in enumerate(inference.get("ragConfigs") or []):
        parts: list[str] = []
        knowledge_base = rag.get("knowledgeBaseConfig") or {}
        precomputed = rag.get("precomputedRagSourceConfig") or {}
        if "retrieveConfig" in knowledge_base:
            parts.append(f"knowledge base {knowledge_base['retrieveConfig'].get('knowledgeBaseId', '?')}")
        elif "retrieveAndGenerateConfig" in knowledge_base:
            generate = knowledge_base["retrieveAndGenerateConfig"]
            if "knowledgeBaseConfiguration" in generate:
                settings = generate["knowledgeBaseConfiguration"]
                parts.append(f"knowledge base {settings.get('knowledgeBaseId', '?')}")
            else:
                settings = generate.get("externalSourcesConfiguration") or {}
                parts.append("external sources")
            if settings.get("modelArn"):
                parts.append(f"generator {_short(str(settings['modelArn']))}")
        else:
            source = precomputed.get("retrieveSourceConfig") or precomputed.get("retrieveAndGenerateSourceConfig") or {}
            parts.append(str(source.get("ragSourceIdentifier", f"inference config {n}")))
        labels[f"inference_configs/{n}"] = ", ".join(parts)
    return labels
