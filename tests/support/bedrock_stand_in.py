"""A stand-in for Amazon Bedrock's model customization API: moto 5.2.x plus what moto lacks.

moto's bedrock backend (``moto/bedrock/models.py`` and ``responses.py``) differs from the real service in
ways that matter to a custom resource handler (DESIGN.md, fact 8). ``BedrockStandIn`` patches moto's
classes for one test, through pytest's ``monkeypatch`` (which restores them afterwards; moto's files are
not edited), and closes these gaps. Every compensation is marked "moto gap" where it is made:

1. Jobs stay ``InProgress`` forever, with no sub-task ``statusDetails``: ``set_job_status`` and
   ``finish_stopping`` move a job on and keep validation, data processing and training statuses.
2. moto creates the custom model with the job; Bedrock creates it only when the job completes: the
   model appears on ``Completed``, with the custom model tags of the create request.
3. moto's ARNs are ``model-customization-job/<jobName>`` and ``custom-model/<name>``; Bedrock's are
   ``model-customization-job/<baseModelId>/<12 lowercase alnum>`` and
   ``custom-model/<baseModelId>/<12 lowercase alnum>``, matching the service model's
   ModelCustomizationJobArn and CustomModelArn patterns. moto's outputModelArn/outputModelName name a
   model that does not exist; here they name the model the job creates, and outputModelArn is absent
   until that model exists.
4. moto's get/stop/delete accept names only (and do not URL-decode the percent-encoded ARN that
   botocore puts in the path); Bedrock accepts a name or an ARN: both work here.
5. moto's stop jumps to ``Stopped`` and stops a job in any state; Bedrock goes InProgress -> Stopping ->
   Stopped and answers ValidationException for a job that is not InProgress.
6. moto ignores ``clientRequestToken``; Bedrock returns the existing job for a repeated token.
7. moto drops ``customizationConfig``; it is stored and returned by GetModelCustomizationJob here.
8. moto fabricates fields a new job does not have yet (endTime, failureMessage, training and validation
   metrics, an outputModelKmsKeyArn even without a key); they are set only when they become true.
9. moto demands ``trainingDataConfig.s3Uri``; a distillation job may read invocation logs instead.

It also records every Bedrock call a client makes (operation and parameters, through botocore's
``provide-client-params`` event) and can answer the next N HTTP requests with ThrottlingException, so
that the client's retries can be tested.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import pytest
from bedrock_custom_resource import aws, contract
from botocore.awsrequest import AWSResponse
from botocore.retries import standard as standard_retries
from moto.bedrock.exceptions import BedrockClientError, ResourceNotFoundException
from moto.bedrock.models import BedrockBackend, CustomModel, ModelCustomizationJob, bedrock_backends
from moto.bedrock.responses import BedrockResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.botocore_stubber import BotocoreStubber
from moto.utilities.utils import get_partition

SUB_TASKS = ("validationDetails", "dataProcessingDetails", "trainingDetails")
JOB_STATUSES = tuple(contract.shape("ModelCustomizationJobStatus").enum)
SUB_TASK_STATUSES = tuple(contract.shape("JobStatusDetails").enum)
JOB_ARN_PATTERN = re.compile(contract.shape("ModelCustomizationJobArn").metadata["pattern"])
MODEL_ARN_PATTERN = re.compile(contract.shape("CustomModelArn").metadata["pattern"])
THROTTLING_BODY = {"__type": "ThrottlingException", "message": "Rate exceeded"}

_EXTRAS = "stand_in_extras"
_THROTTLED = "stand_in_throttled"
_ORIGINAL_CREATE = BedrockBackend.create_model_customization_job
_ORIGINAL_JOB_TO_DICT = ModelCustomizationJob.to_dict
_ORIGINAL_MODEL_TO_DICT = CustomModel.to_dict
_ORIGINAL_STUBBER_CALL = BotocoreStubber.__call__


class BedrockValidationException(BedrockClientError):
    """moto's own ValidationException replaces the message with a generic text; this one keeps it."""

    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message)


