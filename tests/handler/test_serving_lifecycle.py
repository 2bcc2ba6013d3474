"""Lifecycle rules that imports, deployments and provisioned throughput share, for each of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from bedrock_custom_resource import index
from cdk_bedrock_customization.emulation.bedrock_stand_in import BedrockStandIn

from .conftest import CREATE_FAILED, SERVICE_TOKEN, CloudFormationEvents
from .serving_helpers import active_model, create, poll
from .test_imported_model import import_properties


@dataclass(frozen=True)
class Kind:
    resource_type: str
    properties: Callable[[BedrockStandIn], dict[str, Any]]
    existing: Callable[[BedrockStandIn], list[dict[str, Any]]]
    make_ready: Callable[[BedrockStandIn, str], None]


KINDS = [
    Kind(
        "Custom::BedrockCustomModel",
        lambda bedrock: import_properties(),
        lambda bedrock: bedrock.imported_models(),
        lambda bedrock, arn: bedrock.set_model_status(arn, "Active"),
    ),
    Kind(
        "Custom::BedrockCustomModelDeployment",
        lambda bedrock: {"ServiceToken": SERVICE_TOKEN, "modelArn": active_model(bedrock, "served")},
        lambda bedrock: bedrock.deployments(),
        lambda bedrock, arn: bedrock.set_deployment_status(arn, "Active"),
    ),
    Kind(
        "Custom::BedrockProvisionedModelThroughput",
        lambda bedrock: {"ServiceToken": SERVICE_TOKEN, "modelId": active_model(bedrock, "served"), "modelUnits": "1"},
        lambda bedrock: bedrock.throughputs(),
        lambda bedrock, arn: bedrock.set_throughput_status(arn, "InService"),
    ),
]


@pytest.fixture(params=KINDS, ids=lambda kind: kind.resource_type.removeprefix("Custom::Bedrock"))
def kind(request: pytest.FixtureRequest) -> Kind:
    return request.param  # type: ignore[no-any-return]


def test_a_retried_create_makes_one(bedrock, kind):
    event = CloudFormationEvents(resource_type=kind.resource_type).create(kind.properties(bedrock))
    assert index.on_event(event) == index.on_event(event)
    assert len(kind.existing(bedrock)) == 1


def test_delete_waits_until_gone_and_a_repeat_succeeds(bedrock, kind):
    events = CloudFormationEvents(resource_type=kind.resource_type)
    event, physical_id = create(events, kind.properties(bedrock))
    kind.make_ready(bedrock, physical_id)
    assert poll(event, physical_id)["IsComplete"] is True
    for _ in range(2):
        delete = events.delete(physical_id, event["ResourceProperties"])
        assert index.on_event(delete) == {"PhysicalResourceId": physical_id}
        assert poll(delete, physical_id) == {"IsComplete": True}
    assert kind.existing(bedrock) == []


def test_delete_after_a_failed_create_touches_nothing(bedrock, kind):
    properties = kind.properties(bedrock)
    calls_before = len(bedrock.calls)
    delete = CloudFormationEvents(resource_type=kind.resource_type).delete(CREATE_FAILED, properties)
    assert index.on_event(delete) == {"PhysicalResourceId": CREATE_FAILED}
    assert poll(delete, CREATE_FAILED) == {"IsComplete": True}
    assert len(bedrock.calls) == calls_before
