"""Names a job's construct gives it: the job name prefix and the results prefix."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection

from . import contract
from .datasets import KEY_SEGMENT
from .errors import Violation
from .references import has_iam_wildcard
from .storage import RESULTS_PREFIX
from .tokens import is_unresolved


def default_name_prefix(path: str, limit: int = contract.NAME_PREFIX_MAX_LENGTH) -> str:
    """"Stack/EvalBoolQ" -> "stack-eval-bool-q"; a long path keeps its head and a digest of itself."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", path)
    slug = re.sub(r"[^a-z0-9]+", "-", spaced.lower()).strip("-") or "evaluation"
    if len(slug) <= limit:
        return slug
    digest = hashlib.sha256(path.encode()).hexdigest()[:_DIGEST]
    return f"{slug[: limit - len(digest) - 1].rstrip('-')}-{digest}"


def unique_name_prefix(path: str, taken: Collection[str], limit: int = contract.NAME_PREFIX_MAX_LENGTH) -> str:
    """The default prefix, unless another job of the app has it already ("QaJudge", "Qa-Judge" and
    "qa_judge" all give "...-qa-judge"): then a digest of this construct's path is appended, so only
    a prefix that collides changes."""
    prefix = default_name_prefix(path, limit)
    if prefix not in taken:
        return prefix
    digest = hashlib.sha256(path.encode()).hexdigest()[:_DIGEST]
    return f"{prefix[: limit - _DIGEST - 1].rstrip('-')}-{digest}"


_DIGEST = 6


def name_prefix_violations(given: str | None) -> list[Violation]:
    problem = None if given is None else contract.name_prefix_problem(given)
    return [] if problem is None else [Violation("job_name_prefix", given, problem)]


def output_prefix(given: str | None, name_prefix: str) -> str:
    """The results prefix, ending in "/"; a token is taken as it is."""
    if given is None:
        return f"{RESULTS_PREFIX}{name_prefix}/"
    if is_unresolved(given):
        return given
    return given.rstrip("/") + "/"


def output_prefix_violations(given: str | None) -> list[Violation]:
    if given is None or is_unresolved(given):
        return []
    segments = given.strip("/").split("/")
    if given.startswith("/") or any(not KEY_SEGMENT.fullmatch(s) for s in segments):
        return [Violation("output_prefix", given, "must be key segments of letters, digits and -!_*'(). separated by '/', not starting with '/'")]
    if has_iam_wildcard(given):
        return [Violation("output_prefix", given, "the job's role may write under this prefix: * would be an IAM wildcard, letting it write under every match")]
    return []
