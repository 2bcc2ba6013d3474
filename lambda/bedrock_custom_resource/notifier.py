"""Signals each long job's wait condition when the job ends.

EventBridge rules of the stack invoke it:
- Bedrock's "Model Customization Job State Change" events. Delivery is best effort;
- CloudFormation's "Resource Status Change" events of the stack's wait conditions as they start waiting: a job
  that ended before its wait condition was made (one adopted after it completed) emits no further event;
- a schedule, the backstop, which settles the waits whose event was lost;
- when the stack waits for jobs that emit no events (model import, copy and evaluation jobs: DESIGN.md, fact 14), a
  frequent schedule, the check, which settles their waits (and any other) as the backstop does.

Which jobs the stack waits for comes from its own resources: each of its wait conditions still in progress
names, in its template Metadata (WAIT_METADATA_KEY, read with DescribeStackResource), the job resource and
the handle it waits on. Nothing about the stack's models is in the function's environment, so it never grows
with them. A job of another stack, or one no longer waited for, is ignored. The outcome is always read from
its job's read operation (GetModelCustomizationJob...), never from the event: a job's final status never changes,
and every signal for a job carries the same UniqueId (see unique_id), so the event and the backstop can both
signal one job without ever disagreeing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import contract, customization_job, lifecycle, model_copy_job, model_evaluation, model_import_job, model_jobs
from .aws import bedrock_client, cloudformation_client, error_code, error_message
from .environment import STACK_ID_VARIABLE
from .responses import MAX_REASON_BYTES, bounded_reason

EVENT_SOURCE = "aws.bedrock"
EVENT_DETAIL_TYPE = "Model Customization Job State Change"
STACK_EVENT_SOURCE = "aws.cloudformation"
STACK_EVENT_DETAIL_TYPE = "CloudFormation Resource Status Change"
FINAL_STATUSES = customization_job.UNSUCCESSFUL | {"Completed"}
WAITING = "CREATE_IN_PROGRESS"
WAIT_CONDITION = "AWS::CloudFormation::WaitCondition"
# The Metadata key of a wait condition that waits for a job: {"job": <logical id>, "handle": <logical id>}.
WAIT_METADATA_KEY = "cdk-bedrock-customization:waitsFor"
SIGNAL_TIMEOUT_SECONDS = 30
# CloudFormation's quota on what a wait condition signal carries ("cfn-signal wait condition data", 4,096 bytes); a
# longer signal shows as "Unparsable WaitCondition data" instead of its reason.
SIGNAL_MAX_BYTES = 4096
NO_FAILURE_MESSAGE = "Bedrock gave no failure message"
# CloudFormation's SignalResource takes a UniqueId of 1 to 64 characters; handle-URL signals are kept within it.
MAX_UNIQUE_ID = 64

logger = logging.getLogger()
logger.setLevel(logging.INFO)


@dataclass(frozen=True)
class Wait:
    """A wait condition of this stack that is still waiting for its job."""

    job_arn: str
    handle_url: str
    condition: str


@dataclass(frozen=True)
class AwaitedJobs:
    """A type of job that a wait condition may wait for: how its ARN looks, how it is read and named, the member
    of its record that holds the model it makes (None: it makes none), and why it failed."""

    noun: str
    arn_type: str
    read: Callable[[Any, str], Mapping[str, Any] | None]
    label: Callable[[Mapping[str, Any]], str]
    model_member: str | None
    progress: Callable[[Mapping[str, Any]], str] = lambda job: job["status"]
    failure: Callable[[Mapping[str, Any]], str] = lambda job: (
        job.get("failureMessage") or "Bedrock gave no failure message"
    )
    # Whether an ended job's record may be deleted (BatchDeleteEvaluationJob), its results kept: a wait made for it
    # later (its timeout changed, which makes a new wait condition) then succeeds, and what reads the job decides.
    record_deletable: bool = False

    @classmethod
    def of(cls, job: model_jobs.ModelJob) -> AwaitedJobs:
        kind = job.kind
        arn_type = contract.CONTRACTS[kind.resource_type].managed.arn_type
        return cls(kind.noun, arn_type, kind.get, job.label, job.made.arn_member)


AWAITED = tuple(
    [
        AwaitedJobs(
            "model customization job",
            contract.CONTRACTS[contract.CUSTOMIZATION_JOB].managed.arn_type,
            customization_job.KIND.get,  # None when Bedrock knows no such job: its wait fails at once
            lambda job: str(job["jobName"]),
            "outputModelArn",
            customization_job.progress,
        ),
        *(AwaitedJobs.of(job) for job in (model_import_job.JOB, model_copy_job.JOB)),
        AwaitedJobs(
            model_evaluation.KIND.noun,
            contract.CONTRACTS[contract.MODEL_EVALUATION].managed.arn_type,
            model_evaluation.find_job,
            lambda job: str(job["jobName"]),
            None,
            failure=model_evaluation.failure,
            record_deletable=True,
        ),
    ]
)


def awaited(job_arn: str) -> AwaitedJobs | None:
    """The type of job an ARN names, if it is one that wait conditions wait for."""
    return next((jobs for jobs in AWAITED if f":{jobs.arn_type}/" in job_arn), None)


def handle(event: Mapping[str, Any], context: Any = None) -> dict[str, list[str]]:
    """Entry point: a job state change event, a wait condition's status change, or the backstop's scheduled event.
    Returns the job ARNs signalled."""
    if event.get("source") == EVENT_SOURCE and event.get("detail-type") == EVENT_DETAIL_TYPE:
        return {"signalled": _on_state_change(event.get("detail") or {})}
    if event.get("source") == STACK_EVENT_SOURCE and event.get("detail-type") == STACK_EVENT_DETAIL_TYPE:
        return {"signalled": _on_wait_started(event.get("detail") or {})}
    if event.get("backstop"):
        return {"signalled": _backstop()}
    raise ValueError(f"Not a job state change, a wait condition's status change or a backstop run: {sorted(event)}")


def _on_state_change(detail: Mapping[str, Any]) -> list[str]:
    job_arn, status = str(detail.get("jobArn", "")), detail.get("jobStatus")
    logger.info("Job %s (%s) is %s", detail.get("jobName"), job_arn, status)
    if status not in FINAL_STATUSES:
        return []
    wait = _pending_waits().get(_job_key(job_arn))
    if wait is None:
        logger.info("No wait condition of this stack is waiting for %s", job_arn)
        return []
    signalled = _settle([wait])
    if not signalled:
        # Bedrock's read lags its event: failing lets Lambda deliver the event again (twice, minutes apart), where
        # the backstop would settle the wait only on its next run, up to its interval later.
        raise EventAhead(f"The event says {job_arn} is {status}, but Bedrock still reads it as running: retry")
    return signalled


class EventAhead(RuntimeError):
    """A job's final-status event arrived before Bedrock's read of the job showed that status."""


def _on_wait_started(detail: Mapping[str, Any]) -> list[str]:
    """A wait condition of the stack has started waiting: signal it now if its job has already ended."""
    condition = detail.get("logical-resource-id")
    logger.info("Wait condition %s is %s", condition, (detail.get("status-details") or {}).get("status"))
    return _settle([wait for wait in _pending_waits().values() if wait.condition == condition])


def _backstop() -> list[str]:
    waits = list(_pending_waits().values())
    logger.info("Backstop: %d wait condition(s) waiting", len(waits))
    return _settle(waits)


def _settle(waits: list[Wait]) -> list[str]:
    """Signal each wait whose job has ended; return the job ARNs signalled.

    One wait's error (a refused signal, a failed read) does not keep the others from being settled; the
    run then fails, so that its errors show, and the next event or backstop run tries again.
    """
    if not waits:
        return []
    signalled, errors = [], []
    client = bedrock_client()
    for wait in waits:
        try:
            if _settle_one(client, wait):
                signalled.append(wait.job_arn)
        except Exception as error:
            logger.error("Could not settle the wait for %s: %s", wait.job_arn, error)
            errors.append(f"{wait.job_arn}: {error}")
    if errors:
        raise RuntimeError(f"{len(errors)} wait(s) not settled, signalled {signalled}: " + "; ".join(errors))
    return signalled


def _settle_one(client: Any, wait: Wait) -> bool:
    if wait.job_arn.startswith(lifecycle.NOTHING_MADE):
        # Else it would wait, unsignalled, until its Timeout (up to 12 hours), and fail with CloudFormation's words.
        logical_id = wait.job_arn.removeprefix(lifecycle.NOTHING_MADE)
        _signal(
            wait,
            "FAILURE",
            f"{logical_id} holds no job: a rollback of this stack made nothing for it, since what it returned to was "
            "gone. Change what that job is made of (a property other than its tags), so that an update makes it again "
            "and a new wait condition waits for it",
            None,
        )
        return True
    jobs = awaited(wait.job_arn)
    assert jobs is not None  # _pending_waits keeps only the waits for these
    job = jobs.read(client, wait.job_arn)
    if job is None:
        gone = f"{jobs.noun.capitalize()} {wait.job_arn} is not found"
        if jobs.record_deletable:
            _signal(wait, "SUCCESS", f"{gone}: its record was deleted once it had ended; what reads it decides", None)
        else:
            _signal(wait, "FAILURE", gone, None)
        return True
    status, named = job["status"], f"{jobs.noun.capitalize()} {jobs.label(job)}"
    if status not in FINAL_STATUSES:
        logger.info("%s %s: %s", named, status, jobs.progress(job))
        return False
    if status == "Completed":
        _signal(wait, "SUCCESS", f"{named} completed", job.get(jobs.model_member) if jobs.model_member else None)
    else:
        _signal(wait, "FAILURE", f"{named} {status}: {jobs.failure(job)}", None)
    return True


def _pending_waits() -> dict[tuple[str, str], Wait]:
    """The waits of this stack still in progress, by job (see _job_key)."""
    client = cloudformation_client()
    stack_id = os.environ[STACK_ID_VARIABLE]
    resources: dict[str, Mapping[str, Any]] = {}
    for page in client.get_paginator("list_stack_resources").paginate(StackName=stack_id):
        for summary in page["StackResourceSummaries"]:
            resources[summary["LogicalResourceId"]] = summary
    waits = {}
    for condition, summary in resources.items():
        if summary["ResourceType"] != WAIT_CONDITION or summary.get("ResourceStatus") != WAITING:
            continue
        ids = _waits_for(client, stack_id, condition)
        if ids is None:
            continue
        job_arn = str(resources.get(ids["job"], {}).get("PhysicalResourceId", ""))
        handle_url = str(resources.get(ids["handle"], {}).get("PhysicalResourceId", ""))
        if (awaited(job_arn) is not None or job_arn.startswith(lifecycle.NOTHING_MADE)) and handle_url:
            waits[_job_key(job_arn)] = Wait(job_arn, handle_url, condition)
    return waits


def _waits_for(client: Any, stack_id: str, condition: str) -> dict[str, str] | None:
    """The job and handle logical ids that a wait condition's Metadata names; None for one that is not a job's,
    or that is gone since the listing (a rollback deletes it: CloudFormation answers ValidationError)."""
    try:
        detail = client.describe_stack_resource(StackName=stack_id, LogicalResourceId=condition)["StackResourceDetail"]
    except Exception as error:
        if error_code(error) != "ValidationError":
            raise
        logger.info("Wait condition %s is gone: %s", condition, error_message(error))
        return None
    try:
        ids = json.loads(detail.get("Metadata") or "{}").get(WAIT_METADATA_KEY)
    except (ValueError, AttributeError, RecursionError):  # a wait condition of yours, with Metadata of its own
        ids = None
    if isinstance(ids, dict) and all(isinstance(ids.get(name), str) for name in ("job", "handle")):
        return {"job": ids["job"], "handle": ids["handle"]}
    logger.info("Wait condition %s waits for no job of this library", condition)
    return None


def _job_key(job_arn: str) -> tuple[str, str]:
    """What identifies a job in any of its ARN's forms: the ARN up to its resource type, and the job's id.

    CreateModelCustomizationJob returns model-customization-job/<base model>/<id>; an event may name the
    job model-customization-job/<id>, as the documentation's sample event does.
    """
    return job_arn.split("/", 1)[0], job_arn.rsplit("/", 1)[-1]


def unique_id(job_arn: str) -> str:
    """The UniqueId of every signal for a job: its id (the ARN's last part, the same in every form of the ARN),
    or a digest of it should an id ever be longer than a UniqueId may be."""
    job_id = _job_key(job_arn)[1]
    if 0 < len(job_id) <= MAX_UNIQUE_ID:
        return job_id
    return hashlib.sha256(job_id.encode()).hexdigest()[:MAX_UNIQUE_ID]


def signal_body(status: str, reason: str, unique: str, data: str) -> bytes:
    """A signal's JSON, at most SIGNAL_MAX_BYTES: the reason (bounded_reason's MAX_REASON_BYTES) as it is when the
    whole fits, else its longest start that fits as JSON escapes it (a non-ASCII character or a quote takes more
    bytes than it has), found by bisection since a longer start never takes fewer bytes."""

    def body(room: int) -> bytes:
        fields = {"Status": status, "Reason": bounded_reason(reason, room), "UniqueId": unique, "Data": data}
        return json.dumps(fields).encode()

    whole = body(MAX_REASON_BYTES)
    if len(whole) <= SIGNAL_MAX_BYTES:
        return whole
    fits, too_long = 0, MAX_REASON_BYTES  # body(0) carries the marker alone: it fits unless the data is too long
    while too_long - fits > 1:
        middle = (fits + too_long) // 2
        if len(body(middle)) <= SIGNAL_MAX_BYTES:
            fits = middle
        else:
            too_long = middle
    return body(fits)


def _signal(wait: Wait, status: str, reason: str, data: str | None) -> None:
    body = signal_body(status, reason, unique_id(wait.job_arn), data or "")
    # The handle URL is presigned for a PUT with no content type.
    request = urllib.request.Request(wait.handle_url, data=body, method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(request, timeout=SIGNAL_TIMEOUT_SECONDS):
        pass
    logger.info("Signalled %s for %s: %s", wait.condition, wait.job_arn, status)
