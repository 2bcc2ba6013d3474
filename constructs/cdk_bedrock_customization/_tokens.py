"""Telling CDK tokens from literal values without a round trip to the jsii kernel.

cdk.Token.is_unresolved costs one call into Node per value; validating a model's properties checks
dozens of values, which made synth several times slower. Strings and lists carry their tokens as
markers; any other non-JSON value is a token object (IResolvable); only numbers need the kernel.
"""

from __future__ import annotations

import math
import re
import weakref
from typing import Any

import aws_cdk as cdk

from ._requests import STRING_TOKEN_MARKERS

# A token within a string, as a group: re.split keeps the tokens between the literal parts.
STRING_TOKEN = re.compile(r"(\$\{Token\[[^\]]*\]\})")
_LITERAL_TYPES = (bool, int, dict, list, tuple, type(None))


def is_unresolved(value: Any) -> bool:
    if isinstance(value, str):
        return any(marker in value for marker in STRING_TOKEN_MARKERS)
    if isinstance(value, float):
        # NaN and the infinities are never tokens, and JSON cannot carry them to the kernel (it would crash).
        return math.isfinite(value) and bool(cdk.Token.is_unresolved(value))
    return not isinstance(value, _LITERAL_TYPES)


_ATTRIBUTES: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def attribute(owner: Any, name: str) -> Any:
    """owner.name, read through the jsii kernel once per owner: a stack's models share buckets and roles,
    and each read is a round trip (their attributes are tokens that never change)."""
    cached = _ATTRIBUTES.setdefault(owner, {})
    if name not in cached:
        cached[name] = getattr(owner, name)
    return cached[name]
