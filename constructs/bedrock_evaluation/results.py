"""A job's results in S3: where its records are, the scores they hold, and whether they pass.

Shared by the deploy-time handler (which gates a deploy on a job's scores) and the results
command. Like the contract, it is copied into the handler's Lambda asset as
``bedrock_evaluation/results.py``, so it uses the standard library only. Nothing here calls AWS: a
`ResultStore` lists and reads objects, so the same code reads S3, a local copy or test data.

Layouts and record shapes are Bedrock's (user guide ``model-evaluation-report-s3``; the SageMaker
developer guide ``clarify-foundation-model-evaluate-results-human`` for human answers). Result files
are found by listing the job's prefix and matching the layout, never by building their names: the
service chooses them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from .contract import LOWER_IS_BETTER

# --- Metric names -------------------------------------------------------------------------------

BUILTIN_PREFIX = "Builtin."
BUILTIN_METRICS = frozenset(
    BUILTIN_PREFIX + name
    for name in (
        # Automatic (algorithmic) model evaluation.
        "Accuracy",
        "Robustness",
        "Toxicity",
        # LLM-as-a-judge model evaluation.
        "Correctness",
        "Completeness",
        "Faithfulness",
        "Helpfulness",
        "Coherence",
        "Relevance",
        "FollowingInstructions",
        "ProfessionalStyleAndTone",
        "Harmfulness",
        "Stereotyping",
        "Refusal",
        # Knowledge bases: retrieve only, then retrieve and generate (beyond the judge's names).
        "ContextRelevance",
        "ContextCoverage",
        "LogicalCoherence",
        "CitationPrecision",
        "CitationCoverage",
    )
)
"""Bedrock's built-in metric names, as a request names them. Automatic jobs write them bare
("Accuracy") in their results; judge and knowledge-base jobs write them as requested."""



def requested_metrics(description: Mapping[str, object]) -> list[str]:
    """The metric names a job's request gave, from GetEvaluationJob's answer (or the request):
    what `metric_names` of `scores_of` and `read_summary` take."""
    config = description.get("evaluationConfig")
    names: set[str] = set()
    if isinstance(config, Mapping):
        for kind in ("automated", "human"):
            part = config.get(kind)
            tasks = part.get("datasetMetricConfigs", []) if isinstance(part, Mapping) else []
            for task in tasks if isinstance(tasks, list) else []:
                if isinstance(task, Mapping):
                    names.update(str(n) for n in task.get("metricNames", []) or [])
    return sorted(names)


def canonical_metric(name: str, metric_names: Collection[str] = ()) -> str:
    """The name a result's metric is reported by: as the job requested it.

    `metric_names` are the names the job's request lists. A name requested as written stays as it
    is (custom metrics); a bare name ("Accuracy") whose ``Builtin.`` form was requested or is a
    known built-in becomes that form, because automatic jobs drop the prefix in their results."""
    if name.startswith(BUILTIN_PREFIX) or name in metric_names:
        return name
    prefixed = BUILTIN_PREFIX + name
    if prefixed in metric_names or prefixed in BUILTIN_METRICS:
        return prefixed
    return name


class RatingMethod(StrEnum):
    """How human workers rated a metric, spelled as the API's ratingMethod (PascalCase).

    Result records spell the same keys in camelCase too ("thumbsUpDown"): they are matched
    case-insensitively and reported in this spelling."""

    THUMBS_UP_DOWN = "ThumbsUpDown"
    """1.0 for thumbs up, 0.0 for thumbs down: the mean is the share of thumbs up."""
    INDIVIDUAL_LIKERT_SCALE = "IndividualLikertScale"
    """The worker's rating of one response, on the job's scale."""
    COMPARISON_LIKERT_SCALE = "ComparisonLikertScale"
    """A preference between two responses shown left and right: the source is "<left> vs <right>"."""
    COMPARISON_CHOICE = "ComparisonChoice"
    """The response the worker chose: 1.0 for the chosen model, 0.0 for the other (the mean is a win rate)."""
    COMPARISON_RANK = "ComparisonRank"
    """Each model's rank (1 is best): here a lower mean is better."""


_RATING_METHODS = {method.value.lower(): method.value for method in RatingMethod}


def canonical_rating_method(key: str) -> str:
    """A rating-method key of a result record, in RatingMethod's spelling; an unknown key keeps
    its spelling with its first letter upper-cased (so its camelCase and PascalCase forms agree)."""
    return _RATING_METHODS.get(key.lower(), key[:1].upper() + key[1:])


