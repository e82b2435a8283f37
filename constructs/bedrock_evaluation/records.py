"""What each record of a local dataset must hold, derived from the request it is used in.

Checked at synth for datasets shipped with the app (Dataset.from_file); a dataset already in S3
is the service's to read. The rules come from the request (its kind, the bring-your-own
identifiers), so they are the same whichever way the request was written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from .errors import Violation
from .request_view import JobKind, RequestView

MAX_RECORDS = 1000
# Conversation turns per record: retrieve-only takes one, retrieve-and-generate up to five.
MAX_TURNS = {JobKind.RETRIEVE: 1, JobKind.RETRIEVE_AND_GENERATE: 5}


class DatasetFormat(StrEnum):
    """What each line of a custom dataset must hold."""

    PROMPTS = "prompt"
    """Model evaluation: {"prompt": ..., "referenceResponse": ..., "category": ...}."""
    CONVERSATIONS = "conversationTurns"
    """Knowledge-base evaluation: {"conversationTurns": [...]}."""


@dataclass(frozen=True, kw_only=True)
class RecordRules:
    """What each record of one task's dataset must hold (user guide: model-evaluation-prompt-datasets-custom,
    knowledge-base-evaluation-prompt-datasets, and the bring-your-own pages)."""

    key: DatasetFormat
    max_turns: int | None = None
    reference_response: bool = False
    """Model jobs: "referenceResponse" is required for automatic QuestionAndAnswer tasks, Accuracy and Robustness."""
    reference_responses: bool = False
    """Knowledge-base jobs: each turn's "referenceResponses" is required for ContextCoverage."""
    response_identifiers: frozenset[str] | None = None
    """Bring-your-own responses: each record has one modelResponses entry per identifier."""
    rag_output: JobKind | None = None
    """Bring-your-own RAG responses: each turn's output, of this kind, names output_identifier."""
    output_identifier: str | None = None

    @classmethod
    def of(cls, view: RequestView, task: Mapping[str, Any]) -> RecordRules:
        metrics = {m for m in task.get("metricNames") or [] if isinstance(m, str)}
        if view.kind in MAX_TURNS:
            identifier = view.precomputed_rag_identifier()
            return cls(
                key=DatasetFormat.CONVERSATIONS,
                max_turns=MAX_TURNS[view.kind],
                reference_responses="Builtin.ContextCoverage" in metrics,
                rag_output=view.kind if identifier is not None else None,
                output_identifier=identifier,
            )
        models = [m.value for m in view.models()]
        precomputed = frozenset(str(view.model_identifier(m)) for m in models if view.is_precomputed(m))
        needs_reference = view.kind is JobKind.AUTOMATIC and (
            task.get("taskType") == "QuestionAndAnswer" or bool(metrics & {"Builtin.Accuracy", "Builtin.Robustness"})
        )
        # A human job may compare a Bedrock model with one bring-your-own source: one entry a line.
        return cls(key=DatasetFormat.PROMPTS, reference_response=needs_reference, response_identifiers=precomputed or None)

    def problem(self, record: object) -> str | None:
        if not isinstance(record, dict) or self.key.value not in record:
            return f"the record has no {self.key.value!r} key"
        if self.key is DatasetFormat.CONVERSATIONS:
            return self._turns(record["conversationTurns"])
        if not _text(record.get("prompt")):
            return "'prompt' must be a non-empty string"
        if self.reference_response and not _text(record.get("referenceResponse")):
            return "the record has no 'referenceResponse' (required for automatic QuestionAndAnswer tasks, Accuracy and Robustness)"
        if self.response_identifiers is not None:
            return self._responses(record.get("modelResponses"))
        return None

    def _turns(self, turns: object) -> str | None:
        if not isinstance(turns, list) or not turns:
            return "'conversationTurns' must be a non-empty list"
        if self.max_turns is not None and len(turns) > self.max_turns:
            return f"'conversationTurns' has {len(turns)} turns; this job kind takes at most {self.max_turns}"
        for index, turn in enumerate(turns):
            problem = self._turn(turn)
            if problem:
                return f"conversationTurns[{index}]{problem}"
        return None

    def _turn(self, turn: object) -> str | None:
        if not isinstance(turn, dict):
            return " must be an object"
        if not _text(_first_text(turn.get("prompt"))):
            return ".prompt.content[0].text must be a non-empty string"
        if self.reference_responses and not _text(_first_text(_first(turn.get("referenceResponses")))):
            return ".referenceResponses[0].content[0].text is required for ContextCoverage"
        if self.rag_output is not None:
            return self._output(turn.get("output"))
        return None

    def _output(self, output: object) -> str | None:
        """Bring-your-own RAG responses sit inside each turn (AWS sample data,
        bedrock-eval-bring-your-own-inference/sample-data/rag-eval-byoi-sample-data.jsonl)."""
        if not isinstance(output, dict):
            return " has no 'output' object (bring-your-own RAG responses go in each turn)"
        if output.get("knowledgeBaseIdentifier") != self.output_identifier:
            return (
                f".output.knowledgeBaseIdentifier is {output.get('knowledgeBaseIdentifier')!r}; "
                f"it must equal the ragSourceIdentifier {self.output_identifier!r}"
            )
        results = "retrievedResults" if self.rag_output is JobKind.RETRIEVE else "retrievedPassages"
        if not isinstance(_mapping(output.get(results)).get("retrievalResults"), list):
            return f".output.{results}.retrievalResults must be a list"
        if self.rag_output is JobKind.RETRIEVE_AND_GENERATE and not isinstance(output.get("text"), str):
            return ".output.text (the generated answer) must be a string"
        return None

    def _responses(self, responses: object) -> str | None:
        expected = self.response_identifiers or frozenset()
        if not isinstance(responses, list):
            return "the record has no 'modelResponses' list (bring-your-own responses)"
        identifiers = [r.get("modelIdentifier") if isinstance(r, dict) else None for r in responses]
        if sorted(map(str, identifiers)) != sorted(expected) or any(not isinstance(r, dict) or "response" not in r for r in responses):
            return (
                f"modelResponses names {identifiers}; each record needs one response for each of "
                f"{sorted(expected)} (the inferenceSourceIdentifier values)"
            )
        return None


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _first(value: object) -> object:
    return value[0] if isinstance(value, list) and value else None


def _first_text(message: object) -> object:
    """message.content[0].text, or None."""
    return _mapping(_first(_mapping(message).get("content"))).get("text")


def record_violations(field: str, path: Path, rules: RecordRules) -> list[Violation]:
    """The first problem of a local dataset, naming file:line (one is enough to fix first)."""
    for problem in _problems(path, rules):
        return [Violation(field, str(path), problem)]
    return []


def _problems(path: Path, rules: RecordRules) -> Iterator[str]:
    count = 0
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                yield f"line {number} is not UTF-8 (byte {error.start + 1}: {raw[error.start : error.start + 1]!r}); save the file as UTF-8"
                return
            if not line.strip():
                continue
            count += 1
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                yield f"line {number} is not valid JSON ({error.msg})"
                return
            problem = rules.problem(record)
            if problem:
                yield f"line {number}: {problem}"
                return
    if count == 0:
        yield "the dataset has no records"
    elif count > MAX_RECORDS:
        yield f"{count} records; a dataset holds at most {MAX_RECORDS}"
