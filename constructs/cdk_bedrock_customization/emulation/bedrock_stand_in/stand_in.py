"""``BedrockStandIn``: Bedrock as the code under test sees it, for one test or one rehearsal.

It installs the moto compensations (``compensations``), instruments the clients it is given so that the
emulated operations are answered before moto sees them (``responses``), and lets a test read and drive
what Bedrock holds: jobs and trained models (``jobs``), imported models, deployments and provisioned
throughput (``serving``), model import jobs and the models they import (``imports``), model copy jobs
(``copies``) and model evaluation jobs (``evaluations``; what they drive is ``_ModelJobs``).

It also records every Bedrock call a client makes (operation and parameters, through botocore's
``provide-client-params`` event) and can answer the next N HTTP requests with ThrottlingException, so
that the client's retries can be tested.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Unpack

from bedrock_custom_resource import aws, lifecycle
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ReadTimeoutError
from botocore.retries import standard as standard_retries
from moto.bedrock.models import BedrockBackend, bedrock_backends
from moto.core.models import DEFAULT_ACCOUNT_ID, botocore_stubber

from ..patches import Patcher, patched
from .compensations import ANSWERED, install_moto_compensations
from .copies import COPY_JOBS, backend_of, move_copy_job
from .evaluations import EVALUATION_JOBS, Scores, move_evaluation_job, set_evaluation_scores
from .imports import IMPORT_JOB_MODELS, IMPORT_JOBS, ImportedModelTraits, move_import_job, set_import_job_quota
from .jobs import JobOutcome, find_job, peak_running_jobs, set_job_quota, transition
from .responses import error_response, serve, throttling_response
from .service_model import BEDROCK_TIME, moment
from .serving import DEPLOYMENTS, IMPORTED_MODELS, THROUGHPUTS


@dataclass(frozen=True)
class Call:
    """One Bedrock API call as the code under test made it (before botocore serialised it)."""

    operation: str
    params: dict[str, Any]


class _ModelJobs:
    """What a test reads and drives of the emulated model import, model copy and model evaluation jobs: a part of
    BedrockStandIn, which gives the account and Region it reads (``backend``)."""

    region: str
    account_id: str

    @property
    def backend(self) -> BedrockBackend:
        return bedrock_backends[self.account_id][self.region]

    def _backend_for(self, identifier: str) -> BedrockBackend:
        """Where a driver or reader finds what identifier names: the Region and account of an ARN, or the
        stand-in's for a name."""
        return (backend_of(identifier) if identifier.startswith("arn:") else None) or self.backend

    # Custom Model Import (the emulation)

    def import_jobs(self) -> list[dict[str, Any]]:
        """Every model import job, as GetModelImportJob would describe it."""
        return [job.describe() for job in IMPORT_JOBS.resources(self.backend).values()]

    def import_job_models(self) -> list[dict[str, Any]]:
        """Every model an import job imported, as GetImportedModel would describe it (``imported_models()``
        lists those of CreateCustomModel)."""
        return [model.describe() for model in IMPORT_JOB_MODELS.resources(self.backend).values()]

    def set_import_job_status(
        self, job: str, status: str, failure_message: str | None = None, **traits: Unpack[ImportedModelTraits]
    ) -> None:
        """Move a running import job (name or ARN) to Completed, which imports its model (with the request's
        importedModelTags and key, and the traits given: ``architecture``, ``instruct_supported``,
        ``model_units_per_copy``, ``model_units_version``), or to Failed (always with a failureMessage)."""
        backend = self._backend_for(job)
        move_import_job(backend, IMPORT_JOBS.find(backend, job), status, failure_message, **traits)

    def limit_concurrent_import_jobs(self, quota: int) -> None:
        """Refuse to start an import job while ``quota`` of them run (1 unless set), with
        ServiceQuotaExceededException, as Bedrock does at its concurrent model import jobs quota."""
        set_import_job_quota(self.backend, quota)

    # model copy (the emulation)

    def copy_jobs(self, region: str | None = None) -> list[dict[str, Any]]:
        """Every model copy job of the stand-in's Region (or of region: a job is in its target Region), as
        GetModelCopyJob would describe it."""
        backend = self.backend if region is None else bedrock_backends[self.account_id][region]
        return [job.describe() for job in COPY_JOBS.resources(backend).values()]

    def set_copy_job_status(self, job: str, status: str, failure_message: str | None = None) -> None:
        """Move a running copy job (its ARN, of whichever Region: a copy job has no name) to Completed, which
        makes the copied custom model in the job's Region (at its targetModelArn, named, tagged and encrypted as
        the request said), or to Failed (always with a failureMessage)."""
        backend = self._backend_for(job)
        move_copy_job(backend, COPY_JOBS.find(backend, job), status, failure_message)

    # model evaluation (the emulation)

    def evaluation_jobs(self, region: str | None = None) -> list[dict[str, Any]]:
        """Every model evaluation job of the stand-in's Region (or of region), as GetEvaluationJob would describe
        it."""
        backend = self.backend if region is None else bedrock_backends[self.account_id][region]
        return [job.describe() for job in EVALUATION_JOBS.resources(backend).values()]

    def set_evaluation_job_status(
        self, job_arn: str, status: str, *, scores: Scores | None = None, failure_message: str | None = None
    ) -> None:
        """Move an evaluation job (its ARN) as Bedrock would over time: an InProgress one to Completed, which
        writes its results to moto's S3 (one JSON lines file per dataset config, see ``evaluations``), or to
        Failed (always with failureMessages); a Stopping one (StopEvaluationJob) to Stopped.

        scores, by metric name (as requested, e.g. "Builtin.Correctness", or without "Builtin."): a number gives
        every record that result, a sequence gives the records their results in order, cycled (None: null, "not
        applicable"). Without scores, the job gets those of ``set_evaluation_scores``; a requested metric that
        the scores do not name gets 0.5 in every record."""
        backend = self._backend_for(job_arn)
        move_evaluation_job(backend, EVALUATION_JOBS.find(backend, job_arn), status, scores, failure_message)

    def set_evaluation_scores(
        self, scores: Scores | None, model_identifier: str | None = None, *, region: str | None = None
    ) -> None:
        """The scores (as ``set_evaluation_job_status`` takes them) that every evaluation job of the stand-in's
        Region (or of region) evaluating model_identifier (as the job's request writes it), or any model when
        None, gets when it completes without scores of its own; those for its model come first. None forgets
        them. A rehearsal sets them once, for jobs that its world completes."""
        backend = self.backend if region is None else bedrock_backends[self.account_id][region]
        set_evaluation_scores(backend, scores, model_identifier)