@dataclass(frozen=True)
class Call:
    """One Bedrock API call as the code under test made it (before botocore serialised it)."""

    operation: str
    params: dict[str, Any]


@dataclass
class _JobExtras:
    """What the stand-in keeps for a job beyond moto's ModelCustomizationJob."""

    customization_config: dict[str, Any] | None
    custom_model_tags: list[dict[str, str]]
    base_model_id: str
    status_details: dict[str, dict[str, str]] = field(default_factory=dict)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _suffix(*parts: str) -> str:
    """12 lowercase alphanumerics, as the last segment of Bedrock's job and model ARNs."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


def _extras(job: ModelCustomizationJob) -> _JobExtras:
    extras = getattr(job, _EXTRAS, None)
    if extras is None:
        raise AssertionError(f"job {job.job_name} was not created through the stand-in")
    return extras


# --- identifiers: moto gap 4 ---------------------------------------------------------------------------


def _find_job(backend: BedrockBackend, identifier: str) -> ModelCustomizationJob:
    """The job named or ARN'd by identifier. moto gap: moto looks jobs up by name only, and its
    responses pass the path segment still percent-encoded, so an ARN never matched."""
    identifier = unquote(identifier)
    job = backend.model_customization_jobs.get(identifier)
    if job is None:
        job = next((j for j in backend.model_customization_jobs.values() if j.job_arn == identifier), None)
    if job is None:
        raise ResourceNotFoundException(f"Model customization job {identifier} not found")
    return job


def _find_model_key(backend: BedrockBackend, identifier: str) -> str:
    """The custom_models key (the model name) of the model named or ARN'd by identifier.
    moto gap: moto's delete_custom_model accepts a name only."""
    identifier = unquote(identifier)
    if identifier in backend.custom_models:
        return identifier
    for name, model in backend.custom_models.items():
        if model.model_arn == identifier:
            return name
    raise ResourceNotFoundException(f"Custom model {identifier} not found")


def _base_model_id(backend: BedrockBackend, identifier: str) -> str:
    """The foundation model id that Bedrock puts in job and model ARNs."""
    if "foundation-model/" in identifier:
        return identifier.split("foundation-model/", 1)[1]
    if ":custom-model/" in identifier:
        return identifier.split(":custom-model/", 1)[1].rsplit("/", 1)[0]
    if identifier in backend.custom_models:  # continued training of a custom model given by name
        return _base_model_id(backend, backend.custom_models[identifier].model_arn)
    return identifier


def _base_model_arn(backend: BedrockBackend, identifier: str) -> str:
    """moto gap: moto prefixes foundation-model/ even to an identifier that is already an ARN."""
    if identifier.startswith("arn:"):
        return identifier
    if identifier in backend.custom_models:
        return backend.custom_models[identifier].model_arn
    partition = get_partition(backend.region_name)
    return f"arn:{partition}:bedrock:{backend.region_name}::foundation-model/{identifier}"


def _kms_key_arn(backend: BedrockBackend, key: str | None) -> str | None:
    if not key or key.startswith("arn:"):
        return key
    partition = get_partition(backend.region_name)
    kind = key if key.startswith("alias/") else f"key/{key}"
    return f"arn:{partition}:kms:{backend.region_name}:{backend.account_id}:{kind}"


def _checked_arn(arn: str, pattern: re.Pattern[str], shape: str) -> str:
    if not pattern.fullmatch(arn):
        raise AssertionError(f"the stand-in built {arn!r}, which does not match the service model's {shape}")
    return arn


# --- patched moto methods -----------------------------------------------------------------------------


