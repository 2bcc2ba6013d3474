"""Customization jobs and the models they create: moto's bedrock backend, patched to behave as Bedrock does.

moto's bedrock backend (``moto/bedrock/models.py`` and ``responses.py``) differs from the real service in
ways that matter to a custom resource handler (DESIGN.md, fact 8). ``install_job_compensations`` patches
moto's classes for one test, through a patcher that restores them afterwards (moto's files are not edited),
and closes these gaps. Every compensation is marked "moto gap" where it is made:

1. Jobs stay ``InProgress`` forever, with no sub-task ``statusDetails``: ``transition`` moves a job on and
   keeps validation, data processing and training statuses.
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

Not a moto gap: a test may set a quota of concurrent jobs (``set_job_quota``); a job started while that
many run is refused with ServiceQuotaExceededException, as Bedrock does.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack
from urllib.parse import unquote

from bedrock_custom_resource import contract
from moto.bedrock.exceptions import BedrockClientError, ResourceNotFoundException, TooManyTagsException
from moto.bedrock.models import BedrockBackend, CustomModel, ModelCustomizationJob
from moto.bedrock.responses import BedrockResponse
from moto.utilities.utils import get_partition

from ..patches import Patcher
from .service_model import (
    JOB_STATUSES,
    MAX_TAGS_PER_RESOURCE,
    SUB_TASK_STATUSES,
    checked_arn,
    foundation_model_arn,
    now,
)
from .validation import BedrockValidationException, refuse_invalid

SUB_TASKS = ("validationDetails", "dataProcessingDetails", "trainingDetails")
RUNNING_JOB_STATUSES = ("InProgress", "Stopping")
# How each job status moves the sub-tasks' statuses (moto gap 1).
_SUB_TASK_MOVES = {
    "Completed": {"NotStarted": "Completed", "InProgress": "Completed", "Stopping": "Completed"},
    "Failed": {"InProgress": "Failed"},
    "Stopping": {"InProgress": "Stopping"},
    "Stopped": {"InProgress": "Stopped", "Stopping": "Stopped"},
}

# Attributes the stand-in adds to moto's objects.
_EXTRAS = "stand_in_extras"
_KMS_KEY_ARN = "output_model_kms_key_arn"
_CUSTOMIZATION_CONFIG = "customization_config"


@dataclass
class _JobExtras:
    """What the stand-in keeps for a job beyond moto's ModelCustomizationJob."""

    customization_config: dict[str, Any] | None
    custom_model_tags: list[dict[str, str]]
    base_model_id: str
    status_details: dict[str, dict[str, str]] = field(default_factory=dict)


