"""Custom::BedrockCustomModel: importing a SageMaker AI-trained model, through the handler's entry points."""

from __future__ import annotations

import re
from typing import Any

import pytest
from bedrock_custom_resource import contract, imported_model, index
from bedrock_custom_resource.contract import InvalidProperties
from cdk_bedrock_customization.emulation.bedrock_stand_in import BedrockStandIn

from .conftest import ACCOUNT, REGION, ROLE_ARN, SERVICE_TOKEN, CloudFormationEvents
from .serving_helpers import create, create_until, poll

RESOURCE_TYPE = "Custom::BedrockCustomModel"
ESCROW_URI = "s3://customer-escrow-123456789012-smtj-a1b2c3/nova-support/model/"
PACKAGE_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/nova-support/1"
MODEL_NAME = re.compile(contract.shape("CustomModelName").metadata["pattern"])


def import_properties(**overrides: Any) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "ServiceToken": SERVICE_TOKEN,
        "modelSourceConfig": {"s3DataSource": {"s3Uri": ESCROW_URI}},
        "roleArn": ROLE_ARN,
        "modelTags": [{"key": "team", "value": "ml"}, {"key": "stage", "value": "dev"}],
    }
    return properties | overrides


@pytest.fixture
def events() -> CloudFormationEvents:
    return CloudFormationEvents(resource_type=RESOURCE_TYPE)


def imported(bedrock: BedrockStandIn, events: CloudFormationEvents, **overrides: Any) -> tuple[dict[str, Any], str]:
    """A completed Create: (its event, the model ARN)."""
    return create_until("Active", bedrock.set_model_status, events, import_properties(**overrides))


def test_create_imports_under_a_generated_name_and_waits_until_active(bedrock, events):
    event, model_arn = create(events, import_properties())
    (request,) = bedrock.calls_to("CreateCustomModel")
    assert request["modelSourceConfig"] == {"s3DataSource": {"s3Uri": ESCROW_URI}}
    assert MODEL_NAME.fullmatch(request["modelName"]) and request["modelName"].startswith("my-stack-Model-")
    assert re.fullmatch(r"[0-9a-f]{64}", request["clientRequestToken"])
    assert poll(event, model_arn) == {"IsComplete": False}

    bedrock.set_model_status(model_arn, "Active")
    result = poll(event, model_arn)
    assert result == {
        "IsComplete": True,
        "Data": {"modelArn": model_arn, "modelName": request["modelName"], "modelStatus": "Active"},
    }
    assert bedrock.tags(model_arn) == {"team": "ml", "stage": "dev"}


@pytest.mark.parametrize("unlisted", ["Deleting", "Validating"])
def test_a_status_botocores_model_does_not_list_is_polled_again_not_taken_for_success(
    bedrock, events, monkeypatch, unlisted
):
    """GetCustomModel's modelStatus is Creating, Active or Failed today; a value Bedrock adds is polled, as the other
    kinds poll a status they do not know, rather than complete what depends on the model."""
    event, model_arn = create(events, import_properties())
    bedrock.set_model_status(model_arn, "Active")
    answering_status(monkeypatch, unlisted)
    assert poll(event, model_arn) == {"IsComplete": False}


@pytest.mark.parametrize("unlisted", ["Deleting", "Validating"])
def test_a_delete_bedrock_refuses_in_a_status_botocores_model_does_not_list_is_asked_again(
    bedrock, events, monkeypatch, unlisted
):
    """Bedrock refuses a delete (ConflictException) of a model in use, or of one still being created: only an Active
    or Failed model is in use; in a status Bedrock adds, the delete is asked again rather than failed as in use."""
    event, model_arn = imported(bedrock, events)
    bedrock.client().create_custom_model_deployment(modelDeploymentName="serving", modelArn=model_arn)
    answering_status(monkeypatch, unlisted)
    assert index.on_event(events.delete(model_arn, event["ResourceProperties"])) == {"PhysicalResourceId": model_arn}
    assert len(bedrock.imported_models()) == 1


