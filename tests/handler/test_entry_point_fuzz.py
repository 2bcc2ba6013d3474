"""Whatever properties CloudFormation sends, the handler's entry point (index.on_event) refuses them before changing
anything, or goes through, or fails with an error of its own or Bedrock's: never with a Python error.

test_contract_robustness.py fuzzes contract.create_request alone; these send the same mutations through on_event,
for a Create and for an Update of a resource that exists, with scalars as objects or as CloudFormation's strings
(DESIGN.md, fact 3). What was changed is read from the Bedrock stand-in's record of calls: any operation of the
service model that is not a Get or a List.
"""

from __future__ import annotations

import linecache
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import hypothesis
import pytest
from bedrock_custom_resource import contract, index
from bedrock_custom_resource.responses import HandlerFailed
from botocore.exceptions import ClientError
from cdk_bedrock_customization.emulation.bedrock_stand_in import BedrockStandIn
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from moto import mock_aws

from .conftest import ACCOUNT, OPERATION_STARTED, REGION, ROLE_ARN, CloudFormationEvents, active_model
from .test_contract_robustness import CUSTOM_MODEL_ARN, MUTATED_DEPTH, VALID, mutated

COPY_SOURCE_REGION = "us-west-2"  # where VALID's copy copies from
EVALUATED_THROUGHPUT = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/abcdefgh1234"  # VALID's evaluation's
LIBRARY = Path(index.__file__).parent
# The resource types whose Create makes something (a job, a model, a deployment, a throughput); the others read.
MAKERS = sorted(resource_type for resource_type, declared in contract.CONTRACTS.items() if declared.generated_names)
# How deep a scalar of mutated() may be: the deepest path it changes, and the few levels of the value it puts there.
SCALARS_DEPTH = MUTATED_DEPTH + 10
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=30,
    # aws_environment only sets fake credentials and a Region, the same for every example: sharing it is safe.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def as_cloudformation_sends(value: Any, depth: int = 0) -> Any:
    """Every scalar as a string, as CloudFormation delivers it (DESIGN.md, fact 3): True is "true", 2 is "2". Not
    below SCALARS_DEPTH: the only values deeper are mutated()'s thousands of levels of lists or {"k": ...}."""
    if depth > SCALARS_DEPTH:
        return value
    if isinstance(value, dict):
        return {key: as_cloudformation_sends(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [as_cloudformation_sends(item, depth + 1) for item in value]
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        try:
            return str(value)
        except ValueError:  # over 4300 digits: Python will not write it, and CloudFormation never sends one
            return value
    return value


def replaced(value: Any, old: str, new: str, depth: int = 0) -> Any:
    """value with every string old in it replaced by new (a model ARN by one the stand-in has)."""
    if depth > SCALARS_DEPTH:
        return value
    if isinstance(value, dict):
        return {key: replaced(item, old, new, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [replaced(item, old, new, depth + 1) for item in value]
    return new if value == old else value


@contextmanager
def fresh_bedrock() -> Iterator[BedrockStandIn]:
    """A Bedrock of its own for each example (a fixture, as conftest.py's bedrock, is one per test, not per example)."""
    with mock_aws(), pytest.MonkeyPatch.context() as patch:
        bedrock = BedrockStandIn(patch, region=REGION, account_id=ACCOUNT)
        for handler in index.HANDLERS.values():
            patch.setattr(handler, "bedrock_client", bedrock.client)
        patch.setattr(index, "operation_started", lambda stack_id: OPERATION_STARTED)
        yield bedrock


def what_the_valid_properties_name(bedrock: BedrockStandIn, resource_type: str) -> dict[str, str]:
    """The models that VALID's properties of resource_type name, made in the stand-in: for each ARN named, the
    one made (an evaluation's throughput is a foundation model's identifier: no custom model ARN is evaluated)."""
    if resource_type == contract.MODEL_EVALUATION:
        boto3.client("s3", region_name=REGION).create_bucket(Bucket="results-bucket")  # where it writes its results
        return {EVALUATED_THROUGHPUT: "amazon.nova-micro-v1:0"}
    if resource_type != contract.MODEL_COPY:
        return {CUSTOM_MODEL_ARN: active_model(bedrock, "support-v1")}  # what a deployment or a throughput serves
    source = bedrock.client(region=COPY_SOURCE_REGION).create_custom_model(
        modelName="support-v1",
        modelSourceConfig={"s3DataSource": {"s3Uri": "s3://customer-escrow-bucket/support-v1/"}},
        roleArn=ROLE_ARN,
    )["modelArn"]
    bedrock.set_model_status(source, "Active")
    return {CUSTOM_MODEL_ARN.replace(REGION, COPY_SOURCE_REGION): source}


def changes(bedrock: BedrockStandIn, since: int = 0) -> list[str]:
    return [call.operation for call in bedrock.calls[since:] if not call.operation.startswith(("Get", "List"))]


def raised_by_the_library(error: BaseException) -> bool:
    """Whether error was raised by a raise statement of the handler's own code (a ValueError with a message of its
    making), not by Python inside it (int("x"), a missing key)."""
    if type(error).__module__.startswith("bedrock_custom_resource"):
        return True
    frame = error.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    if frame is None or not Path(frame.tb_frame.f_code.co_filename).is_relative_to(LIBRARY):
        return False
    return linecache.getline(frame.tb_frame.f_code.co_filename, frame.tb_lineno).lstrip().startswith("raise ")


def send(bedrock: BedrockStandIn, event: dict[str, Any]) -> None:
    """on_event: refused with InvalidProperties (as it is, or as the HandlerFailed that carries a message too long
    to send) and nothing changed; or any outcome but a Python error."""
    since = len(bedrock.calls)
    try:
        index.on_event(event)
        hypothesis.event("went through")  # shown by --hypothesis-show-statistics
    except Exception as error:
        cause = error.__cause__ if isinstance(error, HandlerFailed) else error
        note(f"{type(cause).__name__}: {str(cause)[:500]}")
        hypothesis.event(f"failed: {type(cause).__name__}")
        if isinstance(cause, contract.InvalidProperties):
            assert changes(bedrock, since) == [], f"refused after changing: {changes(bedrock, since)}"
        elif isinstance(cause, AssertionError) and str(cause).startswith("the stand-in built"):
            # A name the service model takes (the base model "1e999") that the stand-in cannot put in an ARN: the
            # emulation's limit, not the handler's.
            return
        elif not isinstance(cause, ClientError) and not raised_by_the_library(cause):
            raise


def drawn_properties(data: st.DataObject, resource_type: str) -> Any:
    """Mutated properties, as they are or as CloudFormation sends them."""
    properties = data.draw(mutated(resource_type), label="properties")
    if data.draw(st.booleans(), label="as CloudFormation sends them"):
        properties = as_cloudformation_sends(properties)
    return properties


@pytest.mark.parametrize("resource_type", sorted(contract.CONTRACTS))
@FUZZ
@given(data=st.data())
def test_a_create_is_refused_before_any_change_or_handled(aws_environment, resource_type, data):
    properties = drawn_properties(data, resource_type)
    event = CloudFormationEvents(resource_type=resource_type).create({})
    event["ResourceProperties"] = properties  # as it is: too deep for create()'s copy
    with fresh_bedrock() as bedrock:
        send(bedrock, event)


@pytest.mark.parametrize("resource_type", MAKERS)
@FUZZ
@given(data=st.data())
def test_an_update_is_refused_before_any_change_or_handled(aws_environment, resource_type, data):
    """The resource exists, made from valid properties; an Update to mutated ones."""
    properties = drawn_properties(data, resource_type)
    events = CloudFormationEvents(resource_type=resource_type)
    with fresh_bedrock() as bedrock:
        references = what_the_valid_properties_name(bedrock, resource_type)
        old = VALID[resource_type][0]()
        for named, made in references.items():
            old, properties = replaced(old, named, made), replaced(properties, named, made)
        physical_id = index.on_event(events.create(old))["PhysicalResourceId"]
        event = events.update(physical_id, {}, old)
        event["ResourceProperties"] = properties
        send(bedrock, event)