class BedrockStandIn(_ModelJobs):
    """Bedrock as the handler under test sees it, inside ``moto.mock_aws()``.

    Construct it inside an active ``mock_aws()``; ``client()`` builds the handler's own client
    (``bedrock_custom_resource.aws.bedrock_client``: its bundled service model and standard-mode retries)
    and instruments it. Read state with ``jobs()``, ``job()``, ``models()``, ``tags()``; drive jobs with
    ``set_job_status()`` and ``finish_stopping()``; inject throttling with ``throttle()``.

    Serving (the emulation): read with ``imported_models()``, ``deployments()``, ``throughputs()`` (as the
    Get operations describe them); drive with ``set_model_status()``, ``set_deployment_status()``,
    ``finish_deployment_update()``, ``set_throughput_status()``, ``finish_throughput_update()`` and
    ``expire_commitment()``. Every driver takes a name or an ARN; statuses are the service model's enums.
    Given an ARN, a driver (and ``job()`` and ``tags()``) finds what it names in the ARN's Region and account;
    the readers that list read the stand-in's.

    Custom Model Import (the emulation): read with ``import_jobs()`` and ``import_job_models()``; drive with
    ``set_import_job_status()`` and ``limit_concurrent_import_jobs()``.

    Model copy (the emulation): read with ``copy_jobs()``; drive with ``set_copy_job_status()``. A copy is made
    in the Region of the client that asks for it: ``client(region=...)`` builds one for another Region.

    Model evaluation (the emulation): read with ``evaluation_jobs()`` (and the results the jobs write, in moto's
    S3); drive with ``set_evaluation_job_status()`` (by ARN: GetEvaluationJob takes no name) and
    ``set_evaluation_scores()``, the scores that completing jobs get unless a test gives their own.
    """

    def __init__(
        self, monkeypatch: Patcher, *, region: str = "us-east-1", account_id: str = DEFAULT_ACCOUNT_ID
    ) -> None:
        self.region = region
        self.account_id = account_id
        self.calls: list[Call] = []
        # One entry (the operation name) per HTTP request sent, throttled ones included.
        self.attempts: list[str] = []
        # The backoff botocore's standard retry mode computed before each retry (the sleep is skipped).
        self.retry_delays: list[float] = []
        self._throttles_left = 0
        self._throttled_operation: str | None = None
        self._lose_response_of: str | None = None
        # For each of the next HTTP requests of one operation: whether it is served before its server error.
        self._server_errors: list[bool] = []
        self._unseen: dict[str, int] = {}
        self._server_error_operation: str | None = None
        self._patcher = monkeypatch
        install_moto_compensations(monkeypatch)
        original_delay = standard_retries.ExponentialBackoff.delay_amount

        def no_delay(backoff: Any, context: Any) -> float:
            """Not a moto gap: keeps retry tests fast while recording that botocore backed off."""
            self.retry_delays.append(original_delay(backoff, context))
            return 0.0

        monkeypatch.setattr(standard_retries.ExponentialBackoff, "delay_amount", no_delay)

    def use_clock(self, clock: Callable[[], datetime]) -> None:
        """Stamp what Bedrock makes and changes (creationTime and the like) with clock's time, not the machine's:
        the rehearsal's simulated time, or a test's own."""
        self._patcher.setattr(BEDROCK_TIME, "read", clock)

    # clients

    def client(self, *, parameter_validation: bool = True, region: str | None = None) -> Any:
        """A client exactly as the handler gets it (in a request, the request's), instrumented. Without
        parameter_validation, a new one, whose botocore skips its own checks, so that a request reaches the stand-in's
        validation as it is. With a region, a new one of that Region rather than the environment's."""
        if parameter_validation and region is None:
            return self.instrument(aws.bedrock_client())
        options: dict[str, Any] = {"parameter_validation": parameter_validation}
        if region is not None:
            options["region_name"] = region
        with patched() as patch:
            patch.setattr(aws, "RETRY_CONFIG", aws.RETRY_CONFIG.merge(Config(**options)))
            return self.instrument(aws._new_client("bedrock"))  # never a request's client, made otherwise

    def instrument(self, client: Any) -> Any:
        # Once per client (a request's one client may come back: unique ids); before-send first, to answer before moto.
        client.meta.events.register("provide-client-params.bedrock", self._record_call, unique_id=f"record-{id(self)}")
        client.meta.events.register_first("before-send.bedrock", self._before_send, unique_id=f"answer-{id(self)}")
        client.meta.events.register("after-call.bedrock", self._after_call, unique_id=f"after-{id(self)}")
        return client

    def _after_call(self, model: Any, **_kwargs: Any) -> None:
        if model.name == self._lose_response_of:
            self._lose_response_of = None
            # What botocore raises when the answer does not arrive in time, once its retries are spent.
            raise ReadTimeoutError(endpoint_url=f"{model.name}: the response was lost on its way back (it was served)")

    def _record_call(self, params: Mapping[str, Any], model: Any, **_kwargs: Any) -> None:
        self.calls.append(Call(model.name, copy.deepcopy(dict(params))))

    def _before_send(self, request: Any, event_name: str, **_kwargs: Any) -> AWSResponse | None:
        self.attempts.append(event_name.rsplit(".", 1)[-1])
        if self._throttles_left > 0 and self._throttled_operation in (None, self.attempts[-1]):
            self._throttles_left -= 1
            setattr(request, ANSWERED, True)
            return throttling_response(request.url)
        if self._unseen.get(self.attempts[-1], 0) > 0:
            self._unseen[self.attempts[-1]] -= 1
            setattr(request, ANSWERED, True)
            return error_response(request.url, "ResourceNotFoundException", "The resource was not found (not yet)")
        if self._server_errors and self._server_error_operation == self.attempts[-1]:
            if self._server_errors.pop(0) and serve(request, self.attempts[-1]) is None:
                botocore_stubber(event_name, request)  # an operation moto serves: served by moto, answer dropped
            setattr(request, ANSWERED, True)
            return error_response(request.url, "InternalServerException", "Internal server error")
        response = serve(request, self.attempts[-1])
        if response is not None:
            setattr(request, ANSWERED, True)
        return response

    def lose_next_response_of(self, operation: str) -> None:
        """Serve the next request of this operation, then fail the call as a lost connection would."""
        self._lose_response_of = operation

    def answer_with_server_errors(self, operation: str, served: list[bool]) -> None:
        """Answer the next HTTP requests of this operation, one per item of served, with InternalServerException
        (HTTP 500), after serving the request when its item is True: the service did the work, and its answer was
        lost."""
        self._server_errors, self._server_error_operation = list(served), operation

    def not_seen_yet(self, operation: str, times: int) -> None:
        """Answer the next ``times`` requests of this read with ResourceNotFoundException, as after a create."""
        self._unseen[operation] = times

    def throttle(self, times: int, operation: str | None = None) -> None:
        """Answer the next ``times`` HTTP requests (of this operation, if given) with ThrottlingException
        before moto sees them."""
        self._throttles_left, self._throttled_operation = times, operation

    # recorded calls

    def operations(self) -> list[str]:
        return [call.operation for call in self.calls]

    def calls_to(self, operation: str) -> list[dict[str, Any]]:
        return [call.params for call in self.calls if call.operation == operation]

    # state

    def jobs(self) -> list[dict[str, Any]]:
        """Every job, as GetModelCustomizationJob would describe it."""
        return [job.to_dict() for job in self.backend.model_customization_jobs.values()]

    def job(self, job_arn_or_name: str) -> dict[str, Any]:
        result: dict[str, Any] = find_job(self._backend_for(job_arn_or_name), job_arn_or_name).to_dict()
        return result

    def models(self) -> list[dict[str, Any]]:
        """Every custom model, as GetCustomModel would describe it."""
        return [model.to_dict() for model in self.backend.custom_models.values()]

    def tags(self, arn: str) -> dict[str, str]:
        """The resource's tags as its stack declares them: without the handler's configuration tag."""
        return {key: value for key, value in self.all_tags(arn).items() if key not in lifecycle.RESERVED_TAGS}

    def all_tags(self, arn: str) -> dict[str, str]:
        return {tag["key"]: tag["value"] for tag in self._backend_for(arn).list_tags_for_resource(arn)}

    # driving jobs

    def set_job_status(self, job_arn_or_name: str, status: str, **outcome: Unpack[JobOutcome]) -> None:
        """Move a job to status, as Bedrock would over time, with what the move reports (``failure_message``,
        ``training_loss``, ``validation_loss``, ``status_details``: keyword arguments, see JobOutcome).

        Completed creates the custom model (with the request's customModelTags) and sets endTime;
        Failed and Stopped set endTime and failureMessage (Failed always has one). status_details
        overrides sub-task statuses, e.g. ``{"trainingDetails": "InProgress"}``.
        """
        backend = self._backend_for(job_arn_or_name)
        transition(backend, find_job(backend, job_arn_or_name), status, **outcome)

    def limit_concurrent_jobs(self, quota: int) -> None:
        """Refuse to start a job while ``quota`` jobs run (InProgress or Stopping), with
        ServiceQuotaExceededException, as Bedrock does at its concurrent-jobs quota."""
        set_job_quota(self.backend, quota)

    @property
    def peak_concurrent_jobs(self) -> int:
        """The most jobs that were running at once, counting each job from its start."""
        return peak_running_jobs(self.backend)

    def finish_stopping(self, job_arn_or_name: str | None = None) -> None:
        """Stopping -> Stopped, for one job or for every stopping job."""
        backend = self.backend if job_arn_or_name is None else self._backend_for(job_arn_or_name)
        if job_arn_or_name is not None:
            jobs = [find_job(backend, job_arn_or_name)]
        else:
            jobs = list(backend.model_customization_jobs.values())
        for job in jobs:
            if job.status == "Stopping":
                transition(backend, job, "Stopped")

    # serving (the emulation)

    def imported_models(self) -> list[dict[str, Any]]:
        """Every imported model, as GetCustomModel would describe it (``models()`` lists trained ones)."""
        return [model.describe() for model in IMPORTED_MODELS.resources(self.backend).values()]

    def deployments(self) -> list[dict[str, Any]]:
        """Every custom model deployment, as GetCustomModelDeployment would describe it."""
        return [deployment.describe() for deployment in DEPLOYMENTS.resources(self.backend).values()]

    def throughputs(self) -> list[dict[str, Any]]:
        """Every provisioned throughput, as GetProvisionedModelThroughput would describe it."""
        return [throughput.describe() for throughput in THROUGHPUTS.resources(self.backend).values()]

    def set_model_status(self, model: str, status: str, failure_message: str | None = None) -> None:
        """Move an imported model to Creating, Active or Failed (Failed always has a failureMessage).
        A trained model is Active once its job completes: drive the job instead."""
        IMPORTED_MODELS.find(self._backend_for(model), model).move_to(status, failure_message)

    def set_deployment_status(self, deployment: str, status: str, failure_message: str | None = None) -> None:
        """Move a deployment to Creating, Active or Failed (Failed always has a failureMessage)."""
        found = DEPLOYMENTS.find(self._backend_for(deployment), deployment)
        found.move_to(status, failure_message)
        found.last_updated = moment()

    def finish_deployment_update(self, deployment: str, succeeded: bool = True) -> None:
        """End an update in progress: UpdateCompleted (the deployment now serves the new model) or
        UpdateFailed (it keeps serving the old one)."""
        found = DEPLOYMENTS.find(self._backend_for(deployment), deployment)
        if not found.updating or found.update_details is None:
            raise ValueError(f"custom model deployment {found.name} has no update in progress")
        if succeeded:
            found.model_arn = found.update_details["modelArn"]
        found.update_details["updateStatus"] = "UpdateCompleted" if succeeded else "UpdateFailed"
        found.last_updated = moment()

    def set_throughput_status(self, throughput: str, status: str, failure_message: str | None = None) -> None:
        """Move a provisioned throughput to Creating, InService, Updating or Failed (Failed always has a
        failureMessage). A model change ends with ``finish_throughput_update`` instead."""
        found = THROUGHPUTS.find(self._backend_for(throughput), throughput)
        found.move_to(status, failure_message)
        found.last_modified = moment()

    def finish_throughput_update(self, throughput: str) -> None:
        """Updating -> InService, now serving the desired model."""
        found = THROUGHPUTS.find(self._backend_for(throughput), throughput)
        if found.status != "Updating":
            raise ValueError(f"provisioned model {found.name} is {found.status}, not Updating")
        found.status = "InService"
        found.model_arn = found.desired_model_arn
        found.last_modified = moment()

    def expire_commitment(self, throughput: str) -> None:
        """Move a provisioned throughput's commitment expiration into the past, so it can be deleted."""
        found = THROUGHPUTS.find(self._backend_for(throughput), throughput)
        if found.commitment_expiration is None:
            raise ValueError(f"provisioned model {found.name} has no commitment")
        found.commitment_expiration = moment() - timedelta(seconds=1)
