"""Custom::BedrockCustomModelDeployment: on-demand inference for a custom model."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from bedrock_custom_resource import contract, index, lifecycle, model_deployment
from bedrock_custom_resource.contract import InvalidProperties
from cdk_bedrock_customization.emulation.bedrock_stand_in import BedrockStandIn

from .conftest import CloudFormationEvents, active_model
from .resource_kinds import DEPLOYMENT, THROUGHPUT, writes
from .serving_helpers import create, create_until, deployment_properties, poll, throughput_properties

RESOURCE_TYPE = "Custom::BedrockCustomModelDeployment"
DEPLOYMENT_NAME = re.compile(contract.shape("ModelDeploymentName").metadata["pattern"])


@pytest.fixture
def events() -> CloudFormationEvents:
    return CloudFormationEvents(resource_type=RESOURCE_TYPE)


def deployed(bedrock: BedrockStandIn, events: CloudFormationEvents, properties: dict[str, Any]) -> tuple[dict, str]:
    return create_until("Active", bedrock.set_deployment_status, events, properties)


def test_create_waits_until_active_and_returns_the_arn(bedrock, events, model_arn):
    event, deployment_arn = create(events, deployment_properties(model_arn))
    (request,) = bedrock.calls_to("CreateCustomModelDeployment")
    assert DEPLOYMENT_NAME.fullmatch(request["modelDeploymentName"])
    assert request["clientRequestToken"]
    assert poll(event, deployment_arn) == {"IsComplete": False}

    bedrock.set_deployment_status(deployment_arn, "Active")
    assert poll(event, deployment_arn) == {
        "IsComplete": True,
        "Data": {
            "customModelDeploymentArn": deployment_arn,
            "modelDeploymentName": request["modelDeploymentName"],
            "modelArn": model_arn,
            "status": "Active",
        },
    }
    assert bedrock.tags(deployment_arn) == {"team": "ml"}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"modelArn": "support-model-version-one"}, "modelArn: 'support-model-version-one' does not match"),
        ({"modelDeploymentName": "two  spaces"}, "modelDeploymentName: 'two  spaces' does not match"),
        ({"description": ""}, "description: '' has 0 characters; it must have at least 1"),
        ({"tags": [{"key": "team"}]}, "tags[0].value: required"),
        ({"replicas": "2"}, "replicas: unknown property"),
    ],
)
def test_bad_input_names_the_property_and_creates_nothing(bedrock, events, model_arn, change, problem):
    with pytest.raises(InvalidProperties) as raised:
        index.on_event(events.create(deployment_properties(model_arn, **change)))
    assert problem in str(raised.value)
    assert bedrock.calls_to("CreateCustomModelDeployment") == []


def test_pointing_at_another_model_updates_in_place_and_waits(bedrock, events, model_arn):
    event, deployment_arn = deployed(bedrock, events, deployment_properties(model_arn))
    new_model = active_model(bedrock, "support-v2")
    update = events.update(deployment_arn, deployment_properties(new_model), event["ResourceProperties"])

    assert index.on_event(update) == {"PhysicalResourceId": deployment_arn}
    assert bedrock.calls_to("UpdateCustomModelDeployment") == [
        {"customModelDeploymentIdentifier": deployment_arn, "modelArn": new_model}
    ]
    assert poll(update, deployment_arn) == {"IsComplete": False}
    bedrock.finish_deployment_update(deployment_arn)
    assert poll(update, deployment_arn)["Data"]["modelArn"] == new_model
    assert len(bedrock.deployments()) == 1


def test_a_failed_model_change_raises_and_the_rollback_points_back(bedrock, events, model_arn):
    event, deployment_arn = deployed(bedrock, events, deployment_properties(model_arn))
    new_model = active_model(bedrock, "support-v2")
    update = events.update(deployment_arn, deployment_properties(new_model), event["ResourceProperties"])
    index.on_event(update)
    bedrock.finish_deployment_update(deployment_arn, succeeded=False)
    with pytest.raises(RuntimeError, match=f"Pointing custom model deployment .* at {new_model} failed"):
        poll(update, deployment_arn)

    # CloudFormation rolls back with the old properties: the deployment still serves the old model.
    rollback = events.update(deployment_arn, event["ResourceProperties"], update["ResourceProperties"])
    assert index.on_event(rollback) == {"PhysicalResourceId": deployment_arn}
    assert len(bedrock.calls_to("UpdateCustomModelDeployment")) == 1
    assert poll(rollback, deployment_arn)["IsComplete"] is True


def test_a_tag_change_is_in_place(bedrock, events, model_arn):
    event, deployment_arn = deployed(bedrock, events, deployment_properties(model_arn))
    properties = deployment_properties(model_arn, tags=[{"key": "team", "value": "platform"}])
    assert index.on_event(events.update(deployment_arn, properties, event["ResourceProperties"])) == {
        "PhysicalResourceId": deployment_arn
    }
    assert bedrock.tags(deployment_arn) == {"team": "platform"}
    assert bedrock.calls_to("UpdateCustomModelDeployment") == []


def test_a_description_change_replaces_the_deployment(bedrock, events, model_arn):
    event, deployment_arn = deployed(bedrock, events, deployment_properties(model_arn))
    properties = deployment_properties(model_arn, description="support bot, v2")
    new_arn = index.on_event(events.update(deployment_arn, properties, event["ResourceProperties"]))[
        "PhysicalResourceId"
    ]
    assert new_arn != deployment_arn
    assert len(bedrock.deployments()) == 2  # the old one goes when CloudFormation sends its Delete


def test_a_replacement_refuses_to_reuse_an_explicit_name(bedrock, events, model_arn):
    properties = deployment_properties(model_arn, modelDeploymentName="support")
    _, deployment_arn = deployed(bedrock, events, properties)
    with pytest.raises(ValueError, match=r"modelDeploymentName: 'support' is held by .*the one this update replaces"):
        index.on_event(events.update(deployment_arn, properties | {"description": "v2"}, properties))
    assert len(bedrock.deployments()) == 1


def test_a_failed_deployment_fails_an_update_but_not_its_rollback(bedrock, events, model_arn, monkeypatch):
    """As a throughput's: a deployment that failed while an update waited fails that update; CloudFormation's
    rollback that follows must not fail on it too (UPDATE_ROLLBACK_FAILED), and leaves it as it is."""
    properties = deployment_properties(model_arn)
    _, deployment_arn = deployed(bedrock, events, properties)
    retagged = properties | {"tags": [{"key": "team", "value": "platform"}]}
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_IN_PROGRESS")
    forward = events.update(deployment_arn, retagged, properties)
    index.on_event(forward)
    bedrock.set_deployment_status(deployment_arn, "Failed", "capacity lost")
    with pytest.raises(RuntimeError, match="capacity lost"):
        poll(forward, deployment_arn)
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_ROLLBACK_IN_PROGRESS")
    back = events.update(deployment_arn, properties, retagged)
    index.on_event(back)
    assert poll(back, deployment_arn)["Data"]["status"] == "Failed"


def rolled_back_model_change(
    bedrock: BedrockStandIn, events: CloudFormationEvents, model_arn: str, monkeypatch: pytest.MonkeyPatch, **when: bool
) -> tuple[str, dict[str, Any], int]:
    """A deployment of model_arn pointed at another model by an update (finished: Bedrock finished pointing it, and
    the update completed; failed: the deployment then failed), and that update's rollback back to model_arn: the
    deployment's ARN, the rollback's event and the count of calls before it."""
    properties = deployment_properties(model_arn)
    _, deployment_arn = deployed(bedrock, events, properties)
    moved = deployment_properties(active_model(bedrock, "support-v2"))
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_IN_PROGRESS")
    forward = events.update(deployment_arn, moved, properties)
    index.on_event(forward)
    if when.get("finished"):
        bedrock.finish_deployment_update(deployment_arn)
        assert poll(forward, deployment_arn)["IsComplete"] is True  # a later resource fails: CloudFormation rolls back
    if when.get("failed"):
        bedrock.set_deployment_status(deployment_arn, "Failed", "capacity lost")
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_ROLLBACK_IN_PROGRESS")
    mark = len(bedrock.calls)
    back = events.update(deployment_arn, properties, moved)
    assert index.on_event(back) == {"PhysicalResourceId": deployment_arn}
    return deployment_arn, back, mark


@pytest.mark.parametrize("failed", ["while-pointed", "once-pointed"])
def test_the_rollback_of_a_model_change_leaves_a_failed_deployment_as_it_is(
    bedrock, events, model_arn, monkeypatch, failed
):
    """Bedrock points an Active deployment only: the rollback's UpdateCustomModelDeployment on a Failed one would
    be refused, and the rollback stuck (UPDATE_ROLLBACK_FAILED)."""
    finished = failed == "once-pointed"
    deployment_arn, back, mark = rolled_back_model_change(
        bedrock, events, model_arn, monkeypatch, finished=finished, failed=True
    )
    assert poll(back, deployment_arn)["Data"]["status"] == "Failed"
    assert [call.operation for call in bedrock.calls[mark:] if not call.operation.startswith(("Get", "List"))] == []


def test_the_rollback_of_a_completed_model_change_points_an_active_deployment_back(
    bedrock, events, model_arn, monkeypatch
):
    """UPDATE_ROLLBACK sends an Update back to the old properties: an Active deployment that the update pointed at
    another model is pointed back (UpdateCustomModelDeployment "replaces the currently deployed model"), else the
    stack would say the old model while Bedrock serves the new one."""
    deployment_arn, _, _ = rolled_back_model_change(bedrock, events, model_arn, monkeypatch, finished=True)
    assert bedrock.calls_to("UpdateCustomModelDeployment")[-1] == {
        "customModelDeploymentIdentifier": deployment_arn,
        "modelArn": model_arn,
    }


@pytest.mark.parametrize("kind", [DEPLOYMENT, THROUGHPUT], ids=["deployment", "throughput"])
def test_a_stack_made_again_takes_the_usable_one_under_a_later_name_when_the_first_is_freed(bedrock, kind):
    """Stack 1's resource fails (a failed create's Delete is skipped); stack 2, made again, makes one under the next
    name and is deleted with RETAIN; the failed one is deleted by hand, which frees the first name. Stack 3, unchanged,
    takes stack 2's (ListCustomModelDeployments, ListProvisionedModelThroughputs): nothing bought twice."""
    model = active_model(bedrock, "served")
    properties = (deployment_properties if kind is DEPLOYMENT else throughput_properties)(
        model, deletionPolicy="Retain"
    )

    def create_in_a_stack_made_again() -> str:
        events = CloudFormationEvents("my-stack", kind.resource_type)  # a new stack id, the same stack name
        return str(index.on_event(events.create(properties, "Serving"))["PhysicalResourceId"])

    failed = create_in_a_stack_made_again()
    kind.set_status(bedrock, failed, "Failed", failure_message="capacity")
    kept = create_in_a_stack_made_again()
    kind.set_status(bedrock, kept, kind.ready)
    client = bedrock.client()
    if kind is DEPLOYMENT:
        client.delete_custom_model_deployment(customModelDeploymentIdentifier=failed)
    else:
        client.delete_provisioned_model_throughput(provisionedModelId=failed)
    mark = len(bedrock.calls)

    assert create_in_a_stack_made_again() == kept
    assert kind.create_operation not in writes(bedrock, mark)


