"""Custom::BedrockImportedModel: import open-weight model weights from S3 with a model import job
(CreateModelImportJob), await it, and delete the imported model (DeleteImportedModel) with the resource.

Attributes are named as GetModelImportJob and GetImportedModel name them; the rest is model_jobs'.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from . import contract, lifecycle, model_jobs
from .aws import bedrock_client
from .cr_types import ModelImportAttributes

RESOURCE_TYPE = contract.MODEL_IMPORT
logger = logging.getLogger(__name__)
# Loose on purpose, like the customization job's: mistaking a real job ARN for something else would leave its
# imported model behind when the stack is deleted.
JOB_ARN = re.compile(r"arn:aws[a-z-]*:bedrock:[a-z0-9-]+:[0-9]{12}:model-import-job/\S+")
# One import job per account and Region (DESIGN.md, fact 16): the construct orders a stack's imports one at a time.
IMPORT_QUOTA = lifecycle.Quota("start model import job", "concurrent model import jobs", stack_setting=False)
# By name or ARN; None when there is none.
_import_job = lifecycle.getter("get_model_import_job", "jobIdentifier")


def _imported_model(client: Any, job: Mapping[str, Any]) -> Mapping[str, Any]:
    """The completed job's model; once it is deleted (outside the stack), what the job's record says of it, so that an
    update in place of the job, or its rollback, still completes, as a customization job's does."""
    try:
        found: Mapping[str, Any] = client.get_imported_model(modelIdentifier=job["importedModelArn"])
    except client.exceptions.ResourceNotFoundException:
        logger.warning("Imported model %s of job %s is gone", job["importedModelArn"], job["jobName"])
        return {"modelArn": job["importedModelArn"], "modelName": job.get("importedModelName")}
    return found


def attributes(client: Any, job: Mapping[str, Any]) -> ModelImportAttributes:
    """The job's fields that a stack can use, and once it has completed its model's (GetImportedModel), as strings
    (CloudFormation attributes are strings)."""
    model = _imported_model(client, job) if job["status"] == "Completed" else {}
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
    jobs_listing=("list_model_import_jobs", "modelImportJobSummaries"),
)


def _weights_located(live: Mapping[str, Any], desired: lifecycle.Desired) -> dict[str, Any]:
    """Where a live job read weights that the stack uploads: those are identified by their digest, and their prefix
    moves with a models file's key renamed."""
    source = live.get("modelDataSource") or {}
    if not desired.properties.get("modelDataDigest") or "s3DataSource" not in source:
        return {}
    return {"modelDataSource.s3DataSource.s3Uri": source["s3DataSource"]["s3Uri"]}


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
    has_made_it=lambda job: job.get("status") == "Completed",
    candidates=lifecycle.listed_by_name("list_model_import_jobs", "modelImportJobSummaries", "jobName", _import_job),
    made_again_at_a_cost=True,
    located_by=_weights_located,
)


JOB = model_jobs.ModelJob(
    kind=KIND,
    made=IMPORTED_MODEL,
    label=lambda job: str(job["jobName"]),
    attributes=attributes,
    client=lambda: bedrock_client(),
)
on_event = JOB.on_event
is_complete = JOB.is_complete
