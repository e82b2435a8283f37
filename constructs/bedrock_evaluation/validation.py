"""One validation of a CreateEvaluationJob request, whoever wrote it: botocore's shape (types,
required members, unions, lengths, patterns, ranges), then the rules table, then the records of
the datasets shipped with the app. Returns what is wrong and what deserves a warning; the
construct raises once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import contract, rules, service_model
from .errors import Violation
from .records import RecordRules, record_violations
from .request_view import KNOWLEDGE_BASE_KINDS, JobKind, RequestView

_TASK_TYPE_BY_RULES = KNOWLEDGE_BASE_KINDS | {JobKind.JUDGE}
# Requests usually leave jobName to the handler (prefix + digest): checked with a stand-in.
_STAND_IN_NAME = "placeholder-name"


@dataclass(frozen=True)
class Findings:
    errors: list[Violation]
    warnings: list[Violation]


def validate(request: Mapping[str, Any], local_datasets: Mapping[int, Path]) -> Findings:
    """local_datasets: the file each task reads, by task index, for datasets shipped with the app."""
    unreadable = service_model.structure_violations(request)
    if unreadable:
        return Findings(unreadable, [])  # nothing else may walk it, nor hand it to jsii
    errors: list[Violation] = []
    if contract.CLIENT_REQUEST_TOKEN in request:
        errors.append(Violation(contract.CLIENT_REQUEST_TOKEN, request[contract.CLIENT_REQUEST_TOKEN], contract.CLIENT_REQUEST_TOKEN_RULE))
    errors += service_model.parameter_violations({"jobName": _STAND_IN_NAME, **request})
    shape_errors, shape_warnings = service_model.constraint_violations(request)
    errors += shape_errors
    view = RequestView(request)
    errors += rules.violations(view, rules.Severity.ERROR)
    if not errors:
        # Records are read only for a request that is otherwise right: their rules come from it.
        tasks = list(view.tasks())
        for index, path in sorted(local_datasets.items()):
            errors += record_violations(f"{tasks[index].path}.dataset", path, RecordRules.of(view, tasks[index].value))
    warnings = rules.violations(view, rules.Severity.WARNING)
    # Knowledge-base jobs ignore taskType and judge jobs take "General", which botocore does not
    # list: the rules table says what those kinds take.
    warnings += [w for w in shape_warnings if not (view.kind in _TASK_TYPE_BY_RULES and w.field.endswith(".taskType"))]
    return Findings(errors, warnings)
