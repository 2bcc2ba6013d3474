"""Serving custom models: an emulation written here, not a moto gap.

moto implements none of CreateCustomModel (importing a SageMaker-trained model), the
Create/Get/Update/DeleteCustomModelDeployment and the Create/Get/Update/DeleteProvisionedModelThroughput
operations. Each is a ``Kind`` (``bookkeeping``) following its declaration in ``contract.CONTRACTS``, with the
rules particular to it here, as the documentation describes them: a model that a deployment or a provisioned
throughput uses cannot be deleted (ConflictException); a deployment updates to another model only while
Active, and a provisioned throughput changes its model only while InService, from a custom model to its base
foundation model or a custom model of the same base; a throughput with a commitment cannot be deleted before
the term ends. Deleting one still being created or changed is ConflictException: the stand-in's choice (the
service model lists ConflictException for these deletes, and no page says when Bedrock gives it), the harder
of Bedrock's possible answers. GetCustomModel and DeleteCustomModel of a trained model still go to moto. A
model that a model copy job made (``copies``) is kept as its source's sort is, and is served and refused as that
sort is.

It simplifies: statuses move only when a test drives them (``BedrockStandIn.set_model_status`` and the like);
nothing checks that S3 objects, roles, keys, model packages or foundation models exist; an imported model reports
a fixed foundation model (IMPORTED_MODEL_FOUNDATION) where one is needed; quotas (model units, counts) are not enforced.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, cast

from bedrock_custom_resource import contract
from botocore.model import StructureShape
from moto.bedrock.exceptions import BedrockClientError, ResourceNotFoundException
from moto.bedrock.models import BedrockBackend, CustomModel

from .bookkeeping import Handler, Kind, Params, Resource
from .jobs import base_model_id
from .listing import page
from .service_model import (
    DEPLOYMENT_STATUSES,
    MODEL_STATUSES,
    THROUGHPUT_STATUSES,
    foundation_model_arn,
    iso,
    moment,
    present,
)
from .validation import BedrockValidationException

# Provisioned throughput reports the foundation model a custom model derives from. An imported model has
# none of Bedrock's, so the stand-in reports this one (a guess; all imported models share it).
IMPORTED_MODEL_FOUNDATION = "amazon.nova-micro-v1:0:128k"  # a contextual variant, as a throughput names one
COMMITMENT_DAYS = {"OneMonth": 30, "SixMonths": 182}


@dataclass(kw_only=True)
class _ServingResource(Resource):
    """A resource that serves, or is served: its status, which a test drives from Creating, and why it failed."""

    STATUSES: ClassVar[tuple[str, ...]]  # its status enum in the service model
    status: str = "Creating"
    failure_message: str | None = None

    @property
    def shown_failure_message(self) -> str | None:
        """The failureMessage its read operation shows: a Failed one's only."""
        return self.failure_message if self.status == "Failed" else None

    @property
    def busy(self) -> bool:
        """Being created or changed: not deletable (ConflictException) until that ends."""
        return self.status in ("Creating", "Updating")

    def move_to(self, status: str, failure_message: str | None) -> None:
        """Move it to status, as Bedrock would over time (Failed always has a failure message)."""
        if status not in self.STATUSES:
            raise ValueError(f"{status!r} is not a status here; use one of {self.STATUSES}")
        self.status = status
        self.failure_message = (failure_message or "Internal failure") if status == "Failed" else failure_message


# --- imported models ----------------------------------------------------------------------------------


@dataclass(kw_only=True)
class ImportedModel(_ServingResource):
    STATUSES = MODEL_STATUSES
    kms_key_arn: str | None

    def describe(self) -> dict[str, Any]:
        return present(
            modelArn=self.arn,
            modelName=self.name,
            creationTime=iso(self.created),
            customizationType="IMPORTED",
            modelKmsKeyArn=self.kms_key_arn,
            modelStatus=self.status,
            failureMessage=self.shown_failure_message,
        )


def _one_model_source(params: Params) -> None:
    sources = [member for member in ("modelSourceConfig", "customModelDataSource") if member in params]
    if len(sources) != 1:
        raise BedrockValidationException(
            f"Specify exactly one of modelSourceConfig and customModelDataSource; got {sources or 'neither'}"
        )


def _build_imported_model(_backend: BedrockBackend, params: Params, base: Resource) -> ImportedModel:
    return ImportedModel(**vars(base), kms_key_arn=params.get("modelKmsKeyArn"))


def _custom_model_name_free(backend: BedrockBackend, name: str) -> None:
    """Imported and trained models share their names; CreateCustomModel answers a taken one with a conflict."""
    if IMPORTED_MODELS.held(backend, name) is not None or name in backend.custom_models:
        raise BedrockClientError("ConflictException", f"A custom model named {name} already exists")


