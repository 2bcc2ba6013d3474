"""Acknowledged policy-validation findings (cdk-nag v3 reads CDK's own acknowledgements).

Written with aws-cdk-lib's Validations API, so the library itself does not depend on cdk-nag.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk

from constructs import IConstruct

PACK = "AwsSolutions"


def acknowledge(scope: IConstruct, rule: str, reason: str, findings: list[str] | None = None) -> None:
    """Acknowledge a rule (or only these findings of it) for scope and everything under it."""
    ids = [f"{PACK}::{PACK}-{rule}[{finding}]" for finding in findings] if findings else [f"{PACK}::{PACK}-{rule}"]
    for finding_id in ids:
        cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=finding_id, reason=reason))


def wildcard_resource(scope: IConstruct, arn: str) -> str:
    """The finding name cdk-nag gives a wildcard resource: intrinsics written as <Ref> and <Resource.Attr>."""
    return "Resource::" + _flatten(cdk.Stack.of(scope).resolve(arn))


def _flatten(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        delimiter, parts = value["Fn::Join"]
        return str(delimiter).join(_flatten(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    return str(value)
