"""Custom::BedrockProvisionedModelThroughput: name and model change in place; model units and commitment
cannot change, so they replace a throughput without a commitment and are refused for one with a commitment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bedrock_custom_resource import contract, index, provisioned_throughput
from bedrock_custom_resource.contract import InvalidProperties
from botocore.exceptions import ClientError
from cdk_bedrock_customization.emulation.bedrock_stand_in import BedrockStandIn

from .conftest import LONGEST_LOGICAL_ID, CloudFormationEvents, active_model, survives_the_cut
from .serving_helpers import create, create_until, poll, throughput_properties

RESOURCE_TYPE = "Custom::BedrockProvisionedModelThroughput"


@pytest.fixture
def events() -> CloudFormationEvents:
    return CloudFormationEvents(resource_type=RESOURCE_TYPE)


def in_service(
    bedrock: BedrockStandIn, events: CloudFormationEvents, properties: dict[str, Any], logical_id: str = "Model"
) -> tuple[dict, str]:
    return create_until("InService", bedrock.set_throughput_status, events, properties, logical_id)


def update(events: CloudFormationEvents, physical_id: str, new: dict[str, Any], old: dict[str, Any]) -> dict:
    return events.update(physical_id, new, old)


def test_create_sends_typed_units_and_waits_until_in_service(bedrock, events, model_arn):
    event, throughput_arn = create(events, throughput_properties(model_arn))
    (request,) = bedrock.calls_to("CreateProvisionedModelThroughput")
    assert request["modelUnits"] == 1
    assert request["provisionedModelName"].startswith("my-stack-Model-")
    assert "commitmentDuration" not in request
    assert poll(event, throughput_arn) == {"IsComplete": False}

    bedrock.set_throughput_status(throughput_arn, "InService")
    assert poll(event, throughput_arn) == {
        "IsComplete": True,
        "Data": {
            "provisionedModelArn": throughput_arn,
            "provisionedModelName": request["provisionedModelName"],
            "modelArn": model_arn,
            "modelUnits": "1",
            "status": "InService",
        },
    }
    assert bedrock.tags(throughput_arn) == {"team": "ml"}


def test_a_commitment_is_reported_with_its_end(bedrock, events, model_arn):
    event, throughput_arn = in_service(bedrock, events, throughput_properties(model_arn, commitmentDuration="OneMonth"))
    data = poll(event, throughput_arn)["Data"]
    assert data["commitmentDuration"] == "OneMonth"
    described = bedrock.client().get_provisioned_model_throughput(provisionedModelId=throughput_arn)
    assert data["commitmentExpirationTime"] == described["commitmentExpirationTime"].isoformat()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"modelUnits": "0"}, "modelUnits: '0' must be at least 1"),
        ({"modelUnits": "two"}, "modelUnits: expected an integer, got 'two'"),
        ({"commitmentDuration": "OneYear"}, "commitmentDuration: 'OneYear' is not one of ['OneMonth', 'SixMonths']"),
        ({"provisionedModelName": "a b"}, "provisionedModelName: 'a b' does not match"),
    ],
)
def test_bad_input_names_the_property_and_buys_nothing(bedrock, events, model_arn, change, problem):
    with pytest.raises(InvalidProperties) as raised:
        index.on_event(events.create(throughput_properties(model_arn, **change)))
    assert problem in str(raised.value)
    assert bedrock.calls_to("CreateProvisionedModelThroughput") == []


def test_name_and_tags_change_in_place(bedrock, events, model_arn):
    old = throughput_properties(model_arn, provisionedModelName="support")
    _, throughput_arn = in_service(bedrock, events, old)
    new = old | {"provisionedModelName": "support-prod", "tags": [{"key": "team", "value": "platform"}]}
    change = update(events, throughput_arn, new, old)
    assert index.on_event(change) == {"PhysicalResourceId": throughput_arn}
    assert bedrock.calls_to("UpdateProvisionedModelThroughput") == [
        {"provisionedModelId": throughput_arn, "desiredProvisionedModelName": "support-prod"}
    ]
    # Renamed already, but Updating (GetProvisionedModelThroughput's status): Bedrock has not finished the change.
    bedrock.set_throughput_status(throughput_arn, "Updating")
    assert poll(change, throughput_arn) == {"IsComplete": False}
    bedrock.set_throughput_status(throughput_arn, "InService")
    assert poll(change, throughput_arn)["Data"]["provisionedModelName"] == "support-prod"
    assert bedrock.tags(throughput_arn) == {"team": "platform"}


def test_a_rename_rolled_back_gives_the_generated_name_back(bedrock, events, model_arn):
    """CloudFormation's rollback of an in-place rename sends the properties without a name: the throughput gets the
    name it was created with again, by which a retried or replayed create finds it."""
    unnamed = throughput_properties(model_arn)
    _, throughput_arn = in_service(bedrock, events, unnamed)
    (created,) = bedrock.throughputs()
    generated = created["provisionedModelName"]
    named = unnamed | {"provisionedModelName": "support-prod"}
    index.on_event(update(events, throughput_arn, named, unnamed))

    rollback = update(events, throughput_arn, unnamed, named)
    assert index.on_event(rollback) == {"PhysicalResourceId": throughput_arn}

    assert bedrock.calls_to("UpdateProvisionedModelThroughput")[-1] == {
        "provisionedModelId": throughput_arn,
        "desiredProvisionedModelName": generated,
    }
    assert poll(rollback, throughput_arn)["Data"]["provisionedModelName"] == generated
    # A Create of the same configuration finds it by that name: nothing more is bought.
    assert index.on_event(events.create(unnamed))["PhysicalResourceId"] == throughput_arn
    assert len(bedrock.calls_to("CreateProvisionedModelThroughput")) == 1


def test_a_rename_rolled_back_takes_the_first_generated_name_no_other_throughput_holds(bedrock, events, model_arn):
    """A failed throughput keeps its name: one made under the next name of the sequence gets that one back."""
    unnamed = throughput_properties(model_arn)
    _, failed = create(events, unnamed)
    bedrock.set_throughput_status(failed, "Failed")
    second = index.on_event(events.create(unnamed))["PhysicalResourceId"]  # the first name holds a failed one
    bedrock.set_throughput_status(second, "InService")
    names = {t["provisionedModelArn"]: t["provisionedModelName"] for t in bedrock.throughputs()}
    named = unnamed | {"provisionedModelName": "support-prod"}
    index.on_event(update(events, second, named, unnamed))
    bedrock.set_throughput_status(second, "InService")

    assert index.on_event(update(events, second, unnamed, named)) == {"PhysicalResourceId": second}

    assert bedrock.calls_to("UpdateProvisionedModelThroughput")[-1] == {
        "provisionedModelId": second,
        "desiredProvisionedModelName": names[second],
    }


def test_an_unnamed_throughput_is_not_renamed_by_an_update(bedrock, events, model_arn):
    unnamed = throughput_properties(model_arn)
    _, throughput_arn = in_service(bedrock, events, unnamed)
    retagged = unnamed | {"tags": [{"key": "team", "value": "platform"}]}
    assert index.on_event(update(events, throughput_arn, retagged, unnamed)) == {"PhysicalResourceId": throughput_arn}
    assert bedrock.calls_to("UpdateProvisionedModelThroughput") == []


def test_another_model_of_the_same_base_changes_in_place_and_is_awaited(bedrock, events, model_arn):
    old = throughput_properties(model_arn)
    _, throughput_arn = in_service(bedrock, events, old)
    new_model = active_model(bedrock, "support-v2")
    change = update(events, throughput_arn, throughput_properties(new_model), old)
    assert index.on_event(change) == {"PhysicalResourceId": throughput_arn}
    assert bedrock.calls_to("UpdateProvisionedModelThroughput") == [
        {"provisionedModelId": throughput_arn, "desiredModelId": new_model}
    ]
    assert poll(change, throughput_arn) == {"IsComplete": False}
    bedrock.finish_throughput_update(throughput_arn)
    assert poll(change, throughput_arn)["Data"]["modelArn"] == new_model
    assert len(bedrock.throughputs()) == 1


def test_more_model_units_replace_a_throughput_without_commitment(bedrock, events, model_arn):
    old = throughput_properties(model_arn)
    _, throughput_arn = in_service(bedrock, events, old)
    result = index.on_event(update(events, throughput_arn, old | {"modelUnits": "2"}, old))
    assert result["PhysicalResourceId"] != throughput_arn
    assert bedrock.calls_to("UpdateProvisionedModelThroughput") == []
    assert [t["modelUnits"] for t in bedrock.throughputs()] == [1, 2]


def test_more_model_units_are_refused_for_a_committed_throughput(bedrock, events, model_arn):
    old = throughput_properties(model_arn, commitmentDuration="OneMonth")
    _, throughput_arn = in_service(bedrock, events, old)
    with pytest.raises(
        RuntimeError, match=r"\['modelUnits'\] \(modelUnits from 1 to 2\) needs a new provisioned throughput.*second"
    ):
        index.on_event(update(events, throughput_arn, old | {"modelUnits": "2"}, old))
    assert len(bedrock.calls_to("CreateProvisionedModelThroughput")) == 1


@pytest.mark.parametrize(
    "change",
    [{}, {"modelUnits": "2"}, {"modelUnits": "2", "commitmentDuration": "OneMonth"}],
    ids=["commitment-removed", "commitment-removed-and-units", "units-with-a-new-term"],
)
def test_a_committed_throughput_whose_term_has_ended_is_replaced_as_asked(bedrock, events, model_arn, change):
    """The user guide (prov-throughput): "1 month - You can't delete the Provisioned Throughput until the one month
    commitment term is over". Once it is over, the replacement is what the update asks for, and CloudFormation's
    clean-up deletes the old one."""
    old = throughput_properties(model_arn, commitmentDuration="OneMonth")
    _, throughput_arn = in_service(bedrock, events, old)
    bedrock.expire_commitment(throughput_arn)
    new = throughput_properties(model_arn) | change
    replaced = index.on_event(update(events, throughput_arn, new, old))["PhysicalResourceId"]
    assert replaced != throughput_arn
    cleanup = events.delete(throughput_arn, old)
    assert index.on_event(cleanup) == {"PhysicalResourceId": throughput_arn}
    assert poll(cleanup, throughput_arn)["IsComplete"] is True
    assert [t["provisionedModelArn"] for t in bedrock.throughputs()] == [replaced]


def test_removing_the_commitment_of_a_throughput_in_its_term_is_refused_saying_until_when(bedrock, events, model_arn):
    old = throughput_properties(model_arn, commitmentDuration="OneMonth")
    _, throughput_arn = in_service(bedrock, events, old)
    described = bedrock.client().get_provisioned_model_throughput(provisionedModelId=throughput_arn)
    ends = described["commitmentExpirationTime"]
    with pytest.raises(RuntimeError, match=r"term ends at .*billed beside it until then\. ") as refused:
        index.on_event(update(events, throughput_arn, throughput_properties(model_arn), old))
    assert str(ends) in str(refused.value) and "second term" not in str(refused.value)
    assert len(bedrock.calls_to("CreateProvisionedModelThroughput")) == 1


def test_a_replacement_refuses_to_reuse_an_explicit_name(bedrock, events, model_arn):
    old = throughput_properties(model_arn, provisionedModelName="support")
    _, throughput_arn = in_service(bedrock, events, old)
    with pytest.raises(ValueError, match=r"provisionedModelName: 'support' is held by .*the one this update replaces"):
        index.on_event(update(events, throughput_arn, old | {"modelUnits": "2"}, old))
    assert len(bedrock.throughputs()) == 1


def test_a_committed_throughput_cannot_be_deleted_before_its_term_ends(bedrock, events, model_arn):
    event, throughput_arn = in_service(bedrock, events, throughput_properties(model_arn, commitmentDuration="OneMonth"))
    delete = events.delete(throughput_arn, event["ResourceProperties"])
    with pytest.raises(RuntimeError, match=r"OneMonth commitment that ends at .*--retain-resources"):
        index.on_event(delete)
    assert bedrock.calls_to("DeleteProvisionedModelThroughput") == []
    assert len(bedrock.throughputs()) == 1

    bedrock.expire_commitment(throughput_arn)
    index.on_event(delete)
    assert poll(delete, throughput_arn) == {"IsComplete": True}
    assert bedrock.throughputs() == []


def test_a_throughput_deleted_by_someone_else_while_the_delete_runs_is_deleted(bedrock, events, model_arn, monkeypatch):
    """Gone between the handler's Get and its Delete: DeleteProvisionedModelThroughput answers
    ResourceNotFoundException (botocore's service model lists it), and a Delete of what is gone succeeds."""
    event, throughput_arn = in_service(bedrock, events, throughput_properties(model_arn))
    client = bedrock.client()

    def gone(**_request: Any) -> None:
        raise client.exceptions.ResourceNotFoundException(
            {"Error": {"Code": "ResourceNotFoundException", "Message": "not found"}}, "DeleteProvisionedModelThroughput"
        )

    monkeypatch.setattr(client, "delete_provisioned_model_throughput", gone)
    monkeypatch.setattr(provisioned_throughput, "bedrock_client", lambda: client)
    delete = events.delete(throughput_arn, event["ResourceProperties"])
    assert index.on_event(delete) == {"PhysicalResourceId": throughput_arn}


def test_generated_names_are_valid_provisioned_model_names():
    name = contract.generated_name("s" * 128, "Provisioned" * 20, "0" * 64, attempt=20)
    assert contract.value_problems("ProvisionedModelName", name, "name") == []


def test_an_update_whose_throughput_another_request_moved_to_another_model_fails_its_poll(bedrock, events, model_arn):
    """The rollback's Update back to model v1 waits; a retried earlier update (the failed deploy's, to v2) lands once
    Bedrock has finished the change back and moves the throughput to v2. The Update back's poll must not take the
    throughput serving v2 as done (the stack would hold v1 while v2 is served): it fails, naming both models, and
    continuing the rollback sends it again. So it does for a model given by name (looked up: Bedrock reports the
    ARN)."""
    v1_properties = throughput_properties(model_arn)
    _, throughput_arn = in_service(bedrock, events, v1_properties)
    v2 = active_model(bedrock, "support-v2")
    v2_properties = throughput_properties(v2)
    forward = update(events, throughput_arn, v2_properties, v1_properties)
    index.on_event(forward)
    bedrock.finish_throughput_update(throughput_arn)
    back = update(events, throughput_arn, v1_properties, v2_properties)
    index.on_event(back)
    bedrock.finish_throughput_update(throughput_arn)
    bedrock.client().update_provisioned_model_throughput(provisionedModelId=throughput_arn, desiredModelId=v2)
    bedrock.finish_throughput_update(throughput_arn)

    with pytest.raises(RuntimeError, match=rf"serve {v2} by another request while this Update waited for {model_arn}"):
        poll(back, throughput_arn)
    assert poll(forward, throughput_arn)["Data"]["modelArn"] == v2  # the control: v2's own request completes
    by_name = update(events, throughput_arn, throughput_properties("support-v2"), v2_properties)
    assert poll(by_name, throughput_arn)["IsComplete"] is True
    back_by_name = update(events, throughput_arn, throughput_properties("support-v1"), v2_properties)
    with pytest.raises(RuntimeError, match=rf"serve {v2} by another request while this Update waited for support-v1"):
        poll(back_by_name, throughput_arn)


def test_a_model_given_by_name_is_not_changed_by_a_retag_or_its_rollback(bedrock, events, model_arn):
    """CreateProvisionedModelThroughput takes a custom model's name as its modelId; Bedrock reports the model's ARN,
    which does not contain the name. A retag, and the rollback of a failed update, must not send the model again:
    the rollback changes nothing and calls nothing that writes (README, Rollback), and a throughput being updated
    refuses other changes."""
    named = throughput_properties("support-v1")
    _, throughput_arn = in_service(bedrock, events, named)
    assert bedrock.throughputs()[0]["modelArn"] == model_arn
    retagged = named | {"tags": [{"key": "team", "value": "platform"}]}

    retag = update(events, throughput_arn, retagged, named)
    assert index.on_event(retag) == {"PhysicalResourceId": throughput_arn}
    assert poll(retag, throughput_arn)["IsComplete"] is True
    back = update(events, throughput_arn, named, retagged)
    assert index.on_event(back) == {"PhysicalResourceId": throughput_arn}
    assert poll(back, throughput_arn)["IsComplete"] is True

    assert bedrock.calls_to("UpdateProvisionedModelThroughput") == []
    assert bedrock.tags(throughput_arn) == {"team": "ml"}


def test_a_model_given_by_name_changes_to_another_given_by_name(bedrock, events, model_arn):
    named = throughput_properties("support-v1")
    _, throughput_arn = in_service(bedrock, events, named)
    v2 = active_model(bedrock, "support-v2")
    change = update(events, throughput_arn, throughput_properties("support-v2"), named)

    assert index.on_event(change) == {"PhysicalResourceId": throughput_arn}
    assert bedrock.calls_to("UpdateProvisionedModelThroughput") == [
        {"provisionedModelId": throughput_arn, "desiredModelId": "support-v2"}
    ]
    assert poll(change, throughput_arn) == {"IsComplete": False}
    bedrock.finish_throughput_update(throughput_arn)
    assert poll(change, throughput_arn)["Data"]["modelArn"] == v2


# The user guide (prov-thru-edit.html): "You can't change the model for a Provisioned Throughput associated with a
# base model"; one of a custom model changes "to the base model that it's customized from, or to another custom model
# that was derived from the same base model".
MOVE_REFUSED = r"Bedrock moves a throughput only from a custom model to its base model or to another custom model"


def test_a_move_to_a_custom_model_name_that_does_not_exist_fails_with_bedrocks_error(bedrock, events, model_arn):
    """desiredModelId takes a custom model's name (botocore's pattern): one that no model holds is sent to Bedrock,
    which refuses it, rather than answered as done with the old model served."""
    old = throughput_properties(model_arn)
    _, throughput_arn = in_service(bedrock, events, old)
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        index.on_event(update(events, throughput_arn, old | {"modelId": "no-such-model"}, old))
    assert bedrock.calls_to("UpdateProvisionedModelThroughput") == [
        {"provisionedModelId": throughput_arn, "desiredModelId": "no-such-model"}
    ]


def test_a_throughput_of_a_foundation_model_is_not_moved_to_another_and_nothing_changes(bedrock, events):
    old = throughput_properties("amazon.nova-micro-v1:0:128k")
    _, throughput_arn = in_service(bedrock, events, old)
    with pytest.raises(ValueError, match=MOVE_REFUSED):
        index.on_event(update(events, throughput_arn, throughput_properties("amazon.nova-lite-v1:0:300k"), old))
    assert bedrock.calls_to("UpdateProvisionedModelThroughput") == []
    # Its rollback (an Update back, the refused properties as old) changes nothing either.
    rollback = update(events, throughput_arn, old, throughput_properties("amazon.nova-lite-v1:0:300k"))
    assert index.on_event(rollback) == {"PhysicalResourceId": throughput_arn}
    assert bedrock.calls_to("UpdateProvisionedModelThroughput") == []


def test_a_throughput_of_a_custom_model_moves_neither_to_its_base_nor_to_another_foundation_model(
    bedrock, events, model_arn
):
    """prov-thru-edit.html: "You can't change the model for a Provisioned Throughput associated with a base model". A
    move to its base would be allowed, but nothing could move it back: the rollback of that update would fail for
    ever. Both are refused before anything changes."""
    old = throughput_properties(model_arn)
    _, throughput_arn = in_service(bedrock, events, old)
    base = bedrock.client().get_provisioned_model_throughput(provisionedModelId=throughput_arn)["foundationModelArn"]
    other = "amazon.nova-lite-v1:0:300k" if "nova-lite" not in base else "amazon.nova-micro-v1:0:128k"
    with pytest.raises(ValueError, match=MOVE_REFUSED):
        index.on_event(update(events, throughput_arn, throughput_properties(other), old))
    with pytest.raises(ValueError, match=r"could never be moved back .* declare a new throughput for the base model"):
        index.on_event(update(events, throughput_arn, throughput_properties(base), old))
    assert bedrock.calls_to("UpdateProvisionedModelThroughput") == []


@pytest.mark.parametrize("model_id", ["amazon.nova-canvas-v1:0", "amazon.titan-image-generator-v2:0"])
def test_a_foundation_model_id_without_a_variant_is_not_refused(model_id):
    """The user guide's Provisioned Throughput table lists these ids as they are: the handler refuses none of them
    (a refusal would also block every later update of a throughput deployed with one)."""
    contract.create_request(RESOURCE_TYPE, {"modelId": model_id, "modelUnits": "1"})


def test_a_custom_models_base_is_compared_up_to_its_contextual_variant():
    """A move to another custom model of the same base is Bedrock's to take, whichever form each reports its base in;
    another base is refused."""
    base = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k"
    assert provisioned_throughput._same_model(
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0", base
    )
    assert provisioned_throughput._same_model(None, base)
    assert not provisioned_throughput._same_model(
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0:300k", base
    )


def test_a_model_change_that_failed_rolls_back_without_writing(bedrock, events, model_arn, monkeypatch):
    """A move to v2 that Bedrock failed (the throughput Failed, still serving v1, its desiredModelArn naming v2): the
    rollback's Update back to v1 changes nothing and ends, as the README promises of a failed update's rollback;
    before, it asked Bedrock to move a throughput that was not in service, and every poll of it failed: the stack
    stayed UPDATE_ROLLBACK_FAILED."""
    v1 = throughput_properties(model_arn)
    _, throughput_arn = in_service(bedrock, events, v1)
    v2 = throughput_properties(active_model(bedrock, "support-v2"))
    forward = update(events, throughput_arn, v2, v1)
    index.on_event(forward)
    bedrock.set_throughput_status(throughput_arn, "Failed", "The model update failed")
    with pytest.raises(provisioned_throughput.ThroughputFailed, match="The model update failed"):
        poll(forward, throughput_arn)
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_ROLLBACK_IN_PROGRESS")
    back = update(events, throughput_arn, v1, v2)
    writes = len(bedrock.calls_to("UpdateProvisionedModelThroughput"))

    assert index.on_event(back) == {"PhysicalResourceId": throughput_arn}
    done = poll(back, throughput_arn)
    assert done["IsComplete"] is True
    assert (done["Data"]["status"], done["Data"]["modelArn"]) == ("Failed", model_arn)
    assert len(bedrock.calls_to("UpdateProvisionedModelThroughput")) == writes
    assert len(bedrock.throughputs()) == 1


def test_a_rollback_sent_while_a_move_is_still_pending_moves_the_throughput_back(
    bedrock, events, model_arn, monkeypatch
):
    """The forward move to v2 was accepted, and the throughput still reads InService serving v1 with desiredModelArn
    v2 ("differs from the modelArn if updating hasn't completed"): the rollback's Update back to v1 asks Bedrock to
    move it back, rather than take it as serving v1 and end while the move to v2 goes on."""
    v1 = throughput_properties(model_arn)
    _, throughput_arn = in_service(bedrock, events, v1)
    v2 = throughput_properties(active_model(bedrock, "support-v2"))
    forward = update(events, throughput_arn, v2, v1)
    index.on_event(forward)
    bedrock.set_throughput_status(throughput_arn, "InService")  # not moved yet: it reads as before the change
    assert poll(forward, throughput_arn) == {"IsComplete": False}  # the forward update waits for the move
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_ROLLBACK_IN_PROGRESS")
    back = update(events, throughput_arn, v1, v2)

    index.on_event(back)
    assert bedrock.calls_to("UpdateProvisionedModelThroughput")[-1] == {
        "provisionedModelId": throughput_arn,
        "desiredModelId": model_arn,
    }


def test_the_rollback_of_an_added_commitment_returns_to_the_throughput_without_one_and_buys_nothing(
    bedrock, events, model_arn, monkeypatch
):
    """Adding a commitment replaces the throughput; the old one is deleted only in the clean-up of a successful
    update. When a later resource fails, the rollback's Update (the old properties, the physical id of now) goes back
    to the old throughput, buying no term and no throughput. The term the update bought stays outside the stack until
    a deploy that asks for it again takes it back."""
    old = throughput_properties(model_arn)
    _, first = in_service(bedrock, events, old)
    committed = old | {"commitmentDuration": "OneMonth"}
    second = index.on_event(update(events, first, committed, old))["PhysicalResourceId"]
    assert second != first
    bedrock.set_throughput_status(second, "InService")
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_ROLLBACK_IN_PROGRESS")

    assert index.on_event(update(events, second, old, committed)) == {"PhysicalResourceId": first}
    assert len(bedrock.calls_to("CreateProvisionedModelThroughput")) == 2

    # The term bought cannot be cancelled: the clean-up's delete is refused, and the throughput stays outside the stack
    with pytest.raises(provisioned_throughput.CommitmentInForce, match="OneMonth commitment that ends at"):
        index.on_event(events.delete(second, committed))
    # The next deploy that asks for the commitment takes it back rather than buy a second term
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_IN_PROGRESS")
    assert index.on_event(update(events, first, committed, old)) == {"PhysicalResourceId": second}
    assert len(bedrock.calls_to("CreateProvisionedModelThroughput")) == 2


def test_a_failed_throughput_fails_an_update_outside_a_rollback(bedrock, events, model_arn, monkeypatch):
    """Outside a rollback a Failed throughput still fails the update that finds it (the deploy says so), even one that
    changes only its tags; the rollback of that update then ends."""
    properties = throughput_properties(model_arn)
    _, throughput_arn = in_service(bedrock, events, properties)
    retagged = properties | {"tags": [{"key": "team", "value": "platform"}]}
    bedrock.set_throughput_status(throughput_arn, "Failed", "Capacity was lost")
    forward = update(events, throughput_arn, retagged, properties)
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_IN_PROGRESS")
    index.on_event(forward)
    with pytest.raises(provisioned_throughput.ThroughputFailed, match="Capacity was lost"):
        poll(forward, throughput_arn)
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_ROLLBACK_IN_PROGRESS")
    back = update(events, throughput_arn, properties, retagged)
    index.on_event(back)
    assert poll(back, throughput_arn)["Data"]["status"] == "Failed"


@pytest.mark.parametrize(
    ("before", "after", "refused"),
    [("OneMonth", "OneMonth", True), (None, None, False), (None, "OneMonth", False), ("OneMonth", "SixMonths", False)],
    ids=["committed", "no-commitment", "commitment-added", "commitment-changed"],
)
def test_an_update_that_finds_a_committed_throughput_gone_buys_no_term_unasked(
    bedrock, events, model_arn, monkeypatch, before, after, refused
):
    """Its term over, the throughput was deleted outside the stack; then an update comes. Making it again with the
    same commitment would buy a new term, which a create does (the construct added) and an update does not, unasked:
    refused, naming what to do, with nothing bought. An update that asks for a commitment the gone one did not have
    (or another) buys it, as it would replacing a live one; a throughput without commitment is made again."""

    def properties(commitment: str | None) -> dict[str, Any]:
        return throughput_properties(model_arn, **({"commitmentDuration": commitment} if commitment else {}))

    _, throughput_arn = in_service(bedrock, events, properties(before))
    if before:
        bedrock.expire_commitment(throughput_arn)
    bedrock.client().delete_provisioned_model_throughput(provisionedModelId=throughput_arn)
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_IN_PROGRESS")
    new = properties(after) | {"tags": [{"key": "team", "value": "platform"}]}
    change = update(events, throughput_arn, new, properties(before))

    if refused:
        with pytest.raises(provisioned_throughput.CommitmentInForce, match="would buy a new OneMonth commitment term"):
            index.on_event(change)
        assert len(bedrock.calls_to("CreateProvisionedModelThroughput")) == 1
    else:
        assert index.on_event(change)["PhysicalResourceId"] != throughput_arn
        assert [c.get("commitmentDuration") for c in bedrock.calls_to("CreateProvisionedModelThroughput")] == [
            before,
            after,
        ]


def test_the_delete_of_a_committed_throughput_that_failed_asks_bedrock(bedrock, events, model_arn):
    """A committed throughput that failed to be made (the rollback of its create deletes it): whether its term runs is
    Bedrock's to say, not read from commitmentExpirationTime, which the handler would take to refuse for a month. The
    stand-in refuses too (a term it started); Bedrock's answer is what fails the delete, with the ways out."""
    properties = throughput_properties(model_arn, commitmentDuration="OneMonth")
    _, throughput_arn = create(events, properties)
    bedrock.set_throughput_status(throughput_arn, "Failed", "Insufficient capacity")
    with pytest.raises(provisioned_throughput.CommitmentInForce) as refused:
        index.on_event(events.delete(throughput_arn, properties))
    assert "the commitment term has not ended" in str(refused.value) and "--retain-resources" in str(refused.value)
    assert bedrock.calls_to("DeleteProvisionedModelThroughput") == [{"provisionedModelId": throughput_arn}]


# --- buying a term ------------------------------------------------------------------------------------------------


def stack_history(
    monkeypatch: pytest.MonkeyPatch, events: CloudFormationEvents, *history: tuple[str | None, str, datetime]
) -> None:
    """The stack's events (a resource's logical id, or None for the stack's own; status; time), newest first, as
    DescribeStackEvents answers them."""
    answered = [
        {
            "LogicalResourceId": logical_id or events.stack_name,
            "PhysicalResourceId": events.stack_id if logical_id is None else f"{logical_id}-id",
            "ResourceStatus": status,
            "Timestamp": at,
        }
        for logical_id, status, at in history
    ]
    monkeypatch.setattr(index, "_events_newest_first", lambda stack_id: iter(answered))


@pytest.mark.parametrize("earlier_deploy_ended", ["UPDATE_COMPLETE", "UPDATE_FAILED"])
def test_a_committed_throughput_under_a_new_logical_id_beside_this_stacks_own_buys_no_second_term(
    bedrock, events, model_arn, monkeypatch, earlier_deploy_ended
):
    """A construct id (or models-file key) changed gives the throughput a new logical id: CloudFormation creates it,
    then cannot delete the old one, whose term runs (prov-thru-delete.html), so both would be billed. Refused, with
    nothing bought; one given a name of its own is a second one on purpose, and one of another stack is not this
    stack's. The earlier deploy may have failed with rollback disabled (UPDATE_FAILED): the deploy after it, which
    CloudFormation lets update what it kept ("Choose how to handle failures when provisioning resources"), is an
    operation of its own."""
    committed = throughput_properties(model_arn, commitmentDuration="OneMonth")
    old = LONGEST_LOGICAL_ID  # a logical id of the most characters CloudFormation takes
    _, first = in_service(bedrock, events, committed, logical_id=old)
    made = bedrock.client().get_provisioned_model_throughput(provisionedModelId=first)["creationTime"]
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_IN_PROGRESS")
    stack_history(
        monkeypatch,
        events,
        ("ServingProduction", "CREATE_IN_PROGRESS", made + timedelta(days=3, minutes=1)),
        (None, "UPDATE_IN_PROGRESS", made + timedelta(days=3)),  # this deploy, in which old is now ServingProduction
        (None, earlier_deploy_ended, made + timedelta(minutes=10)),
        (old, "CREATE_COMPLETE", made + timedelta(minutes=5)),
        (old, "CREATE_IN_PROGRESS", made - timedelta(seconds=30)),
        (None, "UPDATE_IN_PROGRESS", made - timedelta(minutes=1)),  # the deploy that made old
    )
    with pytest.raises(provisioned_throughput.CommitmentInForce, match=r"^Nothing was bought\. If renamed") as e:
        index.on_event(events.create(committed, logical_id="ServingProduction"))
    message = str(e.value)
    assert first in message and f"The old logical id: {old}. " in message
    # Both ways out survive a single-function provider's cut, whatever the held logical id: they come before it.
    for way_out in (
        "keep the old logical id (override_logical_id",
        "if a second one, name it (provisioned_model_name)",
    ):
        assert survives_the_cut(message, way_out)
    assert len(bedrock.calls_to("CreateProvisionedModelThroughput")) == 1

    named = index.on_event(events.create({**committed, "provisionedModelName": "second"}, logical_id="Second"))
    other_stack = CloudFormationEvents("other-stack", RESOURCE_TYPE).create(committed, logical_id="Production")
    assert first != named["PhysicalResourceId"] != index.on_event(other_stack)["PhysicalResourceId"]
    uncommitted = index.on_event(events.create(throughput_properties(model_arn), logical_id="Burst"))
    assert uncommitted["PhysicalResourceId"] != first
    assert len(bedrock.calls_to("CreateProvisionedModelThroughput")) == 4


@pytest.mark.parametrize("refusal", ["AccessDenied", "Throttling"])
def test_a_committed_throughput_beside_this_stacks_own_is_refused_while_the_stacks_events_cannot_be_read(
    bedrock, events, model_arn, monkeypatch, refusal
):
    """Only the stack's events tell a second throughput declared alike from one renamed (a new logical id, a second
    term): unread (an SCP's AccessDenied, throttling past the client's retries), the create buys nothing and says
    what to do, rather than risk a term billed for months."""
    committed = throughput_properties(model_arn, commitmentDuration="OneMonth")
    _, first = in_service(bedrock, events, committed, logical_id=LONGEST_LOGICAL_ID)

    def unreadable(stack_id: str) -> Any:
        raise ClientError({"Error": {"Code": refusal, "Message": "not now"}}, "DescribeStackEvents")

    monkeypatch.setattr(index, "_events_newest_first", unreadable)
    with pytest.raises(provisioned_throughput.CommitmentInForce) as e:
        index.on_event(events.create(committed, logical_id="ServingProduction"))
    # A rename's way out first (another name would buy a second term), all three surviving a single-function
    # provider's cut, whatever the held logical id; then that logical id, why the events were needed, and the refusal.
    message = str(e.value)
    assert message.startswith("Nothing was bought. If renamed, keep the old logical id (override_logical_id")
    for way_out in ("if a second one, name it (provisioned_model_name)", "or retry once stack events can be read"):
        assert survives_the_cut(message, way_out)
    assert f"The old logical id: {LONGEST_LOGICAL_ID}. " in message and refusal in message
    assert len(bedrock.calls_to("CreateProvisionedModelThroughput")) == 1
    named = index.on_event(events.create({**committed, "provisionedModelName": "second"}, logical_id="Second"))
    assert named["PhysicalResourceId"] != first
    assert len(bedrock.calls_to("CreateProvisionedModelThroughput")) == 2


def test_two_committed_throughputs_declared_alike_and_made_by_one_operation_are_both_bought(
    bedrock, events, model_arn, monkeypatch
):
    """Two throughputs of the same model, units and commitment declared in one stack, which CloudFormation creates in
    one operation (in parallel, or one after the other): neither is the other renamed, and refusing the second would
    roll back the stack, whose delete of the first fails until its term ends."""
    committed = throughput_properties(model_arn, commitmentDuration="OneMonth")
    stack_history(monkeypatch, events, (None, "CREATE_IN_PROGRESS", datetime(2020, 1, 1, tzinfo=UTC)))  # before both
    first = index.on_event(events.create(committed, logical_id="ServingTeamA"))["PhysicalResourceId"]
    bedrock.set_throughput_status(first, "InService")
    second = index.on_event(events.create(committed, logical_id="ServingTeamB"))["PhysicalResourceId"]
    assert first != second and len(bedrock.calls_to("CreateProvisionedModelThroughput")) == 2


def test_a_committed_throughput_beside_one_this_operation_took_back_is_bought(bedrock, events, model_arn, monkeypatch):
    """Two declared alike, whose first deploy bought the first and failed: its rollback could not delete it (its term
    runs) and left it outside the stack. Deployed again, the stack takes it back and makes the second, in one
    operation, which has touched the first: the two are declared alike, no rename."""
    committed = throughput_properties(model_arn, commitmentDuration="OneMonth")
    first = index.on_event(events.create(committed, logical_id="ServingTeamA"))["PhysicalResourceId"]
    bedrock.set_throughput_status(first, "InService")
    made = bedrock.client().get_provisioned_model_throughput(provisionedModelId=first)["creationTime"]
    stack_history(
        monkeypatch,
        events,
        ("ServingTeamB", "CREATE_IN_PROGRESS", made + timedelta(days=1, minutes=2)),
        ("ServingTeamA", "CREATE_COMPLETE", made + timedelta(days=1, minutes=1)),  # taken back
        ("ServingTeamA", "CREATE_IN_PROGRESS", made + timedelta(days=1, seconds=30)),
        (None, "UPDATE_IN_PROGRESS", made + timedelta(days=1)),
    )
    assert index.on_event(events.create(committed, logical_id="ServingTeamA"))["PhysicalResourceId"] == first
    second = index.on_event(events.create(committed, logical_id="ServingTeamB"))["PhysicalResourceId"]
    assert second != first and len(bedrock.calls_to("CreateProvisionedModelThroughput")) == 2


def test_an_update_that_replaces_a_throughput_is_not_taken_for_a_rename(bedrock, events, model_arn, monkeypatch):
    """An Update keeps its logical id (a new one arrives as a Create): adding a commitment to an uncommitted throughput
    beside an alike committed one of an earlier deploy replaces it, as asked."""
    committed = throughput_properties(model_arn, commitmentDuration="OneMonth")
    _, first = in_service(bedrock, events, committed)
    made = bedrock.client().get_provisioned_model_throughput(provisionedModelId=first)["creationTime"]
    plain = throughput_properties(model_arn)
    uncommitted = index.on_event(events.create(plain, logical_id="ServingB"))["PhysicalResourceId"]
    bedrock.set_throughput_status(uncommitted, "InService")
    stack_history(monkeypatch, events, (None, "UPDATE_IN_PROGRESS", made + timedelta(days=3)))
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_IN_PROGRESS")
    change = events.update(uncommitted, committed, plain, logical_id="ServingB")
    assert index.on_event(change)["PhysicalResourceId"] not in (first, uncommitted)


def test_a_committed_throughput_beside_one_whose_term_has_ended_of_another_model_or_term_is_bought(
    bedrock, events, model_arn, monkeypatch
):
    committed = throughput_properties(model_arn, commitmentDuration="OneMonth")
    _, first = in_service(bedrock, events, committed)
    other_model = active_model(bedrock, "other")
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_IN_PROGRESS")
    index.on_event(events.create({**committed, "modelId": other_model}, logical_id="Other"))
    # Another term (commitmentDuration, OneMonth | SixMonths) is another purchase, not this one renamed.
    index.on_event(events.create({**committed, "commitmentDuration": "SixMonths"}, logical_id="Longer"))
    bedrock.expire_commitment(first)
    index.on_event(events.create(committed, logical_id="ServingProduction"))
    bought = [request.get("commitmentDuration") for request in bedrock.calls_to("CreateProvisionedModelThroughput")]
    assert bought == ["OneMonth", "OneMonth", "SixMonths", "OneMonth"]


def test_a_refused_purchase_for_a_full_quota_fails_with_bedrocks_own_error(bedrock, events, model_arn, monkeypatch):
    """Bedrock refuses CreateProvisionedModelThroughput with ServiceQuotaExceededException when the account has no
    model units left (botocore's service model lists it among the operation's errors). A kind without a Quota raises
    Bedrock's own error, which names the quota; nothing is bought."""
    client = bedrock.client()

    def refuse(**_request: Any) -> None:
        raise client.exceptions.ServiceQuotaExceededException(
            {"Error": {"Code": "ServiceQuotaExceededException", "Message": "Model units quota exceeded"}},
            "CreateProvisionedModelThroughput",
        )

    monkeypatch.setattr(client, "create_provisioned_model_throughput", refuse)
    monkeypatch.setattr(provisioned_throughput, "bedrock_client", lambda: client)
    with pytest.raises(ClientError, match="Model units quota exceeded"):
        index.on_event(events.create(throughput_properties(model_arn)))
    assert bedrock.throughputs() == []