def _suffix(*parts: str) -> str:
    """12 lowercase alphanumerics, as the last segment of Bedrock's job and model ARNs."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


def _extras(job: ModelCustomizationJob) -> _JobExtras:
    extras = getattr(job, _EXTRAS, None)
    if not isinstance(extras, _JobExtras):
        raise AssertionError(f"job {job.job_name} was not created through the stand-in")
    return extras


# --- identifiers: moto gap 4 ---------------------------------------------------------------------------


def find_job(backend: BedrockBackend, identifier: str) -> ModelCustomizationJob:
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


def base_model_id(backend: BedrockBackend, identifier: str) -> str:
    """The foundation model id that Bedrock puts in job and model ARNs."""
    if "foundation-model/" in identifier:
        return identifier.split("foundation-model/", 1)[1]
    if ":custom-model/" in identifier:
        return identifier.split(":custom-model/", 1)[1].rsplit("/", 1)[0]
    if identifier in backend.custom_models:  # continued training of a custom model given by name
        return base_model_id(backend, backend.custom_models[identifier].model_arn)
    return identifier


def _base_model_arn(backend: BedrockBackend, identifier: str) -> str:
    """moto gap: moto prefixes foundation-model/ even to an identifier that is already an ARN."""
    if not identifier.startswith("arn:") and identifier in backend.custom_models:
        return str(backend.custom_models[identifier].model_arn)
    return foundation_model_arn(backend, identifier)


def kms_key_arn(backend: BedrockBackend, key: str | None) -> str | None:
    """The ARN of a KMS key given by id, alias or ARN (an alias stays an alias: nothing resolves it)."""
    if not key or key.startswith("arn:"):
        return key
    partition = get_partition(backend.region_name)
    kind = key if key.startswith("alias/") else f"key/{key}"
    return f"arn:{partition}:kms:{backend.region_name}:{backend.account_id}:{kind}"


# --- creating a job -----------------------------------------------------------------------------------

_ORIGINAL_CREATE = BedrockBackend.create_model_customization_job


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
    for tags in (job_tags, custom_model_tags):
        refuse_too_many_tags({tag["key"] for tag in tags or []})
    _count_starting_job(self)
    # Tags are applied below, once the ARNs are real.
    _ORIGINAL_CREATE(
        self,
        job_name=job_name,
        custom_model_name=custom_model_name,
        role_arn=role_arn,
        base_model_identifier=base_model_identifier,
        training_data_config=_training_data_config_for_moto(training_data_config),
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
    base_model = base_model_id(self, base_model_identifier)
    _describe_as_bedrock_does(self, job, base_model, base_model_identifier, custom_model_kms_key_id)
    setattr(job, _EXTRAS, _new_extras(job, base_model, customization_config, custom_model_tags))
    if job_tags:
        self.tag_resource(job.job_arn, job_tags)
    return str(job.job_arn)


def refuse_too_many_tags(keys: set[str]) -> None:
    """Bedrock keeps at most MAX_TAGS_PER_RESOURCE tags on a resource: more is TooManyTagsException, nothing made."""
    if len(keys) > MAX_TAGS_PER_RESOURCE:
        raise TooManyTagsException(
            f"The request contains more tags than can be associated with a resource ({MAX_TAGS_PER_RESOURCE} tags per "
            "resource)"
        )


def _training_data_config_for_moto(training_data_config: dict[str, Any]) -> dict[str, Any]:
    """moto gap 9: moto rejects a trainingDataConfig without s3Uri; distillation may use invocation logs."""
    uses_logs = isinstance(training_data_config, Mapping) and training_data_config.get("invocationLogsConfig")
    if uses_logs and "s3Uri" not in training_data_config:
        return {**training_data_config, "s3Uri": "s3://stand-in-placeholder"}
    return training_data_config


def _describe_as_bedrock_does(
    backend: BedrockBackend, job: ModelCustomizationJob, base_model: str, base_model_identifier: str, key: str | None
) -> None:
    """moto gap 3: Bedrock's ARN shapes; the output model is the model this job will create."""
    partition = get_partition(backend.region_name)
    job.job_arn = checked_arn(
        f"arn:{partition}:bedrock:{backend.region_name}:{backend.account_id}:model-customization-job/"
        f"{base_model}/{_suffix('job', backend.account_id, backend.region_name, job.job_name)}",
        "ModelCustomizationJobArn",
    )
    job.base_model_arn = _base_model_arn(backend, base_model_identifier)
    job.output_model_name = job.custom_model_name
    # moto gap 8: no fabricated end time, failure, metrics or key before they exist (and no output model
    # ARN, gap 3). moto types these attributes as always set, hence setattr.
    for unset in ("output_model_arn", "end_time", "failure_message", "training_metrics", "validation_metrics"):
        setattr(job, unset, None)
    setattr(job, _KMS_KEY_ARN, kms_key_arn(backend, key))
    job.creation_time = job.last_modified_time = now()


def _new_extras(
    job: ModelCustomizationJob,
    base_model: str,
    customization_config: dict[str, Any] | None,
    custom_model_tags: list[dict[str, str]] | None,
) -> _JobExtras:
    """moto gaps 1 and 7: sub-task statuses and the customizationConfig."""
    extras = _JobExtras(
        customization_config=copy.deepcopy(customization_config),
        custom_model_tags=copy.deepcopy(custom_model_tags or []),
        base_model_id=base_model,
    )
    for sub_task in SUB_TASKS:
        status = "InProgress" if sub_task == "validationDetails" else "NotStarted"
        extras.status_details[sub_task] = {
            "status": status,
            "creationTime": job.creation_time,
            "lastModifiedTime": job.creation_time,
        }
    return extras


def _respond_create_job(self: BedrockResponse) -> str:
    """BedrockResponse.create_model_customization_job. moto gap 7: moto's parser drops customizationConfig."""
    params = json.loads(self.body)
    # Bedrock's own validation (lengths, patterns, enums), which moto's create skips; the operations the stand-in
    # serves itself get it in responses.serve.
    request_shape = contract.service_model().operation_model("CreateModelCustomizationJob").input_shape
    assert request_shape is not None
    refuse_invalid(request_shape, params)
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


# --- not a moto gap: Bedrock's quota of concurrent jobs, when a test sets one -----------------------------

_JOB_QUOTA = "stand_in_job_quota"
_PEAK_RUNNING = "stand_in_peak_running_jobs"


def _count_starting_job(backend: BedrockBackend) -> None:
    """Refuse a job that would exceed the quota, and count it towards the peak."""
    running = sum(1 for job in backend.model_customization_jobs.values() if job.status in RUNNING_JOB_STATUSES)
    quota = getattr(backend, _JOB_QUOTA, None)
    if quota is not None and running >= quota:
        raise BedrockClientError(
            "ServiceQuotaExceededException",
            f"The number of concurrent model customization jobs ({running}) has reached the quota ({quota})",
        )
    setattr(backend, _PEAK_RUNNING, max(getattr(backend, _PEAK_RUNNING, 0), running + 1))


def set_job_quota(backend: BedrockBackend, quota: int) -> None:
    setattr(backend, _JOB_QUOTA, quota)


