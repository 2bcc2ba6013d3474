"""The result readers: Custom::BedrockModelCustomizationJobResult, Custom::BedrockModelImportJobResult and
Custom::BedrockModelCopyJobResult, the attributes of a job that has completed.

When a job is awaited by a wait condition, the job resource returns once Bedrock accepts the job, and the wait
condition holds the deployment until the job ends; this resource, which depends on the wait condition, then reads
the completed job so that its model's ARN and the other attributes reach the rest of the stack. It owns nothing:
deleting it deletes nothing (the job resource does that).
"""

from __future__ import annotations

from collections.abc import Mapping

from . import contract, model_copy_job, model_import_job
from .aws import bedrock_client
from .cr_types import CustomResourceEvent, IsCompleteResponse, OnEventResponse
from .customization_job import UNSUCCESSFUL, JobUnsuccessful, attributes, progress
from .model_jobs import not_completed
from .responses import checked_data

# The readers of the jobs that make one model, by their result's resource type.
MODEL_JOBS = {contract.IMPORT_RESULT: model_import_job.JOB, contract.COPY_RESULT: model_copy_job.JOB}
RESOURCE_TYPES = (contract.JOB_RESULT, *MODEL_JOBS)


def on_event(event: CustomResourceEvent) -> OnEventResponse:
    if event["RequestType"] == "Delete":
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    request = contract.create_request(event["ResourceType"], event["ResourceProperties"])
    if event["ResourceType"] in MODEL_JOBS:
        (job_arn,) = request.values()
        return {"PhysicalResourceId": job_arn, "Data": MODEL_JOBS[event["ResourceType"]].completed(event, job_arn)}
    return _customization_job(event, request)


def _customization_job(event: CustomResourceEvent, request: Mapping[str, str]) -> OnEventResponse:
    job = bedrock_client().get_model_customization_job(**request)
    status = job["status"]
    if status in UNSUCCESSFUL:
        reason = job.get("failureMessage") or "Bedrock gave no failure message"
        raise JobUnsuccessful(f"Model customization job {job['jobName']} {status}: {reason}")
    if status != "Completed":
        raise RuntimeError(not_completed(f"Model customization job {job['jobName']} is {status} ({progress(job)})"))
    return {"PhysicalResourceId": job["jobArn"], "Data": checked_data(event, job["jobArn"], attributes(job))}


def is_complete(event: CustomResourceEvent) -> IsCompleteResponse:
    return {"IsComplete": True}