def answering_status(monkeypatch: pytest.MonkeyPatch, status: str) -> None:
    """The handler's Bedrock answers GetCustomModel with this modelStatus."""
    answering = imported_model.bedrock_client

    class Answering:
        def __init__(self, client: Any) -> None:
            self.client = client

        def __getattr__(self, name: str) -> Any:
            return getattr(self.client, name)

        def get_custom_model(self, **request: Any) -> dict[str, Any]:
            return {**self.client.get_custom_model(**request), "modelStatus": status}

    monkeypatch.setattr(imported_model, "bedrock_client", lambda: Answering(answering()))


def test_a_model_package_source_needs_no_role(bedrock, events):
    properties = import_properties(
        customModelDataSource={"modelPackageArnDataSource": {"modelPackageArn": PACKAGE_ARN}}
    )
    del properties["modelSourceConfig"], properties["roleArn"]
    _, model_arn = create(events, properties)
    (request,) = bedrock.calls_to("CreateCustomModel")
    assert request["customModelDataSource"]["modelPackageArnDataSource"]["modelPackageArn"] == PACKAGE_ARN
    assert "roleArn" not in request
    assert [m["modelArn"] for m in bedrock.imported_models()] == [model_arn]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"modelSourceConfig": None}, "give exactly one model source, got none"),
        (
            {"customModelDataSource": {"modelPackageArnDataSource": {"modelPackageArn": PACKAGE_ARN}}},
            "give exactly one model source, got ['modelSourceConfig', 'customModelDataSource']",
        ),
        (
            {"modelSourceConfig": {"s3DataSource": {"s3Uri": "https://example.com/model"}}},
            "modelSourceConfig.s3DataSource.s3Uri: 'https://example.com/model' does not match",
        ),
        (
            {
                "customModelDataSource": {"modelPackageArnDataSource": {"modelPackageArn": "nova-support"}},
                "modelSourceConfig": None,
            },
            "customModelDataSource.modelPackageArnDataSource.modelPackageArn: 'nova-support' does not match",
        ),
        ({"roleArn": "my-role"}, "roleArn: 'my-role' does not match"),
        # botocore's CreateCustomModel.roleArn: "required when you use modelSourceConfig with an Amazon S3 data source".
        ({"roleArn": None}, "roleArn: required with modelSourceConfig"),
        ({"modelName": "bad name"}, "modelName: 'bad name' does not match"),
    ],
)
def test_bad_input_names_the_property_and_creates_nothing(bedrock, events, change, problem):
    properties = import_properties(**change)
    properties = {k: v for k, v in properties.items() if v is not None}
    with pytest.raises(InvalidProperties) as raised:
        index.on_event(events.create(properties))
    assert problem in str(raised.value)
    assert bedrock.calls_to("CreateCustomModel") == []


def test_a_tag_only_update_retags_in_place_and_returns_every_attribute(bedrock, events):
    event, model_arn = imported(bedrock, events)
    properties = import_properties(modelTags=[{"key": "team", "value": "platform"}, {"key": "owner", "value": "ai"}])
    update = events.update(model_arn, properties, event["ResourceProperties"])
    assert index.on_event(update) == {"PhysicalResourceId": model_arn}
    assert bedrock.tags(model_arn) == {"team": "platform", "owner": "ai"}
    assert len(bedrock.calls_to("CreateCustomModel")) == 1
    data = poll(update, model_arn)["Data"]
    assert set(data) == {"modelArn", "modelName", "modelStatus"}


def test_another_change_imports_a_new_model_under_a_new_name(bedrock, events):
    event, model_arn = imported(bedrock, events)
    properties = import_properties(modelSourceConfig={"s3DataSource": {"s3Uri": ESCROW_URI + "v2/"}})
    new_arn = index.on_event(events.update(model_arn, properties, event["ResourceProperties"]))["PhysicalResourceId"]
    assert new_arn != model_arn
    first, second = (request["modelName"] for request in bedrock.calls_to("CreateCustomModel"))
    assert first != second