def _create_job(
    self: BedrockBackend,
    job_name: str,
    custom_model_name: str,
    role_arn: str,
    base_model_identifier: str,
    training_data_config: dict[str, Any],
    output_data_config: dict[str, str],
    hyper_parameters: dict[str, str],
    client_request_token: str | None,
    customization_type: str | None,
    custom_model_kms_key_id: str | None,
    job_tags: list[dict[str, str]] | None,
    custom_model_tags: list[dict[str, str]] | None,
    validation_data_config: dict[str, Any] | None,
    vpc_config: dict[str, Any] | None,
    customization_config: dict[str, Any] | None = None,
) -> str:
    """BedrockBackend.create_model_customization_job, as Bedrock behaves."""
    # moto gap 6: a repeated clientRequestToken returns the job it created, and creates nothing.
    if client_request_token:
        for existing in self.model_customization_jobs.values():
            if existing.client_request_token == client_request_token:
                return existing.job_arn
    # moto gap 9: moto rejects a trainingDataConfig without s3Uri; distillation may use invocation logs.
    moto_training = training_data_config
    uses_logs = isinstance(training_data_config, Mapping) and training_data_config.get("invocationLogsConfig")
    if uses_logs and "s3Uri" not in training_data_config:
        moto_training = {**training_data_config, "s3Uri": "s3://stand-in-placeholder"}
    # Tags are applied below, once the ARNs are real.
    _ORIGINAL_CREATE(
        self,
        job_name=job_name,
        custom_model_name=custom_model_name,
        role_arn=role_arn,
        base_model_identifier=base_model_identifier,
        training_data_config=moto_training,
        output_data_config=output_data_config,
        hyper_parameters=hyper_parameters,
        client_request_token=client_request_token,
        customization_type=customization_type,
        custom_model_kms_key_id=custom_model_kms_key_id,
        job_tags=None,
        custom_model_tags=None,
        validation_data_config=validation_data_config,
        vpc_config=vpc_config,
    )
    job = self.model_customization_jobs[job_name]
    job.training_data_config = training_data_config
    # moto gap 2: the model exists only once the job completes (see _complete).
    del self.custom_models[custom_model_name]
    # moto gap 3: Bedrock's ARN shapes; the output model is the model this job will create.
    base_model_id = _base_model_id(self, base_model_identifier)
    partition = get_partition(self.region_name)
    job.job_arn = _checked_arn(
        f"arn:{partition}:bedrock:{self.region_name}:{self.account_id}:model-customization-job/"
        f"{base_model_id}/{_suffix('job', self.account_id, self.region_name, job_name)}",
        JOB_ARN_PATTERN,
        "ModelCustomizationJobArn",
    )
    job.base_model_arn = _base_model_arn(self, base_model_identifier)
    job.output_model_name = custom_model_name
    job.output_model_arn = None
    # moto gap 8: no fabricated end time, failure, metrics or key before they exist.
    job.output_model_kms_key_arn = _kms_key_arn(self, custom_model_kms_key_id)
    job.end_time = None
    job.failure_message = None
    job.training_metrics = None
    job.validation_metrics = None
    job.creation_time = job.last_modified_time = _now()
    # moto gaps 1 and 7: sub-task statuses and the customizationConfig.
    extras = _JobExtras(
        customization_config=copy.deepcopy(customization_config),
        custom_model_tags=copy.deepcopy(custom_model_tags or []),
        base_model_id=base_model_id,
    )
    for sub_task in SUB_TASKS:
        status = "InProgress" if sub_task == "validationDetails" else "NotStarted"
        extras.status_details[sub_task] = {
            "status": status,
            "creationTime": job.creation_time,
            "lastModifiedTime": job.creation_time,
        }
    setattr(job, _EXTRAS, extras)
    if job_tags:
        self.tag_resource(job.job_arn, job_tags)
    return str(job.job_arn)


def _respond_create_job(self: BedrockResponse) -> str:
    """BedrockResponse.create_model_customization_job. moto gap 7: moto's parser drops customizationConfig."""
    params = json.loads(self.body)
    job_arn = self.bedrock_backend.create_model_customization_job(
        job_name=params.get("jobName"),
        custom_model_name=params.get("customModelName"),
        role_arn=params.get("roleArn"),
        client_request_token=params.get("clientRequestToken"),
        base_model_identifier=params.get("baseModelIdentifier"),
        customization_type=params.get("customizationType"),
        custom_model_kms_key_id=params.get("customModelKmsKeyId"),
        job_tags=params.get("jobTags"),
        custom_model_tags=params.get("customModelTags"),
        training_data_config=params.get("trainingDataConfig"),
        validation_data_config=params.get("validationDataConfig"),
        output_data_config=params.get("outputDataConfig"),
        hyper_parameters=params.get("hyperParameters"),
        vpc_config=params.get("vpcConfig"),
        customization_config=params.get("customizationConfig"),
    )
    return json.dumps({"jobArn": job_arn})