# --- Where a job's results are ------------------------------------------------------------------

_S3_URI = re.compile(r"s3://(?P<bucket>[^/]+)(?:/(?P<key>.*))?")
_JOB_ARN = re.compile(r"arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:evaluation-job/(?P<id>[a-z0-9]{12})")


class ResultsError(Exception):
    """A result file or record that cannot be read, or a job without result files. The message
    names the S3 key (and the 1-based line) so that the record can be found."""

    def __init__(self, message: str, *, key: str | None = None, line: int | None = None, missing: bool = False) -> None:
        super().__init__(message)
        self.key = key
        self.line = line
        # True when the job's prefix held no result file (yet): worth looking again, unlike a bad record.
        self.missing = missing


def job_results_location(output_s3_uri: str, job_name: str, job_arn: str) -> tuple[str, str]:
    """(bucket, key prefix ending in "/") of a job's results: ``<out>/<jobName>/<job id>/``, the id
    being the 12 characters at the end of the job's ARN. Raises ValueError for anything else."""
    uri = _S3_URI.fullmatch(output_s3_uri)
    if uri is None:
        raise ValueError(f"the output location must be an s3:// URI (s3://bucket/prefix), not {output_s3_uri!r}")
    arn = _JOB_ARN.fullmatch(job_arn)
    if arn is None:
        raise ValueError(f"not an evaluation job ARN (arn:aws:bedrock:<region>:<account>:evaluation-job/<12-character id>): {job_arn!r}")
    if not job_name or "/" in job_name:
        raise ValueError(f"not an evaluation job name: {job_name!r}")
    base = (uri.group("key") or "").strip("/")
    prefix = f"{base}/" if base else ""
    return uri.group("bucket"), f"{prefix}{job_name}/{arn.group('id')}/"


class Layout(StrEnum):
    """Which kind of job wrote a result file, told by its place under the job's prefix."""

    MODEL = "model"
    """models/<model-id>/taskTypes/<task-type>/datasets/<dataset>/<uuid>_output.jsonl: automatic,
    LLM-as-a-judge and bring-your-own model evaluation."""
    KNOWLEDGE_BASE = "knowledge_base"
    """inference_configs/<n>/datasets/<dataset>/<name>.jsonl: knowledge-base (RAG) evaluation."""
    HUMAN = "human"
    """datasets/<dataset>/<uuid>_output.jsonl: human evaluation."""


@dataclass(frozen=True, kw_only=True)
class ResultFile:
    """One result file of a job, with what its key says about the records in it."""

    key: str
    """The object's full S3 key."""
    layout: Layout
    source: str | None
    """What was evaluated: the model id as the service wrote it in the key (a Bedrock model id, an
    ARN-like string, or a bring-your-own inferenceSourceIdentifier); "inference_configs/<n>" for a
    knowledge-base job; None for a human job (its records name their models)."""
    task_type: str | None
    """The task type of a model evaluation; None for knowledge-base and human jobs."""
    dataset: str


# The model id is everything between models/ and /taskTypes/: it may hold ":" and even "/".
_LAYOUTS = (
    (Layout.MODEL, re.compile(r"models/(?P<source>.+)/taskTypes/(?P<task>[^/]+)/datasets/(?P<dataset>[^/]+)/[^/]*_output\.jsonl")),
    (Layout.KNOWLEDGE_BASE, re.compile(r"(?P<source>inference_configs/[^/]+)/datasets/(?P<dataset>[^/]+)/[^/]+\.jsonl")),
    (Layout.HUMAN, re.compile(r"datasets/(?P<dataset>[^/]+)/[^/]*_output\.jsonl")),
)


def result_files(keys: Iterable[str], prefix: str) -> list[ResultFile]:
    """The result files among listed keys, sorted by key. Keys outside `prefix` (the job's, from
    job_results_location) and everything else the job writes (custom_metrics/, human-loop records,
    the permission-check object) are left out."""
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    found: list[ResultFile] = []
    for key in sorted(set(keys)):
        if not key.startswith(prefix):
            continue
        relative = key[len(prefix) :]
        for layout, pattern in _LAYOUTS:
            match = pattern.fullmatch(relative)
            if match is not None:
                groups = match.groupdict()
                found.append(ResultFile(key=key, layout=layout, source=groups.get("source"), task_type=groups.get("task"), dataset=groups["dataset"]))
                break
    return found


