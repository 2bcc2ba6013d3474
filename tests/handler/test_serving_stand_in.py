"""The stand-in's emulation of serving (cdk_bedrock_customization.emulation): imported custom models, custom
model deployments and provisioned throughput, none of which moto implements.

Each rule is checked through a real botocore client, as the handler will meet it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from cdk_bedrock_customization.emulation import bedrock_stand_in
from cdk_bedrock_customization.emulation.bedrock_stand_in import (
    DEPLOYMENT_ARN_PATTERN,
    FOUNDATION_MODEL_ARN_PATTERN,
    IMPORTED_MODEL_ARN_PATTERN,
    THROUGHPUT_ARN_PATTERN,
    BedrockStandIn,
)
from moto.bedrock.exceptions import BedrockClientError

from .conftest import BASE_MODEL, ROLE_ARN, completed_job

S3_SOURCE = {"s3DataSource": {"s3Uri": "s3://my-model-bucket/llama/"}}
PACKAGE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/my-group/1"
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/0123abcd-0123-abcd-0123-0123456789ab"
FOUNDATION = "amazon.nova-lite-v1:0:24k"
FOUNDATION_ARN = f"arn:aws:bedrock:us-east-1::foundation-model/{FOUNDATION}"
BASE_MODEL_ARN = f"arn:aws:bedrock:us-east-1::foundation-model/{BASE_MODEL}"
# Well formed, but never made: the stand-in's suffixes are hexadecimal.
UNKNOWN_MODEL_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/zzzzzzzzzzzz"


@pytest.fixture
def client(bedrock: BedrockStandIn) -> Any:
    return bedrock.client()


def import_model(
    client: Any, bedrock: BedrockStandIn, name: str = "imported", active: bool = True, **extra: Any
) -> str:
    request = {"modelName": name, "modelSourceConfig": S3_SOURCE, "roleArn": ROLE_ARN} | extra
    arn: str = client.create_custom_model(**request)["modelArn"]
    if active:
        bedrock.set_model_status(arn, "Active")
    return arn


def train_model(client: Any, bedrock: BedrockStandIn, name: str = "trained") -> str:
    """A trained custom model of BASE_MODEL: its job created and completed."""
    return str(bedrock.job(completed_job(bedrock, f"{name}-job", name))["outputModelArn"])


def deploy(client: Any, model_arn: str, name: str = "deployment", **extra: Any) -> str:
    arn: str = client.create_custom_model_deployment(modelDeploymentName=name, modelArn=model_arn, **extra)[
        "customModelDeploymentArn"
    ]
    return arn


def provision(client: Any, model_id: str, name: str = "provisioned", **extra: Any) -> str:
    arn: str = client.create_provisioned_model_throughput(
        modelUnits=1, provisionedModelName=name, modelId=model_id, **extra
    )["provisionedModelArn"]
    return arn


# imported custom models


def test_an_imported_model_has_an_imported_arn_and_moves_from_creating_to_active(bedrock, client):
    response = client.create_custom_model(modelName="imported", modelSourceConfig=S3_SOURCE, modelKmsKeyArn=KMS_KEY)
    arn = response["modelArn"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert IMPORTED_MODEL_ARN_PATTERN.fullmatch(arn)
    assert arn.startswith("arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/")
    model = client.get_custom_model(modelIdentifier=arn)
    assert (model["modelName"], model["customizationType"], model["modelStatus"]) == (
        "imported",
        "IMPORTED",
        "Creating",
    )
    assert model["modelKmsKeyArn"] == KMS_KEY
    for absent in ("baseModelArn", "jobArn", "jobName", "failureMessage"):
        assert absent not in model
    bedrock.set_model_status("imported", "Active")
    assert client.get_custom_model(modelIdentifier="imported")["modelStatus"] == "Active"
    assert [m["modelArn"] for m in bedrock.imported_models()] == [arn]
    assert bedrock.models() == []  # moto's trained models are apart


def test_a_failed_import_has_a_failure_message(bedrock, client):
    arn = import_model(client, bedrock, active=False)
    bedrock.set_model_status(arn, "Failed", failure_message="Unsupported architecture")
    model = client.get_custom_model(modelIdentifier=arn)
    assert (model["modelStatus"], model["failureMessage"]) == ("Failed", "Unsupported architecture")
    with pytest.raises(ValueError, match="Deleted"):
        bedrock.set_model_status(arn, "Deleted")


def test_a_model_package_is_a_source_too(bedrock, client):
    arn = client.create_custom_model(
        modelName="from-package", customModelDataSource={"modelPackageArnDataSource": {"modelPackageArn": PACKAGE_ARN}}
    )["modelArn"]
    assert IMPORTED_MODEL_ARN_PATTERN.fullmatch(arn)


@pytest.mark.parametrize(
    "sources",
    [
        {},
        {
            "modelSourceConfig": S3_SOURCE,
            "customModelDataSource": {"modelPackageArnDataSource": {"modelPackageArn": PACKAGE_ARN}},
        },
    ],
    ids=["neither", "both"],
)
def test_an_import_needs_exactly_one_source(bedrock, client, sources):
    with pytest.raises(
        client.exceptions.ValidationException, match="exactly one of modelSourceConfig and customModelDataSource"
    ):
        client.create_custom_model(modelName="imported", **sources)
    assert bedrock.imported_models() == []


def test_a_repeated_client_request_token_returns_the_imported_model_and_creates_nothing(bedrock, client):
    first = import_model(client, bedrock, active=False, clientRequestToken="token-1")
    assert import_model(client, bedrock, active=False, clientRequestToken="token-1") == first
    assert len(bedrock.imported_models()) == 1
    with pytest.raises(client.exceptions.ConflictException, match="imported"):
        import_model(client, bedrock, active=False, clientRequestToken="token-2")


def test_an_import_may_not_take_the_name_of_a_trained_model(bedrock, client):
    train_model(client, bedrock, "taken")
    with pytest.raises(client.exceptions.ConflictException, match="taken"):
        import_model(client, bedrock, "taken")
    assert bedrock.imported_models() == []


def test_custom_models_are_listed_trained_and_imported_and_filtered_as_the_api_reference_says(bedrock, client):
    """ListCustomModels: CustomModelSummary's customizationType includes IMPORTED and its modelStatus Creating, so
    Bedrock lists the models CreateCustomModel makes too; nameContains matches "the job name" (its documentation),
    which an imported model has none of."""
    trained_arn = train_model(client, bedrock)
    imported_arn = import_model(client, bedrock, name="trained-lookalike", active=False)

    def listed(**request: Any) -> list[str]:
        return [summary["modelArn"] for summary in client.list_custom_models(**request)["modelSummaries"]]

    assert listed(sortOrder="Ascending") == [trained_arn, imported_arn]
    assert listed(modelStatus="Creating") == [imported_arn]
    assert listed(nameContains="trained") == [trained_arn]
    (summary,) = client.list_custom_models(modelStatus="Creating")["modelSummaries"]
    assert (summary["customizationType"], summary["modelName"]) == ("IMPORTED", "trained-lookalike")
    first = client.list_custom_models(maxResults=1)
    assert listed(maxResults=1, nextToken=first["nextToken"]) != [
        summary["modelArn"] for summary in first["modelSummaries"]
    ]


def test_deployments_are_listed_by_their_summarys_name_and_filtered_as_the_api_reference_says(bedrock, client):
    """ListCustomModelDeployments: a CustomModelDeploymentSummary names a deployment customModelDeploymentName (Get's
    modelDeploymentName); nameContains, statusEquals, modelArnEquals and the sort order select and order them."""
    first_model = import_model(client, bedrock, name="first")
    second_model = import_model(client, bedrock, name="second")
    support = deploy(client, first_model, name="support-on-demand")
    search = deploy(client, second_model, name="search-on-demand")
    bedrock.set_deployment_status(search, "Active")

    def listed(**request: Any) -> list[str]:
        summaries = client.list_custom_model_deployments(**request)["modelDeploymentSummaries"]
        return [summary["customModelDeploymentName"] for summary in summaries]

    assert listed(sortBy="CreationTime", sortOrder="Ascending") == ["support-on-demand", "search-on-demand"]
    assert listed(nameContains="support") == ["support-on-demand"]
    assert listed(statusEquals="Active") == ["search-on-demand"]
    assert listed(modelArnEquals=first_model) == ["support-on-demand"]
    (summary,) = client.list_custom_model_deployments(nameContains="support")["modelDeploymentSummaries"]
    shape = botocore.session.get_session().get_service_model("bedrock").shape_for("CustomModelDeploymentSummary")
    assert set(summary) <= set(shape.members) and summary["customModelDeploymentArn"] == support


def test_trained_models_are_still_got_and_deleted_by_moto(bedrock, client):
    trained_arn = train_model(client, bedrock)
    imported_arn = import_model(client, bedrock)
    assert client.get_custom_model(modelIdentifier=trained_arn)["jobName"] == "trained-job"
    client.delete_custom_model(modelIdentifier=imported_arn)
    client.delete_custom_model(modelIdentifier="trained")
    assert (bedrock.models(), bedrock.imported_models()) == ([], [])
    for identifier in (trained_arn, imported_arn, "imported"):
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.get_custom_model(modelIdentifier=identifier)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.delete_custom_model(modelIdentifier=imported_arn)


# validation against the service model


@pytest.mark.parametrize(
    ("operation", "request_", "member", "rule"),
    [
        ("create_custom_model", {"modelSourceConfig": S3_SOURCE}, "modelName", "must not be null"),
        ("create_custom_model", {"modelName": "has space", "modelSourceConfig": S3_SOURCE}, "modelName", "pattern"),
        ("create_custom_model", {"modelName": "m" * 64, "modelSourceConfig": S3_SOURCE}, "modelName", "length"),
        (
            "create_custom_model",
            {"modelName": "m", "modelSourceConfig": {"s3DataSource": {"s3Uri": "https://bucket/model"}}},
            "modelSourceConfig.s3DataSource.s3Uri",
            "pattern",
        ),
        (
            "create_custom_model",
            {"modelName": "m", "modelSourceConfig": S3_SOURCE, "modelKmsKeyArn": "alias/my-key"},
            "modelKmsKeyArn",
            "pattern",
        ),
        (
            "create_custom_model",
            {"modelName": "m", "modelSourceConfig": S3_SOURCE, "modelTags": [{"key": "bad*key", "value": "v"}]},
            "modelTags.1.member.key",
            "pattern",
        ),
        (
            "create_custom_model_deployment",
            {"modelDeploymentName": "d", "modelArn": FOUNDATION_ARN},
            "modelArn",
            "pattern",
        ),
        (
            "create_provisioned_model_throughput",
            {"modelUnits": 0, "provisionedModelName": "p", "modelId": FOUNDATION},
            "modelUnits",
            "value greater than or equal to 1",
        ),
        (
            "create_provisioned_model_throughput",
            {"modelUnits": 1, "provisionedModelName": "p", "modelId": FOUNDATION, "commitmentDuration": "OneYear"},
            "commitmentDuration",
            "enum value set: [OneMonth, SixMonths]",
        ),
        ("get_provisioned_model_throughput", {"provisionedModelId": "not/valid"}, "provisionedModelId", "pattern"),
        (
            "update_provisioned_model_throughput",
            {"provisionedModelId": "p", "desiredProvisionedModelName": "a.b"},
            "desiredProvisionedModelName",
            "pattern",
        ),
    ],
)
def test_requests_are_validated_against_the_service_model_naming_the_member(bedrock, operation, request_, member, rule):
    """botocore's own checks are off here, so each request reaches the stand-in as a careless caller sends it."""
    client = bedrock.client(parameter_validation=False)
    with pytest.raises(client.exceptions.ValidationException) as raised:
        getattr(client, operation)(**request_)
    message = raised.value.response["Error"]["Message"]
    assert f"at '{member}'" in message
    assert rule in message
    assert (bedrock.imported_models(), bedrock.deployments(), bedrock.throughputs()) == ([], [], [])