def _refuse_deleting_served_model(backend: BedrockBackend, model: ImportedModel) -> None:
    _refuse_deleting_busy(backend, model)
    _refuse_if_in_use(backend, model.arn)


def _refuse_deleting_busy(_backend: BedrockBackend, resource: _ServingResource) -> None:
    if resource.busy:
        raise BedrockClientError(
            "ConflictException", f"{resource.arn} is being created or updated: it cannot be deleted until that ends"
        )


def _leave_trained_model_to_moto(backend: BedrockBackend, identifier: str, operation: str) -> None:
    """Trained models answer to the custom model operations too: moto gets and deletes them (or answers
    ResourceNotFoundException), once a delete has checked that nothing serves the model."""
    trained = _trained(backend, identifier)
    if trained is not None and operation == IMPORTED_MODELS.declaration.managed.delete:
        _refuse_if_in_use(backend, trained.model_arn)


def _trained(backend: BedrockBackend, identifier: str) -> CustomModel | None:
    return next((m for m in backend.custom_models.values() if identifier in (m.model_arn, m.model_name)), None)


def custom_model(backend: BedrockBackend, identifier: str) -> ImportedModel | CustomModel | None:
    """The custom model named or ARN'd by identifier, wherever the stand-in keeps it: made by CreateCustomModel
    (IMPORTED_MODELS) or trained (moto's). A copied model is kept as its source was (``copies``)."""
    return IMPORTED_MODELS.held(backend, identifier) or _trained(backend, identifier)


def _usable_model(backend: BedrockBackend, identifier: str) -> tuple[str, str]:
    """(ARN, base foundation model ARN) of the custom model a deployment or throughput may serve: an Active
    imported model or a trained model. Anything else is ResourceNotFoundException (the brief's rule; Bedrock
    may answer ValidationException for an imported model that exists but is not Active)."""
    imported = IMPORTED_MODELS.held(backend, identifier)
    if imported is not None:
        if imported.status != "Active":
            raise ResourceNotFoundException(f"Custom model {identifier} is {imported.status}, not Active")
        return imported.arn, foundation_model_arn(backend, IMPORTED_MODEL_FOUNDATION)
    trained = _trained(backend, identifier)
    if trained is None:
        raise ResourceNotFoundException(f"Custom model {identifier} not found")
    return trained.model_arn, foundation_model_arn(backend, base_model_id(backend, trained.model_arn))


def _refuse_if_in_use(backend: BedrockBackend, model_arn: str) -> None:
    users = [
        f"custom model deployment {d.name}" for d in DEPLOYMENTS.resources(backend).values() if model_arn in d.models()
    ]
    users += [
        f"provisioned model {t.name}"
        for t in THROUGHPUTS.resources(backend).values()
        if model_arn in (t.model_arn, t.desired_model_arn)
    ]
    if users:
        raise BedrockClientError("ConflictException", f"Custom model {model_arn} is in use by {', '.join(users)}")


# --- custom model deployments -------------------------------------------------------------------------


@dataclass(kw_only=True)
class Deployment(_ServingResource):
    STATUSES = DEPLOYMENT_STATUSES
    model_arn: str
    description: str | None
    last_updated: datetime
    update_details: dict[str, str] | None = None

    @property
    def updating(self) -> bool:
        return self.update_details is not None and self.update_details["updateStatus"] == "Updating"

    @property
    def busy(self) -> bool:
        return super().busy or self.updating

    def models(self) -> set[str]:
        """The models it serves: its own, and the one an update in progress moves it to."""
        target = self.update_details["modelArn"] if self.update_details and self.updating else self.model_arn
        return {self.model_arn, target}

    def describe(self) -> dict[str, Any]:
        return present(
            customModelDeploymentArn=self.arn,
            modelDeploymentName=self.name,
            modelArn=self.model_arn,
            createdAt=iso(self.created),
            status=self.status,
            description=self.description,
            updateDetails=copy.deepcopy(self.update_details),
            failureMessage=self.shown_failure_message,
            lastUpdatedAt=iso(self.last_updated),
        )


def _build_deployment(backend: BedrockBackend, params: Params, base: Resource) -> Deployment:
    model_arn, _ = _usable_model(backend, params["modelArn"])
    return Deployment(
        **vars(base), last_updated=base.created, model_arn=model_arn, description=params.get("description")
    )


