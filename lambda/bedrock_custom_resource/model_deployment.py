"""Custom::BedrockCustomModelDeployment: on-demand inference for a custom model.

PhysicalResourceId is the deployment ARN. Pointing it at another model is done in place with
UpdateCustomModelDeployment, and tags with TagResource; any other change replaces it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from . import contract, lifecycle
from .aws import bedrock_client
from .cr_types import CustomResourceEvent, DeploymentAttributes, IsCompleteResponse, OnEventResponse
from .responses import checked_data

RESOURCE_TYPE = contract.MODEL_DEPLOYMENT
DEPLOYMENT_ARN = re.compile(r"arn:aws[a-z-]*:bedrock:[a-z0-9-]+:[0-9]{12}:custom-model-deployment/\S+")

logger = logging.getLogger(__name__)


class DeploymentFailed(RuntimeError):
    pass


def on_event(event: CustomResourceEvent) -> OnEventResponse:
    return lifecycle.on_event(event, create=_create, update=_update, delete=_advance_delete)


def is_complete(event: CustomResourceEvent) -> IsCompleteResponse:
    deployment_arn = event["PhysicalResourceId"]
    if event["RequestType"] == "Delete":
        return {"IsComplete": _advance_delete(deployment_arn)}
    deployment = bedrock_client().get_custom_model_deployment(customModelDeploymentIdentifier=deployment_arn)
    name, status = deployment["modelDeploymentName"], deployment["status"]
    update = deployment.get("updateDetails") or {}
    wanted_model = event["ResourceProperties"]["modelArn"]
    if status == "Failed":
        if event["RequestType"] != "Update" or not lifecycle.MAKES_NOTHING.get()():
            raise DeploymentFailed(f"Custom model deployment {name} failed: {_reason(deployment)}")
        # As a throughput's: a rollback that failed on it would be stuck (UPDATE_ROLLBACK_FAILED) for nothing.
        logger.warning(
            "Custom model deployment %s failed (%s); the rollback leaves it as it is", name, _reason(deployment)
        )
    elif status != "Active" or deployment["modelArn"] != wanted_model or update.get("updateStatus") == "Updating":
        # An earlier failed update may still be reported; only a failure to reach the wanted model counts.
        if update.get("updateStatus") == "UpdateFailed" and update.get("modelArn") == wanted_model:
            reason = _reason(deployment)
            raise DeploymentFailed(f"Pointing custom model deployment {name} at {wanted_model} failed: {reason}")
        logger.info("Custom model deployment %s is %s (update: %s)", name, status, update.get("updateStatus", "none"))
        return {"IsComplete": False}
    data: DeploymentAttributes = {
        "customModelDeploymentArn": deployment["customModelDeploymentArn"],
        "modelDeploymentName": name,
        "modelArn": deployment["modelArn"],
        "status": status,
    }
    return {"IsComplete": True, "Data": checked_data(event, deployment_arn, data)}


def _unusable(_client: Any, deployment: Mapping[str, Any]) -> str | None:
    return "failed" if deployment["status"] == "Failed" else None


def _point_at_model(client: Any, deployment: Mapping[str, Any], desired: lifecycle.Desired) -> None:
    """Compared with what is deployed, or being deployed, not the old properties: a rollback after a failed update
    finds it unchanged."""
    wanted = desired.request["modelArn"]
    update = deployment.get("updateDetails") or {}
    updating = update.get("updateStatus") == "Updating"
    target = update["modelArn"] if updating else deployment["modelArn"]
    if target == wanted:
        return
    if deployment["status"] == "Failed" and lifecycle.MAKES_NOTHING.get()():
        # Bedrock updates an Active deployment only: a write would fail the rollback for good (a throughput's too).
        logger.warning(
            "Custom model deployment %s failed; the rollback leaves it as it is", deployment["modelDeploymentName"]
        )
        return
    creating = deployment["status"] == "Creating"  # one a stack made again takes: Bedrock updates an Active one only
    if updating or creating:
        being = "created" if creating else "changed"
        name = deployment["modelDeploymentName"]
        raise lifecycle.ChangeInProgress(KIND.noun, name, target, f"serving {wanted}", being)
    arn = deployment["customModelDeploymentArn"]

    def pointed() -> bool:
        live = KIND.get(client, arn)
        return live is not None and (live.get("updateDetails") or {}).get("modelArn", live["modelArn"]) == wanted

    lifecycle.update_once(
        lambda: client.update_custom_model_deployment(customModelDeploymentIdentifier=arn, modelArn=wanted), pointed
    )
    logger.info("Pointing custom model deployment %s at %s", arn, wanted)


_get = lifecycle.getter("get_custom_model_deployment", "customModelDeploymentIdentifier")
KIND = lifecycle.ResourceKind(
    resource_type=RESOURCE_TYPE,
    noun="custom model deployment",
    create_operation="create_custom_model_deployment",
    arn_member="customModelDeploymentArn",
    arn_pattern=DEPLOYMENT_ARN,
    name_member="modelDeploymentName",
    get=_get,
    unusable=_unusable,
    reported={"description": "description"},
    update_in_place=_point_at_model,
    created_member="createdAt",
    # A usable one under a later name of its sequence (the first freed by a failed one deleted by hand) is taken.
    candidates=lifecycle.listed_by_name(
        "list_custom_model_deployments",
        "modelDeploymentSummaries",
        "modelDeploymentName",
        _get,
        arn_member="customModelDeploymentArn",
        listed_name_member="customModelDeploymentName",
    ),
)


def _create(event: CustomResourceEvent) -> OnEventResponse:
    return lifecycle.create(KIND, bedrock_client(), event)


def _update(event: CustomResourceEvent) -> OnEventResponse:
    return lifecycle.update(KIND, bedrock_client(), event)


def _advance_delete(deployment_arn: str) -> bool:
    return lifecycle.retried_when_busy(delete_now, deployment_arn)


def delete_now(deployment_arn: str) -> bool:
    """Delete the deployment: True when nothing is left to wait for (one already gone, or never created), False once
    Bedrock is deleting it. What Bedrock refuses is raised, ConflictException too (one being created or updated)."""
    if not DEPLOYMENT_ARN.fullmatch(deployment_arn):
        return True
    client = bedrock_client()
    if KIND.get(client, deployment_arn) is None:
        return True
    try:
        client.delete_custom_model_deployment(customModelDeploymentIdentifier=deployment_arn)
    except client.exceptions.ResourceNotFoundException:
        return True
    logger.info("Deleting custom model deployment %s", deployment_arn)
    return False


def _reason(deployment: Mapping[str, Any]) -> str:
    return str(deployment.get("failureMessage") or "Bedrock gave no failure message")
