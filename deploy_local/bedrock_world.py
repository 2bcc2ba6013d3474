"""Bedrock over simulated time: the stand-in of the test-support layer, with jobs, imports, deployments and
throughput that move on by themselves, and job state change events as Bedrock emits them to EventBridge.

Simulated time runs ``1 / time_scale`` times faster than real time, so that a two-hour job takes a second.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cdk_bedrock_customization.emulation.bedrock_stand_in import BedrockStandIn

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
    deployment_minutes: float = 5.0
    throughput_minutes: float = 15.0
    update_minutes: float = 5.0

    def minutes_for(self, job_name: str) -> float:
        return next((m for key, m in self.job_minutes_for.items() if key in job_name), self.job_minutes)


class SimulatedClock:
    def __init__(self, time_scale: float) -> None:
        self.time_scale = time_scale
        self._start = time.monotonic()
        self._lock = threading.Lock()
        self._pauses = 0  # how many paused() blocks are running
        self._paused_at = 0.0
        self._paused_for = 0.0  # real seconds that did not count

    def now(self) -> float:
        """Simulated seconds since the start."""
        with self._lock:
            real = (self._paused_at if self._pauses else time.monotonic()) - self._start - self._paused_for
        return real / self.time_scale

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Simulated time stands still while the block runs (and while any other paused block does)."""
        with self._lock:
            if not self._pauses:
                self._paused_at = time.monotonic()
            self._pauses += 1
        try:
            yield
        finally:
            with self._lock:
                self._pauses -= 1
                if not self._pauses:
                    self._paused_for += time.monotonic() - self._paused_at

    def sleep(self, simulated_seconds: float) -> None:
        time.sleep(max(simulated_seconds * self.time_scale, 0.0))


class BedrockWorld:
    """Moves the stand-in's resources on as simulated time passes, and emits job state change events."""

    def __init__(
        self,
        bedrock: BedrockStandIn,
        clock: SimulatedClock,
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
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bedrock-world", daemon=True)
        self.lock = threading.RLock()

    def __enter__(self) -> BedrockWorld:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self.lock:
                self.tick()
            self.clock.sleep(MINUTE / 2)

    def _age_minutes(self, key: str) -> float:
        first = self._seen.setdefault(key, self.clock.now())
        return (self.clock.now() - first) / MINUTE

    def tick(self) -> None:
        for job in self.bedrock.jobs():
            self._move_job(job)
        for model in self.bedrock.imported_models():
            if (
                model["modelStatus"] == "Creating"
                and self._age_minutes(model["modelArn"]) >= self.timings.import_minutes
            ):
                self.bedrock.set_model_status(model["modelArn"], "Active")
                self.report(f"Bedrock: imported model {model['modelName']} is Active")
        for deployment in self.bedrock.deployments():
            self._move_deployment(deployment)
        for throughput in self.bedrock.throughputs():
            self._move_throughput(throughput)

    def _move_job(self, job: Mapping[str, Any]) -> None:
        arn, name, status = job["jobArn"], job["jobName"], job["status"]
        age = self._age_minutes(arn)
        if status == "InProgress":
            details = {key: value["status"] for key, value in (job.get("statusDetails") or {}).items()}
            if age >= self.timings.minutes_for(name):
                failing = any(key in name for key in self.timings.failing_jobs)
                if failing:
                    self.bedrock.set_job_status(arn, "Failed", failure_message=self.timings.failure_message)
                else:
                    self.bedrock.set_job_status(arn, "Completed", training_loss=0.12, validation_loss=0.15)
            elif age >= self.timings.validation_minutes and details.get("trainingDetails") == "NotStarted":
                self.bedrock.set_job_status(
                    arn,
                    "InProgress",
                    status_details={
                        "validationDetails": "Completed",
                        "dataProcessingDetails": "Completed",
                        "trainingDetails": "InProgress",
                    },
                )
        elif status == "Stopping":
            stopping_for = self._age_minutes(arn + "#stopping")
            if stopping_for >= self.timings.stop_minutes:
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

    def _move_deployment(self, deployment: Mapping[str, Any]) -> None:
        arn = deployment["customModelDeploymentArn"]
        if deployment["status"] == "Creating" and self._age_minutes(arn) >= self.timings.deployment_minutes:
            self.bedrock.set_deployment_status(arn, "Active")
            self.report(f"Bedrock: deployment {deployment['modelDeploymentName']} is Active")
        update = deployment.get("updateDetails") or {}
        if update.get("updateStatus") == "Updating":
            key = f"{arn}#update#{update.get('modelArn')}"
            if self._age_minutes(key) >= self.timings.update_minutes:
                self.bedrock.finish_deployment_update(arn)
                self.report(f"Bedrock: deployment {deployment['modelDeploymentName']} now serves {update['modelArn']}")

    def _move_throughput(self, throughput: Mapping[str, Any]) -> None:
        arn = throughput["provisionedModelArn"]
        if throughput["status"] == "Creating" and self._age_minutes(arn) >= self.timings.throughput_minutes:
            self.bedrock.set_throughput_status(arn, "InService")
            self.report(f"Bedrock: provisioned throughput {throughput['provisionedModelName']} is InService")
        if throughput["status"] == "Updating":
            key = f"{arn}#update#{throughput.get('desiredModelArn')}"
            if self._age_minutes(key) >= self.timings.update_minutes:
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
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [job["jobArn"]],
        "detail": detail,
    }