def peak_running_jobs(backend: BedrockBackend) -> int:
    """The most jobs that were running at once, counting each job from its start."""
    return int(getattr(backend, _PEAK_RUNNING, 0))


# --- reading, stopping and deleting -------------------------------------------------------------------


def _get_job(self: BedrockBackend, job_identifier: str) -> ModelCustomizationJob:
    return find_job(self, job_identifier)


def _stop_job(self: BedrockBackend, job_identifier: str) -> None:
    """moto gap 5: InProgress -> Stopping (finish_stopping completes it); any other state is refused."""
    job = find_job(self, job_identifier)
    if job.status != "InProgress":
        raise BedrockValidationException(
            f"Model customization job {job.job_name} is {job.status}; only an InProgress job can be stopped"
        )
    transition(self, job, "Stopping")


def _get_model(self: BedrockBackend, model_identifier: str) -> CustomModel:
    return self.custom_models[_find_model_key(self, model_identifier)]


def _delete_model(self: BedrockBackend, model_identifier: str) -> None:
    model = self.custom_models.pop(_find_model_key(self, model_identifier))
    self.tagger.delete_all_tags_for_resource(model.model_arn)


_ORIGINAL_JOB_TO_DICT = ModelCustomizationJob.to_dict
_ORIGINAL_MODEL_TO_DICT = CustomModel.to_dict


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


# --- a job moves on: moto gaps 1 to 3 -----------------------------------------------------------------


class JobOutcome(TypedDict, total=False):
    """What a job's move may report besides its status, as a test gives it."""

    failure_message: str | None
    training_loss: float | None
    validation_loss: float | None
    # Sub-task statuses that override the moves the job's status makes, e.g. {"trainingDetails": "InProgress"}.
    status_details: Mapping[str, str] | None


def transition(backend: BedrockBackend, job: ModelCustomizationJob, status: str, **outcome: Unpack[JobOutcome]) -> None:
    """moto gap 1: move a job to status, with its sub-tasks, end time, failure message and model."""
    if status not in JOB_STATUSES:
        raise ValueError(f"{status!r} is not a job status; use one of {JOB_STATUSES}")
    extras = _extras(job)
    moment = now()
    _move_sub_tasks(extras, status, dict(outcome.get("status_details") or {}), moment)
    failure_message = outcome.get("failure_message")
    training_loss, validation_loss = outcome.get("training_loss"), outcome.get("validation_loss")
    job.status = status
    job.last_modified_time = moment
    if status in ("Completed", "Failed", "Stopped"):
        job.end_time = moment
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


def _move_sub_tasks(extras: _JobExtras, status: str, overrides: dict[str, str], moment: str) -> None:
    """The sub-tasks' statuses as the job's status moves them, or as overrides (by a test) set them."""
    for name, sub_status in overrides.items():
        if name not in SUB_TASKS or sub_status not in SUB_TASK_STATUSES:
            raise ValueError(f"status_details: {name}={sub_status!r}; use {SUB_TASKS} with one of {SUB_TASK_STATUSES}")
    moves = _SUB_TASK_MOVES.get(status, {})
    for name, detail in extras.status_details.items():
        new_status = overrides.get(name) or moves.get(detail["status"], detail["status"])
        if new_status != detail["status"]:
            detail.update(status=new_status, lastModifiedTime=moment)


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
    model.model_arn = checked_arn(
        f"arn:{partition}:bedrock:{backend.region_name}:{backend.account_id}:custom-model/"
        f"{extras.base_model_id}/{_suffix('model', backend.account_id, backend.region_name, job.job_arn)}",
        "CustomModelArn",
    )
    model.creation_time = now()
    setattr(model, _CUSTOMIZATION_CONFIG, copy.deepcopy(extras.customization_config))
    backend.custom_models[model.model_name] = model
    job.output_model_arn = model.model_arn
    job.output_model_name = model.model_name
    if extras.custom_model_tags:
        backend.tag_resource(model.model_arn, extras.custom_model_tags)


def install_job_compensations(monkeypatch: Patcher) -> None:
    """Patch moto's jobs and custom models for one test; monkeypatch restores them."""
    monkeypatch.setattr(BedrockBackend, "create_model_customization_job", _create_job)
    monkeypatch.setattr(BedrockBackend, "get_model_customization_job", _get_job)
    monkeypatch.setattr(BedrockBackend, "stop_model_customization_job", _stop_job)
    monkeypatch.setattr(BedrockBackend, "get_custom_model", _get_model)
    monkeypatch.setattr(BedrockBackend, "delete_custom_model", _delete_model)
    monkeypatch.setattr(BedrockResponse, "create_model_customization_job", _respond_create_job)
    monkeypatch.setattr(ModelCustomizationJob, "to_dict", _job_to_dict)
    monkeypatch.setattr(CustomModel, "to_dict", _model_to_dict)