def _get_job(self: BedrockBackend, job_identifier: str) -> ModelCustomizationJob:
    return _find_job(self, job_identifier)


def _stop_job(self: BedrockBackend, job_identifier: str) -> None:
    """moto gap 5: InProgress -> Stopping (finish_stopping completes it); any other state is refused."""
    job = _find_job(self, job_identifier)
    if job.status != "InProgress":
        raise BedrockValidationException(
            f"Model customization job {job.job_name} is {job.status}; only an InProgress job can be stopped"
        )
    _transition(self, job, "Stopping")


def _get_model(self: BedrockBackend, model_identifier: str) -> CustomModel:
    return self.custom_models[_find_model_key(self, model_identifier)]


def _delete_model(self: BedrockBackend, model_identifier: str) -> None:
    model = self.custom_models.pop(_find_model_key(self, model_identifier))
    self.tagger.delete_all_tags_for_resource(model.model_arn)


def _job_to_dict(self: ModelCustomizationJob) -> dict[str, Any]:
    """moto gaps 1 and 7: GetModelCustomizationJob also returns statusDetails and customizationConfig."""
    result: dict[str, Any] = _ORIGINAL_JOB_TO_DICT(self)
    extras = getattr(self, _EXTRAS, None)
    if extras is not None:
        result["statusDetails"] = copy.deepcopy(extras.status_details)
        if extras.customization_config:
            result["customizationConfig"] = copy.deepcopy(extras.customization_config)
    return result


def _model_to_dict(self: CustomModel) -> dict[str, Any]:
    result: dict[str, Any] = _ORIGINAL_MODEL_TO_DICT(self)
    customization_config = getattr(self, "customization_config", None)
    if customization_config:
        result["customizationConfig"] = copy.deepcopy(customization_config)
    result["modelStatus"] = "Active"
    return result


