"""aws-cdk-lib modules only some jobs need, imported when first used.

Importing ``aws_cdk.aws_sagemaker`` and ``aws_cdk.aws_cognito`` (human evaluation's work team) and
``aws_cdk.aws_bedrock`` (knowledge-base evaluations) costs every synth about 70 ms, including those
of apps that never use them. A module of ours names such a module by a ``DeferredModule``, which imports it
when one of its attributes is first read (a class used, an annotation resolved by the boundary's
type checks). Nothing is put in ``sys.modules``: the user's imports, and the jsii runtime's own
import of a module when Node hands Python an object of one of its types, work as without us.
"""

from __future__ import annotations

import importlib
from typing import Any


class DeferredModule:
    """Stands for the module ``name``; reading an attribute imports the module (once) and reads it."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        # Dunder lookups (copy, pickle, doctest, inspect) and a copy without its name are answered
        # here, never by importing the module.
        if attribute.startswith("__") or attribute == "_name":
            raise AttributeError(attribute)
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self) -> str:
        return f"DeferredModule({self._name!r})"
