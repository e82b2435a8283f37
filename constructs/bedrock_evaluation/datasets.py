"""Prompt datasets: built into Bedrock, shipped with the app, or already in S3."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Token
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .errors import EvaluationJobConfigError

_DATASET_NAME = re.compile(r"[0-9a-zA-Z\-_.]+")
# Characters the API's s3Uri pattern allows in a key segment.
_KEY_SEGMENT = re.compile(r"[-!_*'().a-zA-Z0-9]+")
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

    @classmethod
    def builtin(cls, name: str) -> Dataset:
        """One of Bedrock's built-in datasets, such as ``Builtin.BoolQ``."""
        if name not in BUILTIN_DATASETS:
            known = ", ".join(sorted(BUILTIN_DATASETS))
            raise EvaluationJobConfigError(f"Dataset.builtin: {name!r} is not a built-in dataset; expected one of {known}")
        return cls(name=name, source=_Builtin())

    @classmethod
    def from_file(cls, path: str | Path, *, name: str | None = None) -> Dataset:
        """A JSONL file shipped with the app, uploaded by the stack to the evaluation bucket.

        :param path: the file, relative to the working directory of ``cdk synth``.
        :param name: the dataset's name in the job and its results. @default - the file's stem
        """
        file = Path(path)
        if not file.is_file():
            raise EvaluationJobConfigError(f"Dataset.from_file: {str(path)!r} is not a file")
        if not _KEY_SEGMENT.fullmatch(file.name):
            raise EvaluationJobConfigError(
                f"Dataset.from_file: file name {file.name!r} has characters an s3Uri cannot carry; "
                "use letters, digits and -!_*'()."
            )
        return cls(name=_checked_name(name or file.stem, "Dataset.from_file"), source=_LocalFile(file.resolve()))

    @classmethod
    def from_s3(cls, bucket: s3.IBucket, key: str, *, name: str | None = None) -> Dataset:
        """A JSONL object already in S3 (in the job's region).

        :param name: @default - the key's file name without its extension
        """
        if not Token.is_unresolved(key):
            if any(not _KEY_SEGMENT.fullmatch(segment) for segment in key.split("/")):
                raise EvaluationJobConfigError(
                    f"Dataset.from_s3: key {key!r} has an empty segment or characters an s3Uri cannot carry"
                )
        default = Path(key).stem if not Token.is_unresolved(key) else None
        if name is None and default is None:
            raise EvaluationJobConfigError("Dataset.from_s3: give name= when the key is a token")
        return cls(name=_checked_name(name or str(default), "Dataset.from_s3"), source=_S3Object(bucket, key))

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


def _checked_name(name: str, where: str) -> str:
    if not _DATASET_NAME.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
        raise EvaluationJobConfigError(
            f"{where}: dataset name {name!r} must match [0-9a-zA-Z-_.]+ and be at most {MAX_NAME_LENGTH} characters"
        )
    return name
