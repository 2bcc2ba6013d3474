"""Custom Model Import: model import jobs and the models they import, an emulation written here, not a moto gap.

moto 5.2.x implements none of CreateModelImportJob, GetModelImportJob, ListModelImportJobs, GetImportedModel,
ListImportedModels and DeleteImportedModel. The job is a ``Kind`` (``bookkeeping``) following its declaration,
``contract.MODEL_IMPORT``, and the model it imports another (the declaration's ``managed.made``), with the rules
particular to them, as the API reference documents them or Bedrock answers:

- a job name is taken for good (import jobs are never deleted): ValidationException, in Bedrock's words;
- an importedModelName that an imported model, a custom model (trained, or made by CreateCustomModel) or the
  model of a running import job holds is ConflictException;
- at most ``IMPORT_JOB_QUOTA`` jobs run (InProgress) per account and Region, unless a test sets another
  quota (``set_import_job_quota``); one more is ServiceQuotaExceededException;
- jobTags tag the job; importedModelTags tag the model and importedModelKmsKeyId encrypts it, once it exists;
- the lists filter by status, name and creation time, sort by creation time, and page (maxResults, nextToken).

DeleteImportedModel refuses nothing: its reference documents no model in use, and nothing else emulated can use
one (the service model lets deployments and provisioned throughput name custom-model ARNs only). A deleted
model's job still names it, as Bedrock's does.

It simplifies: a job moves only when a test drives it (``move_import_job``), and what Bedrock finds out about
the weights (architecture, custom model units) is what the test says; nothing checks that the S3 objects, the
role or the key exist, and a key alias is not resolved to its key.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict, Unpack

from bedrock_custom_resource import contract
from moto.bedrock.exceptions import BedrockClientError
from moto.bedrock.models import BedrockBackend

from .bookkeeping import Handler, Kind, Params, Resource
from .jobs import kms_key_arn
from .listing import page
from .service_model import IMPORT_JOB_STATUSES, iso, moment, present
from .serving import IMPORTED_MODELS
from .validation import BedrockValidationException

# DESIGN.md fact 16: one concurrent model import job per account and Region.
IMPORT_JOB_QUOTA = 1
_QUOTA = "stand_in_import_job_quota"


@dataclass(kw_only=True)
class ModelImportJob(Resource):
    imported_model_name: str
    role_arn: str
    model_data_source: dict[str, Any]
    vpc_config: dict[str, Any] | None
    kms_key_arn: str | None
    model_tags: list[dict[str, str]]  # importedModelTags, for the model once it exists
    last_modified: datetime
    status: str = "InProgress"
    failure_message: str | None = None
    end_time: datetime | None = None
    imported_model_arn: str | None = None  # once the job completes

    def summary(self) -> dict[str, Any]:
        """As ListModelImportJobs lists it."""
        return present(
            jobArn=self.arn,
            jobName=self.name,
            status=self.status,
            lastModifiedTime=iso(self.last_modified),
            creationTime=iso(self.created),
            endTime=iso(self.end_time) if self.end_time else None,
            importedModelArn=self.imported_model_arn,
            importedModelName=self.imported_model_name,
        )

    def describe(self) -> dict[str, Any]:
        return self.summary() | present(
            roleArn=self.role_arn,
            modelDataSource=copy.deepcopy(self.model_data_source),
            failureMessage=self.failure_message if self.status == "Failed" else None,
            vpcConfig=copy.deepcopy(self.vpc_config),
            importedModelKmsKeyArn=self.kms_key_arn,
        )


class ImportedModelTraits(TypedDict, total=False):
    """What Bedrock finds out about the weights as it imports them; a test may give them to a completing job."""

    architecture: str  # modelArchitecture
    instruct_supported: bool
    model_units_per_copy: int  # customModelUnits.customModelUnitsPerModelCopy
    model_units_version: str  # customModelUnits.customModelUnitsVersion


# What a completing job reports unless a test says otherwise. The version follows the service model's
# CustomModelUnitsVersion pattern, v\d+.\d+.
DEFAULT_TRAITS = ImportedModelTraits(
    architecture="llama3", instruct_supported=True, model_units_per_copy=1, model_units_version="v1.0"
)


@dataclass(kw_only=True)
class ImportJobModel(Resource):
    """A model a model import job imported."""

    job: ModelImportJob
    traits: ImportedModelTraits

    def summary(self) -> dict[str, Any]:
        """As ListImportedModels lists it."""
        return present(
            modelArn=self.arn,
            modelName=self.name,
            creationTime=iso(self.created),
            instructSupported=self.traits["instruct_supported"],
            modelArchitecture=self.traits["architecture"],
        )

    def describe(self) -> dict[str, Any]:
        return self.summary() | present(
            jobName=self.job.name,
            jobArn=self.job.arn,
            modelDataSource=copy.deepcopy(self.job.model_data_source),
            modelKmsKeyArn=self.job.kms_key_arn,
            customModelUnits={
                "customModelUnitsPerModelCopy": self.traits["model_units_per_copy"],
                "customModelUnitsVersion": self.traits["model_units_version"],
            },
        )


# --- creating a job -----------------------------------------------------------------------------------


def _build_job(backend: BedrockBackend, params: Params, base: Resource) -> ModelImportJob:
    _refuse_taken_model_name(backend, params["importedModelName"])
    _refuse_over_quota(backend)
    return ModelImportJob(
        **vars(base),
        last_modified=base.created,
        imported_model_name=params["importedModelName"],
        role_arn=params["roleArn"],
        model_data_source=copy.deepcopy(params["modelDataSource"]),
        vpc_config=copy.deepcopy(params.get("vpcConfig")),
        kms_key_arn=kms_key_arn(backend, params.get("importedModelKmsKeyId")),
        model_tags=copy.deepcopy(params.get("importedModelTags") or []),
    )


def _job_name_free(backend: BedrockBackend, name: str) -> None:
    """Bedrock's answer to a taken job name (seen from CreateModelImportJob; no job is ever deleted)."""
    if IMPORT_JOBS.held(backend, name) is not None:
        raise BedrockValidationException(f"The provided job name is currently in use: {name}")


