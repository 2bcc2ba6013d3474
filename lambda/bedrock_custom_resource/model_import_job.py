"""Custom::BedrockImportedModel: import open-weight model weights from S3 with a model import job
(CreateModelImportJob), await it, and delete the imported model (DeleteImportedModel) with the resource.

PhysicalResourceId is the import job's ARN; the job record stays after its model is deleted. Attributes are
named as GetModelImportJob and GetImportedModel name them. Import jobs cannot be stopped: a Delete of a running
one waits for it to end, then deletes what it imported.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from . import contract, lifecycle
from .aws import bedrock_client
from .cr_types import CustomResourceEvent, IsCompleteResponse, ModelImportAttributes, OnEventResponse
from .responses import checked_data

RESOURCE_TYPE = contract.MODEL_IMPORT
# Loose on purpose, like the customization job's: mistaking a real job ARN for something else would leave its
# imported model behind when the stack is deleted.
JOB_ARN = re.compile(r"arn:aws[a-z-]*:bedrock:[a-z0-9-]+:[0-9]{12}:model-import-job/\S+")
# One import job per account and Region (DESIGN.md, fact 16): the construct orders a stack's imports one at a time.
IMPORT_QUOTA = lifecycle.Quota("start model import job", "concurrent model import jobs", stack_setting=False)
# By name or ARN; None when there is none.
_import_job = lifecycle.getter("get_model_import_job", "jobIdentifier")

logger = logging.getLogger(__name__)


class ImportFailed(RuntimeError):
    pass


def on_event(event: CustomResourceEvent) -> OnEventResponse:
    return lifecycle.on_event(event, create=_create, update=_update, delete=_advance_delete)


def is_complete(event: CustomResourceEvent) -> IsCompleteResponse:
    job_arn = event["PhysicalResourceId"]
    if event["RequestType"] == "Delete":
        return {"IsComplete": _advance_delete(job_arn)}
    client = bedrock_client()
    job = client.get_model_import_job(jobIdentifier=job_arn)
    status = job["status"]
    if status == "Failed":
        reason = job.get("failureMessage") or "Bedrock gave no failure message"
        raise ImportFailed(f"Model import job {job['jobName']} failed: {reason}")
    if status != "Completed":
        logger.info("Model import job %s is %s", job["jobName"], status)
        return {"IsComplete": False}
    model = client.get_imported_model(modelIdentifier=job["importedModelArn"])
    logger.info("Model import job %s completed: model %s", job["jobName"], model["modelArn"])
    return {"IsComplete": True, "Data": checked_data(event, job_arn, attributes(job, model))}


def attributes(job: Mapping[str, Any], model: Mapping[str, Any]) -> ModelImportAttributes:
    """The job's and its model's fields that a stack can use, as strings (CloudFormation attributes are strings)."""
    data = cast(
        ModelImportAttributes,
        {
            name: str(source[member])
            for name, source, member in (
                ("jobArn", job, "jobArn"),
                ("jobName", job, "jobName"),
                ("status", job, "status"),
                ("importedModelArn", model, "modelArn"),
                ("importedModelName", model, "modelName"),
                ("modelArchitecture", model, "modelArchitecture"),
                ("importedModelKmsKeyArn", model, "modelKmsKeyArn"),
            )
            if source.get(member)
        },
    )
    if isinstance(model.get("instructSupported"), bool):
        data["instructSupported"] = "true" if model["instructSupported"] else "false"
    units = model.get("customModelUnits") or {}
    if units.get("customModelUnitsPerModelCopy") is not None:
        data["customModelUnitsPerModelCopy"] = str(units["customModelUnitsPerModelCopy"])
    if units.get("customModelUnitsVersion"):
        data["customModelUnitsVersion"] = str(units["customModelUnitsVersion"])
    for name in ("creationTime", "endTime"):
        if isinstance(job.get(name), datetime):
            data[name] = job[name].isoformat()
    return data


IMPORTED_MODEL = lifecycle.MadeModel(
    noun="imported model",
    arn_member="importedModelArn",
    name_member="importedModelName",
    tag_member="importedModelTags",
    get_operation="get_imported_model",
    delete_operation="delete_imported_model",
)


KIND = lifecycle.ResourceKind(
    resource_type=RESOURCE_TYPE,
    noun="model import job",
    create_operation="create_model_import_job",
    arn_member="jobArn",
    arn_pattern=JOB_ARN,
    name_member="jobName",
    get=_import_job,
    unusable=IMPORTED_MODEL.unusable,
    reported={
        "importedModelName": "importedModelName",
        "roleArn": "roleArn",
        "modelDataSource": "modelDataSource",
        "vpcConfig": "vpcConfig",
        "importedModelKmsKeyId": "importedModelKmsKeyArn",
    },
    quota=IMPORT_QUOTA,
    update_in_place=IMPORTED_MODEL.retag,
    before_creating=IMPORTED_MODEL.refuse_taken_name,
)


def _create(event: CustomResourceEvent) -> OnEventResponse:
    return lifecycle.create(KIND, bedrock_client(), event)


def _update(event: CustomResourceEvent) -> OnEventResponse:
    return lifecycle.update(KIND, bedrock_client(), event)


def _advance_delete(job_arn: str) -> bool:
    """One step towards deletion; True once nothing the job imported is left.

    A running job cannot be stopped: it is awaited. A completed job's model is deleted. Anything already gone, and
    an id that is not an import job ARN (a create that never started a job), counts as done.
    """
    if not JOB_ARN.fullmatch(job_arn):
        logger.info("Nothing to delete: %r is not a model import job ARN", job_arn)
        return True
    client = bedrock_client()
    job = _import_job(client, job_arn)
    if job is None:
        return True
    if job["status"] == "InProgress":
        logger.info("Waiting for model import job %s to end: import jobs cannot be stopped", job["jobName"])
        return False
    if job["status"] == "Completed" and job.get("importedModelArn"):
        IMPORTED_MODEL.delete(client, job["importedModelArn"])
    return True
