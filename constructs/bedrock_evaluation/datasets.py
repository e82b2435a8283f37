"""Prompt datasets: built into Bedrock, shipped with the app, or already in S3."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from aws_cdk import Token
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .boundary import check_fields, checked
from .errors import NOT_GIVEN, EvaluationJobConfigError

_DATASET_NAME = re.compile(r"[0-9a-zA-Z\-_.]+")
# Characters the API's s3Uri pattern allows in a key segment.
_KEY_SEGMENT = re.compile(r"[-!_*'().a-zA-Z0-9]+")
_KEY_CHARACTERS = "use letters, digits and -!_*'()."
MAX_NAME_LENGTH = 63
MAX_PROMPTS = 1000

BUILTIN_DATASETS = frozenset(
    {
        "Builtin.Bold",
        "Builtin.BoolQ",
        "Builtin.NaturalQuestions",
        "Builtin.Gigaword",
        "Builtin.RealToxicityPrompts",
        "Builtin.TriviaQA",
        "Builtin.T-Rex",
        "Builtin.WomensEcommerceClothingReviews",
        "Builtin.Wikitext2",
    }
)


class DatasetFormat(StrEnum):
    """What each line of a custom dataset must hold."""

    PROMPTS = "prompt"
    """Model evaluation: {"prompt": ..., "referenceResponse": ..., "category": ...}."""
    CONVERSATIONS = "conversationTurns"
    """Knowledge-base evaluation: {"conversationTurns": [...]}."""


@dataclass(frozen=True)
class _Builtin:
    pass


@dataclass(frozen=True)
class _LocalFile:
    path: Path


@dataclass(frozen=True)
class _S3Object:
    bucket: s3.IBucket
    key: str


@dataclass(frozen=True, kw_only=True)
class Dataset:
    """A prompt dataset. Use `Dataset.builtin`, `Dataset.from_file` or `Dataset.from_s3`."""

    name: str
    source: _Builtin | _LocalFile | _S3Object

    def __post_init__(self) -> None:
        check_fields(self)

    @classmethod
    @checked
    def builtin(cls, name: str) -> Dataset:
        """One of Bedrock's built-in datasets, such as ``Builtin.BoolQ``."""
        if name not in BUILTIN_DATASETS:
            known = ", ".join(sorted(BUILTIN_DATASETS))
            raise EvaluationJobConfigError.of(
                "Dataset.builtin", "name", name, f"it is not a built-in dataset; expected one of {known}"
            )
        return cls(name=name, source=_Builtin())

    @classmethod
    @checked
    def from_file(cls, path: str | Path, *, name: str | None = None) -> Dataset:
        """A JSONL file shipped with the app, uploaded by the stack to the evaluation bucket.

        :param path: the file, relative to the working directory of ``cdk synth``.
        :param name: the dataset's name in the job and its results. @default - the file's stem
        """
        where = "Dataset.from_file"
        file = Path(path)
        if not file.is_file():
            rule = "it is not a file (a relative path starts at the working directory of cdk synth)"
            raise EvaluationJobConfigError.of(where, "path", path, rule)
        if not _KEY_SEGMENT.fullmatch(file.name):
            rule = f"file name {file.name!r} has characters an s3Uri cannot carry; {_KEY_CHARACTERS}"
            raise EvaluationJobConfigError.of(where, "path", path, rule)
        return cls(name=_checked_name(where, name, file.stem), source=_LocalFile(file.resolve()))

    @classmethod
    @checked
    def from_s3(cls, bucket: s3.IBucket, key: str, *, name: str | None = None) -> Dataset:
        """A JSONL object already in S3 (in the job's region).

        :param name: @default - the key's file name without its extension
        """
        where = "Dataset.from_s3"
        if Token.is_unresolved(key):
            if name is None:
                raise EvaluationJobConfigError.of(where, "name", NOT_GIVEN, "required when the key is a token")
            return cls(name=_checked_name(where, name, None), source=_S3Object(bucket, key))
        if any(not _KEY_SEGMENT.fullmatch(segment) for segment in key.split("/")):
            rule = f"it has an empty segment or characters an s3Uri cannot carry; {_KEY_CHARACTERS}"
            raise EvaluationJobConfigError.of(where, "key", key, rule)
        return cls(name=_checked_name(where, name, Path(key).stem), source=_S3Object(bucket, key))

    @property
    def is_builtin(self) -> bool:
        return isinstance(self.source, _Builtin)

    def check_records(self, rules: RecordRules) -> None:
        """For a local file: every line is a JSON object holding what its job kind needs.
        Errors name file:line and the key."""
        if not isinstance(self.source, _LocalFile):
            return
        path = self.source.path
        count = 0
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            count += 1
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise EvaluationJobConfigError(f"{path}:{number}: not valid JSON ({error.msg})") from None
            problem = rules.problem(record)
            if problem:
                raise EvaluationJobConfigError(f"{path}:{number}: {problem}")
        if count == 0:
            raise EvaluationJobConfigError(f"{path}: the dataset has no records")
        if count > MAX_PROMPTS:
            raise EvaluationJobConfigError(f"{path}: {count} records; a dataset holds at most {MAX_PROMPTS}")


@dataclass(frozen=True, kw_only=True)
class RecordRules:
    """What each record of a dataset must hold for one kind of job."""

    key: DatasetFormat
    max_turns: int | None = None
    """Knowledge-base jobs: retrieve-only takes 1 conversation turn, retrieve-and-generate up to 5."""
    response_identifiers: frozenset[str] | None = None
    """Bring-your-own responses: each record has one modelResponses entry per identifier."""
    output_identifier: str | None = None
    """Bring-your-own RAG responses: each record's output names this knowledgeBaseIdentifier."""

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
        if sorted(map(str, identifiers)) != sorted(expected) or any(
            not isinstance(r, dict) or "response" not in r for r in responses
        ):
            return (
                f"modelResponses names {identifiers}; each record needs one response for each of "
                f"{sorted(expected)} (the inferenceSourceIdentifier values)"
            )
        return None


@dataclass(frozen=True)
class DatasetLocation:
    """Where a bound dataset lives, and what must exist before a job reads it."""

    s3_uri: str
    bucket: s3.IBucket
    key: str
    upload: Construct | None


def content_digest(path: Path) -> str:
    """Part of the uploaded key: a changed file is a new object, so its jobs are new jobs."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _checked_name(where: str, given: str | None, derived: str | None) -> str:
    """The dataset's name: the one given, else the one derived from the file or key."""
    name = given or derived or ""
    if (_DATASET_NAME.fullmatch(name) and len(name) <= MAX_NAME_LENGTH) or Token.is_unresolved(name):
        return name
    rule = f"a dataset name must match [0-9a-zA-Z-_.]+ and be at most {MAX_NAME_LENGTH} characters"
    if not given:
        rule += "; this one comes from the file name: give name="
    raise EvaluationJobConfigError.of(where, "name", name, rule)
