"""Bedrock and KMS use what is in the stack's own Region: an ARN of another Region is refused at synth, not by
Bedrock at deploy."""

from __future__ import annotations

import aws_cdk as cdk

from constructs import Construct

from ._tokens import is_unresolved


def region_of(arn: str) -> str:
    """The Region an ARN writes out ("" for a token, a model id, an ARN of no Region or of a Region that is a token;
    its account may be one)."""
    if not arn.startswith("arn:") or arn.count(":") < 5:
        return ""
    region = arn.split(":")[3]
    return "" if is_unresolved(region) else region


def another_region(scope: Construct, arn: str, source: object = None) -> str | None:
    """The Region of arn when it is not the Region of scope's stack (None: the same, or unknown at synth). source: what
    gave arn; a construct's ARN that is a token (a model of another stack) is of its stack's Region, when known."""
    region = region_of(arn)
    if not region and isinstance(source, Construct) and is_unresolved(arn):
        region = cdk.Stack.of(source).region
        region = "" if is_unresolved(region) else region
    if not region:  # a model id: no jsii round trip to read the stack's Region
        return None
    stack_region = cdk.Stack.of(scope).region
    return None if is_unresolved(stack_region) or region == stack_region else region


def another_region_problem(scope: Construct, arn: str, what: str, remedy: str, source: object = None) -> str | None:
    """What is wrong with arn if it is of another Region than scope's stack's: what it is ("a model"), what to do."""
    region = another_region(scope, arn, source)
    if region is None:
        return None
    named = repr(source.node.path if isinstance(source, Construct) and is_unresolved(arn) else arn)
    return f"{named} is {what} of {region}, and this stack deploys to {cdk.Stack.of(scope).region}: {remedy}"


def refuse_another_region(
    scope: Construct, parameter: str, arn: str, what: str, remedy: str, source: object = None
) -> None:
    """Refuse arn (given by source), of another Region than scope's stack's, naming parameter."""
    problem = another_region_problem(scope, arn, what, remedy, source)
    if problem is not None:
        raise ValueError(f"{parameter}: {problem}")
