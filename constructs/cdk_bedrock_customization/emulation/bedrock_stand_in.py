"""A stand-in for Amazon Bedrock's model customization API: moto 5.2.x plus what moto lacks.

moto's bedrock backend (``moto/bedrock/models.py`` and ``responses.py``) differs from the real service in
ways that matter to a custom resource handler (DESIGN.md, fact 8). ``BedrockStandIn`` patches moto's
classes for one test, through a patcher (pytest's ``monkeypatch`` or ``patches.Patches``, which restore
them afterwards; moto's files are not edited), and closes these gaps. Every compensation is marked "moto
gap" where it is made:

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
10. moto refuses more than 50 tags on a resource; Bedrock's limit is its TagList's, 200 (the service model).

Serving is not a moto gap but an emulation written here: moto implements none of CreateCustomModel
(importing a SageMaker-trained model), the Create/Get/Update/DeleteCustomModelDeployment and the
Create/Get/Update/DeleteProvisionedModelThroughput operations. ``_before_send`` answers them itself,
reading the prepared HTTP request and returning a response that botocore's rest-json parser parses, with
each operation's HTTP status and only the errors its service model lists. It follows the documented
behaviour: every request is checked against the service model (required members, enums, lengths,
patterns, minimums: ValidationException naming the member); ARNs have Bedrock's shapes; a repeated
clientRequestToken returns the resource it created; names are unique per kind; Get and Delete take a name
or an ARN; a model that a deployment or a provisioned throughput uses cannot be deleted (ConflictException);
a deployment updates to another model only while Active, and a provisioned throughput changes its model
only while InService, from a custom model to its base foundation model or a custom model of the same base;
a throughput with a commitment cannot be deleted before the term ends. GetCustomModel and
DeleteCustomModel of a trained model still go to moto. It simplifies: statuses move only when a test
drives them (``set_model_status`` and the like); nothing checks that S3 objects, roles, keys, model
packages or foundation models exist; tokens are remembered only while their resource exists; an imported
model reports a fixed foundation model (IMPORTED_MODEL_FOUNDATION) where one is needed; quotas (model
units, counts) are not enforced.

A test may also set a quota of concurrent jobs (``limit_concurrent_jobs``): a job started while that many
run is refused with ServiceQuotaExceededException, as Bedrock does; ``peak_concurrent_jobs`` tells the
most that ran at once.

It also records every Bedrock call a client makes (operation and parameters, through botocore's
``provide-client-params`` event) and can answer the next N HTTP requests with ThrottlingException, so
that the client's retries can be tested.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from bedrock_custom_resource import aws, contract, lifecycle
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.config import Config
from botocore.model import ListShape, MapShape, OperationModel, Shape, StringShape, StructureShape
from botocore.retries import standard as standard_retries
from moto.bedrock.exceptions import BedrockClientError, ResourceNotFoundException, TooManyTagsException
from moto.bedrock.models import BedrockBackend, CustomModel, ModelCustomizationJob, bedrock_backends
from moto.bedrock.responses import BedrockResponse
from moto.core.botocore_stubber import BotocoreStubber
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.core.responses import BaseResponse
from moto.iam.models import get_account_id_from
from moto.utilities.utils import get_partition

from .patches import Patcher, patched


def _enum(shape_name: str) -> tuple[str, ...]:
    shape = contract.shape(shape_name)
    assert isinstance(shape, StringShape)
    return tuple(shape.enum)


def _arn_pattern(shape_name: str) -> re.Pattern[str]:
    return re.compile(contract.shape(shape_name).metadata["pattern"])


SUB_TASKS = ("validationDetails", "dataProcessingDetails", "trainingDetails")
JOB_STATUSES = _enum("ModelCustomizationJobStatus")
SUB_TASK_STATUSES = _enum("JobStatusDetails")
MODEL_STATUSES = _enum("ModelStatus")
DEPLOYMENT_STATUSES = _enum("CustomModelDeploymentStatus")
THROUGHPUT_STATUSES = _enum("ProvisionedModelStatus")
JOB_ARN_PATTERN = _arn_pattern("ModelCustomizationJobArn")
MODEL_ARN_PATTERN = _arn_pattern("CustomModelArn")
IMPORTED_MODEL_ARN_PATTERN = _arn_pattern("ModelArn")
DEPLOYMENT_ARN_PATTERN = _arn_pattern("CustomModelDeploymentArn")
THROUGHPUT_ARN_PATTERN = _arn_pattern("ProvisionedModelArn")
FOUNDATION_MODEL_ARN_PATTERN = _arn_pattern("FoundationModelArn")
THROTTLING_BODY = {"__type": "ThrottlingException", "message": "Rate exceeded"}
# Provisioned throughput reports the foundation model a custom model derives from. An imported model has
# none of Bedrock's, so the stand-in reports this one (a guess; all imported models share it).
IMPORTED_MODEL_FOUNDATION = "amazon.nova-micro-v1:0"
COMMITMENT_DAYS = {"OneMonth": 30, "SixMonths": 182}

_EXTRAS = "stand_in_extras"
_KMS_KEY_ARN = "output_model_kms_key_arn"
_CUSTOMIZATION_CONFIG = "customization_config"
_SERVING = "stand_in_serving"
_JOB_QUOTA = "stand_in_job_quota"
_PEAK_RUNNING = "stand_in_peak_running_jobs"
RUNNING_JOB_STATUSES = ("InProgress", "Stopping")
_ANSWERED = "stand_in_answered"
_ORIGINAL_CREATE = BedrockBackend.create_model_customization_job
_ORIGINAL_LIST_ARNS = BedrockBackend._list_arns
MAX_TAGS = int(contract.shape("TagList").metadata["max"])
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


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _now() -> str:
    return _iso(datetime.now(UTC))


def _suffix(*parts: str) -> str:
    """12 lowercase alphanumerics, as the last segment of Bedrock's job and model ARNs."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