# --- Scores of one file -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Score:
    """One metric's score of one record (one turn of a conversation, one worker's rating)."""

    metric: str
    value: float | None
    """None when the record was not scored: a judge's N/A ("result": null)."""
    source: str | None
    """The model (or inference config, or pair of models) the score is about."""
    task_type: str | None
    dataset: str
    record: int
    """The record's 0-based line in its file."""
    turn: int | None = None
    """The 0-based conversation turn of a knowledge-base record."""
    rating_method: str | None = None
    """A human rating's method, spelled as RatingMethod."""
    prompt: str | None = None
    response: str | None = None
    explanation: str | None = None
    """The judge's explanation."""
    key: str


class _Unreadable(Exception):
    """What is wrong with one record; scores_of adds the key and line."""


def scores_of(file: ResultFile, lines: Iterable[bytes | str], *, metric_names: Collection[str] = ()) -> Iterator[Score]:
    """The scores of one result file's JSON lines, in order; blank lines are skipped.

    `metric_names` are the metric names the job requested, to report a bare built-in name as the
    job named it (see canonical_metric). Human metrics are the job's own names and are kept as
    written. A record without scores (no automatedEvaluationResult, a turn without results) yields
    none. Raises ResultsError, naming the key and line, for a line that is not a JSON object, a
    value of the wrong type where a score is read, or a result that is not a finite number (human
    ratings may also be true/false or numeric strings)."""
    parse = {Layout.MODEL: _model_scores, Layout.KNOWLEDGE_BASE: _knowledge_base_scores, Layout.HUMAN: _human_scores}[file.layout]
    for index, line in enumerate(lines):
        number = index + 1
        try:
            text = line.decode("utf-8-sig") if isinstance(line, bytes) else line
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as error:
                raise _Unreadable(f"not JSON ({error.msg} at column {error.colno})") from None
            except RecursionError:
                raise _Unreadable("not JSON (nested too deeply)") from None
            if not isinstance(record, dict):
                raise _Unreadable(f"a JSON {_kind(record)}, not an object")
            yield from parse(file, record, index, metric_names)
        except (_Unreadable, UnicodeDecodeError) as problem:
            raise ResultsError(f"{file.key}, line {number}: {problem}", key=file.key, line=number) from None


def _model_scores(file: ResultFile, record: dict[str, object], index: int, metric_names: Collection[str]) -> Iterator[Score]:
    automated = _object(record.get("automatedEvaluationResult"), "automatedEvaluationResult")
    if automated is None:
        return
    input_record = _object(record.get("inputRecord"), "inputRecord") or {}
    # Bring-your-own responses have been seen inside inputRecord as well as at the top level.
    responses = _list(record.get("modelResponses"), "modelResponses") or _list(input_record.get("modelResponses"), "inputRecord.modelResponses")
    response = _response_text(responses[0]) if responses else None
    prompt = _text(input_record.get("prompt"))
    for i, entry in enumerate(_list(automated.get("scores"), "automatedEvaluationResult.scores")):
        yield _scored(file, entry, f"automatedEvaluationResult.scores[{i}]", metric_names, record=index, prompt=prompt, response=response)


def _scored(
    file: ResultFile,
    entry: object,
    where: str,
    metric_names: Collection[str],
    *,
    record: int,
    prompt: str | None,
    response: str | None,
    turn: int | None = None,
) -> Score:
    """One judge's or algorithm's score entry ({metricName, result, evaluatorDetails}) of a model
    record or a knowledge-base turn."""
    score = _required_object(entry, where)
    return Score(
        metric=canonical_metric(_metric_name(score, where), metric_names),
        value=_number(score.get("result"), f"{where}.result"),
        source=file.source,
        task_type=file.task_type,
        dataset=file.dataset,
        record=record,
        turn=turn,
        prompt=prompt,
        response=response,
        explanation=_explanation(score),
        key=file.key,
    )


def _knowledge_base_scores(file: ResultFile, record: dict[str, object], index: int, metric_names: Collection[str]) -> Iterator[Score]:
    for t, item in enumerate(_list(record.get("conversationTurns"), "conversationTurns")):
        turn = _required_object(item, f"conversationTurns[{t}]")
        input_record = _object(turn.get("inputRecord"), f"conversationTurns[{t}].inputRecord") or {}
        output = _object(turn.get("output"), f"conversationTurns[{t}].output") or {}
        prompt = _content_text(input_record.get("prompt"))
        response = _text(output.get("text"))
        for i, entry in enumerate(_list(turn.get("results"), f"conversationTurns[{t}].results")):
            where = f"conversationTurns[{t}].results[{i}]"
            yield _scored(file, entry, where, metric_names, record=index, turn=t, prompt=prompt, response=response)


