"""The files Amazon Bedrock writes to S3 for an evaluation job, built from the job's
CreateEvaluationJob request and a `ScorePlan` the test chooses.

Layouts and record shapes follow ../shared/reference/bedrock-evaluation.md, "Results in S3" (from
the user guide's model-evaluation-report-s3 page, AWS samples and a committed real output), with
metric names as its "Metric names" section gives them. With `<out>` the job's
outputDataConfig.s3Uri, `<name>` its jobName and `<id>` the 12 characters at the end of its ARN:

- automatic and LLM-as-a-judge model jobs (bring-your-own too), one file per model x dataset config:
  `<out>/<name>/<id>/models/<model-id>/taskTypes/<taskType>/datasets/<dataset>/<uuid>_output.jsonl`
- knowledge-base jobs, one file per dataset config:
  `<out>/<name>/<id>/inference_configs/0/datasets/<dataset>/<uuid>_output.jsonl`
- human jobs, one file per dataset config, and each record's human-loop input:
  `<out>/<name>/<id>/datasets/<dataset>/<uuid>_output.jsonl`,
  `<out>/<name>/<id>/datasets/<dataset>/records/<n>/human-loop-additional-data.json`
- jobs with custom metrics: `<out>/<name>/<id>/custom_metrics/<metric>.json`, each metric's definition
- every job: the empty write probe `<out>/<name>/amazon-bedrock-evaluations-permission-check`.

What the reference cannot say is an assumption of this emulator, named here:
- `<model-id>` is a Bedrock model's identifier without its ARN prefix (the part after the last "/"),
  or a bring-your-own source's inferenceSourceIdentifier; records name a Bedrock foundation model
  by its ARN (as the user guide's examples do), a bring-your-own source by its identifier.
- `<dataset>` is the dataset's `name` as the request gives it ("Builtin.BoolQ" for a built-in one).
- `<uuid>` is a UUID derived from the job ARN and the file's place: deterministic, never parsed.
- The custom_metrics/ objects are named `<metric name>.json` and hold {"customMetricDefinition": ...}
  as the request gave it.
- Human answers: one worker per record; each metric is answered per model response (modelResponseId
  "0", "1") under the camelCase rating-method key of the user guide's example ("thumbsUpDown"),
  comparison methods included; a ThumbsUpDown answer is a boolean, the others numbers.
- Prompts, responses, passages and explanations are synthetic text that names the record.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

Score = float | int | bool | None
"""One metric's result for one record (or conversation turn); None is a judge's N/A (`"result": null`)."""

BUILTIN = "Builtin."
PERMISSION_CHECK = "amazon-bedrock-evaluations-permission-check"


class ResultsSink(Protocol):
    """Where result files go: boto3's S3 client, `LocalS3`, or anything with this put_object."""

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **kwargs: Any) -> Any: ...


@dataclass(frozen=True, kw_only=True)
class ScorePlan:
    """How many records each dataset gets and what each metric scores on each of them.

    A metric's values are used for the records in order (for knowledge-base jobs: the conversation
    turns, record by record, turn by turn); past the end of its list, and for a metric the plan does
    not name, a record scores `default`. A metric is named either way ("Accuracy" or
    "Builtin.Accuracy"); a custom metric by its name. `per_source` gives one source (a model id as
    the request names it, a bring-your-own identifier, a knowledge-base id) its own values, before
    `scores`.
    """

    records: int = 3
    records_per_dataset: Mapping[str, int] = field(default_factory=dict)
    """Records of one dataset, by its name in the request, instead of `records`."""
    turns: int = 1
    """Conversation turns per record of a knowledge-base job (retrieve-and-generate takes up to 5)."""
    scores: Mapping[str, Sequence[Score]] = field(default_factory=dict)
    per_source: Mapping[str, Mapping[str, Sequence[Score]]] = field(default_factory=dict)
    default: Score = 1.0

    def __post_init__(self) -> None:
        counts = [self.records, *self.records_per_dataset.values()]
        if any(count < 0 for count in counts) or self.turns < 1:
            raise ValueError("a dataset has 0 or more records, and a record at least one turn")

    def count(self, dataset: str) -> int:
        return self.records_per_dataset.get(dataset, self.records)

    def score(self, metric: str, index: int, sources: Sequence[str] = ()) -> Score:
        """The result of `metric` on the index-th record (or turn), for the first source the plan names."""
        names = {metric, metric.removeprefix(BUILTIN), BUILTIN + metric.removeprefix(BUILTIN)}
        tables = [self.per_source[s] for s in sources if s in self.per_source] + [self.scores]
        for table in tables:
            for name in names:
                if name in table:
                    values = table[name]
                    return values[index] if index < len(values) else self.default
        return self.default