def _update_deployment(backend: BedrockBackend, deployment: Deployment, params: Params) -> dict[str, Any]:
    if deployment.status != "Active" or deployment.updating:
        state = "being updated" if deployment.updating else deployment.status
        raise BedrockValidationException(
            f"Custom model deployment {deployment.name} is {state}; only an Active deployment can be updated"
        )
    model_arn, _ = _usable_model(backend, params["modelArn"])
    deployment.update_details = {"modelArn": model_arn, "updateStatus": "Updating"}
    deployment.last_updated = moment()
    return {"customModelDeploymentArn": deployment.arn}


# --- provisioned throughput ---------------------------------------------------------------------------


@dataclass(kw_only=True)
class Throughput(_ServingResource):
    STATUSES = THROUGHPUT_STATUSES
    model_units: int
    model_arn: str
    desired_model_arn: str
    foundation_model_arn: str
    commitment_duration: str | None
    commitment_expiration: datetime | None
    last_modified: datetime

    def describe(self) -> dict[str, Any]:
        return present(
            modelUnits=self.model_units,
            desiredModelUnits=self.model_units,
            provisionedModelName=self.name,
            provisionedModelArn=self.arn,
            modelArn=self.model_arn,
            desiredModelArn=self.desired_model_arn,
            foundationModelArn=self.foundation_model_arn,
            status=self.status,
            creationTime=iso(self.created),
            lastModifiedTime=iso(self.last_modified),
            failureMessage=self.shown_failure_message,
            commitmentDuration=self.commitment_duration,
            commitmentExpirationTime=iso(self.commitment_expiration) if self.commitment_expiration else None,
        )


def _throughput_model(backend: BedrockBackend, model_id: str) -> tuple[str, str]:
    """(ARN, base foundation model ARN) of a foundation model id or ARN, or a custom model name or ARN.
    Custom model names cannot contain a dot; foundation model ids always do."""
    if ":foundation-model/" in model_id or (not model_id.startswith("arn:") and "." in model_id):
        arn = foundation_model_arn(backend, model_id)
        return arn, arn
    return _usable_model(backend, model_id)


def _build_throughput(backend: BedrockBackend, params: Params, base: Resource) -> Throughput:
    model_arn, foundation_arn = _throughput_model(backend, params["modelId"])
    duration = params.get("commitmentDuration")
    return Throughput(
        **vars(base),
        last_modified=base.created,
        model_units=params["modelUnits"],
        model_arn=model_arn,
        desired_model_arn=model_arn,
        foundation_model_arn=foundation_arn,
        commitment_duration=duration,
        commitment_expiration=base.created + timedelta(days=COMMITMENT_DAYS[duration]) if duration else None,
    )


def _update_throughput(backend: BedrockBackend, throughput: Throughput, params: Params) -> dict[str, Any]:
    if throughput.status != "InService":
        raise BedrockValidationException(
            f"Provisioned model {throughput.name} is {throughput.status}; only an InService one can be updated"
        )
    # Check everything before changing anything: a refused request changes nothing.
    new_name = params.get("desiredProvisionedModelName")
    if new_name and new_name != throughput.name:
        THROUGHPUTS.refuse_taken_name(backend, new_name)
    target = _model_change(backend, throughput, params["desiredModelId"]) if "desiredModelId" in params else None
    if new_name:
        throughput.name = new_name
    if target:
        throughput.desired_model_arn = target
        throughput.status = "Updating"
    throughput.last_modified = moment()
    return {}


def _model_change(backend: BedrockBackend, throughput: Throughput, desired_model_id: str) -> str | None:
    """The model a throughput is to change to (None: the one it serves), if it may change to it."""
    target_arn, target_foundation = _throughput_model(backend, desired_model_id)
    if target_arn == throughput.model_arn:
        return None
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
    return target_arn


def _refuse_before_commitment_ends(backend: BedrockBackend, throughput: Throughput) -> None:
    _refuse_deleting_busy(backend, throughput)
    expiration = throughput.commitment_expiration
    if expiration is not None and expiration > moment():
        raise BedrockValidationException(
            f"Provisioned model {throughput.name} has a {throughput.commitment_duration} commitment: the commitment"
            f" term has not ended (it ends {iso(expiration)})"
        )


# --- lists --------------------------------------------------------------------------------------------

# The members of a listed throughput (the service model's ProvisionedModelSummary): Get's, less a few.
THROUGHPUT_SUMMARY_MEMBERS = frozenset(cast(StructureShape, contract.shape("ProvisionedModelSummary")).members)


def _list_throughputs(backend: BedrockBackend, params: Params) -> dict[str, Any]:
    selected = [
        throughput
        for throughput in THROUGHPUTS.resources(backend).values()
        if params.get("statusEquals") in (None, throughput.status)
        and params.get("modelArnEquals") in (None, throughput.model_arn)
    ]
    listed, next_token = page(selected, params)
    summaries = [
        {name: value for name, value in throughput.describe().items() if name in THROUGHPUT_SUMMARY_MEMBERS}
        for throughput in listed
    ]
    return present(provisionedModelSummaries=summaries, nextToken=next_token)