def _human_scores(file: ResultFile, record: dict[str, object], index: int, metric_names: Collection[str]) -> Iterator[Score]:
    # One object in the SageMaker guide's example, a list of one in Bedrock's: both are read.
    found = record.get("humanEvaluationResult")
    results = [found] if isinstance(found, dict) else _list(found, "humanEvaluationResult")
    input_record = _object(record.get("inputRecord"), "inputRecord") or {}
    responses = _list(record.get("modelResponses"), "modelResponses") or _list(input_record.get("modelResponses"), "inputRecord.modelResponses")
    prompt = _text(input_record.get("prompt"))
    for h, item in enumerate(results):
        where_h = "humanEvaluationResult" if isinstance(found, dict) else f"humanEvaluationResult[{h}]"
        result = _required_object(item, where_h)
        id_map = {
            str(k): v for k, v in (_object(result.get("modelResponseIdMap"), f"{where_h}.modelResponseIdMap") or {}).items() if isinstance(v, str)
        }
        for a, answer_item in enumerate(_list(result.get("humanAnswers"), f"{where_h}.humanAnswers")):
            where_a = f"{where_h}.humanAnswers[{a}]"
            answer = _required_object(answer_item, where_a)
            content = _object(answer.get("answerContent"), f"{where_a}.answerContent") or {}
            evaluations = _object(content.get("evaluationResults"), f"{where_a}.answerContent.evaluationResults") or {}
            for method_key, entries in evaluations.items():
                method = canonical_rating_method(method_key)
                for e, entry_item in enumerate(_list(entries, f"{where_a}.answerContent.evaluationResults.{method_key}")):
                    where = f"{where_a}.answerContent.evaluationResults.{method_key}[{e}]"
                    entry = _required_object(entry_item, where)
                    metric = _metric_name(entry, where)
                    for source, value, response_id in _human_values(entry, where, id_map, len(responses)):
                        yield Score(
                            metric=metric,
                            value=value,
                            source=source,
                            task_type=None,
                            dataset=file.dataset,
                            record=index,
                            rating_method=method,
                            prompt=prompt,
                            response=_human_response(responses, id_map, response_id),
                            key=file.key,
                        )


def _human_values(
    entry: dict[str, object], where: str, id_map: Mapping[str, str], responses: int
) -> Iterator[tuple[str | None, float | None, str | None]]:
    """(source, value, modelResponseId) of one rating, told apart by the shape of its result."""
    result = entry.get("result")
    if isinstance(result, list):
        # ComparisonRank: [{"modelResponseId": "0", "rank": 1}, ...]
        for r, item in enumerate(result):
            ranked = _required_object(item, f"{where}.result[{r}]")
            response_id = _response_id(ranked.get("modelResponseId"), f"{where}.result[{r}].modelResponseId")
            yield _model_of(id_map, response_id), _number(ranked.get("rank"), f"{where}.result[{r}].rank", human=True), response_id
    elif isinstance(result, dict):
        # ComparisonChoice: {"modelResponseId": "0"}, the response chosen: 1.0 for it, 0.0 for the other.
        chosen = _response_id(result.get("modelResponseId"), f"{where}.result.modelResponseId")
        if chosen is None:
            raise _Unreadable(f"{where}.result names no modelResponseId")
        for response_id in sorted(set(id_map or (str(i) for i in range(responses))) | {chosen}):
            yield _model_of(id_map, response_id), 1.0 if response_id == chosen else 0.0, response_id
    elif "modelResponseId" not in entry and ("leftModelResponseId" in entry or "rightModelResponseId" in entry):
        # ComparisonLikertScale: a preference between the responses shown left and right.
        left = _model_of(id_map, _response_id(entry.get("leftModelResponseId"), f"{where}.leftModelResponseId"))
        right = _model_of(id_map, _response_id(entry.get("rightModelResponseId"), f"{where}.rightModelResponseId"))
        yield f"{left} vs {right}", _number(result, f"{where}.result", human=True), None
    else:
        response_id = _response_id(entry.get("modelResponseId"), f"{where}.modelResponseId")
        yield _model_of(id_map, response_id), _number(result, f"{where}.result", human=True), response_id


def _model_of(id_map: Mapping[str, str], response_id: str | None) -> str | None:
    """The model a modelResponseId stands for; the id itself when the map does not name it."""
    if response_id is None:
        return None
    return id_map.get(response_id, response_id)


