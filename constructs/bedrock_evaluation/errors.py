"""The one error every synth-time check raises, and the violations it carries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

_MAX_SHOWN = 120
_MAX_LISTED = 5


class _NotGiven:
    def __repr__(self) -> str:
        return "not given"


NOT_GIVEN: object = _NotGiven()
"""The value of a violation about a field that is missing."""


@dataclass(frozen=True)
class Summary:
    """A value described rather than shown, such as "6 items" for a long list."""

    text: str

    def __repr__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Violation:
    """One broken rule: the field (a prop, or a path in the request), the value, the rule."""

    field: str
    value: object
    rule: str
    key: str = ""
    """The rule's key in the rules table, when it comes from there."""

    def __str__(self) -> str:
        return f"{self.field} is {shown(self.value)}: {self.rule}"


def shown(value: object) -> str:
    """A value as a message shows it: its repr, shortened."""
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


class EvaluationJobConfigError(ValueError):
    """A construct is configured in a way the service would reject, or that cannot work.

    Raised once, at synth, with where it happened (the construct path, or the factory called),
    and every violation found: its field, the value received and the rule broken.
    """

    def __init__(self, where: str, violations: Sequence[Violation]) -> None:
        if not violations:
            raise ValueError("EvaluationJobConfigError needs at least one violation")
        self.where = where
        self.violations = tuple(violations)
        first = self.violations[0]
        self.field, self.value, self.rule = first.field, first.value, first.rule
        shown_here = [str(v) for v in self.violations[:_MAX_LISTED]]
        if len(self.violations) > _MAX_LISTED:
            shown_here.append(f"and {len(self.violations) - _MAX_LISTED} more")
        super().__init__(f"{where}: " + "; ".join(shown_here))

    @classmethod
    def of(cls, where: str, field: str, value: object, rule: str) -> EvaluationJobConfigError:
        return cls(where, [Violation(field, value, rule)])
