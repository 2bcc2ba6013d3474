"""What model import jobs and model copy jobs share: each makes one model, emits no events and cannot be stopped.

PhysicalResourceId is the job's ARN; the job record stays after its model is deleted. A Create or Update waits for
the job to complete (or, with waitUntil Accepted, only for Bedrock to accept it: a wait condition of the stack
then waits for it, up to 12 hours). A Delete of a running job waits for it to end, then deletes what it made.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import contract, lifecycle
from .cr_types import CustomResourceEvent, IsCompleteResponse, OnEventResponse
from .responses import checked_data

logger = logging.getLogger(__name__)


class ModelJobFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class ModelJob:
    """One type of job that makes one model: its lifecycle, what it makes, and what it answers."""

    kind: lifecycle.ResourceKind
    made: lifecycle.MadeModel
    # How messages name a job: its own name, or (a copy job has none) its model's.
    label: Callable[[Mapping[str, Any]], str]
    # The Data of a job: its fields, and once it has completed its model's, as strings.
    attributes: Callable[[Any, Mapping[str, Any]], Mapping[str, object]]
    # Makes the Bedrock client: the serving module's bedrock_client, looked up when called (tests replace it).
    client: Callable[[], Any]

    def on_event(self, event: CustomResourceEvent) -> OnEventResponse:
        return lifecycle.on_event(
            event,
            create=lambda created: lifecycle.create(self.kind, self.client(), created),
            update=lambda updated: lifecycle.update(self.kind, self.client(), updated),
            delete=self.advance_delete,
        )

    def is_complete(self, event: CustomResourceEvent) -> IsCompleteResponse:
        job_arn = event["PhysicalResourceId"]
        if event["RequestType"] == "Delete":
            return {"IsComplete": self.advance_delete(job_arn)}
        accepted_only = event["ResourceProperties"].get("waitUntil") == contract.WaitUntil.ACCEPTED
        client = self.client()
        job = self._read(client, job_arn)
        failed = job["status"] == "Failed"
        if not (accepted_only and failed and lifecycle.outcome_not_awaited(self.kind, client, event, job)):
            self._refuse_failed(job)
        if job["status"] != "Completed" and not accepted_only:
            logger.info("%s %s is %s", self.kind.noun.capitalize(), self.label(job), job["status"])
            return {"IsComplete": False}
        return {"IsComplete": True, "Data": checked_data(event, job_arn, self.attributes(client, job))}

    def completed(self, event: CustomResourceEvent, job_arn: str) -> Mapping[str, object]:
        """The Data of a job whose wait condition was signalled: it must have completed."""
        client = self.client()
        job = self._read(client, job_arn)
        self._refuse_failed(job)
        if job["status"] != "Completed":
            raise RuntimeError(not_completed(f"{self.kind.noun.capitalize()} {self.label(job)} is {job['status']}"))
        return checked_data(event, job_arn, self.attributes(client, job))

    def _read(self, client: Any, job_arn: str) -> dict[str, Any]:
        """The job, which must exist."""
        job = self.kind.get(client, job_arn)
        if job is None:
            raise RuntimeError(f"{self.kind.noun.capitalize()} {job_arn} is not found")
        return job

    def _refuse_failed(self, job: Mapping[str, Any]) -> None:
        if job["status"] == "Failed":
            reason = job.get("failureMessage") or "Bedrock gave no failure message"
            raise ModelJobFailed(f"{self.kind.noun.capitalize()} {self.label(job)} failed: {reason}")

    def advance_delete(self, job_arn: str) -> bool:
        """One step towards deletion; True once nothing the job made is left.

        A running job cannot be stopped: it is awaited. A completed job's model is deleted. Anything already gone,
        and an id that is not a job ARN of this type (a create that never started a job), counts as done.
        """
        if not self.kind.arn_pattern.fullmatch(job_arn):
            logger.info("Nothing to delete: %r is not a %s ARN", job_arn, self.kind.noun)
            return True
        client = self.client()
        job = self.kind.get(client, job_arn)
        if job is None:
            return True
        if job["status"] == "InProgress":
            logger.info("%s %s is still running, and cannot be stopped", self.kind.noun.capitalize(), self.label(job))
            return False
        if job["status"] == "Completed" and job.get(self.made.arn_member):
            self.made.delete(client, job[self.made.arn_member])
        return True


def not_completed(job_is: str) -> str:
    """A result reader's refusal of a job that has not completed (job_is: "<the job> is <status>")."""
    return (
        f"{job_is}: only a completed job has a model to read. A reader reads at once: declare it after the job's "
        "wait condition (as the CDK constructs do) or, in a plain template, once the job has completed"
    )