def _extras(job: ModelCustomizationJob) -> _JobExtras:
    extras = getattr(job, _EXTRAS, None)
    if not isinstance(extras, _JobExtras):
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
    # Not a moto gap: Bedrock's quota of concurrent jobs per account and Region, when a test sets one.
    running = sum(1 for job in self.model_customization_jobs.values() if job.status in RUNNING_JOB_STATUSES)
    quota = getattr(self, _JOB_QUOTA, None)
    if quota is not None and running >= quota:
        raise BedrockClientError(
            "ServiceQuotaExceededException",
            f"The number of concurrent model customization jobs ({running}) has reached the quota ({quota})",
        )
    setattr(self, _PEAK_RUNNING, max(getattr(self, _PEAK_RUNNING, 0), running + 1))
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
    # moto gap 8: no fabricated end time, failure, metrics or key before they exist (and no output model
    # ARN, gap 3). moto types these attributes as always set, hence setattr.
    for unset in ("output_model_arn", "end_time", "failure_message", "training_metrics", "validation_metrics"):
        setattr(job, unset, None)
    setattr(job, _KMS_KEY_ARN, _kms_key_arn(self, custom_model_kms_key_id))
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
    job_arn = self.bedrock_backend.create_model_customization_job(  # type: ignore[call-arg]  # _create_job's
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
    customization_config = getattr(self, _CUSTOMIZATION_CONFIG, None)
    if customization_config:
        result["customizationConfig"] = copy.deepcopy(customization_config)
    result["modelStatus"] = "Active"
    return result


def _stubber_call(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
    """botocore emits before-send to every handler (emit, not emit_until_response), so moto's stubber
    would still carry out a request the stand-in already answered (with ThrottlingException, or as the
    serving emulation). moto must not see it: a throttled request never reached the service, and a
    refused DeleteCustomModel must not delete the model."""
    if getattr(request, _ANSWERED, False):
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
    setattr(model, _CUSTOMIZATION_CONFIG, copy.deepcopy(extras.customization_config))
    backend.custom_models[model.model_name] = model
    job.output_model_arn = model.model_arn
    job.output_model_name = model.model_name
    if extras.custom_model_tags:
        backend.tag_resource(model.model_arn, extras.custom_model_tags)


def install_moto_compensations(monkeypatch: Patcher) -> None:
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
    monkeypatch.setattr(BedrockBackend, "_list_arns", _list_arns)
    monkeypatch.setattr(BedrockBackend, "tag_resource", _tag_resource)


# --- serving: an emulation written here, not a moto gap (see the module docstring) ---------------------


@dataclass(kw_only=True)
class _Resource:
    arn: str
    name: str
    token: str | None
    created: datetime


@dataclass(kw_only=True)
class _ImportedModel(_Resource):
    kms_key_arn: str | None
    status: str = "Creating"
    failure_message: str | None = None

    def describe(self) -> dict[str, Any]:
        return _present(
            modelArn=self.arn,
            modelName=self.name,
            creationTime=_iso(self.created),
            customizationType="IMPORTED",
            modelKmsKeyArn=self.kms_key_arn,
            modelStatus=self.status,
            failureMessage=self.failure_message if self.status == "Failed" else None,
        )


@dataclass(kw_only=True)
class _Deployment(_Resource):
    model_arn: str
    description: str | None
    last_updated: datetime
    status: str = "Creating"
    failure_message: str | None = None
    update_details: dict[str, str] | None = None

    @property
    def updating(self) -> bool:
        return self.update_details is not None and self.update_details["updateStatus"] == "Updating"

    def models(self) -> set[str]:
        """The models it serves: its own, and the one an update in progress moves it to."""
        target = self.update_details["modelArn"] if self.update_details and self.updating else self.model_arn
        return {self.model_arn, target}

    def describe(self) -> dict[str, Any]:
        return _present(
            customModelDeploymentArn=self.arn,
            modelDeploymentName=self.name,
            modelArn=self.model_arn,
            createdAt=_iso(self.created),
            status=self.status,
            description=self.description,
            updateDetails=copy.deepcopy(self.update_details),
            failureMessage=self.failure_message if self.status == "Failed" else None,
            lastUpdatedAt=_iso(self.last_updated),
        )


@dataclass(kw_only=True)
class _Throughput(_Resource):
    model_units: int
    model_arn: str
    desired_model_arn: str
    foundation_model_arn: str
    commitment_duration: str | None
    commitment_expiration: datetime | None
    last_modified: datetime
    status: str = "Creating"
    failure_message: str | None = None

    def describe(self) -> dict[str, Any]:
        return _present(
            modelUnits=self.model_units,
            desiredModelUnits=self.model_units,
            provisionedModelName=self.name,
            provisionedModelArn=self.arn,
            modelArn=self.model_arn,
            desiredModelArn=self.desired_model_arn,
            foundationModelArn=self.foundation_model_arn,
            status=self.status,
            creationTime=_iso(self.created),
            lastModifiedTime=_iso(self.last_modified),
            failureMessage=self.failure_message if self.status == "Failed" else None,
            commitmentDuration=self.commitment_duration,
            commitmentExpirationTime=_iso(self.commitment_expiration) if self.commitment_expiration else None,
        )


@dataclass
class _Serving:
    """The emulated resources of one account and Region, each kind keyed by ARN."""

    models: dict[str, _ImportedModel] = field(default_factory=dict)
    deployments: dict[str, _Deployment] = field(default_factory=dict)
    throughputs: dict[str, _Throughput] = field(default_factory=dict)

    def arns(self) -> list[str]:
        return [*self.models, *self.deployments, *self.throughputs]


R = TypeVar("R", bound=_Resource)
Handler = Callable[[BedrockBackend, dict[str, Any]], dict[str, Any] | None]


def _present(**members: Any) -> dict[str, Any]:
    return {name: value for name, value in members.items() if value is not None}


def _serving(backend: BedrockBackend) -> _Serving:
    """Kept on moto's backend, so it is per account and Region, and mock_aws() discards it."""
    serving = getattr(backend, _SERVING, None)
    if not isinstance(serving, _Serving):
        serving = _Serving()
        setattr(backend, _SERVING, serving)
    return serving


def _list_arns(self: BedrockBackend) -> list[str]:
    """moto's tag operations accept only the ARNs this lists: the emulated resources are taggable too."""
    return [*_ORIGINAL_LIST_ARNS(self), *_serving(self).arns()]


def _tag_resource(self: BedrockBackend, resource_arn: str, tags: list[dict[str, str]]) -> None:
    """moto gap 10: at most as many tags as Bedrock's TagList holds (200), not moto's 50."""
    if resource_arn not in self._list_arns():
        raise ResourceNotFoundException(f"Resource {resource_arn} not found")
    current = {tag["Key"] for tag in self.tagger.list_tags_for_resource(resource_arn)["Tags"]}
    if len(current | {tag["key"] for tag in tags}) > MAX_TAGS:
        raise TooManyTagsException(f"Member must have length less than or equal to {MAX_TAGS}")
    self.tagger.tag_resource(resource_arn, [{"Key": tag["key"], "Value": tag["value"]} for tag in tags])


def _find(resources: Mapping[str, R], identifier: str, kind: str) -> R:
    for resource in resources.values():
        if identifier in (resource.arn, resource.name):
            return resource
    raise ResourceNotFoundException(f"{kind} {identifier} not found")


def _by_token(resources: Mapping[str, R], token: str | None) -> R | None:
    """The resource a request with this clientRequestToken already created."""
    return next((r for r in resources.values() if token and r.token == token), None)


def _name_taken(resources: Mapping[str, R], name: str, kind: str) -> None:
    if any(resource.name == name for resource in resources.values()):
        raise BedrockValidationException(f"A {kind} named {name} already exists")


def _add(backend: BedrockBackend, resources: dict[str, R], resource: R, tags: list[dict[str, str]] | None) -> None:
    resources[resource.arn] = resource
    if tags:
        try:
            backend.tag_resource(resource.arn, tags)
        except BedrockClientError:  # TooManyTagsException: nothing is created
            del resources[resource.arn]
            raise


def _remove(backend: BedrockBackend, resources: dict[str, R], resource: R) -> None:
    del resources[resource.arn]
    backend.tagger.delete_all_tags_for_resource(resource.arn)


def _new_arn(backend: BedrockBackend, resource_type: str, pattern: re.Pattern[str], shape: str) -> str:
    # Random, not derived from the name: a resource deleted and created again under its name gets a new ARN.
    partition = get_partition(backend.region_name)
    return _checked_arn(
        f"arn:{partition}:bedrock:{backend.region_name}:{backend.account_id}:{resource_type}/{uuid.uuid4().hex[:12]}",
        pattern,
        shape,
    )


def _foundation_model_arn(backend: BedrockBackend, model_id: str) -> str:
    if model_id.startswith("arn:"):
        return model_id
    return f"arn:{get_partition(backend.region_name)}:bedrock:{backend.region_name}::foundation-model/{model_id}"


def _imported(backend: BedrockBackend, identifier: str) -> _ImportedModel | None:
    return next((m for m in _serving(backend).models.values() if identifier in (m.arn, m.name)), None)


def _trained(backend: BedrockBackend, identifier: str) -> CustomModel | None:
    return next((m for m in backend.custom_models.values() if identifier in (m.model_arn, m.model_name)), None)


def _usable_model(backend: BedrockBackend, identifier: str) -> tuple[str, str]:
    """(ARN, base foundation model ARN) of the custom model a deployment or throughput may serve: an Active
    imported model or a trained model. Anything else is ResourceNotFoundException (the brief's rule; Bedrock
    may answer ValidationException for an imported model that exists but is not Active)."""
    imported = _imported(backend, identifier)
    if imported is not None:
        if imported.status != "Active":
            raise ResourceNotFoundException(f"Custom model {identifier} is {imported.status}, not Active")
        return imported.arn, _foundation_model_arn(backend, IMPORTED_MODEL_FOUNDATION)
    trained = _trained(backend, identifier)
    if trained is None:
        raise ResourceNotFoundException(f"Custom model {identifier} not found")
    return trained.model_arn, _foundation_model_arn(backend, _base_model_id(backend, trained.model_arn))


def _throughput_model(backend: BedrockBackend, model_id: str) -> tuple[str, str]:
    """(ARN, base foundation model ARN) of a foundation model id or ARN, or a custom model name or ARN.
    Custom model names cannot contain a dot; foundation model ids always do."""
    if ":foundation-model/" in model_id or (not model_id.startswith("arn:") and "." in model_id):
        arn = _foundation_model_arn(backend, model_id)
        return arn, arn
    return _usable_model(backend, model_id)


def _refuse_if_in_use(backend: BedrockBackend, model_arn: str) -> None:
    serving = _serving(backend)
    users = [f"custom model deployment {d.name}" for d in serving.deployments.values() if model_arn in d.models()]
    users += [
        f"provisioned model {t.name}"
        for t in serving.throughputs.values()
        if model_arn in (t.model_arn, t.desired_model_arn)
    ]
    if users:
        raise BedrockClientError("ConflictException", f"Custom model {model_arn} is in use by {', '.join(users)}")


# operations


def _create_custom_model(backend: BedrockBackend, params: dict[str, Any]) -> dict[str, Any]:
    serving = _serving(backend)
    sources = [member for member in ("modelSourceConfig", "customModelDataSource") if member in params]
    if len(sources) != 1:
        raise BedrockValidationException(
            f"Specify exactly one of modelSourceConfig and customModelDataSource; got {sources or 'neither'}"
        )
    existing = _by_token(serving.models, params.get("clientRequestToken"))
    if existing is not None:
        return {"modelArn": existing.arn}
    name = params["modelName"]
    if _imported(backend, name) is not None or name in backend.custom_models:
        raise BedrockClientError("ConflictException", f"A custom model named {name} already exists")
    model = _ImportedModel(
        arn=_new_arn(backend, "custom-model/imported", IMPORTED_MODEL_ARN_PATTERN, "ModelArn"),
        name=name,
        token=params.get("clientRequestToken"),
        created=datetime.now(UTC),
        kms_key_arn=params.get("modelKmsKeyArn"),
    )
    _add(backend, serving.models, model, params.get("modelTags"))
    return {"modelArn": model.arn}


def _get_custom_model(backend: BedrockBackend, params: dict[str, Any]) -> dict[str, Any] | None:
    model = _imported(backend, params["modelIdentifier"])
    return None if model is None else model.describe()  # None: moto answers for a trained model


def _delete_custom_model(backend: BedrockBackend, params: dict[str, Any]) -> dict[str, Any] | None:
    identifier = params["modelIdentifier"]
    imported = _imported(backend, identifier)
    if imported is not None:
        _refuse_if_in_use(backend, imported.arn)
        _remove(backend, _serving(backend).models, imported)
        return {}
    trained = _trained(backend, identifier)
    if trained is not None:
        _refuse_if_in_use(backend, trained.model_arn)
    return None  # moto deletes the trained model, or answers ResourceNotFoundException


def _create_deployment(backend: BedrockBackend, params: dict[str, Any]) -> dict[str, Any]:
    serving = _serving(backend)
    existing = _by_token(serving.deployments, params.get("clientRequestToken"))
    if existing is not None:
        return {"customModelDeploymentArn": existing.arn}
    # CreateCustomModelDeployment lists no ConflictException: a taken name is a ValidationException.
    _name_taken(serving.deployments, params["modelDeploymentName"], "custom model deployment")
    model_arn, _ = _usable_model(backend, params["modelArn"])
    now = datetime.now(UTC)
    deployment = _Deployment(
        arn=_new_arn(backend, "custom-model-deployment", DEPLOYMENT_ARN_PATTERN, "CustomModelDeploymentArn"),
        name=params["modelDeploymentName"],
        token=params.get("clientRequestToken"),
        created=now,
        last_updated=now,
        model_arn=model_arn,
        description=params.get("description"),
    )
    _add(backend, serving.deployments, deployment, params.get("tags"))
    return {"customModelDeploymentArn": deployment.arn}


def _find_deployment(backend: BedrockBackend, params: dict[str, Any]) -> _Deployment:
    return _find(_serving(backend).deployments, params["customModelDeploymentIdentifier"], "Custom model deployment")


def _get_deployment(backend: BedrockBackend, params: dict[str, Any]) -> dict[str, Any]:
    return _find_deployment(backend, params).describe()


def _update_deployment(backend: BedrockBackend, params: dict[str, Any]) -> dict[str, Any]:
    deployment = _find_deployment(backend, params)
    if deployment.status != "Active" or deployment.updating:
        state = "being updated" if deployment.updating else deployment.status
        raise BedrockValidationException(
            f"Custom model deployment {deployment.name} is {state}; only an Active deployment can be updated"
        )
    model_arn, _ = _usable_model(backend, params["modelArn"])
    deployment.update_details = {"modelArn": model_arn, "updateStatus": "Updating"}
    deployment.last_updated = datetime.now(UTC)
    return {"customModelDeploymentArn": deployment.arn}


def _delete_deployment(backend: BedrockBackend, params: dict[str, Any]) -> dict[str, Any]:
    _remove(backend, _serving(backend).deployments, _find_deployment(backend, params))
    return {}


def _create_throughput(backend: BedrockBackend, params: dict[str, Any]) -> dict[str, Any]:
    serving = _serving(backend)
    existing = _by_token(serving.throughputs, params.get("clientRequestToken"))
    if existing is not None:
        return {"provisionedModelArn": existing.arn}
    _name_taken(serving.throughputs, params["provisionedModelName"], "provisioned model")
    model_arn, foundation_model_arn = _throughput_model(backend, params["modelId"])
    now = datetime.now(UTC)
    duration = params.get("commitmentDuration")
    throughput = _Throughput(
        arn=_new_arn(backend, "provisioned-model", THROUGHPUT_ARN_PATTERN, "ProvisionedModelArn"),
        name=params["provisionedModelName"],
        token=params.get("clientRequestToken"),
        created=now,
        last_modified=now,
        model_units=params["modelUnits"],
        model_arn=model_arn,
        desired_model_arn=model_arn,
        foundation_model_arn=foundation_model_arn,
        commitment_duration=duration,
        commitment_expiration=now + timedelta(days=COMMITMENT_DAYS[duration]) if duration else None,
    )
    _add(backend, serving.throughputs, throughput, params.get("tags"))
    return {"provisionedModelArn": throughput.arn}


def _find_throughput(backend: BedrockBackend, params: dict[str, Any]) -> _Throughput:
    return _find(_serving(backend).throughputs, params["provisionedModelId"], "Provisioned model")


def _get_throughput(backend: BedrockBackend, params: dict[str, Any]) -> dict[str, Any]:
    return _find_throughput(backend, params).describe()


def _update_throughput(backend: BedrockBackend, params: dict[str, Any]) -> dict[str, Any]:
    throughput = _find_throughput(backend, params)
    if throughput.status != "InService":
        raise BedrockValidationException(
            f"Provisioned model {throughput.name} is {throughput.status}; only an InService one can be updated"
        )
    # Check everything before changing anything: a refused request changes nothing.
    new_name = params.get("desiredProvisionedModelName")
    if new_name and new_name != throughput.name:
        _name_taken(_serving(backend).throughputs, new_name, "provisioned model")
    target = None
    if "desiredModelId" in params:
        target_arn, target_foundation = _throughput_model(backend, params["desiredModelId"])
        if target_arn != throughput.model_arn:
            if ":custom-model/" not in throughput.model_arn:
                raise BedrockValidationException(
                    f"Provisioned model {throughput.name} serves a foundation model; only one that serves a"
                    " custom model can change its model"
                )
            if target_foundation != throughput.foundation_model_arn:
                raise BedrockValidationException(
                    f"{target_arn} is not {throughput.foundation_model_arn} nor a custom model of it; provisioned"
                    f" model {throughput.name} can change only to its base model or a custom model of that base"
                )
            target = target_arn
    if new_name:
        throughput.name = new_name
    if target:
        throughput.desired_model_arn = target
        throughput.status = "Updating"
    throughput.last_modified = datetime.now(UTC)
    return {}


def _delete_throughput(backend: BedrockBackend, params: dict[str, Any]) -> dict[str, Any]:
    throughput = _find_throughput(backend, params)
    expiration = throughput.commitment_expiration
    if expiration is not None and expiration > datetime.now(UTC):
        raise BedrockValidationException(
            f"Provisioned model {throughput.name} has a {throughput.commitment_duration} commitment: the commitment"
            f" term has not ended (it ends {_iso(expiration)})"
        )
    _remove(backend, _serving(backend).throughputs, throughput)
    return {}


SERVING_OPERATIONS: dict[str, Handler] = {
    "CreateCustomModel": _create_custom_model,
    "GetCustomModel": _get_custom_model,
    "DeleteCustomModel": _delete_custom_model,
    "CreateCustomModelDeployment": _create_deployment,
    "GetCustomModelDeployment": _get_deployment,
    "UpdateCustomModelDeployment": _update_deployment,
    "DeleteCustomModelDeployment": _delete_deployment,
    "CreateProvisionedModelThroughput": _create_throughput,
    "GetProvisionedModelThroughput": _get_throughput,
    "UpdateProvisionedModelThroughput": _update_throughput,
    "DeleteProvisionedModelThroughput": _delete_throughput,
}


# requests


_BEDROCK_HOST = re.compile(r"bedrock\.([a-z0-9-]+)\.amazonaws\.com")


def _request_backend(request: Any) -> BedrockBackend:
    """The backend moto would pick for this request: its Region, and the account of its access key."""
    host = _BEDROCK_HOST.fullmatch(urlsplit(request.url).netloc)
    if host is None:
        raise AssertionError(f"the stand-in cannot tell the Region of {request.url}")
    headers = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    account = os.environ.get("MOTO_ACCOUNT_ID") or headers.get("x-moto-account-id")
    if not account:
        access_key = BaseResponse.access_key_regex.search(headers.get("authorization", ""))
        account = get_account_id_from(access_key.group("access_key") if access_key else "AKIAEXAMPLE")
    backend: BedrockBackend = bedrock_backends[account][host.group(1)]
    return backend


def _request_params(operation: OperationModel, request: Any) -> dict[str, Any]:
    """The members of a prepared rest-json request: its JSON body and its percent-encoded path labels."""
    params: dict[str, Any] = json.loads(request.body or b"{}")
    labels = operation.http["requestUri"].split("?", 1)[0].split("/")
    for label, segment in zip(labels, urlsplit(request.url).path.split("/"), strict=False):
        if label.startswith("{"):
            params[label.strip("{}+")] = unquote(segment)
    return params


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _problems(shape: Shape, value: Any, path: str) -> list[str]:
    """What Bedrock's request validation says about value, in its wording; botocore checks only some of it
    (required members, types, minimums) and only when parameter validation is on.

    Deliberately not contract.py's validator: the stand-in judges the handler's requests, so it must not
    share the handler's own rules, or a mistake in them would pass unnoticed."""

    def broken(rule: str) -> list[str]:
        return [f"Value '{value}' at '{path}' failed to satisfy constraint: Member must {rule}"]

    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if isinstance(shape, StructureShape):
        if not isinstance(value, Mapping):
            return broken("be a structure")
        problems = [
            f"Value null at '{_member(path, name)}' failed to satisfy constraint: Member must not be null"
            for name in shape.required_members
            if value.get(name) is None
        ]
        for name, item in value.items():
            if name in shape.members and item is not None:
                problems += _problems(shape.members[name], item, _member(path, name))
        if shape.is_tagged_union and len(value) != 1:
            problems += broken(f"have exactly one of {sorted(shape.members)} set")
        return problems
    if isinstance(shape, ListShape | MapShape):
        if not isinstance(value, list | Mapping):
            return broken(f"be a {shape.type_name}")
        problems = []
        if low is not None and len(value) < low:
            problems += broken(f"have length greater than or equal to {low}")
        if high is not None and len(value) > high:
            problems += broken(f"have length less than or equal to {high}")
        if isinstance(shape, ListShape) and isinstance(value, list):
            for index, item in enumerate(value):
                problems += _problems(shape.member, item, f"{path}.{index + 1}.member")
        elif isinstance(shape, MapShape) and isinstance(value, Mapping):
            for key, item in value.items():
                problems += _problems(shape.key, key, f"{path}.key") + _problems(shape.value, item, f"{path}.{key}")
        return problems
    if isinstance(shape, StringShape):
        if not isinstance(value, str):
            return broken("be a string")
        if shape.enum:
            return [] if value in shape.enum else broken(f"satisfy enum value set: [{', '.join(shape.enum)}]")
        problems = []
        if low is not None and len(value) < low:
            problems += broken(f"have length greater than or equal to {low}")
        if high is not None and len(value) > high:
            problems += broken(f"have length less than or equal to {high}")
        pattern = shape.metadata.get("pattern")
        if pattern is not None and not _compiled(pattern).fullmatch(value):
            problems += broken(f"satisfy regular expression pattern: {pattern}")
        return problems
    if shape.type_name in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return broken("be an integer")
        if low is not None and value < low:
            return broken(f"have value greater than or equal to {low}")
        if high is not None and value > high:
            return broken(f"have value less than or equal to {high}")
    return []


def _member(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def serve(request: Any, operation: str) -> AWSResponse | None:
    """Answer a request for an emulated operation, or None to leave it to moto."""
    handler = SERVING_OPERATIONS.get(operation)
    if handler is None:
        return None
    model = contract.service_model().operation_model(operation)
    assert model.input_shape is not None
    try:
        params = _request_params(model, request)
        problems = _problems(model.input_shape, params, "")
        if problems:
            plural = "s" if len(problems) > 1 else ""
            detected = f"{len(problems)} validation error{plural} detected"
            raise BedrockValidationException(f"{detected}: {'; '.join(problems)}")
        result = handler(_request_backend(request), params)
    except BedrockClientError as error:
        listed = {shape.name for shape in model.error_shapes}
        if error.error_type not in listed:
            raise AssertionError(f"{operation} cannot answer {error.error_type}; it lists {sorted(listed)}") from error
        return error_response(request.url, error.error_type, error.message)
    if result is None:
        return None
    return json_response(request.url, model.http.get("responseCode", 200), result)


# --- responses the stand-in gives itself ---------------------------------------------------------------


class _Body:
    """The raw body of a botocore AWSResponse (it reads raw.stream())."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        yield self._body


def json_response(url: str, status: int, payload: Mapping[str, Any], error_type: str | None = None) -> AWSResponse:
    body = json.dumps(payload).encode()
    all_headers = {
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        "x-amzn-RequestId": str(uuid.uuid4()),
    }
    if error_type:
        all_headers["x-amzn-ErrorType"] = error_type
    return AWSResponse(url, status, HTTPHeaders.from_dict(all_headers), _Body(body))


def error_response(url: str, code: str, message: str) -> AWSResponse:
    """A Bedrock error, with the HTTP status that the service model gives the error's shape."""
    status = contract.shape(code).metadata["error"]["httpStatusCode"]
    return json_response(url, status, {"message": message}, error_type=code)


def throttling_response(url: str) -> AWSResponse:
    """What Bedrock answers when a caller exceeds its request rate."""
    return error_response(url, THROTTLING_BODY["__type"], THROTTLING_BODY["message"])


# --- the test-facing object ----------------------------------------------------------------------------


class BedrockStandIn:
    """Bedrock as the handler under test sees it, inside ``moto.mock_aws()``.

    Construct it inside an active ``mock_aws()``; ``client()`` builds the handler's own client
    (``bedrock_custom_resource.aws.bedrock_client``: its bundled service model and standard-mode retries)
    and instruments it. Read state with ``jobs()``, ``job()``, ``models()``, ``tags()``; drive jobs with
    ``set_job_status()`` and ``finish_stopping()``; inject throttling with ``throttle()``.

    Serving (the emulation): read with ``imported_models()``, ``deployments()``, ``throughputs()`` (as the
    Get operations describe them); drive with ``set_model_status()``, ``set_deployment_status()``,
    ``finish_deployment_update()``, ``set_throughput_status()``, ``finish_throughput_update()`` and
    ``expire_commitment()``. Every driver takes a name or an ARN; statuses are the service model's enums.
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
        install_moto_compensations(monkeypatch)
        original_delay = standard_retries.ExponentialBackoff.delay_amount

        def no_delay(backoff: Any, context: Any) -> float:
            """Not a moto gap: keeps retry tests fast while recording that botocore backed off."""
            self.retry_delays.append(original_delay(backoff, context))
            return 0.0

        monkeypatch.setattr(standard_retries.ExponentialBackoff, "delay_amount", no_delay)

    # clients

    def client(self, *, parameter_validation: bool = True) -> Any:
        """A new client exactly as the handler builds it, instrumented. Without parameter_validation,
        botocore skips its own checks, so that a request reaches the stand-in's validation as it is."""
        if parameter_validation:
            return self.instrument(aws.bedrock_client())
        with patched() as patch:
            patch.setattr(aws, "RETRY_CONFIG", aws.RETRY_CONFIG.merge(Config(parameter_validation=False)))
            return self.instrument(aws.bedrock_client())

    def instrument(self, client: Any) -> Any:
        client.meta.events.register("provide-client-params.bedrock", self._record_call)
        # Registered first and more specific than moto's "before-send" handler, so it answers first.
        client.meta.events.register_first("before-send.bedrock", self._before_send)
        client.meta.events.register("after-call.bedrock", self._after_call)
        return client

    def _after_call(self, model: Any, **_kwargs: Any) -> None:
        if model.name == self._lose_response_of:
            self._lose_response_of = None
            raise ConnectionError(f"{model.name}: the response was lost on its way back (the request was served)")

    def _record_call(self, params: Mapping[str, Any], model: Any, **_kwargs: Any) -> None:
        self.calls.append(Call(model.name, copy.deepcopy(dict(params))))

    def _before_send(self, request: Any, event_name: str, **_kwargs: Any) -> AWSResponse | None:
        self.attempts.append(event_name.rsplit(".", 1)[-1])
        if self._throttles_left > 0 and self._throttled_operation in (None, self.attempts[-1]):
            self._throttles_left -= 1
            setattr(request, _ANSWERED, True)
            return throttling_response(request.url)
        response = serve(request, self.attempts[-1])
        if response is not None:
            setattr(request, _ANSWERED, True)
        return response

    def lose_next_response_of(self, operation: str) -> None:
        """Serve the next request of this operation, then fail the call as a lost connection would."""
        self._lose_response_of = operation

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
        """The resource's tags as its stack declares them: without the handler's configuration tag."""
        return {key: value for key, value in self.all_tags(arn).items() if key not in lifecycle.RESERVED_TAGS}

    def all_tags(self, arn: str) -> dict[str, str]:
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

    def limit_concurrent_jobs(self, quota: int) -> None:
        """Refuse to start a job while ``quota`` jobs run (InProgress or Stopping), with
        ServiceQuotaExceededException, as Bedrock does at its concurrent-jobs quota."""
        setattr(self.backend, _JOB_QUOTA, quota)

    @property
    def peak_concurrent_jobs(self) -> int:
        """The most jobs that were running at once, counting each job from its start."""
        return int(getattr(self.backend, _PEAK_RUNNING, 0))

    def finish_stopping(self, job_arn_or_name: str | None = None) -> None:
        """Stopping -> Stopped, for one job or for every stopping job."""
        if job_arn_or_name is not None:
            jobs = [_find_job(self.backend, job_arn_or_name)]
        else:
            jobs = list(self.backend.model_customization_jobs.values())
        for job in jobs:
            if job.status == "Stopping":
                _transition(self.backend, job, "Stopped")

    # serving (the emulation)

    @property
    def _serving(self) -> _Serving:
        return _serving(self.backend)

    def imported_models(self) -> list[dict[str, Any]]:
        """Every imported model, as GetCustomModel would describe it (``models()`` lists trained ones)."""
        return [model.describe() for model in self._serving.models.values()]

    def deployments(self) -> list[dict[str, Any]]:
        """Every custom model deployment, as GetCustomModelDeployment would describe it."""
        return [deployment.describe() for deployment in self._serving.deployments.values()]

    def throughputs(self) -> list[dict[str, Any]]:
        """Every provisioned throughput, as GetProvisionedModelThroughput would describe it."""
        return [throughput.describe() for throughput in self._serving.throughputs.values()]

    def set_model_status(self, model: str, status: str, failure_message: str | None = None) -> None:
        """Move an imported model to Creating, Active or Failed (Failed always has a failureMessage).
        A trained model is Active once its job completes: drive the job instead."""
        found = _find(self._serving.models, model, "Imported model")
        found.status = _status(status, MODEL_STATUSES)
        found.failure_message = _failure_message(status, failure_message)

    def set_deployment_status(self, deployment: str, status: str, failure_message: str | None = None) -> None:
        """Move a deployment to Creating, Active or Failed (Failed always has a failureMessage)."""
        found = _find(self._serving.deployments, deployment, "Custom model deployment")
        found.status = _status(status, DEPLOYMENT_STATUSES)
        found.failure_message = _failure_message(status, failure_message)
        found.last_updated = datetime.now(UTC)

    def finish_deployment_update(self, deployment: str, succeeded: bool = True) -> None:
        """End an update in progress: UpdateCompleted (the deployment now serves the new model) or
        UpdateFailed (it keeps serving the old one)."""
        found = _find(self._serving.deployments, deployment, "Custom model deployment")
        if not found.updating or found.update_details is None:
            raise ValueError(f"custom model deployment {found.name} has no update in progress")
        if succeeded:
            found.model_arn = found.update_details["modelArn"]
        found.update_details["updateStatus"] = "UpdateCompleted" if succeeded else "UpdateFailed"
        found.last_updated = datetime.now(UTC)

    def set_throughput_status(self, throughput: str, status: str, failure_message: str | None = None) -> None:
        """Move a provisioned throughput to Creating, InService, Updating or Failed (Failed always has a
        failureMessage). A model change ends with ``finish_throughput_update`` instead."""
        found = _find(self._serving.throughputs, throughput, "Provisioned model")
        found.status = _status(status, THROUGHPUT_STATUSES)
        found.failure_message = _failure_message(status, failure_message)
        found.last_modified = datetime.now(UTC)

    def finish_throughput_update(self, throughput: str) -> None:
        """Updating -> InService, now serving the desired model."""
        found = _find(self._serving.throughputs, throughput, "Provisioned model")
        if found.status != "Updating":
            raise ValueError(f"provisioned model {found.name} is {found.status}, not Updating")
        found.status = "InService"
        found.model_arn = found.desired_model_arn
        found.last_modified = datetime.now(UTC)

    def expire_commitment(self, throughput: str) -> None:
        """Move a provisioned throughput's commitment expiration into the past, so it can be deleted."""
        found = _find(self._serving.throughputs, throughput, "Provisioned model")
        if found.commitment_expiration is None:
            raise ValueError(f"provisioned model {found.name} has no commitment")
        found.commitment_expiration = datetime.now(UTC) - timedelta(seconds=1)


def _status(status: str, allowed: tuple[str, ...]) -> str:
    if status not in allowed:
        raise ValueError(f"{status!r} is not a status here; use one of {allowed}")
    return status


def _failure_message(status: str, message: str | None) -> str | None:
    return message or "Internal failure" if status == "Failed" else message
