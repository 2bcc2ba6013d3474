"""Custom::BedrockModelCustomizationJobResult: the attributes of a job that has completed.

In event-driven mode the job resource returns once Bedrock accepts the job, and a wait condition holds
the deployment until the job ends; this resource, which depends on the wait condition, then reads the
completed job so that outputModelArn and the other attributes reach the rest of the stack. It owns
nothing: deleting it deletes nothing (the job resource does that).
"""

from __future__ import annotations

import logging

from . import contract
from .aws import bedrock_client
from .cr_types import CustomResourceEvent, IsCompleteResponse, OnEventResponse
from .customization_job import UNSUCCESSFUL, JobUnsuccessful, attributes, progress
from .responses import checked_data

RESOURCE_TYPE = contract.JOB_RESULT

logger = logging.getLogger(__name__)


def on_event(event: CustomResourceEvent) -> OnEventResponse:
    if event["RequestType"] == "Delete":
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    request = contract.create_request(RESOURCE_TYPE, event["ResourceProperties"])
    job = bedrock_client().get_model_customization_job(**request)
    status = job["status"]
    if status in UNSUCCESSFUL:
        reason = job.get("failureMessage") or "Bedrock gave no failure message"
        raise JobUnsuccessful(f"Model customization job {job['jobName']} {status}: {reason}")
    if status != "Completed":
        raise RuntimeError(
            f"Model customization job {job['jobName']} is {status} ({progress(job)}), but its wait condition "
            "was signalled as complete; only a completed job has a model to read"
        )
    return {"PhysicalResourceId": job["jobArn"], "Data": checked_data(event, job["jobArn"], attributes(job))}


def is_complete(event: CustomResourceEvent) -> IsCompleteResponse:
    return {"IsComplete": True}
