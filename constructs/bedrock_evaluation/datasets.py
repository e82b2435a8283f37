"""Prompt datasets: built into Bedrock, shipped with the app, or already in S3."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
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

    @property
    def local_path(self) -> Path | None:
        """The file shipped with the app, for Dataset.from_file."""
        return self.source.path if isinstance(self.source, _LocalFile) else None


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
