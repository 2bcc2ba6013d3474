"""Bedrock over simulated time: the stand-in of the test-support layer, with jobs, imports, copies, evaluations,
deployments and throughput that move on by themselves, and job state change events as Bedrock emits them to
EventBridge (model customization jobs only: import, copy and evaluation jobs emit none, and are checked).

An evaluation job completes with the stand-in's scores (``Timings.evaluation_scores``, given to it as the world
starts), writing its results to moto's S3; one whose output bucket is gone by then fails instead.

Time is the rehearsal's virtual clock: each resource moves at the exact simulated time its timings give,
counted from the moment the world first sees it. The world sees a new resource (or a stop, an update) as the
handler's Bedrock call that made it returns (``watch``), and otherwise sleeps until the next move that is due.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..emulation.bedrock_stand_in import BedrockStandIn
from ..emulation.bedrock_stand_in.service_model import moment
from .clock import VirtualClock

MINUTE = 60.0


@dataclass
class Timings:
    """How long things take in Bedrock, in simulated minutes, and which jobs fail."""

    job_minutes: float = 120.0
    # Jobs whose name contains a key take that long instead (e.g. {"Router": 30}).
    job_minutes_for: Mapping[str, float] = field(default_factory=dict)
    # Jobs whose name contains one of these fail in training, with this message.
    failing_jobs: tuple[str, ...] = ()
    failure_message: str = "Training data row 12 is not valid JSON"
    validation_minutes: float = 5.0
    stop_minutes: float = 3.0
    import_minutes: float = 10.0
    copy_minutes: float = 20.0
    deployment_minutes: float = 5.0
    throughput_minutes: float = 15.0
    update_minutes: float = 5.0
    evaluation_minutes: float = 40.0
    # The scores evaluation jobs complete with, by the model they evaluate (its identifier as the job's request
    # writes it; None: any other model), each by metric name (e.g. {"Builtin.Correctness": 0.86}): the stand-in's
    # set_evaluation_scores. A metric they do not name scores 0.5.
    evaluation_scores: Mapping[str | None, Mapping[str, float]] = field(default_factory=dict)

    def minutes_for(self, job_name: str) -> float:
        return next((m for key, m in self.job_minutes_for.items() if key in job_name), self.job_minutes)


class BedrockWorld:
    """Moves the stand-in's resources on as simulated time passes, and emits job state change events."""

    def __init__(
        self,
        bedrock: BedrockStandIn,
        clock: VirtualClock,
        timings: Timings,
        emit: Callable[[dict[str, Any]], None],
        report: Callable[[str], None],
    ) -> None:
        self.bedrock = bedrock
        self.clock = clock
        self.timings = timings
        self.emit = emit
        self.report = report
        self._seen: dict[str, float] = {}  # resource ARN (or ARN + update marker) -> simulated time first seen
        self._last_status: dict[str, str] = {}
        self._next: float | None = None  # the earliest move due after this tick
        self._stop = False
        self._wake = clock.event()  # a Bedrock call returned, or the world stops
        self._ended = clock.event()
        self.lock = threading.RLock()

    def __enter__(self) -> BedrockWorld:
        for model_identifier, scores in self.timings.evaluation_scores.items():
            self.bedrock.set_evaluation_scores(scores, model_identifier)
        self.clock.spawn(self._run, name="bedrock-world")
        return self

    def __exit__(self, *_exc: object) -> None:
        """Stop the world; the caller, an actor, waits for its end through the clock (a join would keep the turn
        the world needs to end)."""
        self._stop = True
        self._wake.set()
        self.clock.wait(self._ended)

    def watch(self, client: Any) -> Any:
        """client (a handler's Bedrock client), with each call's return waking the world, so that it sees
        what the call made or changed at the simulated time it happened."""
        client.meta.events.register("after-call.bedrock", lambda **_kwargs: self._wake.set())
        client.meta.events.register("after-call-error.bedrock", lambda **_kwargs: self._wake.set())
        return client

    def _run(self) -> None:
        try:
            while not self._stop:
                self._wake.clear()  # before the tick: a call returning during it wakes the next sleep at once
                with self.lock:
                    self._next = None
                    self.tick()
                    due = self._next
                # first: a poll, a schedule or a handler due at the same second sees what moved in it.
                self.clock.sleep(None if due is None else due - self.clock.now(), until=self._wake, first=True)
        finally:
            self._ended.set()

    def _due(self, key: str, minutes: float) -> bool:
        """Whether minutes have passed since the world first saw key; if not, that moment is a move to wake for."""
        now = self.clock.now()
        at = self._seen.setdefault(key, now) + minutes * MINUTE
        if now >= at:
            return True
        self._next = at if self._next is None else min(self._next, at)
        return False

    def tick(self) -> None:
        for job in self.bedrock.jobs():
            self._move_job(job)
        for import_job in self.bedrock.import_jobs():
            if import_job["status"] == "InProgress" and self._due(import_job["jobArn"], self.timings.import_minutes):
                self.bedrock.set_import_job_status(import_job["jobArn"], "Completed")
                self.report(f"Bedrock: model import job {import_job['jobName']} is Completed")
        for copy_job in self.bedrock.copy_jobs():
            if copy_job["status"] == "InProgress" and self._due(copy_job["jobArn"], self.timings.copy_minutes):
                self.bedrock.set_copy_job_status(copy_job["jobArn"], "Completed")
                self.report(f"Bedrock: model copy job to {copy_job['targetModelName']} is Completed")
        for model in self.bedrock.imported_models():
            if model["modelStatus"] == "Creating" and self._due(model["modelArn"], self.timings.import_minutes):
                self.bedrock.set_model_status(model["modelArn"], "Active")
                self.report(f"Bedrock: imported model {model['modelName']} is Active")
        for evaluation_job in self.bedrock.evaluation_jobs():
            self._move_evaluation_job(evaluation_job)
        for deployment in self.bedrock.deployments():
            self._move_deployment(deployment)
        for throughput in self.bedrock.throughputs():
            self._move_throughput(throughput)

    def _move_job(self, job: Mapping[str, Any]) -> None:
        arn, name, status = job["jobArn"], job["jobName"], job["status"]
        if status == "InProgress":
            details = {key: value["status"] for key, value in (job.get("statusDetails") or {}).items()}
            if self._due(arn, self.timings.minutes_for(name)):
                failing = any(key in name for key in self.timings.failing_jobs)
                if failing:
                    self.bedrock.set_job_status(arn, "Failed", failure_message=self.timings.failure_message)
                else:
                    self.bedrock.set_job_status(arn, "Completed", training_loss=0.12, validation_loss=0.15)
            elif details.get("trainingDetails") == "NotStarted" and self._due(arn, self.timings.validation_minutes):
                self.bedrock.set_job_status(
                    arn,
                    "InProgress",
                    status_details={
                        "validationDetails": "Completed",
                        "dataProcessingDetails": "Completed",
                        "trainingDetails": "InProgress",
                    },
                )
        elif status == "Stopping" and self._due(arn + "#stopping", self.timings.stop_minutes):
            self.bedrock.finish_stopping(arn)
        self._announce(self.bedrock.job(arn))

    def _announce(self, job: Mapping[str, Any]) -> None:
        """Report sub-task changes, and emit a state change event when the job's status changes."""
        details = job.get("statusDetails") or {}
        progress = ", ".join(
            f"{key.removesuffix('Details')} {value['status']}" for key, value in details.items() if value.get("status")
        )
        signature = f"{job['status']}|{progress}"
        if self._last_status.get(job["jobArn"]) == signature:
            return
        previous_status = self._last_status.get(job["jobArn"], "|").split("|")[0]
        self._last_status[job["jobArn"]] = signature
        self.report(f"Bedrock: job {job['jobName']} {job['status']} ({progress})")
        if job["status"] != previous_status:
            self.emit(state_change_event(job, self.bedrock.account_id, self.bedrock.region))

    def _move_evaluation_job(self, job: Mapping[str, Any]) -> None:
        """InProgress to Completed after evaluation_minutes (its results written to S3); Stopping to Stopped after
        stop_minutes. A job that cannot write its results (its output bucket is gone) fails, as Bedrock's would."""
        arn, status = job["jobArn"], job["status"]
        if status == "InProgress" and self._due(arn, self.timings.evaluation_minutes):
            status = "Completed"
            try:
                self.bedrock.set_evaluation_job_status(arn, status)
            except ValueError:  # the stand-in cannot write the results: the output bucket was deleted meanwhile
                status, uri = "Failed", job["outputDataConfig"]["s3Uri"]
                message = f"The output location {uri} is not usable: its bucket does not exist"
                self.bedrock.set_evaluation_job_status(arn, status, failure_message=message)
        elif status == "Stopping" and self._due(arn + "#stopping", self.timings.stop_minutes):
            status = "Stopped"
            self.bedrock.set_evaluation_job_status(arn, status)
        if self._last_status.get(arn) != status:
            self._last_status[arn] = status
            self.report(f"Bedrock: evaluation job {job['jobName']} is {status}")

    def _move_deployment(self, deployment: Mapping[str, Any]) -> None:
        arn = deployment["customModelDeploymentArn"]
        if deployment["status"] == "Creating" and self._due(arn, self.timings.deployment_minutes):
            self.bedrock.set_deployment_status(arn, "Active")
            self.report(f"Bedrock: deployment {deployment['modelDeploymentName']} is Active")
        update = deployment.get("updateDetails") or {}
        if update.get("updateStatus") == "Updating":
            key = f"{arn}#update#{update.get('modelArn')}"
            if self._due(key, self.timings.update_minutes):
                self.bedrock.finish_deployment_update(arn)
                self.report(f"Bedrock: deployment {deployment['modelDeploymentName']} now serves {update['modelArn']}")

    def _move_throughput(self, throughput: Mapping[str, Any]) -> None:
        arn = throughput["provisionedModelArn"]
        if throughput["status"] == "Creating" and self._due(arn, self.timings.throughput_minutes):
            self.bedrock.set_throughput_status(arn, "InService")
            self.report(f"Bedrock: provisioned throughput {throughput['provisionedModelName']} is InService")
        if throughput["status"] == "Updating":
            key = f"{arn}#update#{throughput.get('desiredModelArn')}"
            if self._due(key, self.timings.update_minutes):
                self.bedrock.finish_throughput_update(arn)


def state_change_event(job: Mapping[str, Any], account: str, region: str) -> dict[str, Any]:
    """The EventBridge event Bedrock sends when a job's status changes."""
    detail = {
        name: job[name]
        for name in ("jobArn", "jobName", "outputModelArn", "outputModelName", "failureMessage", "baseModelArn")
        if job.get(name)
    }
    detail["jobStatus"] = job["status"]
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Model Customization Job State Change",
        "source": "aws.bedrock",
        "account": account,
        "time": moment().strftime("%Y-%m-%dT%H:%M:%SZ"),  # Bedrock's time: the simulated one in a rehearsal
        "region": region,
        "resources": [job["jobArn"]],
        "detail": detail,
    }