EVEN_SCORES = ScorePlan()
"""Three records a dataset, every metric 1.0 on each."""


@dataclass(frozen=True)
class ResultObject:
    """One object the job writes: where, and what."""

    bucket: str
    key: str
    body: bytes

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def permission_check(job_name: str, request: Mapping[str, Any]) -> ResultObject:
    """The empty object the service writes to check it may write to the output location."""
    bucket, prefix = _split(request["outputDataConfig"]["s3Uri"])
    return ResultObject(bucket, _join(prefix, job_name, PERMISSION_CHECK), b"")


def result_objects(*, job_arn: str, job_name: str, request: Mapping[str, Any], plan: ScorePlan, created: datetime) -> list[ResultObject]:
    """Every object a Completed job has written besides the permission check, in writing order."""
    writer = _Writer(job_arn, job_name, request, plan, created)
    return writer.objects()


# --- inside -----------------------------------------------------------------------------------------


def _split(s3_uri: str) -> tuple[str, str]:
    bucket, _, prefix = s3_uri.removeprefix("s3://").partition("/")
    return bucket, prefix.strip("/")


def _join(*parts: str) -> str:
    return "/".join(part for part in parts if part)


def model_arn(identifier: str, region: str = "us-east-1") -> str:
    """A Bedrock model identifier as records give it: an ARN (a bare model id becomes a foundation model's)."""
    return identifier if identifier.startswith("arn:") else f"arn:aws:bedrock:{region}::foundation-model/{identifier}"


def _text(*parts: object) -> list[dict[str, str]]:
    return [{"text": " ".join(str(p) for p in parts)}]


@dataclass(frozen=True)
class _Source:
    """One model (or bring-your-own source) the job evaluates."""

    path: str
    """Its folder under models/."""
    record_id: str
    """How records name it."""
    names: tuple[str, ...]
    """What a ScorePlan may call it."""


