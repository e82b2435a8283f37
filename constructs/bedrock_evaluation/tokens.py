"""Whether a value holds an unresolved CDK token, answered in Python for plain values.

`Token.is_unresolved` asks the jsii runtime (Node) every time, a round trip per value; validating
a request asks it of every string and number in it. aws-cdk-lib's own answer for plain values
(core/lib/private/encoding.js, `unresolved`) depends only on how tokens are encoded: a string
holds `${Token[...]}`, a one-element list `#{Token[...]}`, a number is a double whose high bits
are the token marker. This module gives that same answer without the round trip, and asks Node
only about objects, which may be resolvable. A test compares both answers on every kind of value.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping

from aws_cdk import Token

_KEY = r"[a-zA-Z0-9:._-]+"
_STRING_TOKEN = re.compile(rf"\$\{{Token\[{_KEY}\]\}}")
_LIST_TOKEN = re.compile(rf"#\{{Token\[{_KEY}\]\}}")
_ANY_TOKEN_MARKER = "Token["
_DOUBLE_TOKEN_MARKER_BITS = 0xFBFF0000


def is_unresolved(value: object) -> bool:
    """The answer `Token.is_unresolved(value)` gives, without asking Node for plain values."""
    if value is None or isinstance(value, bool):
        return False
    if isinstance(value, str):
        return _ANY_TOKEN_MARKER in value and _STRING_TOKEN.search(value) is not None
    if isinstance(value, int | float):
        return _is_token_number(value)
    if isinstance(value, list | tuple):
        return len(value) == 1 and isinstance(value[0], str) and _LIST_TOKEN.search(value[0]) is not None
    if isinstance(value, Mapping):
        return False  # a plain mapping has no resolve(): it is no resolvable object
    return bool(Token.is_unresolved(value))


def _is_token_number(value: float) -> bool:
    try:
        high = int(struct.unpack("<Q", struct.pack("<d", float(value)))[0]) >> 32
    except OverflowError:
        return False  # an int beyond a double's range is no encoded token
    return (high & 0xFFFF0000) == _DOUBLE_TOKEN_MARKER_BITS