def test_the_handlers_client_meets_pattern_validation_too(client):
    with pytest.raises(client.exceptions.ValidationException, match="at 'modelName'"):
        client.create_custom_model(modelName="-leading-dash", modelSourceConfig=S3_SOURCE)


# deployments


def test_a_deployment_has_a_deployment_arn_and_moves_from_creating_to_active(bedrock, client):
    model_arn = import_model(client, bedrock)
    response = client.create_custom_model_deployment(
        modelDeploymentName="deployment", modelArn=model_arn, description="for the support bot"
    )
    arn = response["customModelDeploymentArn"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert DEPLOYMENT_ARN_PATTERN.fullmatch(arn)
    by_name = client.get_custom_model_deployment(customModelDeploymentIdentifier="deployment")
    by_arn = client.get_custom_model_deployment(customModelDeploymentIdentifier=arn)
    assert by_name["createdAt"] == by_arn["createdAt"]
    assert (by_arn["modelDeploymentName"], by_arn["modelArn"], by_arn["status"]) == (
        "deployment",
        model_arn,
        "Creating",
    )
    assert by_arn["description"] == "for the support bot"
    assert "updateDetails" not in by_arn and "failureMessage" not in by_arn
    bedrock.set_deployment_status("deployment", "Active")
    assert client.get_custom_model_deployment(customModelDeploymentIdentifier=arn)["status"] == "Active"
    bedrock.set_deployment_status(arn, "Failed", failure_message="Out of capacity")
    (failed,) = bedrock.deployments()
    assert (failed["status"], failed["failureMessage"]) == ("Failed", "Out of capacity")


def test_a_trained_model_can_be_deployed(bedrock, client):
    model_arn = train_model(client, bedrock)
    deploy(client, model_arn)
    assert bedrock.deployments()[0]["modelArn"] == model_arn


def test_a_deployment_needs_a_model_that_exists_and_is_active(bedrock, client):
    creating = import_model(client, bedrock, active=False)
    for model_arn in (creating, UNKNOWN_MODEL_ARN):
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            deploy(client, model_arn)
    assert bedrock.deployments() == []


def assert_a_name_is_unique_and_its_token_idempotent(client: Any, create: Callable[..., str]) -> None:
    """create, called again with the same client request token, answers the first resource; called with another
    token, it is refused: the name is taken."""
    first = create(clientRequestToken="token-1")
    assert create(clientRequestToken="token-1") == first
    with pytest.raises(client.exceptions.ValidationException, match="already exists"):
        create(clientRequestToken="token-2")


def test_a_token_repeated_after_its_deployment_was_deleted_answers_the_deleted_one(bedrock, client):
    """Bedrock "ignores the request" of a token it has seen (botocore's model), for a time it does not document: the
    stand-in keeps the token once its resource is deleted, and answers its ARN, which reads as not found."""
    model_arn = import_model(client, bedrock)
    deleted = deploy(client, model_arn, clientRequestToken="token-1")
    bedrock.set_deployment_status(deleted, "Active")
    client.delete_custom_model_deployment(customModelDeploymentIdentifier=deleted)

    assert deploy(client, model_arn, clientRequestToken="token-1") == deleted
    assert bedrock.deployments() == []
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_custom_model_deployment(customModelDeploymentIdentifier=deleted)
    assert deploy(client, model_arn, clientRequestToken="token-2") != deleted


def test_deployment_names_are_unique_and_tokens_idempotent(bedrock, client):
    model_arn = import_model(client, bedrock)
    assert_a_name_is_unique_and_its_token_idempotent(client, functools.partial(deploy, client, model_arn))
    assert len(bedrock.deployments()) == 1


def test_a_deployment_updates_to_another_model_only_while_active(bedrock, client):
    old_model, new_model = import_model(client, bedrock, "old"), import_model(client, bedrock, "new")
    arn = deploy(client, old_model)
    with pytest.raises(client.exceptions.ValidationException, match="Creating"):
        client.update_custom_model_deployment(customModelDeploymentIdentifier=arn, modelArn=new_model)
    bedrock.set_deployment_status(arn, "Active")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.update_custom_model_deployment(customModelDeploymentIdentifier=arn, modelArn=UNKNOWN_MODEL_ARN)

    response = client.update_custom_model_deployment(customModelDeploymentIdentifier="deployment", modelArn=new_model)
    assert response["customModelDeploymentArn"] == arn
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 202
    updating = client.get_custom_model_deployment(customModelDeploymentIdentifier=arn)
    assert updating["modelArn"] == old_model
    assert updating["updateDetails"] == {"modelArn": new_model, "updateStatus": "Updating"}
    with pytest.raises(client.exceptions.ValidationException, match="being updated"):
        client.update_custom_model_deployment(customModelDeploymentIdentifier=arn, modelArn=old_model)

    bedrock.finish_deployment_update(arn)
    done = client.get_custom_model_deployment(customModelDeploymentIdentifier=arn)
    assert done["modelArn"] == new_model
    assert done["updateDetails"] == {"modelArn": new_model, "updateStatus": "UpdateCompleted"}
    assert done["lastUpdatedAt"] >= updating["lastUpdatedAt"]


def test_a_failed_deployment_update_keeps_the_old_model(bedrock, client):
    old_model, new_model = import_model(client, bedrock, "old"), import_model(client, bedrock, "new")
    arn = deploy(client, old_model)
    bedrock.set_deployment_status(arn, "Active")
    client.update_custom_model_deployment(customModelDeploymentIdentifier=arn, modelArn=new_model)
    bedrock.finish_deployment_update("deployment", succeeded=False)
    (deployment,) = bedrock.deployments()
    assert deployment["modelArn"] == old_model
    assert deployment["updateDetails"] == {"modelArn": new_model, "updateStatus": "UpdateFailed"}
    with pytest.raises(ValueError, match="no update in progress"):
        bedrock.finish_deployment_update(arn)


def test_deleting_a_deployment_removes_it_at_once_by_name_or_arn(bedrock, client):
    model_arn = import_model(client, bedrock)
    first, second = deploy(client, model_arn, "first"), deploy(client, model_arn, "second")
    for arn in (first, second):
        bedrock.set_deployment_status(arn, "Active")
    assert client.delete_custom_model_deployment(customModelDeploymentIdentifier="first")
    client.delete_custom_model_deployment(customModelDeploymentIdentifier=second)
    assert bedrock.deployments() == []
    for identifier in (first, "second"):
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.get_custom_model_deployment(customModelDeploymentIdentifier=identifier)
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.delete_custom_model_deployment(customModelDeploymentIdentifier=identifier)


# provisioned throughput


def test_a_throughput_of_a_foundation_model_has_a_provisioned_arn_and_goes_in_service(bedrock, client):
    response = client.create_provisioned_model_throughput(modelUnits=2, provisionedModelName="pt", modelId=FOUNDATION)
    arn = response["provisionedModelArn"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert THROUGHPUT_ARN_PATTERN.fullmatch(arn)
    throughput = client.get_provisioned_model_throughput(provisionedModelId=arn)
    assert throughput["modelArn"] == throughput["desiredModelArn"] == throughput["foundationModelArn"] == FOUNDATION_ARN
    assert (throughput["modelUnits"], throughput["desiredModelUnits"], throughput["status"]) == (2, 2, "Creating")
    assert throughput["lastModifiedTime"] == throughput["creationTime"]
    for absent in ("commitmentDuration", "commitmentExpirationTime", "failureMessage"):
        assert absent not in throughput
    bedrock.set_throughput_status("pt", "InService")
    assert client.get_provisioned_model_throughput(provisionedModelId="pt")["status"] == "InService"
    bedrock.set_throughput_status(arn, "Failed")
    assert bedrock.throughputs()[0]["failureMessage"]


def test_a_throughput_of_a_custom_model_reports_its_base_foundation_model(bedrock, client):
    trained, imported = train_model(client, bedrock), import_model(client, bedrock)
    provision(client, "trained", "of-trained")
    provision(client, imported, "of-imported")
    provision(client, FOUNDATION_ARN, "of-foundation-arn")
    got = {t["provisionedModelName"]: (t["modelArn"], t["foundationModelArn"]) for t in bedrock.throughputs()}
    assert got["of-trained"] == (trained, BASE_MODEL_ARN)
    # An imported model has no Bedrock base model: the stand-in reports a fixed one.
    assert got["of-imported"] == (imported, "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k")
    assert got["of-foundation-arn"] == (FOUNDATION_ARN, FOUNDATION_ARN)
    assert all(FOUNDATION_MODEL_ARN_PATTERN.fullmatch(foundation) for _, foundation in got.values())


def test_a_throughput_needs_a_custom_model_that_exists(bedrock, client):
    import_model(client, bedrock, "creating", active=False)
    for model_id in ("no-such-model", "creating"):
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            provision(client, model_id)
    assert bedrock.throughputs() == []


def test_throughput_names_are_unique_and_tokens_idempotent(bedrock, client):
    assert_a_name_is_unique_and_its_token_idempotent(client, functools.partial(provision, client, FOUNDATION))
    assert len(bedrock.throughputs()) == 1


def test_a_throughput_is_updated_only_in_service_and_a_rename_applies_at_once(bedrock, client):
    arn = provision(client, FOUNDATION, "old-name")
    provision(client, FOUNDATION, "other")
    with pytest.raises(client.exceptions.ValidationException, match="Creating"):
        client.update_provisioned_model_throughput(provisionedModelId=arn, desiredProvisionedModelName="new-name")
    bedrock.set_throughput_status(arn, "InService")
    with pytest.raises(client.exceptions.ValidationException, match="already exists"):
        client.update_provisioned_model_throughput(provisionedModelId=arn, desiredProvisionedModelName="other")
    client.update_provisioned_model_throughput(provisionedModelId="old-name", desiredProvisionedModelName="new-name")
    throughput = client.get_provisioned_model_throughput(provisionedModelId="new-name")
    assert (throughput["provisionedModelArn"], throughput["status"]) == (arn, "InService")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_provisioned_model_throughput(provisionedModelId="old-name")


def test_a_throughput_of_a_foundation_model_cannot_change_its_model(bedrock, client):
    arn = provision(client, FOUNDATION)
    bedrock.set_throughput_status(arn, "InService")
    train_model(client, bedrock)
    with pytest.raises(client.exceptions.ValidationException, match="foundation model"):
        client.update_provisioned_model_throughput(provisionedModelId=arn, desiredModelId="trained")
    assert bedrock.throughputs()[0]["desiredModelArn"] == FOUNDATION_ARN


def test_a_throughput_of_a_custom_model_changes_to_its_base_or_a_sibling_then_finishes(bedrock, client):
    first, second = train_model(client, bedrock, "first"), train_model(client, bedrock, "second")
    imported = import_model(client, bedrock)
    arn = provision(client, first)
    bedrock.set_throughput_status(arn, "InService")
    for other_base in (imported, FOUNDATION):
        with pytest.raises(client.exceptions.ValidationException, match="base model"):
            client.update_provisioned_model_throughput(
                provisionedModelId=arn, desiredModelId=other_base, desiredProvisionedModelName="renamed"
            )
    assert bedrock.throughputs()[0]["provisionedModelName"] == "provisioned"  # a refused request changes nothing

    client.update_provisioned_model_throughput(provisionedModelId=arn, desiredModelId="second")
    updating = client.get_provisioned_model_throughput(provisionedModelId=arn)
    assert (updating["status"], updating["modelArn"], updating["desiredModelArn"]) == ("Updating", first, second)
    with pytest.raises(client.exceptions.ValidationException, match="Updating"):
        client.update_provisioned_model_throughput(provisionedModelId=arn, desiredModelId=BASE_MODEL)
    bedrock.finish_throughput_update(arn)
    done = client.get_provisioned_model_throughput(provisionedModelId=arn)
    assert (done["status"], done["modelArn"], done["desiredModelArn"]) == ("InService", second, second)

    client.update_provisioned_model_throughput(provisionedModelId=arn, desiredModelId=BASE_MODEL)
    bedrock.finish_throughput_update("provisioned")
    assert bedrock.throughputs()[0]["modelArn"] == BASE_MODEL_ARN
    with pytest.raises(ValueError, match="not Updating"):
        bedrock.finish_throughput_update(arn)


@pytest.mark.parametrize(("duration", "days"), [("OneMonth", 30), ("SixMonths", 182)])
def test_a_commitment_blocks_deletion_until_its_term_ends(bedrock, client, duration, days):
    arn = provision(client, FOUNDATION, commitmentDuration=duration)
    bedrock.set_throughput_status(arn, "InService")
    throughput = client.get_provisioned_model_throughput(provisionedModelId=arn)
    assert throughput["commitmentDuration"] == duration
    assert throughput["commitmentExpirationTime"] - throughput["creationTime"] == timedelta(days=days)
    with pytest.raises(client.exceptions.ValidationException, match="commitment term has not ended"):
        client.delete_provisioned_model_throughput(provisionedModelId=arn)
    bedrock.expire_commitment("provisioned")
    client.delete_provisioned_model_throughput(provisionedModelId=arn)
    assert bedrock.throughputs() == []


def test_deleting_a_throughput_without_commitment_removes_it_at_once(bedrock, client):
    arn = provision(client, FOUNDATION)
    bedrock.set_throughput_status(arn, "InService")
    with pytest.raises(ValueError, match="no commitment"):
        bedrock.expire_commitment(arn)
    client.delete_provisioned_model_throughput(provisionedModelId="provisioned")
    assert bedrock.throughputs() == []
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.delete_provisioned_model_throughput(provisionedModelId=arn)


def test_what_is_being_created_or_changed_cannot_be_deleted_until_that_ends(bedrock, client):
    """The stand-in's choice (the service model lists ConflictException for these deletes; no page says when)."""
    model_arn = import_model(client, bedrock, active=False)
    with pytest.raises(client.exceptions.ConflictException, match="being created"):
        client.delete_custom_model(modelIdentifier=model_arn)
    bedrock.set_model_status(model_arn, "Active")
    other_model = import_model(client, bedrock, "other")
    deployment, throughput = deploy(client, model_arn), provision(client, model_arn)
    deletes = [
        functools.partial(client.delete_custom_model_deployment, customModelDeploymentIdentifier=deployment),
        functools.partial(client.delete_provisioned_model_throughput, provisionedModelId=throughput),
    ]
    for delete in deletes:  # Creating
        with pytest.raises(client.exceptions.ConflictException, match="being created"):
            delete()
    bedrock.set_deployment_status(deployment, "Active")
    bedrock.set_throughput_status(throughput, "InService")
    client.update_custom_model_deployment(customModelDeploymentIdentifier=deployment, modelArn=other_model)
    bedrock.set_throughput_status(throughput, "Updating")
    for delete in deletes:  # updating
        with pytest.raises(client.exceptions.ConflictException, match="updated"):
            delete()
    bedrock.finish_deployment_update(deployment)
    bedrock.set_throughput_status(throughput, "Failed", "Insufficient capacity")  # failed: deletable
    for delete in deletes:
        delete()
    assert (bedrock.deployments(), bedrock.throughputs()) == ([], [])


# models in use


def test_an_imported_model_in_use_by_a_deployment_cannot_be_deleted(bedrock, client):
    model_arn = import_model(client, bedrock)
    deployment = deploy(client, model_arn)
    bedrock.set_deployment_status(deployment, "Active")
    with pytest.raises(client.exceptions.ConflictException, match="in use by custom model deployment deployment"):
        client.delete_custom_model(modelIdentifier="imported")
    client.delete_custom_model_deployment(customModelDeploymentIdentifier=deployment)
    client.delete_custom_model(modelIdentifier=model_arn)
    assert bedrock.imported_models() == []


def test_a_model_that_a_deployment_is_updating_to_is_in_use(bedrock, client):
    old_model, new_model = import_model(client, bedrock, "old"), import_model(client, bedrock, "new")
    arn = deploy(client, old_model)
    bedrock.set_deployment_status(arn, "Active")
    client.update_custom_model_deployment(customModelDeploymentIdentifier=arn, modelArn=new_model)
    with pytest.raises(client.exceptions.ConflictException):
        client.delete_custom_model(modelIdentifier=new_model)


def test_a_trained_model_in_use_by_a_throughput_is_not_deleted_by_moto(bedrock, client):
    model_arn = train_model(client, bedrock)
    throughput = provision(client, "trained")
    bedrock.set_throughput_status(throughput, "InService")
    with pytest.raises(client.exceptions.ConflictException, match="in use by provisioned model provisioned"):
        client.delete_custom_model(modelIdentifier=model_arn)
    assert [model["modelArn"] for model in bedrock.models()] == [model_arn]
    client.delete_provisioned_model_throughput(provisionedModelId=throughput)
    client.delete_custom_model(modelIdentifier="trained")
    assert bedrock.models() == []


# tags


def test_tags_work_on_all_three_kinds_and_go_with_the_resource(bedrock, client):
    model_arn = import_model(client, bedrock, modelTags=[{"key": "kind", "value": "model"}])
    deployment = deploy(client, model_arn, tags=[{"key": "kind", "value": "deployment"}])
    throughput = provision(client, model_arn, tags=[{"key": "kind", "value": "throughput"}])
    arns = {"model": model_arn, "deployment": deployment, "throughput": throughput}
    for kind, arn in arns.items():
        assert client.list_tags_for_resource(resourceARN=arn)["tags"] == [{"key": "kind", "value": kind}]
        client.tag_resource(resourceARN=arn, tags=[{"key": "team", "value": "ml"}])
        client.untag_resource(resourceARN=arn, tagKeys=["kind"])
        assert bedrock.tags(arn) == {"team": "ml"}

    bedrock.set_deployment_status(deployment, "Active")
    bedrock.set_throughput_status(throughput, "InService")
    client.delete_custom_model_deployment(customModelDeploymentIdentifier=deployment)
    client.delete_provisioned_model_throughput(provisionedModelId=throughput)
    client.delete_custom_model(modelIdentifier=model_arn)
    for arn in arns.values():
        assert bedrock.backend.tagger.list_tags_for_resource(arn)["Tags"] == []
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.list_tags_for_resource(resourceARN=arn)


def test_too_many_tags_create_nothing(bedrock, client):
    """A request's TagList holds at most 200 tags (the service model), and a resource keeps at most 50
    (TooManyTagsException's documentation)."""
    tags = [{"key": f"key-{index}", "value": "v"} for index in range(201)]
    with pytest.raises(client.exceptions.ValidationException, match="tags"):
        provision(client, FOUNDATION, tags=tags)
    with pytest.raises(client.exceptions.TooManyTagsException, match="50 tags per resource"):
        provision(client, FOUNDATION, tags=tags[:51])
    assert bedrock.throughputs() == []
    provision(client, FOUNDATION, tags=tags[:50])
    (throughput,) = bedrock.throughputs()
    assert len(bedrock.all_tags(throughput["provisionedModelArn"])) == 50


# state, recording and throttling


def test_state_is_per_region_and_mock_aws_resets_it(bedrock, client):
    import_model(client, bedrock)
    elsewhere = bedrock.instrument(boto3.client("bedrock", region_name="eu-west-1"))
    with pytest.raises(elsewhere.exceptions.ResourceNotFoundException):
        elsewhere.get_custom_model(modelIdentifier="imported")
    import_model(elsewhere, bedrock, active=False)  # the name is free in eu-west-1
    assert len(bedrock.imported_models()) == 1
    bedrock.backend.reset()
    assert bedrock.imported_models() == []


def test_serving_calls_are_recorded(bedrock, client):
    model_arn = import_model(client, bedrock)
    client.get_custom_model(modelIdentifier=model_arn)
    assert bedrock.operations() == ["CreateCustomModel", "GetCustomModel"]
    assert bedrock.calls_to("GetCustomModel") == [{"modelIdentifier": model_arn}]
    assert bedrock.attempts == ["CreateCustomModel", "GetCustomModel"]


def test_throttling_takes_precedence_and_the_client_retries(bedrock, client):
    model_arn = import_model(client, bedrock)
    bedrock.throttle(2)
    deployment = deploy(client, model_arn, clientRequestToken="token-1")
    assert bedrock.attempts[-3:] == ["CreateCustomModelDeployment"] * 3
    assert [d["customModelDeploymentArn"] for d in bedrock.deployments()] == [deployment]

    max_attempts = client.meta.config.retries["total_max_attempts"]
    bedrock.throttle(max_attempts)
    with pytest.raises(ClientError, match="ThrottlingException") as raised:
        client.delete_custom_model_deployment(customModelDeploymentIdentifier=deployment)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert len(bedrock.deployments()) == 1  # no throttled attempt acted


def test_an_error_the_operation_does_not_list_is_a_bug_in_the_stand_in(bedrock, client, monkeypatch):
    def conflict(_backend: Any, _params: dict[str, Any]) -> dict[str, Any]:
        raise BedrockClientError("ConflictException", "GetCustomModelDeployment lists no ConflictException")

    monkeypatch.setitem(bedrock_stand_in.SERVING_OPERATIONS, "GetCustomModelDeployment", conflict)
    with pytest.raises(AssertionError, match="cannot answer ConflictException"):
        client.get_custom_model_deployment(customModelDeploymentIdentifier="deployment")