def _stubber_call(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
    """botocore emits before-send to every handler (emit, not emit_until_response), so moto's stubber
    would still carry out a request the stand-in already answered with ThrottlingException. A throttled
    request never reached the service: moto must not see it."""
    if getattr(request, _THROTTLED, False):
        return None
    return _ORIGINAL_STUBBER_CALL(self, event_name, request, **kwargs)


def _transition(
    backend: BedrockBackend,
    job: ModelCustomizationJob,
    status: str,
    *,
    failure_message: str | None = None,
    training_loss: float | None = None,
    validation_loss: float | None = None,
    status_details: Mapping[str, str] | None = None,
) -> None:
    """moto gap 1: move a job to status, with its sub-tasks, end time, failure message and model."""
    if status not in JOB_STATUSES:
        raise ValueError(f"{status!r} is not a job status; use one of {JOB_STATUSES}")
    extras = _extras(job)
    now = _now()
    sub_task_moves = {
        "Completed": {"NotStarted": "Completed", "InProgress": "Completed", "Stopping": "Completed"},
        "Failed": {"InProgress": "Failed"},
        "Stopping": {"InProgress": "Stopping"},
        "Stopped": {"InProgress": "Stopped", "Stopping": "Stopped"},
    }.get(status, {})
    overrides = dict(status_details or {})
    for name, sub_status in overrides.items():
        if name not in SUB_TASKS or sub_status not in SUB_TASK_STATUSES:
            raise ValueError(f"status_details: {name}={sub_status!r}; use {SUB_TASKS} with one of {SUB_TASK_STATUSES}")
    for name, detail in extras.status_details.items():
        new_status = overrides.get(name) or sub_task_moves.get(detail["status"], detail["status"])
        if new_status != detail["status"]:
            detail.update(status=new_status, lastModifiedTime=now)
    job.status = status
    job.last_modified_time = now
    if status in ("Completed", "Failed", "Stopped"):
        job.end_time = now
    if status == "Failed":
        job.failure_message = failure_message or "Internal failure; retry the job"
    elif failure_message is not None:
        job.failure_message = failure_message
    if training_loss is not None:
        job.training_metrics = {"trainingLoss": training_loss}
    if validation_loss is not None:
        job.validation_metrics = [{"validationLoss": validation_loss}]
    if status == "Completed" and job.output_model_arn is None:
        _complete(backend, job, extras)


def _complete(backend: BedrockBackend, job: ModelCustomizationJob, extras: _JobExtras) -> None:
    """moto gaps 2 and 3: the job's model appears now, named and ARN'd as Bedrock does, with its tags."""
    model = CustomModel(
        job.custom_model_name,
        job.job_name,
        job.job_arn,
        job.base_model_arn,
        job.hyper_parameters,
        job.output_data_config,
        job.training_data_config,
        job.training_metrics,
        extras.base_model_id,
        backend.region_name,
        backend.account_id,
        job.customization_type,
        job.output_model_kms_key_arn,
        job.validation_data_config,
        job.validation_metrics,
    )
    partition = get_partition(backend.region_name)
    model.model_arn = _checked_arn(
        f"arn:{partition}:bedrock:{backend.region_name}:{backend.account_id}:custom-model/"
        f"{extras.base_model_id}/{_suffix('model', backend.account_id, backend.region_name, job.job_arn)}",
        MODEL_ARN_PATTERN,
        "CustomModelArn",
    )
    model.creation_time = _now()
    model.customization_config = copy.deepcopy(extras.customization_config)
    backend.custom_models[model.model_name] = model
    job.output_model_arn = model.model_arn
    job.output_model_name = model.model_name
    if extras.custom_model_tags:
        backend.tag_resource(model.model_arn, extras.custom_model_tags)


def install_moto_compensations(monkeypatch: pytest.MonkeyPatch) -> None:
    """Patch moto's bedrock classes for one test; monkeypatch restores them."""
    monkeypatch.setattr(BedrockBackend, "create_model_customization_job", _create_job)
    monkeypatch.setattr(BedrockBackend, "get_model_customization_job", _get_job)
    monkeypatch.setattr(BedrockBackend, "stop_model_customization_job", _stop_job)
    monkeypatch.setattr(BedrockBackend, "get_custom_model", _get_model)
    monkeypatch.setattr(BedrockBackend, "delete_custom_model", _delete_model)
    monkeypatch.setattr(BedrockResponse, "create_model_customization_job", _respond_create_job)
    monkeypatch.setattr(ModelCustomizationJob, "to_dict", _job_to_dict)
    monkeypatch.setattr(CustomModel, "to_dict", _model_to_dict)
    monkeypatch.setattr(BotocoreStubber, "__call__", _stubber_call)


# --- throttling ----------------------------------------------------------------------------------------


class _Body:
    """The raw body of a botocore AWSResponse (it reads raw.stream())."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        yield self._body


def throttling_response(url: str) -> AWSResponse:
    """What Bedrock answers when a caller exceeds its request rate."""
    body = json.dumps(THROTTLING_BODY).encode()
    headers = {
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        "x-amzn-ErrorType": "ThrottlingException",
        "x-amzn-RequestId": str(uuid.uuid4()),
    }
    return AWSResponse(url, 400, headers, _Body(body))


# --- the test-facing object ----------------------------------------------------------------------------


class BedrockStandIn:
    """Bedrock as the handler under test sees it, inside ``moto.mock_aws()``.

    Construct it inside an active ``mock_aws()``; ``client()`` builds the handler's own client
    (``bedrock_custom_resource.aws.bedrock_client``: its bundled service model and standard-mode retries)
    and instruments it. Read state with ``jobs()``, ``job()``, ``models()``, ``tags()``; drive jobs with
    ``set_job_status()`` and ``finish_stopping()``; inject throttling with ``throttle()``.
    """

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, *, region: str = "us-east-1", account_id: str = DEFAULT_ACCOUNT_ID
    ) -> None:
        self.region = region
        self.account_id = account_id
        self.calls: list[Call] = []
        # One entry (the operation name) per HTTP request sent, throttled ones included.
        self.attempts: list[str] = []
        # The backoff botocore's standard retry mode computed before each retry (the sleep is skipped).
        self.retry_delays: list[float] = []
        self._throttles_left = 0
        install_moto_compensations(monkeypatch)
        original_delay = standard_retries.ExponentialBackoff.delay_amount

        def no_delay(backoff: Any, context: Any) -> float:
            """Not a moto gap: keeps retry tests fast while recording that botocore backed off."""
            self.retry_delays.append(original_delay(backoff, context))
            return 0.0

        monkeypatch.setattr(standard_retries.ExponentialBackoff, "delay_amount", no_delay)

    # clients

    def client(self) -> Any:
        """A new client exactly as the handler builds it, instrumented."""
        return self.instrument(aws.bedrock_client())

    def instrument(self, client: Any) -> Any:
        client.meta.events.register("provide-client-params.bedrock", self._record_call)
        # Registered first and more specific than moto's "before-send" handler, so it answers first.
        client.meta.events.register_first("before-send.bedrock", self._before_send)
        return client

    def _record_call(self, params: Mapping[str, Any], model: Any, **_kwargs: Any) -> None:
        self.calls.append(Call(model.name, copy.deepcopy(dict(params))))

    def _before_send(self, request: Any, event_name: str, **_kwargs: Any) -> AWSResponse | None:
        self.attempts.append(event_name.rsplit(".", 1)[-1])
        if self._throttles_left > 0:
            self._throttles_left -= 1
            setattr(request, _THROTTLED, True)
            return throttling_response(request.url)
        return None

    def throttle(self, times: int) -> None:
        """Answer the next ``times`` HTTP requests with ThrottlingException before moto sees them."""
        self._throttles_left = times

    # recorded calls

    def operations(self) -> list[str]:
        return [call.operation for call in self.calls]

    def calls_to(self, operation: str) -> list[dict[str, Any]]:
        return [call.params for call in self.calls if call.operation == operation]

    # state

    @property
    def backend(self) -> BedrockBackend:
        return bedrock_backends[self.account_id][self.region]

    def jobs(self) -> list[dict[str, Any]]:
        """Every job, as GetModelCustomizationJob would describe it."""
        return [job.to_dict() for job in self.backend.model_customization_jobs.values()]

    def job(self, job_arn_or_name: str) -> dict[str, Any]:
        result: dict[str, Any] = _find_job(self.backend, job_arn_or_name).to_dict()
        return result

    def models(self) -> list[dict[str, Any]]:
        """Every custom model, as GetCustomModel would describe it."""
        return [model.to_dict() for model in self.backend.custom_models.values()]

    def tags(self, arn: str) -> dict[str, str]:
        return {tag["key"]: tag["value"] for tag in self.backend.list_tags_for_resource(arn)}

    # driving jobs

    def set_job_status(
        self,
        job_arn_or_name: str,
        status: str,
        failure_message: str | None = None,
        training_loss: float | None = None,
        validation_loss: float | None = None,
        status_details: Mapping[str, str] | None = None,
    ) -> None:
        """Move a job to status, as Bedrock would over time.

        Completed creates the custom model (with the request's customModelTags) and sets endTime;
        Failed and Stopped set endTime and failureMessage (Failed always has one). status_details
        overrides sub-task statuses, e.g. ``{"trainingDetails": "InProgress"}``.
        """
        _transition(
            self.backend,
            _find_job(self.backend, job_arn_or_name),
            status,
            failure_message=failure_message,
            training_loss=training_loss,
            validation_loss=validation_loss,
            status_details=status_details,
        )

    def finish_stopping(self, job_arn_or_name: str | None = None) -> None:
        """Stopping -> Stopped, for one job or for every stopping job."""
        if job_arn_or_name is not None:
            jobs = [_find_job(self.backend, job_arn_or_name)]
        else:
            jobs = list(self.backend.model_customization_jobs.values())
        for job in jobs:
            if job.status == "Stopping":
                _transition(self.backend, job, "Stopped")