def _human_response(responses: list[object], id_map: Mapping[str, str], response_id: str | None) -> str | None:
    if response_id is None:
        return None
    model = id_map.get(response_id)
    for item in responses:
        if isinstance(item, dict) and model is not None and item.get("modelIdentifier") == model:
            return _response_text(item)
    if response_id.isdigit() and int(response_id) < len(responses):
        return _response_text(responses[int(response_id)])
    return None


# Reading JSON values: a wrong type where a score is expected is an error; text that is only shown
# (prompt, response, explanation) is read when it is there and left out when it is not.


def _object(value: object, where: str) -> dict[str, object] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _Unreadable(f"{where} is {_shown(value)}, not an object")
    return value


def _required_object(value: object, where: str) -> dict[str, object]:
    found = _object(value, where)
    if found is None:
        raise _Unreadable(f"{where} is null, not an object")
    return found


def _list(value: object, where: str) -> list[object]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Unreadable(f"{where} is {_shown(value)}, not a list")
    return value


def _metric_name(entry: dict[str, object], where: str) -> str:
    name = entry.get("metricName")
    if not isinstance(name, str) or not name:
        raise _Unreadable(f"{where}.metricName is {_shown(name)}, not a metric name")
    return name


def _response_id(value: object, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _Unreadable(f"{where} is {_shown(value)}, not a response id")


def _number(value: object, where: str, *, human: bool = False) -> float | None:
    """A score: None for null (not scored), else a finite number. Human ratings may also be true or
    false (thumbs up 1.0, down 0.0) or a numeric string ("4")."""
    if value is None:
        return None
    number: float | None = None
    if isinstance(value, bool):
        number = (1.0 if value else 0.0) if human else None
    elif isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond float's range
            number = None
    elif isinstance(value, str) and human:
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        raise _Unreadable(f"{where} is {_shown(value)}, not a number")
    return number


def _text(value: object) -> str | None:
    """A string, or the "text" of an object ({"text": ...}, as human records write prompts)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        text: str = value["text"]
        return text
    return None


def _content_text(value: object) -> str | None:
    """A knowledge-base prompt: {"content": [{"text": ...}]}."""
    if isinstance(value, dict):
        content = value.get("content")
        if isinstance(content, list) and content:
            return _text(content[0])
    return _text(value)


def _response_text(value: object) -> str | None:
    if isinstance(value, dict):
        return _text(value.get("response")) or _text(value.get("text"))
    return None


def _explanation(score: dict[str, object]) -> str | None:
    details = score.get("evaluatorDetails")
    if isinstance(details, list):
        for detail in details:
            if isinstance(detail, dict) and isinstance(detail.get("explanation"), str):
                explanation: str = detail["explanation"]
                return explanation
    return None


def _kind(value: object) -> str:
    kinds = ((bool, "true/false"), (int | float, "number"), (str, "string"), (list, "list"), (dict, "object"))
    return next((name for kind, name in kinds if isinstance(value, kind)), "null")


def _shown(value: object) -> str:
    shown = json.dumps(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


# --- Summaries ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class MetricSummary:
    """One metric's scores over a group of records: one source, task type, dataset (and rating
    method), or over everything when those are None."""

    metric: str
    source: str | None
    task_type: str | None
    dataset: str | None
    rating_method: str | None
    mean: float | None
    """Mean of the scored values only; None when no record was scored."""
    scored: int
    not_scored: int
    minimum: float | None

    def to_json(self) -> dict[str, object]:
        return {
            "metric": self.metric,
            "rating_method": self.rating_method,
            "source": self.source,
            "task_type": self.task_type,
            "dataset": self.dataset,
            "mean": self.mean,
            "scored": self.scored,
            "not_scored": self.not_scored,
            "minimum": self.minimum,
        }


@dataclass(frozen=True, kw_only=True)
class Summary:
    """A job's scores summarized per metric, overall and per group."""

    overall: tuple[MetricSummary, ...]
    """One per metric (and rating method, for human ratings), over everything."""
    groups: tuple[MetricSummary, ...]
    """One per metric, source, task type, dataset and rating method."""
    files: int
    """Result files that held at least one score."""
    records: int
    """Records (lines) that held at least one score, scored or not."""

    def to_json(self) -> dict[str, object]:
        """Plain JSON values, keys in a fixed order."""
        return {
            "files": self.files,
            "records": self.records,
            "overall": [m.to_json() for m in self.overall],
            "groups": [m.to_json() for m in self.groups],
        }