class _Writer:
    def __init__(self, job_arn: str, job_name: str, request: Mapping[str, Any], plan: ScorePlan, created: datetime) -> None:
        self.arn = job_arn
        self.job_id = job_arn.rsplit("/", 1)[-1]
        self.name = job_name
        self.request = request
        self.plan = plan
        self.created = created
        self.region = job_arn.split(":")[3]
        self.bucket, prefix = _split(request["outputDataConfig"]["s3Uri"])
        self.root = _join(prefix, job_name, self.job_id)
        evaluation = request["evaluationConfig"]
        self.human = evaluation.get("human")
        self.automated = evaluation.get("automated") or {}
        self.judge = _first_model(self.automated.get("evaluatorModelConfig"))
        self.custom = {
            source["customMetricDefinition"]["name"]: source
            for source in (self.automated.get("customMetricConfig") or {}).get("customMetrics", [])
            if "customMetricDefinition" in source
        }
        self.custom_judge = _first_model((self.automated.get("customMetricConfig") or {}).get("evaluatorModelConfig"))

    def objects(self) -> list[ResultObject]:
        if self.human is not None:
            found = self._human()
        elif "ragConfigs" in self.request["inferenceConfig"]:
            found = self._knowledge_base()
        else:
            found = self._models()
        for name, source in self.custom.items():
            body = json.dumps(source, indent=2).encode()
            found.append(ResultObject(self.bucket, _join(self.root, "custom_metrics", f"{name}.json"), body))
        return found

    def _file(self, *parts: str) -> str:
        """A `<uuid>_output.jsonl` key under the job's folder: the same job and place, the same name."""
        folder = _join(self.root, *parts)
        return f"{folder}/{uuid.uuid5(uuid.NAMESPACE_URL, f'{self.arn}/{folder}')}_output.jsonl"

    def _jsonl(self, key: str, records: list[dict[str, Any]]) -> ResultObject:
        return ResultObject(self.bucket, key, "".join(json.dumps(r) + "\n" for r in records).encode())

    def _sources(self) -> list[_Source]:
        sources = []
        for model in self.request["inferenceConfig"].get("models", []):
            if "bedrockModel" in model:
                identifier = model["bedrockModel"]["modelIdentifier"]
                arn = model_arn(identifier, self.region)
                sources.append(_Source(identifier.rsplit("/", 1)[-1], arn, (identifier, arn, arn.rsplit("/", 1)[-1])))
            else:
                identifier = model["precomputedInferenceSource"]["inferenceSourceIdentifier"]
                sources.append(_Source(identifier, identifier, (identifier,)))
        return sources

    # --- automatic and LLM-as-a-judge model jobs ------------------------------------------------------

    def _models(self) -> list[ResultObject]:
        judged = self.judge is not None or bool(self.custom)
        found = []
        for source in self._sources():
            for config in self.automated["datasetMetricConfigs"]:
                dataset, task = config["dataset"]["name"], config["taskType"]
                records = [
                    {
                        "automatedEvaluationResult": {
                            "scores": [self._score(metric, i, source.names, judged) for metric in config["metricNames"]]
                        },
                        "inputRecord": {
                            "prompt": f"Question {i + 1} of {dataset} ({task}): what does record {i + 1} ask?",
                            "referenceResponse": f"The reference answer to record {i + 1}.",
                        },
                        "modelResponses": [
                            {"modelIdentifier": source.record_id, "response": f"{source.path} answers record {i + 1} of {dataset}."}
                        ],
                    }
                    for i in range(self.plan.count(dataset))
                ]
                key = self._file("models", source.path, "taskTypes", task, "datasets", dataset)
                found.append(self._jsonl(key, records))
        return found

    def _score(self, metric: str, index: int, sources: Sequence[str], judged: bool) -> dict[str, Any]:
        """One entry of a record's scores. An automatic job names built-in metrics without "Builtin."
        ("Accuracy"); a judge keeps it and explains each result (reference, "Results in S3")."""
        result = self.plan.score(metric, index, sources)
        if not judged:
            return {"metricName": metric.removeprefix(BUILTIN), "result": result}
        judge = self.custom_judge if metric in self.custom else self.judge
        return {
            "metricName": metric,
            "result": result,
            "evaluatorDetails": [{"modelIdentifier": judge, "explanation": _explanation(metric, index, result)}],
        }

    # --- knowledge-base jobs ----------------------------------------------------------------------------

    def _knowledge_base(self) -> list[ResultObject]:
        rag = self.request["inferenceConfig"]["ragConfigs"][0]
        if "knowledgeBaseConfig" in rag:
            config = rag["knowledgeBaseConfig"]
            retrieve_only = "retrieveConfig" in config
            if retrieve_only:
                knowledge_base, generator = config["retrieveConfig"]["knowledgeBaseId"], None
            else:
                generate = config["retrieveAndGenerateConfig"]
                settings = generate.get("knowledgeBaseConfiguration") or generate.get("externalSourcesConfiguration") or {}
                knowledge_base, generator = settings.get("knowledgeBaseId", "external-sources"), settings.get("modelArn")
        else:
            precomputed = rag["precomputedRagSourceConfig"]
            retrieve_only = "retrieveSourceConfig" in precomputed
            source = precomputed.get("retrieveSourceConfig") or precomputed["retrieveAndGenerateSourceConfig"]
            knowledge_base, generator = source["ragSourceIdentifier"], None
        names = tuple(n for n in (knowledge_base, generator) if n)
        found = []
        for config in self.automated["datasetMetricConfigs"]:
            dataset = config["dataset"]["name"]
            records = []
            for i in range(self.plan.count(dataset)):
                turns = []
                for t in range(self.plan.turns):
                    unit = i * self.plan.turns + t
                    output = _retrieved(knowledge_base, i, t) if retrieve_only else _generated(knowledge_base, generator, i, t)
                    turns.append(
                        {
                            "inputRecord": {
                                "prompt": {"content": _text(f"Question {i + 1}.{t + 1} of {dataset}: what does the knowledge base say?")},
                                "referenceResponses": [{"content": _text(f"The reference answer to question {i + 1}.{t + 1}.")}],
                            },
                            "output": output,
                            "results": [self._score(metric, unit, names, judged=True) for metric in config["metricNames"]],
                        }
                    )
                records.append({"conversationTurns": turns})
            found.append(self._jsonl(self._file("inference_configs", "0", "datasets", dataset), records))
        return found

    # --- human jobs -------------------------------------------------------------------------------------

    def _human(self) -> list[ResultObject]:
        assert self.human is not None
        sources = self._sources()
        methods = {m["name"]: m for m in self.human.get("customMetrics", [])}
        flow = self.human["humanWorkflowConfig"]["flowDefinitionArn"]
        instructions = self.human["humanWorkflowConfig"].get("instructions", "")
        found = []
        for config in self.human["datasetMetricConfigs"]:
            dataset = config["dataset"]["name"]
            metrics = [methods.get(name, {"name": name, "ratingMethod": "ThumbsUpDown"}) for name in config["metricNames"]]
            records = []
            for i in range(self.plan.count(dataset)):
                extra = _join(self.root, "datasets", dataset, "records", str(i), "human-loop-additional-data.json")
                input_record = {
                    "prompt": f"Question {i + 1} of {dataset}: what should a reviewer rate?",
                    "category": "General",
                    "referenceResponse": f"The reference answer to record {i + 1}.",
                }
                responses = [
                    {"modelIdentifier": s.record_id, "response": f"{s.path} answers record {i + 1} of {dataset}."} for s in sources
                ]
                found.append(ResultObject(self.bucket, extra, json.dumps({"inputRecord": input_record, "modelResponses": responses}).encode()))
                evaluation: dict[str, list[dict[str, Any]]] = {}
                for metric in metrics:
                    method = metric["ratingMethod"]
                    for response_id, source in enumerate(sources):
                        result = _human_answer(method, self.plan.score(metric["name"], i, source.names))
                        entry = {"metricName": metric["name"], "modelResponseId": str(response_id), "result": result}
                        evaluation.setdefault(method[:1].lower() + method[1:], []).append(entry)
                accepted = self.created + timedelta(minutes=10 + i)
                records.append(
                    {
                        "humanEvaluationResult": {
                            "flowDefinitionArn": flow,
                            "humanAnswers": [
                                {
                                    "acceptanceTime": _timestamp(accepted),
                                    "answerContent": {"evaluationResults": evaluation},
                                    "submissionTime": _timestamp(accepted + timedelta(seconds=30)),
                                    "timeSpentInSeconds": 30.0,
                                    "workerId": f"worker-{i % 3 + 1:04d}",
                                }
                            ],
                            "humanLoopName": hashlib.sha1(f"{self.arn}/{dataset}/{i}".encode()).hexdigest(),
                            "inputContent": {
                                "additionalDataS3Uri": f"s3://{self.bucket}/{extra}",
                                "evaluationMetrics": [
                                    {"description": m.get("description", m["name"]), "metricName": m["name"], "ratingMethod": m["ratingMethod"]}
                                    for m in metrics
                                ],
                                "instructions": instructions,
                            },
                            "modelResponseIdMap": {str(n): s.record_id for n, s in enumerate(sources)},
                        },
                        "inputRecord": input_record,
                        "modelResponses": responses,
                    }
                )
            found.append(self._jsonl(self._file("datasets", dataset), records))
        return found


