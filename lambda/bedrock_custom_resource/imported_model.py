"""Custom::BedrockCustomModel: import a SageMaker AI-trained model with CreateCustomModel.

PhysicalResourceId is the model ARN. Attributes are named as GetCustomModel names them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from . import contract, lifecycle
from .aws import bedrock_client
from .cr_types import CustomResourceEvent, ImportedModelAttributes, IsCompleteResponse, OnEventResponse
from .responses import checked_data

RESOURCE_TYPE = contract.CUSTOM_MODEL
# Loose on purpose, like the job ARN check: anything that may be a model must be deleted.
MODEL_ARN = re.compile(r"arn:aws[a-z-]*:bedrock:[a-z0-9-]+:[0-9]{12}:custom-model/\S+")
IMPORT_QUOTA = lifecycle.Quota("import custom model", "custom models")

logger = logging.getLogger(__name__)


class ImportFailed(RuntimeError):
    pass


def on_event(event: CustomResourceEvent) -> OnEventResponse:
    return lifecycle.on_event(event, create=_create, update=_update, delete=_advance_delete)


def is_complete(event: CustomResourceEvent) -> IsCompleteResponse:
    if event["RequestType"] == "Delete":
        return {"IsComplete": _advance_delete(event["PhysicalResourceId"])}
    model_arn = event["PhysicalResourceId"]
    model = bedrock_client().get_custom_model(modelIdentifier=model_arn)
    status = model.get("modelStatus")
    if status == "Failed":
        reason = model.get("failureMessage") or "Bedrock gave no failure message"
        raise ImportFailed(f"Importing custom model {model['modelName']} failed: {reason}")
    if status not in (None, "Active"):  # Creating, or one botocore's model does not list: asked again, as elsewhere
        logger.info("Custom model %s is %s", model["modelName"], status)
        return {"IsComplete": False}
    data: ImportedModelAttributes = {
        "modelArn": model["modelArn"],
        "modelName": model["modelName"],
        "modelStatus": status or "Active",
    }
    return {"IsComplete": True, "Data": checked_data(event, model_arn, data)}


def _unusable(_client: Any, model: Mapping[str, Any]) -> str | None:
    return "failed to import" if model.get("modelStatus") == "Failed" else None


_get_model = lifecycle.getter("get_custom_model", "modelIdentifier")
KIND = lifecycle.ResourceKind(
    resource_type=RESOURCE_TYPE,
    noun="custom model",
    create_operation="create_custom_model",
    arn_member="modelArn",
    arn_pattern=MODEL_ARN,
    name_member="modelName",
    get=_get_model,
    unusable=_unusable,
    reported={"modelKmsKeyArn": "modelKmsKeyArn"},  # GetCustomModel does not report the source or role
    quota=IMPORT_QUOTA,
    has_made_it=lambda model: model.get("modelStatus") == "Active",
    # ListCustomModels' nameContains matches a trained model's job name, which a model imported so has none of; the
    # models shared with the account (isOwned false) are not this stack's.
    candidates=lifecycle.listed_by_name(
        "list_custom_models",
        "modelSummaries",
        "modelName",
        _get_model,
        arn_member="modelArn",
        contains=None,
        filters={"isOwned": True},
    ),
    made_again_at_a_cost=True,
)


def _create(event: CustomResourceEvent) -> OnEventResponse:
    return lifecycle.create(KIND, bedrock_client(), event)


def _update(event: CustomResourceEvent) -> OnEventResponse:
    return lifecycle.update(KIND, bedrock_client(), event)


def _advance_delete(model_arn: str) -> bool:
    return lifecycle.retried_when_busy(delete_now, model_arn)


def delete_now(model_arn: str) -> bool:
    """Delete the model: True, as Bedrock deletes a model at once (one already gone, or never created, counts as
    deleted). What Bedrock refuses is raised: ConflictException for one being created, ModelInUse for one served."""
    if MODEL_ARN.fullmatch(model_arn):
        lifecycle.delete_custom_model(bedrock_client(), model_arn)
    else:
        logger.info("Nothing to delete: %r is not a custom model ARN", model_arn)
    return True
