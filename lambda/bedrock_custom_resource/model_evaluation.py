"""Custom::BedrockModelEvaluationJob: run a model evaluation job (CreateEvaluationJob) and await it.

An evaluation job makes nothing but its results, which it writes to S3. GetEvaluationJob takes an ARN only, so a
job of a configuration is found by its name with ListEvaluationJobs. A Create or Update waits for the job to complete
(or, with waitUntil Accepted, only for Bedrock to accept it: a wait condition of the stack then waits for it, up to 12
hours). A Delete stops a running job; a job's record and its results stay, so that a redeploy of the same
configuration adopts the completed job rather than paying for another.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, cast

from . import contract, lifecycle
from .aws import bedrock_client, error_code, listed
from .cr_types import CustomResourceEvent, EvaluationAttributes, IsCompleteResponse, OnEventResponse
from .responses import checked_data

logger = logging.getLogger(__name__)

RESOURCE_TYPE = contract.MODEL_EVALUATION
# Loose on purpose, like the other jobs': mistaking a real job ARN for something else would leave it running.
JOB_ARN = re.compile(r"arn:aws[a-z-]*:bedrock:[a-z0-9-]+:[0-9]{12}:evaluation-job/\S+")
UNSUCCESSFUL = frozenset({"Failed", "Stopping", "Stopped", "Deleting"})


class EvaluationUnsuccessful(RuntimeError):
    pass


def find_job(client: Any, identifier: str) -> dict[str, Any] | None:
    """The job of an ARN, or of a name (listed with ListEvaluationJobs); None when there is none."""
    if not identifier.startswith("arn:"):
        arn = _arn_of_name(client, identifier)
        if arn is None:
            return None
        identifier = arn
    try:
        job: dict[str, Any] = client.get_evaluation_job(jobIdentifier=identifier)
    except client.exceptions.ResourceNotFoundException:
        return None
    return job


def _arn_of_name(client: Any, name: str) -> str | None:
    """The ARN of the job named name."""
    jobs = listed(client.list_evaluation_jobs, "jobSummaries", nameContains=name)
    return next((str(job["jobArn"]) for job in jobs if job["jobName"] == name), None)


def failure(job: Mapping[str, Any]) -> str:
    """Why a job did not complete, as Bedrock says."""
    messages = [str(message) for message in job.get("failureMessages") or []]
    return "; ".join(messages) or "Bedrock gave no failure message"


def _unusable(_client: Any, job: Mapping[str, Any]) -> str | None:
    """A running job is awaited and a completed one's results used; a failed or stopped one cannot be."""
    return None if job["status"] in ("InProgress", "Completed") else f"is {job['status']}"


KIND = lifecycle.ResourceKind(
    resource_type=RESOURCE_TYPE,
    noun="model evaluation job",
    create_operation="create_evaluation_job",
    arn_member="jobArn",
    arn_pattern=JOB_ARN,
    name_member="jobName",
    get=find_job,
    unusable=_unusable,
    reported={
        "roleArn": "roleArn",
        "evaluationConfig": "evaluationConfig",
        "inferenceConfig": "inferenceConfig",
        "outputDataConfig": "outputDataConfig",
        "customerEncryptionKeyId": "customerEncryptionKeyId",
    },
    candidates=lifecycle.listed_by_name("list_evaluation_jobs", "jobSummaries", "jobName", find_job),
    has_made_it=lambda job: job.get("status") == "Completed",
    made_again_at_a_cost=True,
)


def attributes(job: Mapping[str, Any]) -> EvaluationAttributes:
    """The job's fields that a stack can use, as strings (CloudFormation attributes are strings)."""
    data = {name: str(job[name]) for name in ("jobArn", "jobName", "status") if job.get(name)}
    output = job.get("outputDataConfig") or {}
    if output.get("s3Uri"):
        data["outputS3Uri"] = str(output["s3Uri"])
    if isinstance(job.get("creationTime"), datetime):
        data["creationTime"] = job["creationTime"].isoformat()
    return cast(EvaluationAttributes, data)


def on_event(event: CustomResourceEvent) -> OnEventResponse:
    client = bedrock_client()
    return lifecycle.on_event(
        event,
        create=lambda created: lifecycle.create(KIND, client, created),
        update=lambda updated: lifecycle.update(KIND, client, updated),
        delete=lambda job_arn: stop(client, job_arn),
    )


def is_complete(event: CustomResourceEvent) -> IsCompleteResponse:
    job_arn = event["PhysicalResourceId"]
    if event["RequestType"] == "Delete":
        return {"IsComplete": True}
    accepted_only = event["ResourceProperties"].get("waitUntil") == contract.WaitUntil.ACCEPTED
    client = bedrock_client()

    def excused(job: Mapping[str, Any]) -> bool:
        return accepted_only and lifecycle.outcome_not_awaited(KIND, client, event, job)

    job = completed_or_running(client, job_arn, excused)
    if job["status"] != "Completed" and not accepted_only:
        logger.info("Model evaluation job %s is %s", job["jobName"], job["status"])
        return {"IsComplete": False}
    return {"IsComplete": True, "Data": checked_data(event, job_arn, attributes(job))}


def completed_or_running(
    client: Any, job_arn: str, excused: Callable[[Mapping[str, Any]], bool] = lambda _job: False
) -> dict[str, Any]:
    """The job, which must exist and must not have failed or been stopped, unless excused (asked only then)."""
    job = find_job(client, job_arn)
    if job is None:
        raise EvaluationUnsuccessful(f"Model evaluation job {job_arn} is not found")
    if job["status"] in UNSUCCESSFUL and not excused(job):
        raise EvaluationUnsuccessful(f"Model evaluation job {job['jobName']} is {job['status']}: {failure(job)}")
    return job


def stop(client: Any, job_arn: str) -> None:
    """Stop the job if it runs. Anything already ended or gone, and an id that is not a job ARN (a create that never
    started a job), needs nothing."""
    if not JOB_ARN.fullmatch(job_arn):
        logger.info("Nothing to stop: %r is not a model evaluation job ARN", job_arn)
        return
    job = find_job(client, job_arn)
    if job is None or job["status"] != "InProgress":
        return

    def stopping() -> bool:  # a stop that Bedrock carried out, though every attempt was answered with an error
        found = find_job(client, job_arn)
        return found is None or found["status"] != "InProgress"

    try:
        lifecycle.update_once(lambda: client.stop_evaluation_job(jobIdentifier=job_arn), stopping)
    except Exception as error:
        if error_code(error) not in ("ConflictException", "ResourceNotFoundException"):
            raise
        logger.info("Model evaluation job %s ended meanwhile: %s", job_arn, error)
        return
    logger.info("Stopped model evaluation job %s", job["jobName"])
