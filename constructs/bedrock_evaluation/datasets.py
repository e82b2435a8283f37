"""Prompt datasets: built into Bedrock, shipped with the app, or already in S3."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import aws_s3 as s3
from constructs import Construct

from . import service_model
from .boundary import check_fields, checked
from .errors import NOT_GIVEN, EvaluationJobConfigError
from .references import has_iam_wildcard
from .tokens import is_unresolved

# Characters the API's s3Uri pattern allows in a key segment.
KEY_SEGMENT = re.compile(r"[-!_*'().a-zA-Z0-9]+")
_KEY_CHARACTERS = "use letters, digits and -!_*'()."
# The API's own rule for dataset names, read from the service model.
_NAME_PATTERN, _NAME_MAX = service_model.string_limits("evaluationConfig", "automated", "datasetMetricConfigs", "dataset", "name")

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
        if not KEY_SEGMENT.fullmatch(file.name):
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
        if is_unresolved(key):
            if name is None:
                raise EvaluationJobConfigError.of(where, "name", NOT_GIVEN, "required when the key is a token")
            return cls(name=_checked_name(where, name, None), source=_S3Object(bucket, key))
        check_object_key(where, key)
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


def check_object_key(where: str, key: str) -> None:
    """One object's key, as an s3Uri carries it and a policy grants it: never an IAM wildcard."""
    if is_unresolved(key):
        return
    if any(not KEY_SEGMENT.fullmatch(segment) for segment in key.split("/")):
        rule = f"it has an empty segment or characters an s3Uri cannot carry; {_KEY_CHARACTERS}"
        raise EvaluationJobConfigError.of(where, "key", key, rule)
    if has_iam_wildcard(key):
        rule = "names one object, and its role is granted exactly that object: * and ? would be IAM wildcards, granting every match"
        raise EvaluationJobConfigError.of(where, "key", key, rule)


def content_digest(path: Path) -> str:
    """Part of the uploaded key: a changed file is a new object, so its jobs are new jobs."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _checked_name(where: str, given: str | None, derived: str | None) -> str:
    """The dataset's name: the one given, else the one derived from the file or key."""
    name = given or derived or ""
    if is_unresolved(name) or ((_NAME_PATTERN is None or _NAME_PATTERN.fullmatch(name)) and len(name) <= (_NAME_MAX or len(name))):
        return name
    pattern = _NAME_PATTERN.pattern if _NAME_PATTERN is not None else "the API's pattern"
    rule = f"a dataset name must match {pattern} and be at most {_NAME_MAX} characters"
    if not given:
        rule += "; this one comes from the file name: give name="
    raise EvaluationJobConfigError.of(where, "name", name, rule)