def _refuse_taken_model_name(backend: BedrockBackend, name: str) -> None:
    running = [job.name for job in _running_jobs(backend) if job.imported_model_name == name]
    if IMPORT_JOB_MODELS.held(backend, name) is not None:
        holder = "an imported model"
    elif IMPORTED_MODELS.held(backend, name) is not None or name in backend.custom_models:
        holder = "a custom model"
    elif running:
        holder = f"the model that model import job {running[0]} is importing"
    else:
        return
    raise BedrockClientError("ConflictException", f"The model name {name} is taken by {holder}")


def _running_jobs(backend: BedrockBackend) -> list[ModelImportJob]:
    return [job for job in IMPORT_JOBS.resources(backend).values() if job.status == "InProgress"]


def _refuse_over_quota(backend: BedrockBackend) -> None:
    running, quota = len(_running_jobs(backend)), import_job_quota(backend)
    if running >= quota:
        raise BedrockClientError(
            "ServiceQuotaExceededException",
            f"The number of concurrent model import jobs ({running}) has reached the quota ({quota})",
        )


def import_job_quota(backend: BedrockBackend) -> int:
    return int(getattr(backend, _QUOTA, IMPORT_JOB_QUOTA))


def set_import_job_quota(backend: BedrockBackend, quota: int) -> None:
    setattr(backend, _QUOTA, quota)


# --- a job moves on -----------------------------------------------------------------------------------


def move_import_job(
    backend: BedrockBackend,
    job: ModelImportJob,
    status: str,
    failure_message: str | None = None,
    **traits: Unpack[ImportedModelTraits],
) -> None:
    """Move a running job to status, as Bedrock would over time: Completed imports its model, with the
    request's importedModelTags and key and the traits given; Failed has a failure message (always)."""
    if status not in IMPORT_JOB_STATUSES:
        raise ValueError(f"{status!r} is not a model import job status; use one of {IMPORT_JOB_STATUSES}")
    if job.status != "InProgress":
        raise ValueError(f"model import job {job.name} is {job.status}; only an InProgress one moves")
    moved = moment()
    if status == "Completed":
        base = IMPORT_JOB_MODELS.new_resource(backend, job.imported_model_name)
        model = ImportJobModel(**vars(base), job=job, traits=DEFAULT_TRAITS | traits)
        IMPORT_JOB_MODELS.keep(backend, model, job.model_tags)
        job.imported_model_arn = model.arn
    if status == "Failed":
        job.failure_message = failure_message or "Internal failure"
    job.status, job.last_modified = status, moved
    if status != "InProgress":
        job.end_time = moved


# --- lists --------------------------------------------------------------------------------------------


def _list_jobs(backend: BedrockBackend, params: Params) -> dict[str, Any]:
    jobs = [job for job in IMPORT_JOBS.resources(backend).values() if params.get("statusEquals") in (None, job.status)]
    listed, next_token = page(jobs, params)
    return present(modelImportJobSummaries=[job.summary() for job in listed], nextToken=next_token)


def _list_models(backend: BedrockBackend, params: Params) -> dict[str, Any]:
    listed, next_token = page(IMPORT_JOB_MODELS.resources(backend).values(), params)
    return present(modelSummaries=[model.summary() for model in listed], nextToken=next_token)


# --- the kinds, and the operations they answer --------------------------------------------------------


IMPORT_JOBS = Kind[ModelImportJob](
    resource_type=contract.MODEL_IMPORT, noun="model import job", build=_build_job, name_rule=_job_name_free
)
IMPORT_JOB_MODELS = Kind[ImportJobModel](resource_type=contract.MODEL_IMPORT, noun="imported model", made=True)
IMPORT_KINDS = (IMPORT_JOBS, IMPORT_JOB_MODELS)
IMPORT_LISTINGS: dict[str, Handler] = {"ListModelImportJobs": _list_jobs, "ListImportedModels": _list_models}
