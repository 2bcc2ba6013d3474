"""Bedrock and KMS use what is in the stack's own Region: an ARN of another Region is refused at synth, not by
Bedrock at deploy; so is an ARN of another partition, which shares nothing with the stack's."""

from __future__ import annotations

import functools
import re

from botocore.loaders import Loader

from constructs import Construct

from ._tokens import attribute, is_unresolved, stack_of


def region_of(arn: str) -> str:
    """The Region an ARN writes out ("" for a token, a model id, an ARN of no Region or of a Region that is a token;
    its account may be one)."""
    if not arn.startswith("arn:") or arn.count(":") < 5:
        return ""
    region = arn.split(":")[3]
    return "" if is_unresolved(region) else region


def stack_region(construct: Construct) -> str:
    """The Region of construct's stack (a token when the stack's environment does not give it), read once."""
    return str(attribute(stack_of(construct), "region"))


def another_region(scope: Construct, arn: str, source: object = None) -> str | None:
    """The Region of arn when it is not the Region of scope's stack (None: the same, or unknown at synth). source: what
    gave arn; a construct's ARN that is a token (a model of another stack) is of its stack's Region, when known."""
    region = region_of(arn)
    if not region and isinstance(source, Construct) and is_unresolved(arn):
        region = stack_region(source)
        region = "" if is_unresolved(region) else region
    if not region:  # a model id: no jsii round trip to read the stack's Region
        return None
    home = stack_region(scope)
    return None if is_unresolved(home) or region == home else region


@functools.cache
def partition_of(region: str) -> str | None:
    """The partition of a Region, by botocore's partitions data (None: a Region it does not know)."""
    for partition in Loader().load_data("partitions")["partitions"]:
        if region in partition["regions"] or re.match(partition["regionRegex"], region):
            return str(partition["id"])
    return None


def another_partition_problem(scope: Construct, arn: str, what: str, source: object = None) -> str | None:
    """What is wrong with arn if it is of another partition than scope's stack's Region (None: the same, or unknown).
    source: what gave arn; a construct's ARN that is a token is of its stack's Region's partition, when known."""
    partition = arn.split(":")[1] if arn.startswith("arn:") and arn.count(":") >= 5 else ""
    if is_unresolved(arn) and isinstance(source, Construct):
        source_region = stack_region(source)
        partition = "" if is_unresolved(source_region) else partition_of(source_region) or ""
    if not partition or is_unresolved(partition):
        return None
    home = stack_region(scope)
    expected = None if is_unresolved(home) else partition_of(home)
    if expected is None or partition == expected:
        return None
    named = repr(source.node.path if isinstance(source, Construct) and is_unresolved(arn) else arn)
    return (
        f"{named} is {what} of partition {partition}, and this stack deploys to {home}, of partition "
        f"{expected}, which shares nothing with it"
    )


def another_region_problem(scope: Construct, arn: str, what: str, remedy: str, source: object = None) -> str | None:
    """What is wrong with arn if it is of another partition or Region than scope's stack's: what it is ("a model"),
    what to do."""
    of_another_partition = another_partition_problem(scope, arn, what, source)
    if of_another_partition is not None:
        return of_another_partition
    region = another_region(scope, arn, source)
    if region is None:
        return None
    named = repr(source.node.path if isinstance(source, Construct) and is_unresolved(arn) else arn)
    return f"{named} is {what} of {region}, and this stack deploys to {stack_region(scope)}: {remedy}"


def refuse_another_region(
    scope: Construct, parameter: str, arn: str, what: str, remedy: str, source: object = None
) -> None:
    """Refuse arn (given by source), of another Region than scope's stack's, naming parameter."""
    problem = another_region_problem(scope, arn, what, remedy, source)
    if problem is not None:
        raise ValueError(f"{parameter}: {problem}")


def refuse_another_partition(scope: Construct, parameter: str, arn: str, what: str) -> None:
    """Refuse arn, of another partition than scope's stack's Region, naming parameter: IAM refuses a policy that names
    it (MalformedPolicyDocument), and Bedrock cannot reach it."""
    problem = another_partition_problem(scope, arn, what)
    if problem is not None:
        raise ValueError(f"{parameter}: {problem}")