def summarize(scores: Iterable[Score]) -> Summary:
    """Means, counts and minima per metric, overall and per group, in a fixed order (metric, rating
    method, source, task type, dataset) whatever the order of the scores."""
    overall: dict[tuple[str, str | None], list[float | None]] = {}
    groups: dict[tuple[str, str | None, str | None, str | None, str | None], list[float | None]] = {}
    keys: set[str] = set()
    records: set[tuple[str, int]] = set()
    for score in scores:
        overall.setdefault((score.metric, score.rating_method), []).append(score.value)
        groups.setdefault((score.metric, score.rating_method, score.source, score.task_type, score.dataset), []).append(score.value)
        keys.add(score.key)
        records.add((score.key, score.record))
    return Summary(
        overall=tuple(
            _metric_summary(values, metric=metric, rating_method=method, source=None, task_type=None, dataset=None)
            for (metric, method), values in sorted(overall.items(), key=lambda item: _order(item[0]))
        ),
        groups=tuple(
            _metric_summary(values, metric=metric, rating_method=method, source=source, task_type=task, dataset=dataset)
            for (metric, method, source, task, dataset), values in sorted(groups.items(), key=lambda item: _order(item[0]))
        ),
        files=len(keys),
        records=len(records),
    )


def _order(parts: tuple[str | None, ...]) -> tuple[tuple[bool, str], ...]:
    return tuple((part is not None, part or "") for part in parts)


def _metric_summary(
    values: list[float | None], *, metric: str, rating_method: str | None, source: str | None, task_type: str | None, dataset: str | None
) -> MetricSummary:
    scored = [v for v in values if v is not None]
    return MetricSummary(
        metric=metric,
        source=source,
        task_type=task_type,
        dataset=dataset,
        rating_method=rating_method,
        mean=math.fsum(scored) / len(scored) if scored else None,
        scored=len(scored),
        not_scored=len(values) - len(scored),
        minimum=min(scored) if scored else None,
    )


# --- Reading a job's results --------------------------------------------------------------------


class ResultStore(Protocol):
    """Where result objects are read from (S3, a local copy, test data)."""

    def keys(self, bucket: str, prefix: str) -> Iterable[str]:
        """Every key under the prefix."""
        ...

    def lines(self, bucket: str, key: str) -> Iterable[bytes]:
        """The object's lines."""
        ...


def read_scores(store: ResultStore, output_s3_uri: str, job_name: str, job_arn: str, *, metric_names: Collection[str] = ()) -> list[Score]:
    """Every score of a job's result files. Raises ResultsError when the job's prefix holds no
    result file (it has not completed, or its results were moved) or a record cannot be read."""
    bucket, prefix = job_results_location(output_s3_uri, job_name, job_arn)
    listed = list(store.keys(bucket, prefix))
    files = result_files(listed, prefix)
    if not files:
        raise ResultsError(
            f"no result files under s3://{bucket}/{prefix} ({len(listed)} object{'' if len(listed) == 1 else 's'} listed there): "
            "the job has not completed, or its results were moved or deleted",
            missing=True,
        )
    return [score for file in files for score in scores_of(file, store.lines(bucket, file.key), metric_names=metric_names)]


def read_summary(store: ResultStore, output_s3_uri: str, job_name: str, job_arn: str, *, metric_names: Collection[str] = ()) -> Summary:
    return summarize(read_scores(store, output_s3_uri, job_name, job_arn, metric_names=metric_names))


# --- Gates --------------------------------------------------------------------------------------

TOLERANCE = 1e-9
"""Means this close to a bound meet it: 0.8 - 0.7 is 0.10000000000000009 in floating point."""


@dataclass(frozen=True, kw_only=True)
class GateFailure:
    """One group of one metric that misses a gate."""

    metric: str
    group: MetricSummary
    """The group that failed; for a metric absent from the results, an empty one (no counts)."""
    threshold: float
    """The bound the group's mean had to meet. For a regression: the replaced job's mean less
    max_drop (plus it, for a metric where higher is worse)."""
    reason: str
    """One line for a person: the metric, its mean, the bound, the counts, and where when the job
    has several sources, task types, datasets or rating methods."""
    previous: MetricSummary | None = None
    """For a regression: the replaced job's group."""


