"""What must be unique among the evaluation jobs of one app: a fixed job name (per account and
region), a default name prefix, and an output prefix on a bucket. Each job registers its own when
it is made; one validation on the app's root compares them once, at synth."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import jsii
from aws_cdk import Stack
from constructs import IConstruct, IValidation

from . import naming
from .compliance import render
from .scopes import path_of, stack_of
from .tokens import is_unresolved


@dataclass(frozen=True)
class _Output:
    bucket: str
    """The bucket as the s3Uri holds it: a name, or the token of a bucket of the app."""
    prefix: str
    """The key prefix, ending in "/"."""
    uri: str
    job: IConstruct


_BY_ROOT: weakref.WeakKeyDictionary[IConstruct, AppJobs] = weakref.WeakKeyDictionary()
_ROOTS: weakref.WeakKeyDictionary[Stack, IConstruct] = weakref.WeakKeyDictionary()


@jsii.implements(IValidation)
class AppJobs:
    """The jobs of one app, as far as their names and output locations go."""

    @classmethod
    def of(cls, scope: IConstruct) -> AppJobs:
        stack = stack_of(scope)
        root = _ROOTS.get(stack)
        if root is None:
            root = _ROOTS[stack] = stack.node.root
        found = _BY_ROOT.get(root)
        if found is None:
            found = _BY_ROOT[root] = cls()
            root.node.add_validation(found)
        return found

    def __init__(self) -> None:
        self._prefixes: set[str] = set()
        self._names: dict[str, list[IConstruct]] = {}
        self._outputs: list[_Output] = []

    def name_prefix(self, job: IConstruct, given: str | None) -> str:
        """The given prefix, or the default one made unique among the app's jobs."""
        prefix = given or naming.unique_name_prefix(path_of(job), self._prefixes)
        self._prefixes.add(prefix)
        return prefix

    def register(self, job: IConstruct, request: dict[str, Any]) -> None:
        """A job's fixed name and output location, as its request holds them."""
        name = request.get("jobName")
        if isinstance(name, str) and not is_unresolved(name):
            self._names.setdefault(name, []).append(job)
        uri = (request.get("outputDataConfig") or {}).get("s3Uri")
        if isinstance(uri, str) and uri.startswith("s3://"):
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            self._outputs.append(_Output(bucket, key.rstrip("/") + "/" if key else "", uri, job))

    def validate(self) -> list[str]:
        return self._same_names() + self._overlapping_outputs()

    def _same_names(self) -> list[str]:
        problems = []
        for name, jobs in self._names.items():
            for index, job in enumerate(jobs):
                earlier = next((other for other in jobs[:index] if _may_share_an_account_and_region(job, other)), None)
                if earlier is not None:
                    problems.append(
                        f"{earlier.node.path} and {job.node.path} both fix the job name {name!r}: a name is unique in an "
                        "account and region, so one Create would fail (or find the other's job); give each its own job_name, or none"
                    )
        return problems

    def _overlapping_outputs(self) -> list[str]:
        """Sorted by bucket and prefix, a prefix that holds another comes before it, and before
        everything between them: one pass with a stack of the enclosing prefixes finds each."""
        problems: list[str] = []
        enclosing: list[_Output] = []
        for output in sorted(self._outputs, key=lambda o: (o.bucket, o.prefix)):
            while enclosing and not (enclosing[-1].bucket == output.bucket and output.prefix.startswith(enclosing[-1].prefix)):
                enclosing.pop()
            if enclosing:
                holder = enclosing[-1]
                problems.append(
                    f"{holder.job.node.path} writes its results under {_shown(holder)} and {output.job.node.path} under "
                    f"{_shown(output)}: one holds the other, so each job's role may overwrite the other's results; give "
                    "each job an output_prefix of its own"
                )
            enclosing.append(output)
        return problems


def _may_share_an_account_and_region(one: IConstruct, other: IConstruct) -> bool:
    """Unless both stacks name their account and region and one differs, they may be the same."""
    first, second = Stack.of(one), Stack.of(other)
    known = all(not is_unresolved(v) for v in (first.account, first.region, second.account, second.region))
    return not known or (first.account, first.region) == (second.account, second.region)


def _shown(output: _Output) -> str:
    return render(Stack.of(output.job).resolve(output.uri))