def test_a_replacement_refuses_to_reuse_an_explicit_name(bedrock, events):
    event, model_arn = imported(bedrock, events, modelName="support-nova")
    properties = import_properties(
        modelName="support-nova", modelSourceConfig={"s3DataSource": {"s3Uri": ESCROW_URI + "v2/"}}
    )
    with pytest.raises(
        ValueError, match=r"modelName: 'support-nova' is held by custom model .*the one this update replaces"
    ):
        index.on_event(events.update(model_arn, properties, event["ResourceProperties"]))
    assert len(bedrock.calls_to("CreateCustomModel")) == 1


def test_deleting_a_model_in_use_says_what_to_do(bedrock, events):
    event, model_arn = imported(bedrock, events)
    bedrock.client().create_custom_model_deployment(modelDeploymentName="serving", modelArn=model_arn)
    with pytest.raises(RuntimeError, match=r"in use .*Delete the deployments and provisioned throughput"):
        index.on_event(events.delete(model_arn, event["ResourceProperties"]))
    assert len(bedrock.imported_models()) == 1


def test_a_failed_import_fails_the_create_with_bedrocks_message(bedrock, events):
    """GetCustomModel's modelStatus may be Failed, with a failureMessage (botocore's bedrock model): the create
    fails saying so, and does not hand a model that does not exist to what serves it."""
    event, model_arn = create(events, import_properties())
    bedrock.set_model_status(model_arn, "Failed", failure_message="The model artifacts are not a Nova checkpoint")
    with pytest.raises(Exception, match="The model artifacts are not a Nova checkpoint"):
        poll(event, model_arn)


def test_deleting_a_model_already_gone_succeeds(bedrock, events):
    event, model_arn = imported(bedrock, events)
    bedrock.client().delete_custom_model(modelIdentifier=model_arn)  # deleted outside the stack
    delete = events.delete(model_arn, event["ResourceProperties"])
    assert index.on_event(delete) == {"PhysicalResourceId": model_arn}
    assert poll(delete, model_arn) == {"IsComplete": True}


@pytest.mark.parametrize("status", ["Active", "Creating"])
def test_a_new_role_changes_an_imported_model_in_place_and_a_model_still_importing_anew(bedrock, events, status):
    """The role reads the artifacts while Bedrock creates the model (CreateCustomModel's roleArn): an imported
    model is the same whatever role a later template names."""
    event, model_arn = create(events, import_properties())
    bedrock.set_model_status(model_arn, status)
    changed = index.on_event(
        events.update(model_arn, import_properties(roleArn=ROLE_ARN + "-v2"), event["ResourceProperties"])
    )
    assert (changed["PhysicalResourceId"] == model_arn) is (status == "Active")
    assert len(bedrock.calls_to("CreateCustomModel")) == (1 if status == "Active" else 2)


@pytest.mark.parametrize("status", ["Active", "Creating"])
def test_every_stack_made_again_takes_the_model_its_first_imported_though_its_role_was_drawn_anew(
    bedrock, events, status
):
    """A stack of the same name deleted with RETAIN and deployed again makes its service role anew, under a name
    CloudFormation draws again: the model its first imported, imported or still importing (GetCustomModel does not
    report the role it reads with), is taken by every stack made again; nothing imports again. The models shared
    with the account are not looked at."""
    _event, model_arn = create(events, import_properties())
    bedrock.set_model_status(model_arn, status)
    for drawn in range(3):
        again = CloudFormationEvents(resource_type=RESOURCE_TYPE)  # a new stack id, the same stack name
        taken = index.on_event(again.create(import_properties(roleArn=f"{ROLE_ARN}-drawn-anew-{drawn}")))
        assert taken["PhysicalResourceId"] == model_arn
    assert len(bedrock.calls_to("CreateCustomModel")) == 1
    assert {listing.get("isOwned") for listing in bedrock.calls_to("ListCustomModels")} == {True}