# The members of a listed deployment (the service model's CustomModelDeploymentSummary).
DEPLOYMENT_SUMMARY_MEMBERS = frozenset(cast(StructureShape, contract.shape("CustomModelDeploymentSummary")).members)


def _list_deployments(backend: BedrockBackend, params: Params) -> dict[str, Any]:
    """A summary names a deployment customModelDeploymentName (Get's modelDeploymentName); the request's times are
    createdAfter and createdBefore."""
    selected = [
        deployment
        for deployment in DEPLOYMENTS.resources(backend).values()
        if params.get("statusEquals") in (None, deployment.status)
        and params.get("modelArnEquals") in (None, deployment.model_arn)
    ]
    times = {"creationTimeAfter": params.get("createdAfter"), "creationTimeBefore": params.get("createdBefore")}
    listed, next_token = page(selected, params | {name: value for name, value in times.items() if value is not None})
    summaries = []
    for deployment in listed:
        described = deployment.describe()
        described["customModelDeploymentName"] = described.pop("modelDeploymentName")
        summaries.append({name: value for name, value in described.items() if name in DEPLOYMENT_SUMMARY_MEMBERS})
    return present(modelDeploymentSummaries=summaries, nextToken=next_token)


# The members of a listed custom model (the service model's CustomModelSummary).
CUSTOM_MODEL_SUMMARY_MEMBERS = frozenset(cast(StructureShape, contract.shape("CustomModelSummary")).members)


@dataclass(kw_only=True)
class _ListedModel(Resource):
    """A custom model as ListCustomModels selects it. Its name is its job's, which nameContains matches (the API
    reference: "only if the job name contains these characters"); a model made by CreateCustomModel has none."""

    summary: dict[str, Any]


def _aware(moment: datetime) -> datetime:
    """moto's own timestamps have no zone (the stand-in's are UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _list_custom_models(backend: BedrockBackend, params: Params) -> dict[str, Any]:
    """moto lists the trained models only; Bedrock lists those CreateCustomModel made too (a summary's
    customizationType may be IMPORTED, and its modelStatus Creating, which the request may filter on)."""
    trained = [
        _ListedModel(
            arn=model.model_arn,
            name=model.job_name,
            token=None,
            created=_aware(datetime.fromisoformat(model.creation_time)),
            summary=model.to_dict(),
        )
        for model in backend.custom_models.values()
    ]
    imported = [
        _ListedModel(arn=model.arn, name=None, token=None, created=model.created, summary=model.describe())
        for model in IMPORTED_MODELS.resources(backend).values()
    ]
    selected = [
        model
        for model in trained + imported
        if params.get("modelStatus") in (None, model.summary.get("modelStatus"))
        and params.get("baseModelArnEquals") in (None, model.summary.get("baseModelArn"))
    ]
    listed, next_token = page(selected, params)
    summaries = [
        {name: value for name, value in model.summary.items() if name in CUSTOM_MODEL_SUMMARY_MEMBERS}
        for model in listed
    ]
    return present(modelSummaries=summaries, nextToken=next_token)


# --- the kinds, and the operations they answer --------------------------------------------------------


IMPORTED_MODELS = Kind[ImportedModel](
    resource_type=contract.CUSTOM_MODEL,
    noun="imported model",
    arn_infix="imported/",
    check_request=_one_model_source,
    build=_build_imported_model,
    name_rule=_custom_model_name_free,
    refuse_delete=_refuse_deleting_served_model,
    leave_to_moto=_leave_trained_model_to_moto,
)
DEPLOYMENTS = Kind[Deployment](
    resource_type=contract.MODEL_DEPLOYMENT,
    noun="custom model deployment",
    build=_build_deployment,
    refuse_delete=_refuse_deleting_busy,
    apply_update=_update_deployment,
)
THROUGHPUTS = Kind[Throughput](
    resource_type=contract.PROVISIONED_THROUGHPUT,
    noun="provisioned model",
    build=_build_throughput,
    refuse_delete=_refuse_before_commitment_ends,
    apply_update=_update_throughput,
)
SERVING_KINDS = (IMPORTED_MODELS, DEPLOYMENTS, THROUGHPUTS)
SERVING_LISTINGS: dict[str, Handler] = {
    "ListProvisionedModelThroughputs": _list_throughputs,
    "ListCustomModels": _list_custom_models,
    "ListCustomModelDeployments": _list_deployments,
}
