"""Telling CDK tokens from literal values without a round trip to the jsii kernel.

cdk.Token.is_unresolved costs one call into Node per value; validating a model's properties checks
dozens of values, which made synth several times slower. Strings and lists carry their tokens as
markers; a jsii object is a token (IResolvable), and any other non-JSON value (bytes, say) a literal the contract
refuses; only numbers need the kernel.
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar, cast

import aws_cdk as cdk
from bedrock_custom_resource import contract

from constructs import IConstruct

from ._requests import STRING_TOKEN_MARKERS

# A token within a string, as a group: re.split keeps the tokens between the literal parts.
STRING_TOKEN = re.compile(r"(\$\{Token\[[^\]]*\]\})")
_LITERAL_TYPES = (bool, int, dict, list, tuple, type(None))
# A Parameter Store dynamic reference, which CloudFormation resolves before it sends a custom resource its properties:
# known only at deploy. Secure ones (ssm-secure, secretsmanager) "are not currently supported in custom resources"
# (the CloudFormation user guide's dynamic references page): they arrive as written, and are checked as such.
DYNAMIC_REFERENCE = "{{resolve:ssm:"


def is_unresolved(value: Any) -> bool:
    if isinstance(value, str):
        return DYNAMIC_REFERENCE in value or any(marker in value for marker in STRING_TOKEN_MARKERS)
    if isinstance(value, float):
        # NaN and the infinities are never tokens, and JSON cannot carry them to the kernel (it would crash).
        return math.isfinite(value) and bool(cdk.Token.is_unresolved(value))
    return not isinstance(value, _LITERAL_TYPES) and is_jsii_object(value)


def is_jsii_object(value: Any) -> bool:
    """Whether value lives in the jsii kernel (an IResolvable, say) or implements one of its interfaces: bytes or a
    plain object are neither, and are literals that no template can hold."""
    kind = type(value)
    return hasattr(value, "__jsii_ref__") or hasattr(kind, "__jsii_type__") or hasattr(kind, "__jsii_ifaces__")


def with_names_resolved(scope: IConstruct, values: Mapping[Any, Any], prop: str) -> dict[Any, Any]:
    """values with each name that is a token resolved. The CDK takes a map key that resolves to a string (a Lazy
    string) and refuses any other at synth (a CfnParameter's Ref) with an error that names neither prop nor key."""
    resolved = {}
    for name, value in values.items():
        if is_unresolved(name):
            written = cdk.Stack.of(scope).resolve(name)
            if not isinstance(written, str):
                raise ValueError(
                    f"{prop}: the name {name!r} resolves to {written!r}, not to a string: write the name out, or "
                    "give a Lazy string (its value may be any token)"
                )
            name = written
        resolved[name] = value
    return resolved


def refuse_what_json_cannot_hold(value: Any, path: str = "", depth: int = 0) -> None:
    """Raise, naming its path, for a value that JSON (and so the jsii kernel, and a template) cannot hold: NaN or an
    infinity, which would crash the kernel, or a Python object that is not a token (bytes, or a tuple, which the
    kernel cannot pass either); or one nested deeper than the contract takes, which the kernel would resolve into a
    RecursionError or a "circular reference"."""
    if depth > contract.MAX_NESTING:
        raise ValueError(contract.nested_too_deep(path))
    if isinstance(value, dict):
        for key, item in value.items():
            refuse_what_json_cannot_hold(item, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            refuse_what_json_cannot_hold(item, f"{path}[{index}]", depth + 1)
    elif (isinstance(value, float) and not math.isfinite(value)) or not (
        (isinstance(value, (str, float, *_LITERAL_TYPES)) and not isinstance(value, tuple)) or is_jsii_object(value)
    ):
        raise ValueError(
            f"{path}: {value!r} is not a value a template can hold (text, a finite number, a boolean, a list or a "
            "mapping)"
        )


_REMEMBERED: weakref.WeakKeyDictionary[Any, dict[Hashable, Any]] = weakref.WeakKeyDictionary()
T = TypeVar("T")


def remembered(owner: Any, key: Hashable, compute: Callable[[], T]) -> T:
    """compute(), called once per owner and key: for what is read through the jsii kernel (a round trip each, which
    every model of a stack would pay) and never changes."""
    cached = _REMEMBERED.setdefault(owner, {})
    if key not in cached:
        cached[key] = compute()
    return cast(T, cached[key])


def attribute(owner: Any, name: str) -> Any:
    """owner.name, read once per owner: a stack's models share buckets and roles, whose attributes are tokens."""
    return remembered(owner, name, lambda: getattr(owner, name))


_STACKS: weakref.WeakKeyDictionary[IConstruct, cdk.Stack] = weakref.WeakKeyDictionary()


def stack_of(construct: IConstruct) -> cdk.Stack:
    """construct's stack, looked up through the jsii kernel once per construct (a construct never moves), and not at
    all for a stack or a construct whose scope was one (made_in)."""
    if isinstance(construct, cdk.Stack):
        return construct
    stack = _STACKS.get(construct)
    if stack is None:
        stack = _STACKS[construct] = cdk.Stack.of(construct)
    return stack


def made_in(construct: IConstruct, scope: IConstruct) -> None:
    """Remember that construct was made in scope: when scope is a stack, it is construct's (stack_of)."""
    if isinstance(scope, cdk.Stack):
        _STACKS[construct] = scope