def _first_model(config: Mapping[str, Any] | None) -> str | None:
    models = (config or {}).get("bedrockEvaluatorModels") or []
    return str(models[0]["modelIdentifier"]) if models else None


def _explanation(metric: str, index: int, result: Score) -> str:
    if result is None:
        return f"Record {index + 1}: {metric} does not apply to this response, so it is not rated."
    return f"Record {index + 1}: the response was rated {result} for {metric.removeprefix(BUILTIN)}."


def _passage(knowledge_base: str, record: int, turn: int, n: int) -> dict[str, Any]:
    return {
        "content": {"text": f"Passage {n + 1} retrieved from {knowledge_base} for question {record + 1}.{turn + 1}."},
        "location": {"s3Location": {"uri": f"s3://knowledge-base-documents/doc-{record + 1}-{n + 1}.txt"}, "type": "S3"},
        "metadata": {},
    }


def _retrieved(knowledge_base: str, record: int, turn: int) -> dict[str, Any]:
    """A retrieve-only turn's output: what the knowledge base retrieved."""
    passages = [_passage(knowledge_base, record, turn, n) for n in range(2)]
    return {"knowledgeBaseIdentifier": knowledge_base, "retrievedResults": {"retrievalResults": passages}}


def _generated(knowledge_base: str, generator: str | None, record: int, turn: int) -> dict[str, Any]:
    """A retrieve-and-generate turn's output: the answer, the passages and a citation (the shape of
    the committed real output the reference cites)."""
    text = f"The answer to question {record + 1}.{turn + 1}, from the retrieved passages."
    passages = [_passage(knowledge_base, record, turn, n) for n in range(2)]
    output: dict[str, Any] = {
        "knowledgeBaseIdentifier": knowledge_base,
        "text": text,
        "retrievedPassages": {"retrievalResults": passages},
        "citations": [
            {
                "generatedResponsePart": {"textResponsePart": {"span": {"start": 0, "end": len(text) - 1}, "text": text}},
                "retrievedReferences": [passages[0]],
            }
        ],
    }
    if generator is not None:
        output["modelIdentifier"] = generator
    return output


def _human_answer(method: str, value: Score) -> Score:
    """A worker's answer: thumbs up or down is a boolean; a scale, choice or rank a whole number when it is one."""
    if value is None:
        return None
    if method == "ThumbsUpDown":
        return bool(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _timestamp(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