def below_thresholds(summary: Summary, thresholds: Mapping[str, float]) -> list[GateFailure]:
    """Groups whose mean is below their metric's threshold (every group must reach it), groups where
    no record was scored, and thresholds for metrics the results do not hold. A threshold named
    bare ("Accuracy") applies to the built-in metric when no metric has that exact name."""
    return _bounds(summary, thresholds, at_least=True)


def above_limits(summary: Summary, limits: Mapping[str, float]) -> list[GateFailure]:
    """As below_thresholds, for upper bounds (metrics where higher is worse: LOWER_IS_BETTER)."""
    return _bounds(summary, limits, at_least=False)


def within_bounds(summary: Summary, bounds: Mapping[str, tuple[str, float]]) -> list[GateFailure]:
    """Both kinds of bound at once: metric -> ("at_least", threshold) or ("at_most", limit), as a
    quality gate lists them. Raises ValueError for another kind."""
    kinds = {"at_least": True, "at_most": False}
    failures: list[GateFailure] = []
    for name, (kind, bound) in sorted(bounds.items()):
        if kind not in kinds:
            raise ValueError(f"the bound for {name} must be at_least or at_most, not {kind!r}")
        failures += _bounds(summary, {name: bound}, at_least=kinds[kind])
    return failures


def _bounds(summary: Summary, bounds: Mapping[str, float], *, at_least: bool) -> list[GateFailure]:
    where = _Where(summary)
    word = "threshold" if at_least else "limit"
    failures: list[GateFailure] = []
    for name, bound in sorted(bounds.items()):
        _check_number(bound, f"the bound for {name}")
        groups = _groups_of(summary, name)
        if not groups:
            absent = MetricSummary(
                metric=name, source=None, task_type=None, dataset=None, rating_method=None, mean=None, scored=0, not_scored=0, minimum=None
            )
            failures.append(GateFailure(metric=name, group=absent, threshold=bound, reason=f"{name}: not in the results ({word} {bound:.3f})"))
            continue
        for group in groups:
            if group.mean is None:
                reason = f"{group.metric}: no record was scored ({group.not_scored} not scored; {word} {bound:.3f}{where.of(group)})"
            elif at_least and group.mean < bound - TOLERANCE:
                reason = f"{group.metric} mean {group.mean:.3f} is below the threshold {bound:.3f} ({_counts(group)}{where.of(group)})"
            elif not at_least and group.mean > bound + TOLERANCE:
                reason = f"{group.metric} mean {group.mean:.3f} is above the limit {bound:.3f} ({_counts(group)}{where.of(group)})"
            else:
                continue
            failures.append(GateFailure(metric=group.metric, group=group, threshold=bound, reason=reason))
    return failures


def regressions(new: Summary, old: Summary, max_drop: float, *, lower_is_better: Collection[str] = LOWER_IS_BETTER) -> list[GateFailure]:
    """Groups whose mean got worse than the same group's in `old` (same metric, source, task type,
    dataset and rating method) by more than `max_drop`: fell, or rose for `lower_is_better` metrics.
    A group now without any scored record fails when it had scores before; groups absent from
    either summary, or not scored in `old`, are not compared."""
    _check_number(max_drop, "max_drop")
    if max_drop < 0:
        raise ValueError(f"max_drop must not be negative, not {max_drop}")
    before = {_identity(g): g for g in old.groups}
    where = _Where(new)
    failures: list[GateFailure] = []
    for group in new.groups:
        previous = before.get(_identity(group))
        if previous is None or previous.mean is None:
            continue
        lower_better = group.metric in lower_is_better
        bound = previous.mean + max_drop if lower_better else previous.mean - max_drop
        if group.mean is None:
            reason = f"{group.metric}: no record was scored ({group.not_scored} not scored; the replaced job's mean was {previous.mean:.3f}{where.of(group)})"
        else:
            worse = group.mean - previous.mean if lower_better else previous.mean - group.mean
            if worse <= max_drop + TOLERANCE:
                continue
            moved = "rose" if lower_better else "fell"
            reason = (
                f"{group.metric} mean {group.mean:.3f} {moved} {worse:.3f} from {previous.mean:.3f}, more than {max_drop:.3f} "
                f"({_counts(group)}{where.of(group)})"
            )
        failures.append(GateFailure(metric=group.metric, group=group, threshold=bound, reason=reason, previous=previous))
    return failures


def _groups_of(summary: Summary, name: str) -> list[MetricSummary]:
    groups = [g for g in summary.groups if g.metric == name]
    if not groups and not name.startswith(BUILTIN_PREFIX):
        groups = [g for g in summary.groups if g.metric == BUILTIN_PREFIX + name]
    return groups


