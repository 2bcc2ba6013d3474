"""Model copy: copying a custom model to another Region, an emulation written here, not a moto gap.

moto 5.2.x implements none of CreateModelCopyJob, GetModelCopyJob and ListModelCopyJobs. The job is a ``Kind``
(``bookkeeping``) following its declaration, ``contract.MODEL_COPY``: it has no name and no tags of its own
(TaggableResourcesArn does not admit a model-copy-job ARN), so it is found by its ARN only. Its rules, as the
API reference documents them or as the stand-in chooses where it documents nothing:

- the job is made in the Region (and account) of the client that asks for it, the target; its source model
  lives in the Region and account its ARN names (``sourceModelArn``, possibly of another Region or account),
  and must exist there as a custom model: trained (moto's), made by CreateCustomModel, or itself a copy, and
  Active. Anything else, a foundation model's ARN included, is ResourceNotFoundException naming the ARN;
- a targetModelName that a custom model of the target Region, or the model a running copy job there is
  making, already holds is ValidationException, in the stand-in's usual words. The API reference documents
  no ConflictException (nor any error) for it: this is the stand-in's choice;
- a repeated clientRequestToken returns the job it created (``bookkeeping``);
- the copied model's ARN (targetModelArn) is known from the start: a new custom-model ARN of the target
  Region, of the source's base model (``custom-model/<base model id>/<id>``, or ``custom-model/imported/<id>``
  for a model made by CreateCustomModel);
- targetModelTags tag the copied model once it exists (the job's record shows them throughout), and
  modelKmsKeyId (an id, alias or ARN) encrypts it;
- the list filters by status, source account, source model ARN, target model name and creation time, sorts by
  creation time (newest first) and pages (maxResults, nextToken).

How the copied model is kept: not as a kind of its own, but where the stand-in already keeps a custom model of
its source's sort, so that every custom model operation answers for it exactly as for its source's sort. A
copy of a trained model (or of a copy of one) is a moto ``CustomModel`` in the target backend's custom_models,
with its source's description (base model, customization type, hyperparameters, data, metrics, the job that
trained it); GetCustomModel, ListCustomModels and DeleteCustomModel reach it through moto as patched in
``jobs``. A copy of a CreateCustomModel model is an Active ``ImportedModel`` in ``serving.IMPORTED_MODELS``.
Either way the tag operations, CreateCustomModelDeployment and CreateProvisionedModelThroughput (``serving``)
find it as they find its source's sort, and a deployment or throughput that uses it keeps it from deletion.

It simplifies: a job moves only when a test drives it (``move_copy_job``), nothing checks that the key exists
or that the source model's base model is offered in the target Region, and a key alias is not resolved.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from bedrock_custom_resource import contract
from moto.bedrock.exceptions import ResourceNotFoundException
from moto.bedrock.models import BedrockBackend, CustomModel, bedrock_backends
from moto.utilities.utils import get_partition

from .bookkeeping import Handler, Kind, Params, Resource, new_resource_id
from .jobs import base_model_id, kms_key_arn
from .listing import page
from .service_model import COPY_JOB_STATUSES, checked_arn, foundation_model_arn, iso, moment, now, present
from .serving import IMPORTED_MODELS, ImportedModel, custom_model
from .validation import BedrockValidationException


@dataclass(kw_only=True)
class ModelCopyJob(Resource):
    source_model_arn: str
    source_account_id: str
    # The source model as it was when the job started (a copy: the source may change or go meanwhile).
    source: CustomModel | ImportedModel
    target_model_arn: str
    target_model_name: str
    kms_key_arn: str | None
    model_tags: list[dict[str, str]] | None  # targetModelTags, for the model once it exists
    status: str = "InProgress"
    failure_message: str | None = None

    @property
    def source_model_name(self) -> str | None:
        return self.source.model_name if isinstance(self.source, CustomModel) else self.source.name

    def describe(self) -> dict[str, Any]:
        """As GetModelCopyJob describes it, and ListModelCopyJobs lists it (the same members)."""
        return present(
            jobArn=self.arn,
            status=self.status,
            creationTime=iso(self.created),
            targetModelArn=self.target_model_arn,
            targetModelName=self.target_model_name,
            sourceAccountId=self.source_account_id,
            sourceModelArn=self.source_model_arn,
            targetModelKmsKeyArn=self.kms_key_arn,
            targetModelTags=copy.deepcopy(self.model_tags),
            failureMessage=self.failure_message if self.status == "Failed" else None,
            sourceModelName=self.source_model_name,
        )


# --- creating a job -----------------------------------------------------------------------------------


def _build_job(backend: BedrockBackend, params: Params, base: Resource) -> ModelCopyJob:
    source_arn, target_name = params["sourceModelArn"], params["targetModelName"]
    source = _source_model(source_arn)
    _refuse_taken_target_name(backend, target_name)
    return ModelCopyJob(
        **vars(base),
        source_model_arn=source_arn,
        source_account_id=source_arn.split(":")[4],
        source=copy.deepcopy(source),
        target_model_arn=_target_model_arn(backend, source_arn, target_name),
        target_model_name=target_name,
        kms_key_arn=kms_key_arn(backend, params.get("modelKmsKeyId")),
        model_tags=copy.deepcopy(params.get("targetModelTags")),
    )


def backend_of(arn: str) -> BedrockBackend | None:
    """The backend of the Region and account an ARN names (None: a Region moto does not know, or no account)."""
    fields = arn.split(":", 5)
    if len(fields) != 6 or not fields[4]:
        return None
    region, account = fields[3], fields[4]
    try:
        backend: BedrockBackend = bedrock_backends[account][region]
    except KeyError:
        return None
    return backend


def _source_model(arn: str) -> CustomModel | ImportedModel:
    """The Active custom model at arn, in the Region and account the ARN names."""
    backend = backend_of(arn)
    found = custom_model(backend, arn) if backend is not None and ":custom-model/" in arn else None
    if found is None:
        raise ResourceNotFoundException(f"Custom model {arn} not found")
    if isinstance(found, ImportedModel) and found.status != "Active":
        raise ResourceNotFoundException(f"Custom model {arn} is {found.status}, not Active")
    return found


def _refuse_taken_target_name(backend: BedrockBackend, name: str) -> None:
    if custom_model(backend, name) is not None:
        raise BedrockValidationException(f"A custom model named {name} already exists")
    jobs = COPY_JOBS.resources(backend).values()
    holder = next((job for job in jobs if job.status == "InProgress" and job.target_model_name == name), None)
    if holder is not None:
        raise BedrockValidationException(f"A custom model named {name} is being copied by model copy job {holder.arn}")


def _target_model_arn(backend: BedrockBackend, source_arn: str, target_name: str) -> str:
    """A new custom-model ARN of the target Region, of the source's base model (or ``imported``)."""
    resource = f"custom-model/{base_model_id(backend, source_arn)}/{new_resource_id(backend, 'copy', target_name)}"
    arn = f"arn:{get_partition(backend.region_name)}:bedrock:{backend.region_name}:{backend.account_id}:{resource}"
    return checked_arn(arn, "CustomModelArn")


