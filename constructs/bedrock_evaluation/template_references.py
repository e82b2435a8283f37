"""Which resources a resolved template value names: the logical ids in its Ref, Fn::GetAtt and
Fn::Sub. Standard library only: the tests' and the bench's template readers use it too."""

from __future__ import annotations

import re
from collections.abc import Mapping

# ${Name} or ${Name.Attribute} in an Fn::Sub string; ${!Literal} is not a reference.
_SUB_NAME = re.compile(r"\$\{([^!}][^}]*)\}")


def named_logical_ids(value: object, *, every_form: bool = True) -> set[str]:
    """The logical ids a resolved value names, pseudo parameters (``AWS::...``) aside.

    every_form: also those in an Fn::Sub string and in the short form of Fn::GetAtt
    (``"Logical.Attribute"``), which only a template written by hand holds: CDK resolves a token
    to a Ref or to Fn::GetAtt's list form."""
    names: set[str] = set()
    pending: list[object] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, Mapping):
            ref = item.get("Ref")
            if isinstance(ref, str) and not ref.startswith("AWS::"):
                names.add(ref)
            attribute = item.get("Fn::GetAtt")
            if isinstance(attribute, list) and attribute and isinstance(attribute[0], str):
                names.add(attribute[0])
            elif every_form and isinstance(attribute, str):
                names.add(attribute.split(".")[0])
            sub = item.get("Fn::Sub")
            text = sub[0] if isinstance(sub, list) and sub else sub
            if every_form and isinstance(text, str):
                names |= {name.split(".")[0] for name in _SUB_NAME.findall(text) if not name.startswith("AWS::")}
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return names