def test_a_stack_made_again_waits_for_a_deployment_still_being_created_before_pointing_it_elsewhere(bedrock):
    """Stack 1's deployment of model A is still Creating when the stack, made again, asks for model B: Bedrock
    updates an Active deployment only, so the create says so and changes nothing; run again once it is Active, it
    takes it and points it at B (one deployment, no second bought)."""
    first, second = active_model(bedrock, "first"), active_model(bedrock, "second")

    def create_in_a_stack_made_again(model: str) -> str:
        events = CloudFormationEvents("my-stack", DEPLOYMENT.resource_type)  # a new stack id, the same stack name
        created = index.on_event(events.create(deployment_properties(model, deletionPolicy="Retain"), "Serving"))
        return str(created["PhysicalResourceId"])

    creating = create_in_a_stack_made_again(first)
    mark = len(bedrock.calls)
    with pytest.raises(lifecycle.ChangeInProgress, match=rf"is still being created to serve {re.escape(first)}") as e:
        create_in_a_stack_made_again(second)
    assert set(writes(bedrock, mark)) <= {"TagResource", "UntagResource"}  # taken: its tags are this stack's
    assert "Only its tags were changed" in str(e.value) and "Nothing was changed" not in str(e.value)

    bedrock.set_deployment_status(creating, "Active")
    assert create_in_a_stack_made_again(second) == creating
    assert "UpdateCustomModelDeployment" in writes(bedrock, mark)
    assert [deployment["customModelDeploymentArn"] for deployment in bedrock.deployments()] == [creating]


