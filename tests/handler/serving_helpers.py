"""Models for deployment and throughput tests to serve, and the create-then-poll steps they share."""

from __future__ import annotations

from typing import Any

from bedrock_custom_resource import index
from cdk_bedrock_customization.emulation.bedrock_stand_in import BedrockStandIn

from .conftest import ROLE_ARN, CloudFormationEvents, is_complete_input


def active_model(bedrock: BedrockStandIn, name: str) -> str:
    """An imported, Active custom model's ARN."""
    model_arn: str = bedrock.client().create_custom_model(
        modelName=name,
        modelSourceConfig={"s3DataSource": {"s3Uri": f"s3://customer-escrow-bucket/{name}/"}},
        roleArn=ROLE_ARN,
    )["modelArn"]
    bedrock.set_model_status(model_arn, "Active")
    return model_arn


def create(events: CloudFormationEvents, properties: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """onEvent for a Create: (the event, the physical id)."""
    event = events.create(properties)
    return event, index.on_event(event)["PhysicalResourceId"]


def poll(event: dict[str, Any], physical_id: str) -> dict[str, Any]:
    """One isComplete call, with the input the Provider framework gives it."""
    return index.is_complete(is_complete_input(event, {"PhysicalResourceId": physical_id}))