def _identity(group: MetricSummary) -> tuple[str, str | None, str | None, str | None, str | None]:
    return group.metric, group.rating_method, group.source, group.task_type, group.dataset


def _check_number(value: object, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, not {value!r}")


def _counts(group: MetricSummary) -> str:
    return f"{group.scored} scored, {group.not_scored} not scored"


class _Where:
    """Names a group's source, task type, dataset and rating method, each only when the job has several."""

    def __init__(self, summary: Summary) -> None:
        self._fields = [
            (label, attribute)
            for label, attribute in (("source", "source"), ("task type", "task_type"), ("dataset", "dataset"), ("rating method", "rating_method"))
            if len({getattr(g, attribute) for g in summary.groups}) > 1
        ]

    def of(self, group: MetricSummary) -> str:
        parts = [f"{label} {getattr(group, attribute)}" for label, attribute in self._fields]
        return "; " + ", ".join(parts) if parts else ""


# --- CloudFormation attributes ------------------------------------------------------------------

ATTR_SCORES_OMITTED = "ScoresOmitted"
ATTR_SCORE_DETAIL = "ScoreDetail"
_TIERS = ("Mean", "Scored", "NotScored", "Min")


def score_attribute(metric: MetricSummary, field: str) -> str:
    """The attribute name of one overall value: "Score.<metric>.<field>", with the rating method
    for human ratings ("Score.<metric>.<RatingMethod>.<field>")."""
    name = metric.metric if metric.rating_method is None else f"{metric.metric}.{metric.rating_method}"
    return f"Score.{name}.{field}"


def attributes(summary: Summary, *, limit_bytes: int) -> dict[str, str]:
    """Custom-resource attributes (Fn::GetAtt) of a summary, whose compact JSON encoding fits
    `limit_bytes` (a custom resource's whole response must fit 4,096 bytes).

    Filled in priority order, each tier in the order of `summary.overall`: every metric's Mean,
    then Scored, NotScored, Min, then ScoreDetail (the groups as compact JSON). At the first
    attribute that does not fit, it and everything after it are left out, and ScoresOmitted says
    what: a whole tier by its name, part of one as "<tier>:<n> metrics" ("Mean:3 metrics,Scored,
    NotScored,Min,ScoreDetail"). ScoresOmitted is always there ("" when nothing was left out), so
    that a template may reference it; when not even it fits the answer is {}. Means and minima are
    rounded to 6 decimals and written as Python writes a float ("0.75", "1.0"; "" when no record was scored); counts are integers."""
    if limit_bytes < len("{}"):
        raise ValueError(f"limit_bytes must be at least 2 (the size of an empty JSON object), not {limit_bytes}")
    entries: list[tuple[str, str, str]] = []
    for tier in _TIERS:
        for metric in summary.overall:
            entries.append((tier, score_attribute(metric, tier), _attribute_value(metric, tier)))
    detail = json.dumps(summary.to_json()["groups"], separators=(",", ":"))
    entries.append((ATTR_SCORE_DETAIL, ATTR_SCORE_DETAIL, detail))
    for kept in range(len(entries), -1, -1):
        answer = {name: value for _, name, value in entries[:kept]}
        answer[ATTR_SCORES_OMITTED] = _omitted(entries, kept)
        if _encoded_size(answer) <= limit_bytes:
            return answer
    return {}


def _attribute_value(metric: MetricSummary, tier: str) -> str:
    if tier == "Scored":
        return str(metric.scored)
    if tier == "NotScored":
        return str(metric.not_scored)
    value = metric.mean if tier == "Mean" else metric.minimum
    if value is None:
        return ""
    return repr(round(value, 6) + 0.0)  # + 0.0: never "-0.0"


def _omitted(entries: list[tuple[str, str, str]], kept: int) -> str:
    left_out: dict[str, int] = {}
    for tier, _, _ in entries[kept:]:
        left_out[tier] = left_out.get(tier, 0) + 1
    parts = []
    for tier, count in left_out.items():
        total = sum(1 for t, _, _ in entries if t == tier)
        parts.append(tier if count == total else f"{tier}:{count} metric{'s' if count != 1 else ''}")
    return ",".join(parts)


def _encoded_size(answer: Mapping[str, str]) -> int:
    """Bytes of the compact JSON encoding (ASCII escapes: never fewer bytes than UTF-8)."""
    return len(json.dumps(answer, separators=(",", ":")).encode())