# --- states the stand-in does not reach: answers as GetCustomModelDeployment's output shape has them -----------------

ACCOUNT = "123456789012"
DEPLOYMENT_ARN = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model-deployment/abcdefghijkl"
MODEL_PREFIX = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model/amazon.nova-micro-v1:0:128k/"
MODEL_A, MODEL_B, MODEL_C = (MODEL_PREFIX + letter * 12 for letter in "abc")


def answered(model: str, update: dict[str, Any] | None = None, arn: str = DEPLOYMENT_ARN) -> dict[str, Any]:
    answer = {
        "customModelDeploymentArn": arn,
        "modelDeploymentName": "d",
        "modelArn": model,
        "createdAt": datetime(2026, 1, 1, tzinfo=UTC),
        "status": "Active",
    }
    return answer if update is None else {**answer, "updateDetails": update}


class AnsweringClient:
    """A Bedrock client answering GetCustomModelDeployment so, and recording deletes."""

    class exceptions:
        ResourceNotFoundException = type("ResourceNotFoundException", (Exception,), {})

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer, self.deleted = answer, list[str]()

    def get_custom_model_deployment(self, customModelDeploymentIdentifier: str) -> dict[str, Any]:
        assert customModelDeploymentIdentifier == self.answer["customModelDeploymentArn"]
        return self.answer

    def delete_custom_model_deployment(self, customModelDeploymentIdentifier: str) -> dict[str, Any]:
        self.deleted.append(customModelDeploymentIdentifier)
        return {}


