"""What each record of a local dataset must hold, derived from the request it is used in.

Checked at synth for datasets shipped with the app (Dataset.from_file); a dataset already in S3
is the service's to read. The rules come from the request (its kind, the bring-your-own
identifiers), so they are the same whichever way the request was written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

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
    """What each record of a dataset must hold for one request."""

    key: DatasetFormat
    max_turns: int | None = None
    response_identifiers: frozenset[str] | None = None
    """Bring-your-own responses: each record has one modelResponses entry per identifier."""
    output_identifier: str | None = None
    """Bring-your-own RAG responses: each record's output names this knowledgeBaseIdentifier."""

    @classmethod
    def of(cls, view: RequestView) -> RecordRules:
        if view.kind in MAX_TURNS:
            return cls(key=DatasetFormat.CONVERSATIONS, max_turns=MAX_TURNS[view.kind], output_identifier=view.precomputed_rag_identifier())
        models = [m.value for m in view.models()]
        precomputed = frozenset(str(view.model_identifier(m)) for m in models if view.is_precomputed(m))
        # A mix of live and bring-your-own models is refused by the rules table.
        return cls(key=DatasetFormat.PROMPTS, response_identifiers=precomputed if precomputed and len(precomputed) == len(models) else None)

    def problem(self, record: object) -> str | None:
        if not isinstance(record, dict) or self.key.value not in record:
            return f"the record has no {self.key.value!r} key"
        if self.key is DatasetFormat.CONVERSATIONS:
            problem = self._turns(record["conversationTurns"])
            if problem:
                return problem
        if self.response_identifiers is not None:
            problem = self._responses(record.get("modelResponses"))
            if problem:
                return problem
        if self.output_identifier is not None:
            output = record.get("output")
            if not isinstance(output, dict):
                return "the record has no 'output' object (bring-your-own RAG responses)"
            if output.get("knowledgeBaseIdentifier") != self.output_identifier:
                return (
                    f"output.knowledgeBaseIdentifier is {output.get('knowledgeBaseIdentifier')!r}; "
                    f"it must equal the ragSourceIdentifier {self.output_identifier!r}"
                )
        return None

    def _turns(self, turns: object) -> str | None:
        if not isinstance(turns, list) or not turns:
            return "'conversationTurns' must be a non-empty list"
        if self.max_turns is not None and len(turns) > self.max_turns:
            return f"'conversationTurns' has {len(turns)} turns; this job kind takes at most {self.max_turns}"
        for index, turn in enumerate(turns):
            content = turn.get("prompt", {}).get("content") if isinstance(turn, dict) else None
            if not isinstance(content, list) or not content or "text" not in content[0]:
                return f"conversationTurns[{index}].prompt.content[0].text is missing"
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
