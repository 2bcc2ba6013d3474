"""Acknowledged policy-validation findings (cdk-nag v3 reads CDK's own acknowledgements).

Written with aws-cdk-lib's Validations API, so the library itself does not depend on cdk-nag.
"""

from __future__ import annotations

import json
import weakref
from typing import Any

import aws_cdk as cdk

from constructs import IConstruct

from ._tokens import STRING_TOKEN, stack_of

PACK = "AwsSolutions"


Finding = tuple[str, str, list[str] | None]


def acknowledge(scope: IConstruct, *findings: Finding) -> None:
    """Acknowledge (rule, reason, finding names or None for the whole rule) for scope and all under it. A finding
    name that aws-cdk-lib cannot take in an id (an S3 key's unpaired "(") acknowledges its whole rule there."""
    acknowledgments = [
        cdk.Acknowledgment(id=finding_id, reason=reason)
        for rule, reason, names in findings
        for finding_id in (
            [f"{PACK}::{PACK}-{rule}[{name}]" for name in names]
            if names and all(_brackets_pair_up(name) for name in names)
            else [f"{PACK}::{PACK}-{rule}"]
        )
    ]
    cdk.Validations.of(scope).acknowledge(*acknowledgments)


_CLOSING = {")": "(", "]": "[", "}": "{"}


def _brackets_pair_up(name: str) -> bool:
    """Whether every bracket of name pairs up, as aws-cdk-lib requires of an acknowledgement id (else synth fails:
    "Invalid validation rule ID ... Mismatched closing brace")."""
    opened: list[str] = []
    for character in name:
        if character in "([{":
            opened.append(character)
        elif character in _CLOSING and (not opened or opened.pop() != _CLOSING[character]):
            return False
    return not opened


def wildcard_resources(scope: IConstruct, arns: list[str]) -> list[str]:
    """The finding names cdk-nag gives wildcard resources: intrinsics written as <Ref> and <Resource.Attr>,
    others as compact JSON.

    Each token is resolved once per stack, in one call for those not seen yet: each call into the jsii kernel
    costs a round trip, and a stack's models share their buckets and pseudo parameters.
    """
    stack = stack_of(scope)
    flattened = _FLATTENED.setdefault(stack, {})
    unseen = sorted({token for arn in arns for token in STRING_TOKEN.findall(arn)} - flattened.keys())
    if unseen:
        flattened.update(zip(unseen, (_flatten(value) for value in stack.resolve(unseen)), strict=True))
    return [
        "Resource::"
        + "".join(flattened[part] if part in flattened else _flatten(part) for part in STRING_TOKEN.split(arn))
        for arn in arns
    ]


def resolved_wildcards(statements: list[dict[str, Any]]) -> list[str]:
    """The finding names cdk-nag gives the wildcard actions and resources of resolved policy statements."""
    names = []
    for statement in statements:
        actions = statement.get("Action", [])
        resources = statement.get("Resource", [])
        for action in actions if isinstance(actions, list) else [actions]:
            if "*" in action:
                names.append(f"Action::{action}")
        for resource in resources if isinstance(resources, list) else [resources]:
            flattened = _flatten(resource)
            if "*" in flattened:
                names.append(f"Resource::{flattened}")
    return sorted(set(names))


# A string token's marker (cdk.Token.as_string); the same token resolves alike anywhere in its stack.
_FLATTENED: weakref.WeakKeyDictionary[cdk.Stack, dict[str, str]] = weakref.WeakKeyDictionary()


def _flatten(value: Any) -> str:
    if isinstance(value, str):  # Fn::Sub's ${...} as <...>, in every string (an IAM literal ${*} too)
        return value.replace("${", "<").replace("}", ">")
    if isinstance(value, dict) and "Fn::Join" in value:
        delimiter, parts = value["Fn::Join"]
        return str(delimiter).join(_flatten(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    return json.dumps(value, separators=(",", ":"))  # other intrinsics, as cdk-nag writes them