def update_to(wanted: str) -> dict[str, Any]:
    return CloudFormationEvents(resource_type=DEPLOYMENT.resource_type).update(
        DEPLOYMENT_ARN, {"modelArn": wanted}, {"modelArn": MODEL_A}
    )


def test_an_earlier_failed_update_to_another_model_does_not_fail_a_change_to_the_wanted_one(monkeypatch):
    """updateDetails.modelArn is the model the last update went to: one to B that failed says nothing of a change to
    C, whose update may not be read yet."""
    client = AnsweringClient(answered(MODEL_A, {"modelArn": MODEL_B, "updateStatus": "UpdateFailed"}))
    monkeypatch.setattr(model_deployment, "bedrock_client", lambda: client)
    assert model_deployment.is_complete(update_to(MODEL_C)) == {"IsComplete": False}


def test_a_deployment_being_updated_is_not_complete_though_it_serves_the_wanted_model_now(monkeypatch):
    """updateStatus Updating (Updating | UpdateCompleted | UpdateFailed): the model it serves is about to change."""
    client = AnsweringClient(answered(MODEL_A, {"modelArn": MODEL_B, "updateStatus": "Updating"}))
    monkeypatch.setattr(model_deployment, "bedrock_client", lambda: client)
    assert model_deployment.is_complete(update_to(MODEL_A)) == {"IsComplete": False}


@pytest.mark.parametrize(("partition", "region"), [("aws-us-gov", "us-gov-west-1"), ("aws-cn", "cn-north-1")])
def test_a_delete_in_another_partition_deletes_the_deployment(monkeypatch, partition, region):
    """CustomModelDeploymentArn's pattern (botocore) takes any partition: arn:aws(-[^:]+)?:bedrock:..."""
    arn = f"arn:{partition}:bedrock:{region}:{ACCOUNT}:custom-model-deployment/abcdefghijkl"
    client = AnsweringClient(answered(MODEL_A, arn=arn))
    monkeypatch.setattr(model_deployment, "bedrock_client", lambda: client)
    assert model_deployment.delete_now(arn) is False  # Bedrock deletes it: the delete waits
    assert client.deleted == [arn]