# --- a job moves on -----------------------------------------------------------------------------------


def move_copy_job(backend: BedrockBackend, job: ModelCopyJob, status: str, failure_message: str | None = None) -> None:
    """Move a running job to status, as Bedrock would over time: Completed makes the copied model in the job's
    backend (the target Region), at targetModelArn, named, tagged and encrypted as the request said; Failed has
    a failure message (always)."""
    if status not in COPY_JOB_STATUSES:
        raise ValueError(f"{status!r} is not a model copy job status; use one of {COPY_JOB_STATUSES}")
    if job.status != "InProgress":
        raise ValueError(f"model copy job {job.arn} is {job.status}; only an InProgress one moves")
    if status == "Completed":
        if custom_model(backend, job.target_model_name) is not None:
            raise ValueError(
                f"a custom model named {job.target_model_name} exists now; model copy job {job.arn} cannot"
                " complete (move it to Failed)"
            )
        _make_copy(backend, job)
    if status == "Failed":
        job.failure_message = failure_message or "Internal failure"
    job.status = status


def _make_copy(backend: BedrockBackend, job: ModelCopyJob) -> None:
    """The copied model, kept where the stand-in keeps a custom model of its source's sort."""
    if isinstance(job.source, ImportedModel):
        base = Resource(arn=job.target_model_arn, name=job.target_model_name, token=None, created=moment())
        IMPORTED_MODELS.keep(backend, ImportedModel(**vars(base), kms_key_arn=job.kms_key_arn, status="Active"), [])
    else:
        model = copy.deepcopy(job.source)
        model.model_name, model.model_arn = job.target_model_name, job.target_model_arn
        model.region_name, model.account_id = backend.region_name, backend.account_id
        model.model_kms_key_arn, model.creation_time = job.kms_key_arn, now()
        if ":foundation-model/" in model.base_model_arn:  # the base model as the target Region offers it
            model.base_model_arn = foundation_model_arn(backend, model.base_model_arn.split(":foundation-model/")[1])
        backend.custom_models[model.model_name] = model
    if job.model_tags:
        backend.tag_resource(job.target_model_arn, job.model_tags)


# --- the list -----------------------------------------------------------------------------------------


def _list_jobs(backend: BedrockBackend, params: Params) -> dict[str, Any]:
    listed, next_token = page((job for job in COPY_JOBS.resources(backend).values() if _selected(job, params)), params)
    return present(modelCopyJobSummaries=[job.describe() for job in listed], nextToken=next_token)


def _selected(job: ModelCopyJob, params: Params) -> bool:
    """Whether a job passes the list request's own filters (page applies those of creation time)."""
    return (
        params.get("statusEquals") in (None, job.status)
        and params.get("sourceAccountEquals") in (None, job.source_account_id)
        and params.get("sourceModelArnEquals") in (None, job.source_model_arn)
        # outputModelNameContains in the query string: the request's member is targetModelNameContains.
        and params.get("targetModelNameContains", "") in job.target_model_name
    )


# --- the kind, and the operations it answers ----------------------------------------------------------


COPY_JOBS = Kind[ModelCopyJob](resource_type=contract.MODEL_COPY, noun="model copy job", build=_build_job)
COPY_KINDS = (COPY_JOBS,)
COPY_LISTINGS: dict[str, Handler] = {"ListModelCopyJobs": _list_jobs}
