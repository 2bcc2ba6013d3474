"""Custom::BedrockModelCustomizationJob: create, await, update and delete a model customization job.

PhysicalResourceId is the job ARN. Attributes are named as GetModelCustomizationJob names them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from . import contract, lifecycle
from .aws import bedrock_client, error_code
from .cr_types import CustomResourceEvent, IsCompleteResponse, JobAttributes, OnEventResponse
from .responses import checked_data

RESOURCE_TYPE = contract.CUSTOMIZATION_JOB
# Deliberately looser than the service model's ModelCustomizationJobArn pattern: mistaking a real
# job ARN for something else would leave a paid-for job running after its stack is deleted.
JOB_ARN = re.compile(r"arn:aws[a-z-]*:bedrock:[a-z0-9-]+:[0-9]{12}:model-customization-job/\S+")
UNSUCCESSFUL = frozenset({"Failed", "Stopped"})
JOB_QUOTA = lifecycle.Quota(
    "start model customization job", "concurrent model customization jobs", name_running_jobs=True
)
SUB_TASKS = (
    ("validationDetails", "validation"),
    ("dataProcessingDetails", "data processing"),
    ("trainingDetails", "training"),
)

logger = logging.getLogger(__name__)


class JobUnsuccessful(RuntimeError):
    pass


def on_event(event: CustomResourceEvent) -> OnEventResponse:
    return lifecycle.on_event(event, create=_create, update=_update, delete=_advance_delete)


def is_complete(event: CustomResourceEvent) -> IsCompleteResponse:
    job_arn = event["PhysicalResourceId"]
    if event["RequestType"] == "Delete":
        return {"IsComplete": _advance_delete(job_arn)}
    wait_until = event["ResourceProperties"].get("waitUntil", contract.WaitUntil.COMPLETED)
    client = bedrock_client()
    job = client.get_model_customization_job(jobIdentifier=job_arn)
    status = job["status"]
    done = (
        status == "Completed"
        or wait_until == contract.WaitUntil.ACCEPTED
        or (wait_until == contract.WaitUntil.VALIDATED and _sub_task_status(job, "validationDetails") == "Completed")
    )
    if status in UNSUCCESSFUL and not (done and lifecycle.outcome_not_awaited(KIND, client, event, job)):
        reason = job.get("failureMessage") or "Bedrock gave no failure message"
        raise JobUnsuccessful(f"Model customization job {job['jobName']} {status}: {reason}")
    if not done:
        logger.info("Job %s %s: %s", job["jobName"], status, progress(job))
        return {"IsComplete": False}
    logger.info("Job %s %s (%s): model %s", job["jobName"], status, progress(job), job.get("outputModelArn"))
    return {"IsComplete": True, "Data": checked_data(event, job_arn, attributes(job))}


def attributes(job: Mapping[str, Any]) -> JobAttributes:
    """The job's fields that a stack can use, as strings (CloudFormation attributes are strings)."""
    # Each name is one of JobAttributes' (tests/handler/test_attributes.py).
    data = cast(
        JobAttributes,
        {
            name: job[name]
            for name in (
                "jobArn",
                "jobName",
                "status",
                "outputModelArn",
                "outputModelName",
                "baseModelArn",
                "outputModelKmsKeyArn",
            )
            if job.get(name)
        },
    )
    for name in ("creationTime", "endTime"):
        if isinstance(job.get(name), datetime):
            data[name] = job[name].isoformat()
    training_loss = job.get("trainingMetrics", {}).get("trainingLoss")
    if training_loss is not None:
        data["trainingLoss"] = str(training_loss)
    validation_losses = [m["validationLoss"] for m in job.get("validationMetrics", []) if "validationLoss" in m]
    if validation_losses:
        data["validationLoss"] = str(validation_losses[0])
    return data


def progress(job: Mapping[str, Any]) -> str:
    """The job's sub-task statuses, for the log."""
    parts = [f"{label} {_sub_task_status(job, key)}" for key, label in SUB_TASKS if _sub_task_status(job, key)]
    return ", ".join(parts) or "no sub-task status yet"


def _sub_task_status(job: Mapping[str, Any], sub_task: str) -> str | None:
    status = ((job.get("statusDetails") or {}).get(sub_task) or {}).get("status")
    return str(status) if status else None


_get_job = lifecycle.getter("get_model_customization_job", "jobIdentifier")
KIND = lifecycle.ResourceKind(
    resource_type=RESOURCE_TYPE,
    noun="model customization job",
    create_operation="create_model_customization_job",
    arn_member="jobArn",
    arn_pattern=JOB_ARN,
    name_member="jobName",
    get=_get_job,
    unusable=lifecycle.CUSTOM_MODEL.unusable,
    reported={
        "baseModelIdentifier": "baseModelArn",
        "customizationType": "customizationType",
        "roleArn": "roleArn",
        "trainingDataConfig": "trainingDataConfig",
        "validationDataConfig": "validationDataConfig",
        "outputDataConfig": "outputDataConfig",
        "hyperParameters": "hyperParameters",
        "vpcConfig": "vpcConfig",
        "customizationConfig": "customizationConfig",
        "customModelKmsKeyId": "outputModelKmsKeyArn",
        "customModelName": "outputModelName",
    },
    quota=JOB_QUOTA,
    update_in_place=lifecycle.CUSTOM_MODEL.retag,
    before_creating=lifecycle.CUSTOM_MODEL.refuse_taken_name,
    has_made_it=lambda job: job.get("status") == "Completed",
    candidates=lifecycle.listed_by_name(
        "list_model_customization_jobs", "modelCustomizationJobSummaries", "jobName", _get_job
    ),
    made_again_at_a_cost=True,
)


def _create(event: CustomResourceEvent) -> OnEventResponse:
    return lifecycle.create(KIND, bedrock_client(), event)


def _update(event: CustomResourceEvent) -> OnEventResponse:
    return lifecycle.update(KIND, bedrock_client(), event)


def _advance_delete(job_arn: str) -> bool:
    """One step towards deletion; True once nothing is left running or stored.

    A running job is stopped and awaited; a completed job's model is deleted. Anything already gone,
    and an id that is not a job ARN (a create that never started a job), counts as done.
    """
    if not JOB_ARN.fullmatch(job_arn):
        logger.info("Nothing to delete: %r is not a model customization job ARN", job_arn)
        return True
    client = bedrock_client()
    try:
        job = client.get_model_customization_job(jobIdentifier=job_arn)
    except client.exceptions.ResourceNotFoundException:
        return True
    status = job["status"]
    if status == "InProgress":
        _stop(client, job_arn)
        return False
    if status == "Stopping":
        logger.info("Waiting for job %s to stop", job["jobName"])
        return False
    if status == "Completed" and job.get("outputModelArn"):
        lifecycle.delete_custom_model(client, job["outputModelArn"])
    return True


def _stop(client: Any, job_arn: str) -> None:
    def stopping() -> bool:  # a stop that Bedrock carried out, though every attempt was answered with an error
        try:
            return bool(client.get_model_customization_job(jobIdentifier=job_arn)["status"] != "InProgress")
        except client.exceptions.ResourceNotFoundException:
            return True

    try:
        lifecycle.update_once(lambda: client.stop_model_customization_job(jobIdentifier=job_arn), stopping)
        logger.info("Stopping job %s", job_arn)
    except (client.exceptions.ConflictException, client.exceptions.ValidationException) as error:
        # The job left InProgress since we read it; the next step reads its new status.
        logger.info("Job %s could not be stopped now: %s", job_arn, error_code(error))
    except client.exceptions.ResourceNotFoundException:
        pass
