"""Properties of deployments and throughputs, and the create-then-poll steps they and imports share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bedrock_custom_resource import index

from .conftest import SERVICE_TOKEN, CloudFormationEvents, is_complete_input


def deployment_properties(model_arn: str, **overrides: Any) -> dict[str, Any]:
    """A Custom::BedrockCustomModelDeployment of the model, as CloudFormation delivers it."""
    properties: dict[str, Any] = {
        "ServiceToken": SERVICE_TOKEN,
        "modelArn": model_arn,
        "description": "support bot",
        "tags": [{"key": "team", "value": "ml"}],
    }
    return properties | overrides


def throughput_properties(model_arn: str, **overrides: Any) -> dict[str, Any]:
    """A Custom::BedrockProvisionedModelThroughput of the model, without commitment, as CloudFormation delivers it."""
    properties: dict[str, Any] = {
        "ServiceToken": SERVICE_TOKEN,
        "modelId": model_arn,
        "modelUnits": "1",  # CloudFormation sends numbers as strings
        "tags": [{"key": "team", "value": "ml"}],
    }
    return properties | overrides


def create(
    events: CloudFormationEvents, properties: dict[str, Any], logical_id: str = "Model"
) -> tuple[dict[str, Any], str]:
    """onEvent for a Create: (the event, the physical id)."""
    event = events.create(properties, logical_id)
    return event, index.on_event(event)["PhysicalResourceId"]


def poll(event: dict[str, Any], physical_id: str) -> dict[str, Any]:
    """One isComplete call, with the input the Provider framework gives it."""
    return index.is_complete(is_complete_input(event, {"PhysicalResourceId": physical_id}))


def create_until(
    status: str,
    set_status: Callable[[str, str], None],
    events: CloudFormationEvents,
    properties: dict[str, Any],
    logical_id: str = "Model",
) -> tuple[dict[str, Any], str]:
    """A whole Create: onEvent, the stand-in's set_status moves the resource to status, isComplete is complete.
    (the event, the physical id)."""
    event, physical_id = create(events, properties, logical_id)
    set_status(physical_id, status)
    assert poll(event, physical_id)["IsComplete"] is True
    return event, physical_id
