"""A resource's identity follows its configuration, for every resource type that creates something.

CloudFormation rolls a failed update back with another Update whose ResourceProperties are the previous
properties and whose OldResourceProperties are the refused ones (DESIGN.md, fact 10). These tests send
exactly that, and check that the handler decides against the live resource: no second job, no failed
rollback. They also cover retries, redeploys after RETAIN, adoption and names held by something else.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import botocore.session
import pytest
from bedrock_custom_resource import index, lifecycle
from botocore.stub import Stubber
from cdk_bedrock_customization.emulation.bedrock_stand_in import BedrockStandIn, listing
from cdk_bedrock_customization.emulation.bedrock_stand_in.evaluations import EVALUATION_JOBS

from . import resource_kinds
from .conftest import (
    LONGEST_LOGICAL_ID,
    OPERATION_STARTED,
    ROLE_ARN,
    CloudFormationEvents,
    active_model,
    is_complete_input,
    survives_the_cut,
)
from .resource_kinds import ResourceKind, Stack, writes
from .test_bedrock_stand_in import bedrock_tags_per_resource
from .test_imported_model import ESCROW_URI

FINGERPRINT = "cdk-bedrock-customization:configuration"
STACK_TAG = "cdk-bedrock-customization:stack"
LOGICAL_ID_TAG = "cdk-bedrock-customization:logical-id"
ORIGIN_TAG = "cdk-bedrock-customization:origin"
# What is billed by the hour: told no UpdateReplacePolicy, what a failed operation made of one goes (README).
SERVING_TYPES = frozenset({"Custom::BedrockCustomModelDeployment", "Custom::BedrockProvisionedModelThroughput"})


# The status, for every resource type, that keeps a resource from being adopted.
UNUSABLE = "Failed"


class Replacing(NamedTuple):
    """A change of the properties that needs a new resource."""

    change: dict[str, Any]  # a valid change that needs a new resource
    reported_as: str  # how the error names it when it meets a name held by the old resource


@dataclass(frozen=True, kw_only=True)
class Kind(ResourceKind):
    """A resource type, and the changes these tests make to its properties."""

    replacing: Replacing
    refused_change: dict[str, Any]  # a change the contract refuses


KINDS = [
    Kind(
        **resource_kinds.JOB.fields(),
        replacing=Replacing(
            {"hyperParameters": {"epochCount": "3", "batchSize": "1", "learningRate": "0.00001"}},
            reported_as="differs in hyperParameters",
        ),
        refused_change={"outputDataConfig": {"s3Uri": "https://my-data-bucket/output/"}},
    ),
    Kind(
        **resource_kinds.IMPORT.fields(),
        replacing=Replacing(
            # New artifacts (a new role alone changes nothing once the model is imported).
            {"modelSourceConfig": {"s3DataSource": {"s3Uri": ESCROW_URI + "v2/"}}},
            reported_as="differs in properties that Bedrock does not report back",
        ),
        refused_change={"roleArn": "BedrockRole"},
    ),
    Kind(
        **resource_kinds.DEPLOYMENT.fields(),
        replacing=Replacing({"description": "serves the support assistant"}, reported_as="differs in description"),
        refused_change={"modelArn": "support-model"},
    ),
    Kind(
        **resource_kinds.THROUGHPUT.fields(),
        replacing=Replacing({"modelUnits": "2"}, reported_as="differs in modelUnits"),
        refused_change={"modelUnits": "many"},
    ),
]


@pytest.fixture(params=KINDS, ids=lambda kind: kind.resource_type.removeprefix("Custom::Bedrock"))
def kind(request: pytest.FixtureRequest) -> Kind:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def stack(bedrock: BedrockStandIn, kind: Kind) -> Stack:
    return Stack.named(bedrock, kind)


def created(bedrock: BedrockStandIn, kind: Kind) -> list[dict[str, Any]]:
    return bedrock.calls_to(kind.create_operation)


# --- the rollback of a failed update -----------------------------------------------------------------------


@pytest.mark.parametrize("given_name", [False, True], ids=["generated-name", "given-name"])
def test_the_rollback_of_a_refused_update_changes_nothing(bedrock, kind, stack, given_name):
    properties = kind.properties(bedrock)
    if given_name:
        properties[kind.name_member] = "support-v1"
    physical_id, data = stack.create(properties)
    refused = properties | kind.refused_change
    mark = len(bedrock.calls)
    with pytest.raises(Exception, match=re.escape(next(iter(kind.refused_change)))):
        index.on_event(stack.events.update(physical_id, refused, properties))
    assert writes(bedrock, mark) == []

    rollback = stack.events.update(physical_id, properties, refused)
    assert index.on_event(rollback) == {"PhysicalResourceId": physical_id}
    assert index.is_complete(is_complete_input(rollback, {"PhysicalResourceId": physical_id})) == {
        "IsComplete": True,
        "Data": data,
    }
    assert writes(bedrock, mark) == []
    assert len(kind.existing(bedrock)) == 1


def test_the_rollback_of_a_refused_update_with_malformed_tags_changes_nothing(bedrock, kind, stack):
    """Tags as a map, or a tag without its value: refused; the rollback must not trip over them."""
    properties = kind.properties(bedrock)
    physical_id, _ = stack.create(properties)
    for malformed in ({"team": "ml"}, [{"key": "team"}], [{"key": 7, "value": "x"}], "team=ml"):
        refused = properties | {kind.tag_member: malformed}
        mark = len(bedrock.calls)
        with pytest.raises(Exception, match=kind.tag_member):
            index.on_event(stack.events.update(physical_id, refused, properties))
        rollback = stack.events.update(physical_id, properties, refused)
        assert index.on_event(rollback) == {"PhysicalResourceId": physical_id}
        assert writes(bedrock, mark) == []


def test_the_rollback_of_a_successful_replacement_returns_to_the_earlier_resource(bedrock, kind, stack):
    """A replacement succeeded, then a later resource failed: CloudFormation sends the previous properties with
    the new physical id. The earlier resource still exists with that configuration: it is the answer."""
    properties = kind.properties(bedrock)
    first_id, first_data = stack.create(properties)
    replacing = properties | kind.replacing.change
    second_id, _ = stack.update(first_id, replacing, properties)
    assert second_id != first_id
    creates = len(created(bedrock, kind))

    rollback_id, rollback_data = stack.update(second_id, properties, replacing)

    assert rollback_id == first_id
    assert rollback_data == first_data
    assert len(created(bedrock, kind)) == creates  # nothing trained, imported or bought again


# Where each Get response holds the names its create request gave (the API reference's Get* responses): a job's
# model name is its outputModelName.
NAMES_IN_THE_GET_RESPONSE = {
    "Custom::BedrockModelCustomizationJob": {"jobName": "jobName", "customModelName": "outputModelName"},
    "Custom::BedrockCustomModel": {"modelName": "modelName"},
    "Custom::BedrockCustomModelDeployment": {"modelDeploymentName": "modelDeploymentName"},
    "Custom::BedrockProvisionedModelThroughput": {"provisionedModelName": "provisionedModelName"},
    "Custom::BedrockImportedModel": {"jobName": "jobName", "importedModelName": "importedModelName"},
    "Custom::BedrockCopiedCustomModel": {"targetModelName": "targetModelName"},
    "Custom::BedrockModelEvaluationJob": {"jobName": "jobName"},
}
every_kind = pytest.mark.parametrize(
    "any_kind", resource_kinds.KINDS, ids=lambda kind: kind.resource_type.removeprefix("Custom::Bedrock")
)


@every_kind
def test_names_pinned_to_those_generated_are_refused_saying_so_and_rolled_back_in_place(bedrock, any_kind):
    """Bedrock renames only a throughput, so a name given is a new configuration, whose new resource would need the
    name the live one holds: refused with nothing made (a throughput is renamed to it). The message says a name alone
    may differ, not only what Bedrock does not report; CloudFormation's rollback then changes nothing."""
    stack = Stack.named(bedrock, any_kind)
    properties = any_kind.properties(bedrock)
    physical_id, _ = stack.create(properties)
    live = any_kind.record(bedrock, physical_id)
    names = NAMES_IN_THE_GET_RESPONSE[any_kind.resource_type]
    pinned = properties | {member: live[reported] for member, reported in names.items()}
    mark = len(bedrock.calls)
    if any_kind.update_operation == "UpdateProvisionedModelThroughput":
        assert stack.update(physical_id, pinned, properties)[0] == physical_id
        return
    with pytest.raises(lifecycle.NameTaken) as refused:
        stack.update(physical_id, pinned, properties)
    assert "differs only in the names you give" in str(refused.value)
    assert "(leave them out to keep it)" in str(refused.value)
    assert writes(bedrock, mark) == []
    assert stack.update(physical_id, properties, pinned)[0] == physical_id
    assert writes(bedrock, mark) == []


@pytest.mark.parametrize("kind", [resource_kinds.JOB, resource_kinds.IMPORT_JOB], ids=["job", "import-job"])
def test_a_model_name_pinned_while_its_job_runs_is_refused_with_nothing_made(bedrock, kind):
    """No model holds the name until the job ends: a new job under it would race the running one for it."""
    stack = Stack.named(bedrock, kind)
    properties = kind.properties(bedrock)
    event = stack.events.create(properties, stack.logical_id)
    physical_id = index.on_event(event)["PhysicalResourceId"]  # running: not made ready
    (model_name,) = kind.other_name_members
    name = {"customModelName": "outputModelName"}.get(model_name, model_name)  # GetModelCustomizationJob's
    pinned = properties | {model_name: kind.record(bedrock, physical_id)[name]}
    mark = len(bedrock.calls)
    with pytest.raises(lifecycle.NameTaken, match=f"{model_name}: .* names the .* that job {physical_id} is making"):
        index.on_event(stack.events.update(physical_id, pinned, properties, stack.logical_id))
    assert writes(bedrock, mark) == []


@pytest.mark.parametrize("kind", [resource_kinds.JOB, resource_kinds.IMPORT_JOB], ids=["job", "import-job"])
def test_a_model_name_that_a_job_of_another_logical_id_is_making_is_refused_with_nothing_made(bedrock, kind):
    (model_name,) = kind.other_name_members
    stack = Stack.named(bedrock, kind)
    properties = kind.properties(bedrock) | {model_name: "support-model"}
    running = index.on_event(stack.events.create(properties, "First"))["PhysicalResourceId"]  # not made ready
    mark = len(bedrock.calls)
    with pytest.raises(
        lifecycle.NameTaken, match=f"{model_name}: 'support-model' names the .* job {running} is making"
    ) as refused:
        index.on_event(stack.events.create(properties | {kind.name_member: "second-job"}, "Second"))
    assert writes(bedrock, mark) == []
    assert "Give another name. (If that job is the one this update replaces" in str(refused.value)
    kind.set_status(bedrock, running, kind.ready)  # waiting does not free the name: its model then holds it
    with pytest.raises(lifecycle.NameTaken, match=f"{model_name}: 'support-model' is held by"):
        index.on_event(stack.events.create(properties | {kind.name_member: "second-job"}, "Second"))


def test_a_job_replaced_once_its_model_is_gone_may_keep_the_model_name_given(bedrock):
    """The name is free again once the model is deleted: the replacement takes it (nothing races for it)."""
    kind = KINDS[0]
    stack = Stack.named(bedrock, kind)
    given = kind.properties(bedrock) | {"customModelName": "support-model"}
    job_arn, data = stack.create(given)
    bedrock.client().delete_custom_model(modelIdentifier=data["outputModelArn"])
    second_arn, second_data = stack.update(job_arn, given | kind.replacing.change, given)
    assert second_arn != job_arn
    assert second_data["outputModelName"] == "support-model"


def test_names_given_and_kept_with_another_change_are_not_said_to_differ_alone(bedrock):
    """Leaving the names out would not keep the job: it would train again for the change."""
    kind = resource_kinds.JOB
    stack = Stack.named(bedrock, kind)
    given = kind.properties(bedrock) | {"jobName": "support-job", "customModelName": "support-model"}
    physical_id, _ = stack.create(given)
    with pytest.raises(lifecycle.NameTaken) as refused:
        stack.update(physical_id, given | {"customModelName": "support-model-2"}, given)
    assert "leave them out" not in str(refused.value)
    assert "its configuration differs in customModelName" in str(refused.value)


@every_kind
@pytest.mark.parametrize("new_names", ["changed", "left-out"])
def test_a_given_name_changed_or_left_out_is_a_new_resource(bedrock, any_kind, new_names):
    """Bedrock renames a throughput only: anything else of another name, or of a generated one, is a new one."""
    stack = Stack.named(bedrock, any_kind)
    given = any_kind.properties(bedrock) | {any_kind.name_member: "given-v1"}
    physical_id, _ = stack.create(given)
    renamed = given | {any_kind.name_member: "given-v2"}
    if new_names == "left-out":
        renamed.pop(any_kind.name_member)
    renamed_id, _ = stack.update(physical_id, renamed, given)
    assert (renamed_id == physical_id) == (any_kind.update_operation == "UpdateProvisionedModelThroughput")
    name = any_kind.record(bedrock, renamed_id)[NAMES_IN_THE_GET_RESPONSE[any_kind.resource_type][any_kind.name_member]]
    if new_names == "changed":
        assert name == "given-v2"
    else:  # README: the stack's name, the logical id and a 12-digit hash
        assert re.fullmatch(r"my-stack-model-[0-9a-f]{12}", name, re.IGNORECASE)


def test_a_committed_throughputs_refused_change_rolls_back_cleanly(bedrock):
    """The commitment refusal used to come back in the rollback (UPDATE_ROLLBACK_FAILED)."""
    kind = KINDS[3]
    stack = Stack.named(bedrock, kind)
    properties = kind.properties(bedrock) | {"commitmentDuration": "OneMonth"}
    physical_id, _ = stack.create(properties)
    more_units = properties | {"modelUnits": "2"}
    mark = len(bedrock.calls)
    with pytest.raises(RuntimeError, match=r"\['modelUnits'\] \(modelUnits from 1 to 2\) needs a new provisioned"):
        index.on_event(stack.events.update(physical_id, more_units, properties))
    assert index.on_event(stack.events.update(physical_id, properties, more_units)) == {
        "PhysicalResourceId": physical_id
    }
    assert writes(bedrock, mark) == []


def test_the_rollback_of_a_commitment_added_by_a_replacement_adopts_the_earlier_throughput(bedrock):
    """A throughput without commitment was replaced by a committed one, then a later resource failed. The rollback
    is an Update from the committed one back to the earlier properties: that throughput still exists, so nothing
    is bought and the commitment refusal (which guards creates only) must not fail the rollback."""
    kind = KINDS[3]
    stack = Stack.named(bedrock, kind)
    hourly = kind.properties(bedrock)
    first_id, first_data = stack.create(hourly)
    committed = hourly | {"commitmentDuration": "OneMonth"}
    second_id, _ = stack.update(first_id, committed, hourly)
    assert second_id != first_id
    mark = len(bedrock.calls)

    rollback = stack.events.update(second_id, hourly, committed, stack.logical_id)
    assert index.on_event(rollback) == {"PhysicalResourceId": first_id}
    assert index.is_complete(is_complete_input(rollback, {"PhysicalResourceId": first_id})) == {
        "IsComplete": True,
        "Data": first_data,
    }
    # Nothing bought or deleted: the earlier throughput is only marked as adopted (it existed before).
    assert writes(bedrock, mark) == ["TagResource"]
    assert bedrock.all_tags(first_id)[ORIGIN_TAG] == "adopted"


def test_a_job_rollback_after_a_quota_refusal_starts_nothing(bedrock):
    """Not only bad input: Bedrock refusing the replacement (its quota full) is followed by the same rollback."""
    kind = KINDS[0]
    stack = Stack.named(bedrock, kind)
    properties = kind.properties(bedrock)
    physical_id, _ = stack.create(properties)
    bedrock.limit_concurrent_jobs(0)
    replacing = properties | kind.replacing.change
    with pytest.raises(lifecycle.QuotaFull):
        index.on_event(stack.events.update(physical_id, replacing, properties))
    mark = len(bedrock.calls)
    assert index.on_event(stack.events.update(physical_id, properties, replacing)) == {
        "PhysicalResourceId": physical_id
    }
    assert writes(bedrock, mark) == []
    assert len(bedrock.jobs()) == 1


# --- retries, replays and redeploys -------------------------------------------------------------------------


def test_a_redeploy_after_retain_adopts_what_the_deleted_stack_left(bedrock, kind, stack):
    """The stack was deleted with RETAIN and is deployed again unchanged: a new stack id, the same stack name.
    The resource is found by its name and configuration: nothing is trained, imported or bought again. Its
    stack tag now names the new stack, whose notifier may read only the jobs tagged with its id."""
    properties = kind.properties(bedrock)
    physical_id, data = stack.create(properties)
    again = Stack.named(bedrock, kind)
    assert again.events.stack_id != stack.events.stack_id
    mark = len(bedrock.calls)

    assert again.create(properties) == (physical_id, data)
    assert writes(bedrock, mark) == ["TagResource"]
    assert bedrock.all_tags(physical_id)["cdk-bedrock-customization:stack"] == again.events.stack_id


def test_a_redeploy_after_retain_logs_that_it_adopted_the_resource(bedrock, kind, stack, caplog):
    """README, "What happens on create, update and delete": a create that finds a usable resource of its
    configuration under its name "adopts it, logs "Adopted ...", and corrects its tags". The log line is how a user
    learns that nothing was trained, imported or bought again, and which resource the new stack took."""
    properties = kind.properties(bedrock)
    physical_id, _ = stack.create(properties)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert Stack.named(bedrock, kind).create(properties)[0] == physical_id
    adopted = [record.getMessage() for record in caplog.records if record.getMessage().startswith("Adopted ")]
    assert len(adopted) == 1 and physical_id in adopted[0], caplog.text


def test_a_redeploy_of_another_stack_name_creates_its_own(bedrock, kind, stack):
    properties = kind.properties(bedrock)
    physical_id, _ = stack.create(properties)
    other = Stack.named(bedrock, kind, "other-stack")
    other_id, _ = other.create(properties)
    assert other_id != physical_id
    assert len(created(bedrock, kind)) == 2


def test_a_redeploy_after_retain_adopts_a_given_name_too(bedrock, kind, stack):
    properties = kind.properties(bedrock) | {kind.name_member: "support-v1"}
    physical_id, data = stack.create(properties)
    assert Stack.named(bedrock, kind).create(properties) == (physical_id, data)
    assert len(created(bedrock, kind)) == 1


def test_a_given_name_held_by_another_logical_id_of_the_stack_is_not_adopted(bedrock, kind, stack):
    """A construct that moves or is renamed gets a new logical id: CloudFormation creates the new one, then
    deletes the old one in its cleanup. Had the new one adopted the resource the old one holds, that Delete would
    delete what the stack now says exists. As for a named native resource, the create fails and nothing is done."""
    properties = kind.properties(bedrock) | {kind.name_member: "support-v1"}
    old = LONGEST_LOGICAL_ID  # a logical id of the most characters CloudFormation takes
    physical_id, _ = stack.create(properties, logical_id=old)
    mark = len(bedrock.calls)
    with pytest.raises(lifecycle.NameTaken) as raised:
        stack.create(properties, logical_id="New")
    message = str(raised.value)
    assert f"{kind.name_member}: 'support-v1' is held by" in message and physical_id in message
    assert f"The old logical id: {old}. " in message and f"belongs to {old} of stack my-stack" in message
    # Another name would make a second one (train again, buy a second term): keeping the logical id comes first, and
    # survives a single-function provider's cut, whatever the old logical id.
    assert message.startswith("Nothing was created. If renamed, keep the old logical id (override_logical_id")
    for way_out in ("keep the old logical id (override_logical_id, or a models file's old key)", "a new name makes a"):
        assert survives_the_cut(message, way_out)
    assert "Give another name" not in message
    assert writes(bedrock, mark) == []


def test_a_given_name_held_by_a_live_stack_of_another_name_is_not_adopted(bedrock, kind, stack):
    """Else deleting the second stack would delete the first one's resource."""
    properties = kind.properties(bedrock) | {kind.name_member: "support-v1"}
    physical_id, _ = stack.create(properties)
    mark = len(bedrock.calls)
    with pytest.raises(
        lifecycle.NameTaken,
        match=r"belongs to Model of stack my-stack\. Give another name, or remove "
        r"it to have one generated\.$",
    ):
        Stack.named(bedrock, kind, "team-b").create(properties)
    assert writes(bedrock, mark) == []
    assert bedrock.all_tags(physical_id)[STACK_TAG] == stack.events.stack_id


def test_a_resource_made_before_logical_id_tags_is_judged_by_its_stack(bedrock, kind, stack):
    """Adopted by its own stack (a retry, a replay) as before; refused to a stack of another name."""
    properties = kind.properties(bedrock) | {kind.name_member: "support-v1"}
    physical_id, _ = stack.create(properties)
    bedrock.client().untag_resource(resourceARN=physical_id, tagKeys=[LOGICAL_ID_TAG])
    with pytest.raises(lifecycle.NameTaken, match=r"belongs to stack my-stack\. Give another name"):
        Stack.named(bedrock, kind, "team-b").create(properties)
    assert stack.create(properties)[0] == physical_id
    assert bedrock.all_tags(physical_id)[LOGICAL_ID_TAG] == stack.logical_id


def test_a_generated_name_held_by_another_resource_moves_to_the_next_name(bedrock, kind, stack):
    """Generated names differ per stack name and logical id; should one still be held by another resource (its
    tags say so), the create takes the next name of the sequence rather than adopt it."""
    properties = kind.properties(bedrock)
    physical_id, _ = stack.create(properties)
    bedrock.backend.tag_resource(physical_id, [{"key": LOGICAL_ID_TAG, "value": "Other"}])

    second_id, _ = stack.create(properties)

    assert second_id != physical_id
    first, second = created(bedrock, kind)
    assert first[kind.name_member] != second[kind.name_member]
    assert bedrock.all_tags(physical_id)[LOGICAL_ID_TAG] == "Other"


def test_a_name_held_by_an_unusable_resource_moves_to_the_next_name(bedrock, kind, stack):
    """A failed job (or a failed import, deployment or throughput) of this configuration keeps its name; the next
    Create uses the next name of the sequence, with a token of its own (else Bedrock would answer the old one)."""
    properties = kind.properties(bedrock)
    physical_id, _ = stack.create(properties)
    kind.set_status(bedrock, physical_id, UNUSABLE)

    retried_id, _ = stack.create(properties)

    assert retried_id != physical_id
    first, second = created(bedrock, kind)
    assert first[kind.name_member] != second[kind.name_member]
    assert first["clientRequestToken"] != second["clientRequestToken"]
    # and the one after is found again by its (second) name
    assert stack.create(properties)[0] == retried_id
    assert len(created(bedrock, kind)) == 2


def test_a_completed_job_whose_model_is_gone_is_trained_again_under_the_next_name(bedrock):
    kind = KINDS[0]
    stack = Stack.named(bedrock, kind)
    properties = kind.properties(bedrock)
    job_arn, data = stack.create(properties)
    bedrock.client().delete_custom_model(modelIdentifier=data["outputModelArn"])

    second_arn, second_data = stack.create(properties)

    assert second_arn != job_arn
    assert second_data["outputModelArn"] != data["outputModelArn"]
    assert len(bedrock.jobs()) == 2


def test_generated_names_all_held_by_unusable_resources_fail_with_what_to_do_first(bedrock, kind, monkeypatch):
    """Every generated name of this configuration held by one that failed: the create fails, and what to do comes
    before the logical id, which may have 255 characters, so that a single-function provider's cut keeps it."""
    monkeypatch.setattr(lifecycle, "MAX_NAME_ATTEMPTS", 1)  # one failed resource holds them all
    stack = Stack.named(bedrock, kind, logical_id=LONGEST_LOGICAL_ID)
    message, _ = _refused_beside_an_unusable_one(bedrock, kind, stack, kind.properties(bedrock))
    assert survives_the_cut(message, "Give a name, or delete the")
    assert message.endswith(f"The logical id: {LONGEST_LOGICAL_ID}.")


def _refused_beside_an_unusable_one(bedrock, kind, stack, properties) -> tuple[str, str]:
    """The refusal of a create whose name is held by an unusable resource of these properties (which it made first),
    having written nothing; and that resource's physical id."""
    physical_id, _ = stack.create(properties)
    kind.set_status(bedrock, physical_id, UNUSABLE)
    mark = len(bedrock.calls)
    with pytest.raises(lifecycle.NameTaken) as raised:
        stack.create(properties)
    assert writes(bedrock, mark) == []
    return str(raised.value), physical_id


def test_a_given_name_held_by_an_unusable_resource_fails_with_what_to_do(bedrock, kind, stack):
    properties = kind.properties(bedrock) | {kind.name_member: "support-v1"}
    message, physical_id = _refused_beside_an_unusable_one(bedrock, kind, stack, properties)
    assert f"{kind.name_member}: 'support-v1' is held by" in message and physical_id in message
    assert message.endswith(" if Bedrock allows it (a job cannot be deleted).")


def test_a_given_name_held_by_another_configuration_fails_naming_what_differs(bedrock, kind, stack):
    properties = kind.properties(bedrock) | {kind.name_member: "support-v1"}
    physical_id, _ = stack.create(properties, logical_id="First")
    mark = len(bedrock.calls)
    with pytest.raises(lifecycle.NameTaken) as raised:
        stack.create(properties | kind.replacing.change, logical_id="Second")
    message = str(raised.value)
    assert f"{kind.name_member}: 'support-v1' is held by" in message and physical_id in message
    assert kind.replacing.reported_as in message
    assert "Nothing was created" in message
    assert writes(bedrock, mark) == []


@pytest.mark.parametrize(
    "any_kind",
    [kind for kind in resource_kinds.KINDS if kind is not resource_kinds.COPY_JOB],  # a copy job has no tags
    ids=lambda kind: kind.resource_type.removeprefix("Custom::Bedrock"),
)
def test_a_given_name_held_by_a_resource_made_outside_the_library_is_not_adopted(bedrock, any_kind):
    """Its other names generated (a job's model name, an import's model name), which no difference is said of."""
    properties = any_kind.properties(bedrock) | {any_kind.name_member: "support-v1"}
    physical_id, _ = Stack.named(bedrock, any_kind).create(properties)
    bedrock.client().untag_resource(resourceARN=physical_id, tagKeys=[FINGERPRINT])
    with pytest.raises(lifecycle.NameTaken, match=f"support-v1' is held by .*, and it has no {FINGERPRINT} tag"):
        Stack.named(bedrock, any_kind).create(properties)


# --- a Delete of an id CloudFormation made up ----------------------------------------------------------------
# A create that CloudFormation cancelled (a later resource failed) or stopped waiting for (its timeout) before the
# handler answered, or whose answer was lost: CloudFormation rolls it back with a Delete of an id of its own.

MADE_UP_ID = "my-stack-Model-1A2B3C4D5E6F"
STOPPED_OR_DELETED = {
    "Custom::BedrockModelCustomizationJob": "StopModelCustomizationJob",
    "Custom::BedrockCustomModel": "DeleteCustomModel",
    "Custom::BedrockCustomModelDeployment": "DeleteCustomModelDeployment",
    "Custom::BedrockProvisionedModelThroughput": "DeleteProvisionedModelThroughput",
}


@pytest.mark.parametrize("given_name", [False, True], ids=["generated-name", "given-name"])
def test_a_delete_of_a_made_up_id_deletes_what_the_unanswered_create_made(
    bedrock, kind, stack, given_name, monkeypatch
):
    """What onEvent found is in its answer, which the providers give its polls: they neither look for it again nor
    read when the operation began (which they would fail on, were CloudFormation's events unreadable by then)."""
    properties = kind.properties(bedrock) | ({kind.name_member: "support-v1"} if given_name else {})
    physical_id = index.on_event(stack.events.create(properties, stack.logical_id))["PhysicalResourceId"]
    mark = len(bedrock.calls)
    reads: list[str] = []
    monkeypatch.setattr(index, "operation_started", lambda stack_id: reads.append(stack_id) or OPERATION_STARTED)

    delete = stack.events.delete(MADE_UP_ID, properties, stack.logical_id)
    response = index.on_event(delete)
    assert response["PhysicalResourceId"] == MADE_UP_ID
    assert reads == [delete["StackId"]]
    while not index.is_complete(is_complete_input(delete, response))["IsComplete"]:
        stack.make_ready(physical_id)  # a stopping job stops, a deletion ends

    assert STOPPED_OR_DELETED[kind.resource_type] in writes(bedrock, mark)
    assert [call for call in bedrock.calls[mark:] if call.operation.startswith("Create")] == []
    assert reads == [delete["StackId"]]  # not again by the polls


@pytest.mark.parametrize(
    "job_kind",
    [resource_kinds.IMPORT_JOB, resource_kinds.COPY_JOB, resource_kinds.EVALUATION_JOB],
    ids=lambda kind: kind.resource_type,
)
def test_a_made_up_id_names_the_job_an_unanswered_create_started(bedrock, job_kind):
    """Import, copy and evaluation jobs are found by their names as well (a copy job by its copy's)."""
    stack = Stack.named(bedrock, job_kind)
    properties = job_kind.properties(bedrock)
    physical_id = index.on_event(stack.events.create(properties, stack.logical_id))["PhysicalResourceId"]
    delete = stack.events.delete(MADE_UP_ID, properties, stack.logical_id)
    handler = index._handler(delete)
    assert lifecycle.made_by(handler.KIND, handler.bedrock_client(), delete, lambda: OPERATION_STARTED) == physical_id


def test_a_delete_of_a_made_up_id_leaves_what_another_stack_or_logical_id_made(bedrock, kind, stack):
    """A resource kept by an earlier stack of this name (RETAIN), or made by another logical id, is not this
    create's: nothing is written."""
    properties = kind.properties(bedrock) | {kind.name_member: "support-v1"}
    stack.create(properties)
    mark = len(bedrock.calls)
    for again, logical_id in ((Stack.named(bedrock, kind), stack.logical_id), (stack, "Other")):
        index.on_event(again.events.delete(MADE_UP_ID, properties, logical_id))
    assert writes(bedrock, mark) == []


# --- the rollback of an update CloudFormation cancelled ------------------------------------------------------
# CloudFormation cancels an update in flight when another resource fails (or stops waiting for it at its timeout):
# it never learns the id of what the update made, and rolls back with an Update from the tried properties to the
# previous ones, sent with the previous id (aws-powertools/powertools-lambda-java#1082 describes the orphan). What
# the update made is deleted when the resource's UpdateReplacePolicy, told as updateReplacePolicy, is Delete.


def cancelled_update(kind: Kind, stack: Stack, before: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """A resource of before's properties, and an update to a replacing change whose answer never reached
    CloudFormation: (the id CloudFormation holds, the id the update made, the update's properties)."""
    physical_id, _ = stack.create(before)
    after = before | kind.replacing.change
    made = index.on_event(stack.events.update(physical_id, after, before, stack.logical_id))["PhysicalResourceId"]
    assert made != physical_id
    return physical_id, made, after


@pytest.mark.parametrize("held_properties", ["the-update's", "its-own"])
def test_deleting_a_stack_whose_rollback_failed_deletes_what_the_cancelled_update_made(
    bedrock, kind, stack, held_properties
):
    """An update was cancelled before the handler answered, and its rollback failed (UPDATE_ROLLBACK_FAILED): the
    stack holds the resource under that update's properties, and never learned what the update made. Deleting the
    stack (DESTROY) deletes both; a Delete with the resource's own properties deletes only it."""
    before = kind.properties(bedrock) | {"updateReplacePolicy": "Delete"}
    physical_id, made, after = cancelled_update(kind, stack, before)
    mark = len(bedrock.calls)

    index.on_event(stack.events.delete(physical_id, after if held_properties == "the-update's" else before))

    written = [call for call in bedrock.calls[mark:] if not call.operation.startswith(("Get", "List"))]
    expected = {COMPLETED_DELETED_BY[kind.resource_type]}
    if held_properties == "the-update's":
        expected.add(STOPPED_OR_DELETED[kind.resource_type])
    assert {call.operation for call in written} == expected
    assert (made in str([call.params for call in written])) == (held_properties == "the-update's")


def test_deleting_a_stack_whose_rollback_failed_leaves_what_the_cancelled_update_adopted(
    bedrock, kind, stack, monkeypatch
):
    """What the cancelled update took rather than made (its origin: adopted) existed before that operation: the
    stack's Delete leaves it, though found made from these properties within the operation's time (its clocks)."""
    before = kind.properties(bedrock) | {"updateReplacePolicy": "Delete"}
    physical_id, made, after = cancelled_update(kind, stack, before)
    adopted = lifecycle.ResourceKind.adopted
    monkeypatch.setattr(
        lifecycle.ResourceKind,
        "adopted",
        lambda self, client, live, stack_id: live.get(self.arn_member) == made or adopted(self, client, live, stack_id),
    )
    mark = len(bedrock.calls)
    index.on_event(stack.events.delete(physical_id, after))
    written = [call for call in bedrock.calls[mark:] if not call.operation.startswith(("Get", "List"))]
    assert {call.operation for call in written} == {COMPLETED_DELETED_BY[kind.resource_type]}
    assert made not in str([call.params for call in written])


def rollback_of_cancelled_update(
    bedrock: BedrockStandIn,
    kind: Kind,
    stack: Stack,
    monkeypatch: pytest.MonkeyPatch,
    physical_id: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> list[Any]:
    """CloudFormation's rollback of that update, sent while the stack rolls back: an Update back to before, with
    the id it holds, which it answers unchanged. The calls it made that write."""
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_ROLLBACK_IN_PROGRESS")
    mark = len(bedrock.calls)
    rollback = stack.events.update(physical_id, before, after, stack.logical_id)
    assert index.on_event(rollback)["PhysicalResourceId"] == physical_id
    return [call for call in bedrock.calls[mark:] if not call.operation.startswith(("Get", "List"))]


@pytest.mark.parametrize(
    "policy",
    [{"updateReplacePolicy": "Delete"}, {"deletionPolicy": "RetainExceptOnCreate"}],
    ids=["destroy", "retain-on-update-or-delete"],
)
def test_the_rollback_of_a_cancelled_update_deletes_what_it_made_when_the_replace_policy_is_delete(
    bedrock, kind, stack, monkeypatch, policy
):
    """With DESTROY (UpdateReplacePolicy Delete), and with RETAIN_ON_UPDATE_OR_DELETE, whose DeletionPolicy
    RetainExceptOnCreate removes what a failed operation made though a replaced resource is kept."""
    before = kind.properties(bedrock) | policy
    physical_id, made, after = cancelled_update(kind, stack, before)

    written = rollback_of_cancelled_update(bedrock, kind, stack, monkeypatch, physical_id, before, after)

    assert [call.operation for call in written] == [STOPPED_OR_DELETED[kind.resource_type]]
    assert made in str(written[0].params) and physical_id not in str(written[0].params)
    assert kind.record(bedrock, physical_id)[kind.status_member] == kind.ready


def test_told_no_replace_policy_the_rollback_of_a_cancelled_update_deletes_only_a_serving_resource(
    bedrock, kind, stack, monkeypatch
):
    """A hand-written template that does not tell updateReplacePolicy: CloudFormation's own default UpdateReplacePolicy
    is Delete, so a second deployment or throughput (billed by the hour) that a cancelled update made goes in the
    rollback; a job's model, an import or a copy (hours of training, or a copy across Regions) is kept, as before."""
    before = {name: value for name, value in kind.properties(bedrock).items() if name != "updateReplacePolicy"}
    physical_id, made, after = cancelled_update(kind, stack, before)

    written = rollback_of_cancelled_update(bedrock, kind, stack, monkeypatch, physical_id, before, after)

    deleted = [STOPPED_OR_DELETED[kind.resource_type]] if kind.resource_type in SERVING_TYPES else []
    assert [call.operation for call in written] == deleted
    assert all(made in str(call.params) for call in written)
    assert kind.record(bedrock, physical_id)[kind.status_member] == kind.ready


@pytest.mark.parametrize("policy", [None, "Retain", "Snapshot"], ids=["default", "retain", "snapshot"])
def test_the_rollback_of_a_cancelled_update_keeps_what_it_made_unless_the_replace_policy_is_delete(
    bedrock, kind, stack, policy
):
    before = kind.properties(bedrock) | ({"updateReplacePolicy": policy} if policy else {})
    physical_id, made, after = cancelled_update(kind, stack, before)
    mark = len(bedrock.calls)

    assert index.on_event(stack.events.update(physical_id, before, after, stack.logical_id)) == {
        "PhysicalResourceId": physical_id
    }
    assert writes(bedrock, mark) == []
    assert kind.record(bedrock, made)[kind.status_member] not in ("Stopping", "Stopped", "Deleting")


@pytest.mark.parametrize(
    ("policy_before", "policy_of_the_update", "deleted"),
    [("Retain", "Delete", True), ("Delete", "Retain", False)],
    ids=["retain-to-destroy", "destroy-to-retain"],
)
def test_what_a_cancelled_update_made_goes_as_the_replace_policy_of_that_update_says(
    bedrock, kind, stack, policy_before, policy_of_the_update, deleted, monkeypatch
):
    """The update's template made it: an update that also turned RETAIN into DESTROY leaves nothing behind when it
    is cancelled, and one that turned DESTROY into RETAIN keeps what it made."""
    unchanged = {name: value for name, value in kind.properties(bedrock).items() if name != "updateReplacePolicy"}
    before = unchanged | ({"updateReplacePolicy": policy_before} if policy_before else {})
    physical_id, _ = stack.create(before)
    after = (
        unchanged
        | kind.replacing.change
        | ({"updateReplacePolicy": policy_of_the_update} if policy_of_the_update else {})
    )
    made = index.on_event(stack.events.update(physical_id, after, before, stack.logical_id))["PhysicalResourceId"]
    assert made != physical_id
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_ROLLBACK_IN_PROGRESS")
    mark = len(bedrock.calls)

    assert index.on_event(stack.events.update(physical_id, before, after, stack.logical_id)) == {
        "PhysicalResourceId": physical_id
    }
    written = [call for call in bedrock.calls[mark:] if not call.operation.startswith(("Get", "List"))]
    assert [call.operation for call in written] == ([STOPPED_OR_DELETED[kind.resource_type]] if deleted else [])
    assert all(made in str(call.params) for call in written)
    assert kind.record(bedrock, physical_id)[kind.status_member] == kind.ready


def test_an_update_and_the_rollback_of_one_that_completed_delete_nothing_themselves(bedrock, kind, stack):
    """A forward update (the id sent holds the old properties), and the rollback of an update that answered (the id
    sent is what it made): CloudFormation's cleanup deletes what each replaces, not the handler."""
    before = kind.properties(bedrock) | {"updateReplacePolicy": "Delete"}
    physical_id, _ = stack.create(before)
    after = before | kind.replacing.change
    mark = len(bedrock.calls)
    made, _ = stack.update(physical_id, after, before)
    rolled_back = index.on_event(stack.events.update(made, before, after, stack.logical_id))["PhysicalResourceId"]

    assert rolled_back == physical_id  # adopted again
    assert not any(write.startswith(("Stop", "Delete")) for write in writes(bedrock, mark))


def test_a_rollback_goes_on_when_what_a_cancelled_update_made_cannot_be_deleted(bedrock, kind, stack, monkeypatch):
    before = kind.properties(bedrock) | {"updateReplacePolicy": "Delete"}
    physical_id, _made, after = cancelled_update(kind, stack, before)

    def refused(*_args: Any) -> str:
        raise RuntimeError("ThrottlingException: Rate exceeded")

    monkeypatch.setattr(lifecycle, "made_by", refused)
    rollback = stack.events.update(physical_id, before, after, stack.logical_id)
    assert index.on_event(rollback) == {"PhysicalResourceId": physical_id}


# --- tags -------------------------------------------------------------------------------------------------


def test_tags_are_made_what_the_stack_says_whatever_they_are_now(bedrock, kind, stack):
    properties = kind.properties(bedrock)
    physical_id, _ = stack.create(properties)
    client = bedrock.client()
    client.tag_resource(
        resourceARN=physical_id, tags=[{"key": "team", "value": "hijacked"}, {"key": "extra", "value": "1"}]
    )
    bedrock.backend.tag_resource(physical_id, [{"key": "aws:cloudformation:stack-name", "value": "my-stack"}])
    desired = properties | {kind.tag_member: [{"key": "team", "value": "ml"}, {"key": "owner", "value": "alice"}]}

    assert stack.update(physical_id, desired, properties)[0] == physical_id

    tags = bedrock.all_tags(physical_id)
    assert tags.pop("aws:cloudformation:stack-name") == "my-stack"  # AWS's own tags are left alone
    assert re.fullmatch(r"[0-9a-f]{64}", tags.pop(FINGERPRINT))
    assert tags.pop(STACK_TAG) == stack.events.stack_id
    assert tags.pop(LOGICAL_ID_TAG) == stack.logical_id
    assert tags.pop(ORIGIN_TAG).startswith("request:")  # the create's, which an update in place keeps
    if kind.resource_type in ("Custom::BedrockModelCustomizationJob", "Custom::BedrockCustomModel"):  # made with a role
        assert re.fullmatch(r"[0-9a-f]{64}", tags.pop(lifecycle.WHAT_IT_MAKES_TAG))
    assert tags == {"team": "ml", "owner": "alice"}
    assert created(bedrock, kind) == created(bedrock, kind)[:1]


@pytest.mark.parametrize(
    "reserved", [FINGERPRINT, STACK_TAG, LOGICAL_ID_TAG, ORIGIN_TAG, "cdk-bedrock-customization:what-it-makes"]
)
def test_a_tag_that_claims_a_reserved_key_is_refused(bedrock, kind, stack, reserved):
    properties = kind.properties(bedrock) | {kind.tag_member: [{"key": reserved, "value": "0" * 64}]}
    mark = len(bedrock.calls)
    with pytest.raises(ValueError, match=f"{kind.tag_member}: the tag key '{reserved}' is reserved"):
        index.on_event(stack.events.create(properties))
    assert bedrock.calls[mark:] == []


@pytest.mark.parametrize("reserved", ["aws:team", "AWS:team", "aWs:"])
def test_a_tag_key_that_aws_reserves_is_refused_in_a_template_written_by_hand(bedrock, kind, stack, reserved):
    """AWS reserves keys that start with "aws:" in any case ("Tagging your AWS resources", which Bedrock's tagging
    page points to): a template written by hand gets the construct's refusal, before anything is made."""
    properties = kind.properties(bedrock) | {kind.tag_member: [{"key": reserved, "value": "v"}]}
    mark = len(bedrock.calls)
    with pytest.raises(ValueError, match=f"{kind.tag_member}: the tag key '{reserved}' starts with '{reserved[:4]}', "):
        index.on_event(stack.events.create(properties))
    assert bedrock.calls[mark:] == []


def test_user_tags_leave_room_for_the_handlers_within_bedrocks_limit(bedrock, kind, stack):
    """Bedrock keeps at most 50 tags on a resource (botocore's TooManyTagsException), though a TagList holds 200;
    the handler adds the fingerprint, the stack tag, the logical id tag and the origin tag (the creating request, or
    "adopted"), and a job or an imported model what it makes: so 46 of the stack's own fit (45), and one more is
    refused before anything is made (a job or an imported model looks first for one that a version before the fifth
    tag made with one more, which it would take)."""
    bedrock_limit = bedrock_tags_per_resource()
    # A job and an imported model are made with a role: what they make, without it, is the fifth.
    handlers = 5 if kind.resource_type in ("Custom::BedrockModelCustomizationJob", "Custom::BedrockCustomModel") else 4
    fitting = [{"key": f"tag-{i:03d}", "value": "v"} for i in range(bedrock_limit - handlers)]
    properties = kind.properties(bedrock)
    mark = len(bedrock.calls)
    most = len(fitting)
    with pytest.raises(ValueError, match=f"{kind.tag_member}: {most + 1} tags; at most {most} "):
        index.on_event(stack.events.create(properties | {kind.tag_member: [*fitting, {"key": "x", "value": "y"}]}))
    assert writes(bedrock, mark) == []

    physical_id, _ = stack.create(properties | {kind.tag_member: fitting})
    assert len(bedrock.all_tags(physical_id)) == bedrock_limit
    assert Stack.named(bedrock, kind).create(properties | {kind.tag_member: fitting})[0] == physical_id
    assert (len(bedrock.all_tags(physical_id)), bedrock.all_tags(physical_id)[ORIGIN_TAG]) == (bedrock_limit, "adopted")


# --- resources made before fingerprints ----------------------------------------------------------------------


def test_a_resource_made_before_fingerprints_is_judged_by_its_old_properties(bedrock, kind, stack):
    """Without the tag, the old properties are the only record: the same configuration stays in place (and gets
    its tag); refused old properties were never applied, so the resource still has the desired ones."""
    properties = kind.properties(bedrock)
    physical_id, _ = stack.create(properties)
    client = bedrock.client()
    client.untag_resource(resourceARN=physical_id, tagKeys=[FINGERPRINT])
    retagged = properties | {kind.tag_member: [{"key": "team", "value": "platform"}]}

    assert stack.update(physical_id, retagged, properties)[0] == physical_id
    assert FINGERPRINT in bedrock.all_tags(physical_id)

    client.untag_resource(resourceARN=physical_id, tagKeys=[FINGERPRINT])
    refused = retagged | kind.refused_change
    assert stack.update(physical_id, retagged, refused)[0] == physical_id

    client.untag_resource(resourceARN=physical_id, tagKeys=[FINGERPRINT])
    assert stack.update(physical_id, retagged | kind.replacing.change, retagged)[0] != physical_id


# --- what a rollback deletes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stack_status", "kept"),
    [
        ("ROLLBACK_IN_PROGRESS", True),  # the rollback of the stack's create
        ("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", True),  # what a failed update took, deleted after
        ("DELETE_IN_PROGRESS", False),
        ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", False),  # replaced, or removed from the template
    ],
)
def test_a_rollback_leaves_what_its_operation_adopted_and_any_other_delete_deletes_it(
    bedrock, kind, stack, monkeypatch, stack_status, kept
):
    """A resource retained by a deleted stack and adopted by the stack deployed again existed before that
    operation: if the operation fails, CloudFormation's rollback sends its Delete as for anything it made (with
    RetainExceptOnCreate too), and the handler leaves it. A Delete outside a rollback deletes it as ever."""
    properties = kind.properties(bedrock)
    physical_id, _ = stack.create(properties)
    again = Stack.named(bedrock, kind)
    assert again.create(properties)[0] == physical_id
    assert bedrock.all_tags(physical_id)[ORIGIN_TAG] == "adopted"
    read: list[str] = []
    monkeypatch.setattr(index, "stack_status", lambda stack_id: read.append(stack_id) or stack_status)
    mark = len(bedrock.calls)

    delete = again.events.delete(physical_id, properties)
    assert index.on_event(delete) == {"PhysicalResourceId": physical_id}
    completed = index.is_complete(is_complete_input(delete, {"PhysicalResourceId": physical_id}))

    assert read and set(read) == {again.events.stack_id}
    if kept:
        assert writes(bedrock, mark) == [] and completed == {"IsComplete": True}
    else:
        assert any(operation.startswith(("Delete", "Stop")) for operation in writes(bedrock, mark))


def writes_of_a_delete(
    bedrock: BedrockStandIn,
    monkeypatch: pytest.MonkeyPatch,
    stack: Stack,
    physical_id: str,
    properties: dict[str, Any],
    stack_status: str,
) -> list[str]:
    """What a whole Delete of the resource (onEvent, then isComplete) writes while the stack is in stack_status."""
    monkeypatch.setattr(index, "stack_status", lambda stack_id: stack_status)
    mark = len(bedrock.calls)
    delete = stack.events.delete(physical_id, properties)
    index.on_event(delete)
    index.is_complete(is_complete_input(delete, {"PhysicalResourceId": physical_id}))
    return writes(bedrock, mark)


def delete_of_a_running_copy(
    bedrock: BedrockStandIn,
    monkeypatch: pytest.MonkeyPatch,
    stack: Stack,
    physical_id: str,
    properties: dict[str, Any],
    stack_status: str,
) -> tuple[list[dict[str, Any]], list[str]]:
    """A whole Delete of a copy still copying, while the stack is in stack_status: onEvent, a poll, the copy ends,
    a poll. The two polls' answers, and what the Delete wrote."""
    monkeypatch.setattr(index, "stack_status", lambda stack_id: stack_status)
    mark = len(bedrock.calls)
    delete = stack.events.delete(physical_id, properties)
    index.on_event(delete)
    poll = is_complete_input(delete, {"PhysicalResourceId": physical_id})
    polls = [index.is_complete(poll)]
    stack.make_ready(physical_id)  # the copy ends while the Delete waits for it
    polls.append(index.is_complete(poll))
    return polls, writes(bedrock, mark)


def test_a_rollback_deletes_what_its_operation_made_even_when_a_retry_found_it(bedrock, kind, stack, monkeypatch):
    properties = kind.properties(bedrock)
    event = stack.events.create(properties)
    physical_id = index.on_event(event)["PhysicalResourceId"]
    # Lambda's retry of the same request (its first answer lost): it finds what the first attempt made, which
    # is not an adoption.
    assert index.on_event(event)["PhysicalResourceId"] == physical_id
    assert bedrock.all_tags(physical_id)[ORIGIN_TAG] == f"request:{event['RequestId']}"
    written = writes_of_a_delete(bedrock, monkeypatch, stack, physical_id, properties, "ROLLBACK_IN_PROGRESS")
    assert any(operation.startswith(("Delete", "Stop")) for operation in written)


@pytest.mark.parametrize(("stack_status", "kept"), [("ROLLBACK_IN_PROGRESS", True), ("DELETE_IN_PROGRESS", False)])
def test_a_rollback_leaves_a_copy_its_operation_adopted(bedrock, monkeypatch, stack_status, kept):
    """A copy job cannot be tagged and its record keeps the tags its request gave: its copied model carries where
    it came from, and an adoption marks it."""
    kind = resource_kinds.COPY_JOB
    properties = kind.properties(bedrock)
    physical_id, _ = Stack.named(bedrock, kind).create(properties)
    model_arn = kind.tagged(bedrock, physical_id, kind.tag_member)
    assert model_arn is not None
    again = Stack.named(bedrock, kind)
    assert again.create(properties)[0] == physical_id
    assert bedrock.all_tags(model_arn)[ORIGIN_TAG] == "adopted"
    written = writes_of_a_delete(bedrock, monkeypatch, again, physical_id, properties, stack_status)
    assert set(written) == (set() if kept else {"DeleteCustomModel"})


@pytest.mark.parametrize(("stack_status", "kept"), [("ROLLBACK_IN_PROGRESS", True), ("DELETE_IN_PROGRESS", False)])
def test_a_rollback_leaves_a_copy_its_operation_adopted_while_it_was_copying(bedrock, monkeypatch, stack_status, kept):
    """A copy retained by a deleted stack and adopted, still copying, by the stack deployed again: no model exists
    yet to mark, and its record keeps the first stack's tags. The rollback's Delete waits for the copy to end, and
    then leaves its model; a Delete outside a rollback deletes it."""
    kind = resource_kinds.COPY_JOB
    properties = kind.properties(bedrock)
    first = Stack.named(bedrock, kind)
    physical_id = index.on_event(first.events.create(properties))["PhysicalResourceId"]
    again = Stack.named(bedrock, kind)
    assert again.events.stack_id != first.events.stack_id
    assert index.on_event(again.events.create(properties))["PhysicalResourceId"] == physical_id
    model_arn = kind.tagged(bedrock, physical_id, kind.tag_member)
    client = bedrock.client()
    with pytest.raises(client.exceptions.ResourceNotFoundException):  # still copying: no model
        client.get_custom_model(modelIdentifier=model_arn)

    polls, written = delete_of_a_running_copy(bedrock, monkeypatch, again, physical_id, properties, stack_status)

    # Kept: left at once. Deleted: waited for, then its model deleted.
    assert polls == ([{"IsComplete": True}] * 2 if kept else [{"IsComplete": False}, {"IsComplete": True}])
    assert set(written) == (set() if kept else {"DeleteCustomModel"})


def test_a_rollback_deletes_a_copy_its_operation_started_once_it_ends(bedrock, monkeypatch):
    """The rolled-back create's own copy, still copying: its record names this stack, so the rollback's Delete waits
    for it to end and deletes its model (nothing of it stays billed)."""
    kind = resource_kinds.COPY_JOB
    stack = Stack.named(bedrock, kind)
    properties = kind.properties(bedrock)
    physical_id = index.on_event(stack.events.create(properties))["PhysicalResourceId"]

    polls, written = delete_of_a_running_copy(
        bedrock, monkeypatch, stack, physical_id, properties, "ROLLBACK_IN_PROGRESS"
    )

    assert polls == [{"IsComplete": False}, {"IsComplete": True}]
    assert set(written) == {"DeleteCustomModel"}


def test_a_rollback_deletes_a_copy_its_operation_made_even_when_a_retry_found_it(bedrock, monkeypatch):
    kind = resource_kinds.COPY_JOB
    stack = Stack.named(bedrock, kind)
    properties = kind.properties(bedrock)
    event = stack.events.create(properties)
    physical_id = index.on_event(event)["PhysicalResourceId"]
    stack.complete(event, physical_id)
    # Lambda's retry of the same request, once the copy has completed: it finds what the first attempt made.
    assert index.on_event(event)["PhysicalResourceId"] == physical_id
    model_arn = kind.tagged(bedrock, physical_id, kind.tag_member)
    assert model_arn is not None
    assert bedrock.all_tags(model_arn)[ORIGIN_TAG] == f"request:{event['RequestId']}"
    written = writes_of_a_delete(bedrock, monkeypatch, stack, physical_id, properties, "ROLLBACK_IN_PROGRESS")
    assert set(written) == {"DeleteCustomModel"}


def test_the_stack_status_is_read_as_cloudformation_answers_it(aws_environment, monkeypatch):
    # botocore's Stubber checks the request and the answer against CloudFormation's service model.
    client = botocore.session.get_session().create_client("cloudformation", region_name="us-east-1")
    stack_id = "arn:aws:cloudformation:us-east-1:123456789012:stack/my-stack/1b2c3d4e-0000-0000-0000-000000000000"
    answer = {"StackName": "my-stack", "StackId": stack_id, "CreationTime": datetime.now(UTC)}
    with Stubber(client) as stubbed:
        stubbed.add_response(
            "describe_stacks", {"Stacks": [answer | {"StackStatus": "ROLLBACK_IN_PROGRESS"}]}, {"StackName": stack_id}
        )
        monkeypatch.setattr(index, "cloudformation_client", lambda: client)
        assert index.stack_status(stack_id) == "ROLLBACK_IN_PROGRESS"
        stubbed.assert_no_pending_responses()


@pytest.mark.parametrize(
    "parent_status",
    [
        "ROLLBACK_IN_PROGRESS",  # the parent's failed create deletes its nested stacks
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",  # a nested stack that the failed update added
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",  # removed by an update
        "DELETE_IN_PROGRESS",  # the parent deleted (the root, with no parent of its own)
    ],
)
def test_a_nested_stack_being_deleted_reads_its_parents_status(aws_environment, monkeypatch, parent_status):
    """DescribeStacks gives a nested stack's ParentId; a nested stack that its parent deletes is DELETE_IN_PROGRESS
    whatever the parent's operation, which the parent's status tells."""
    client = botocore.session.get_session().create_client("cloudformation", region_name="us-east-1")
    arn = "arn:aws:cloudformation:us-east-1:123456789012:stack/{}/1b2c3d4e-0000-0000-0000-00000000000{}"
    parent_id, nested_id = arn.format("parent", 1), arn.format("parent-Models-X1Y2", 2)
    created = datetime.now(UTC)
    nested = {"StackName": "parent-Models-X1Y2", "StackId": nested_id, "CreationTime": created}
    parent = {"StackName": "parent", "StackId": parent_id, "CreationTime": created}
    with Stubber(client) as stubbed:
        stubbed.add_response(
            "describe_stacks",
            {"Stacks": [nested | {"StackStatus": "DELETE_IN_PROGRESS", "ParentId": parent_id, "RootId": parent_id}]},
            {"StackName": nested_id},
        )
        stubbed.add_response(
            "describe_stacks", {"Stacks": [parent | {"StackStatus": parent_status}]}, {"StackName": parent_id}
        )
        monkeypatch.setattr(index, "cloudformation_client", lambda: client)
        assert index.stack_status(nested_id) == parent_status
        stubbed.assert_no_pending_responses()


def test_a_nested_stack_in_its_own_operation_reads_its_own_status(aws_environment, monkeypatch):
    client = botocore.session.get_session().create_client("cloudformation", region_name="us-east-1")
    nested_id = "arn:aws:cloudformation:us-east-1:123456789012:stack/parent-Models-X1Y2/1b2c3d4e-0000-0000-0000-0"
    parent_id = "arn:aws:cloudformation:us-east-1:123456789012:stack/parent/1b2c3d4e-0000-0000-0000-1"
    answer = {"StackName": "parent-Models-X1Y2", "StackId": nested_id, "CreationTime": datetime.now(UTC)}
    with Stubber(client) as stubbed:
        stubbed.add_response(
            "describe_stacks",
            {"Stacks": [answer | {"StackStatus": "UPDATE_ROLLBACK_IN_PROGRESS", "ParentId": parent_id}]},
            {"StackName": nested_id},
        )
        monkeypatch.setattr(index, "cloudformation_client", lambda: client)
        assert index.stack_status(nested_id) == "UPDATE_ROLLBACK_IN_PROGRESS"
        stubbed.assert_no_pending_responses()


def test_the_rollback_of_a_cancelled_update_leaves_the_resource_it_adopted(bedrock, kind, stack, monkeypatch):
    """The logical id held B earlier (then it left the template, retained) and holds A now. An update to B's
    configuration adopts B, and CloudFormation cancels it before the answer: its rollback (an Update back, sent to
    A) deletes what the cancelled update made, but B existed before it."""
    first = kind.properties(bedrock) | {"updateReplacePolicy": "Delete"}
    second = first | kind.replacing.change
    b_id, _ = stack.create(second)
    a_id, _ = stack.create(first)
    assert a_id != b_id
    assert index.on_event(stack.events.update(a_id, second, first, stack.logical_id))["PhysicalResourceId"] == b_id
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_ROLLBACK_IN_PROGRESS")
    mark = len(bedrock.calls)

    assert index.on_event(stack.events.update(a_id, first, second, stack.logical_id))["PhysicalResourceId"] == a_id
    assert not [operation for operation in writes(bedrock, mark) if operation.startswith(("Delete", "Stop"))]


# The operation that deletes each of these kinds outside the stack (a customization job's record cannot be deleted; an
# evaluation job's can, and its own tests delete it).
DELETE_OUTSIDE = {
    resource_kinds.IMPORT.resource_type: ("delete_custom_model", "modelIdentifier"),
    resource_kinds.DEPLOYMENT.resource_type: ("delete_custom_model_deployment", "customModelDeploymentIdentifier"),
    resource_kinds.THROUGHPUT.resource_type: ("delete_provisioned_model_throughput", "provisionedModelId"),
}


def delete_outside_the_stack(bedrock: BedrockStandIn, kind: Kind, physical_id: str) -> None:
    """Delete the resource outside the stack; for a customization job, whose record stays, the model it trained."""
    if kind.resource_type in DELETE_OUTSIDE:
        operation, member = DELETE_OUTSIDE[kind.resource_type]
        getattr(bedrock.client(), operation)(**{member: physical_id})
    else:
        bedrock.client().delete_custom_model(modelIdentifier=bedrock.job(physical_id)["outputModelArn"])


def test_a_rollback_to_a_configuration_whose_resource_is_gone_makes_nothing(bedrock, kind, stack, monkeypatch):
    """A is deleted outside the stack (a job's model, for a job); an update to B completes; a later resource fails,
    and the rollback's Update back to A is sent to B. It makes nothing (no job, no purchase: README, "a rollback
    makes nothing"), and answers an id that is no ARN, so that CloudFormation's clean-up deletes B as its policy says;
    the stack holds nothing, as before the update, until an update makes A again."""
    before = kind.properties(bedrock) | {"updateReplacePolicy": "Delete"}
    after = before | kind.replacing.change
    a_id, _ = stack.create(before)
    delete_outside_the_stack(bedrock, kind, a_id)
    status = "UPDATE_IN_PROGRESS"
    monkeypatch.setattr(index, "stack_status", lambda stack_id: status)
    b_id, _ = stack.update(a_id, after, before)
    assert b_id != a_id
    status = "UPDATE_ROLLBACK_IN_PROGRESS"
    mark = len(bedrock.calls)

    rollback = stack.events.update(b_id, before, after, stack.logical_id)
    response = index.on_event(rollback)
    answered = response["PhysicalResourceId"]
    assert not answered.startswith("arn:")
    assert response["Data"][kind.arn_member] == answered  # what reads its ARN reads the id of nothing
    assert index.is_complete(is_complete_input(rollback, {"PhysicalResourceId": answered})) == {"IsComplete": True}
    assert writes(bedrock, mark) == []
    # CloudFormation's clean-up deletes B, which the failed update made (a completed job: its model).
    status = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
    index.on_event(stack.events.delete(b_id, after, stack.logical_id))
    assert writes(bedrock, mark) == [COMPLETED_DELETED_BY[kind.resource_type]]

    # The stack holds nothing for it; a later update that changes only a tag makes A again, and CloudFormation's
    # clean-up then deletes the id of nothing, with A's properties: that Delete must not take what the update made.
    status = "UPDATE_IN_PROGRESS"
    retagged = before | {kind.tag_member: [{"key": "team", "value": "ml"}]}
    made_again, _ = stack.update(answered, retagged, before)
    status = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
    mark = len(bedrock.calls)
    assert index.on_event(stack.events.delete(answered, before, stack.logical_id)) == {"PhysicalResourceId": answered}
    assert writes(bedrock, mark) == []
    assert kind.record(bedrock, made_again)[kind.status_member] == kind.ready


# The stack statuses in which CloudFormation sends a Create or Update that may create (its own operation on the
# stack), written out from its documentation; every other status of botocore's model is a rollback's or a late one.
CREATING_STATUSES = {"CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "IMPORT_IN_PROGRESS", "REVIEW_IN_PROGRESS"}


def test_every_stack_status_of_the_service_model_creates_or_makes_nothing():
    model = botocore.session.get_session().get_service_model("cloudformation")
    statuses = set(model.shape_for("StackStatus").enum)
    assert statuses - CREATING_STATUSES == lifecycle.ROLLBACK_STATUSES | lifecycle.LATE_STATUSES
    assert not lifecycle.ROLLBACK_STATUSES & lifecycle.LATE_STATUSES


@pytest.mark.parametrize(
    "status", ["ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "DELETE_COMPLETE"]
)
@pytest.mark.parametrize(
    "any_kind", resource_kinds.KINDS, ids=lambda kind: kind.resource_type.removeprefix("Custom::Bedrock")
)
def test_a_late_create_makes_nothing(bedrock, any_kind, monkeypatch, status):
    """Lambda retries an invocation that failed or timed out minutes later: by then CloudFormation has cancelled the
    Create, rolled it back (its Delete found nothing yet) or even deleted the stack. The late Create must not start a
    paid job or purchase that nothing would delete: it makes nothing, and its answer (which CloudFormation ignores)
    is an id of nothing."""
    monkeypatch.setattr(index, "stack_status", lambda stack_id: status)
    stack = Stack.named(bedrock, any_kind)
    event = stack.events.create(any_kind.properties(bedrock), stack.logical_id)
    mark = len(bedrock.calls)

    response = index.on_event(event)

    assert response["PhysicalResourceId"] == f"nothing-made:{stack.logical_id}"
    assert writes(bedrock, mark) == []
    assert index.is_complete(is_complete_input(event, response)) == {"IsComplete": True}


@pytest.mark.parametrize(
    "status",
    [
        "UPDATE_ROLLBACK_COMPLETE",
        "DELETE_IN_PROGRESS",
        "DELETE_COMPLETE",
        # The rollback's clean-up only deletes: its Update back has run, and the late one must not undo it.
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        "ROLLBACK_IN_PROGRESS",
    ],
)
@pytest.mark.parametrize("change", ["in-place", "replacing"])
def test_a_late_update_changes_nothing(bedrock, kind, stack, monkeypatch, status, change):
    """An update's invocation retried after CloudFormation rolled the update back (or began deleting the stack): the
    resource stays as the rollback left it (no retagging, no throughput moved to another model), and the new
    configuration's resource is not made."""
    before = kind.properties(bedrock)
    physical_id, _ = stack.create(before)
    changed = (
        {kind.tag_member: [{"key": "team", "value": "refused-by-the-rollback"}]}
        if change == "in-place"
        else kind.replacing.change
    )
    monkeypatch.setattr(index, "stack_status", lambda stack_id: status)
    mark = len(bedrock.calls)

    late = stack.events.update(physical_id, before | changed, before, stack.logical_id)
    response = index.on_event(late)
    polls_from = len(bedrock.calls)

    assert response["PhysicalResourceId"] == physical_id
    assert writes(bedrock, mark) == []
    # Its polls end at once, reading nothing (the resource never reaches what the late update asked for).
    assert index.is_complete(is_complete_input(late, response)) == {"IsComplete": True}
    assert bedrock.calls[polls_from:] == []


@pytest.mark.parametrize(
    ("policy", "removed"),
    [
        ({"updateReplacePolicy": "Delete"}, True),
        ({"deletionPolicy": "RetainExceptOnCreate"}, True),
        ({"updateReplacePolicy": "Retain"}, False),
        ({}, None),
    ],
    ids=["destroy", "retain-on-update-or-delete", "retain", "default"],
)
def test_what_a_create_cancelled_while_it_created_made_goes_as_its_policy_says(
    bedrock, kind, stack, monkeypatch, policy, removed: bool | None
):
    """The Create read CREATE_IN_PROGRESS, then its create call was slow (botocore retries a throttled call for up
    to two minutes); meanwhile another resource failed, and CloudFormation cancelled this Create and sent the Delete
    of an id it made up, which found nothing yet. Once the create lands, the stack rolls back: what it made is
    deleted (a job stopped) as that Delete would have, unless its policy keeps what a failed operation made. Told
    nothing, a deployment or throughput (billed by the hour) goes, as CloudFormation's default UpdateReplacePolicy
    says; a job's model or an import is kept."""
    if removed is None:
        removed = kind.resource_type in SERVING_TYPES
    properties = {name: value for name, value in kind.properties(bedrock).items() if name != "updateReplacePolicy"}
    properties |= policy
    mark = len(bedrock.calls)
    monkeypatch.setattr(
        index,
        "stack_status",
        lambda stack_id: "ROLLBACK_IN_PROGRESS" if bedrock.calls_to(kind.create_operation) else "CREATE_IN_PROGRESS",
    )

    made = index.on_event(stack.events.create(properties, stack.logical_id))["PhysicalResourceId"]

    assert made.startswith("arn:")
    expected = [kind.create_operation, STOPPED_OR_DELETED[kind.resource_type]] if removed else [kind.create_operation]
    assert [operation for operation in writes(bedrock, mark) if not operation.endswith("TagResource")] == expected


@pytest.mark.parametrize(
    "serving",
    [resource_kinds.IMPORT, resource_kinds.DEPLOYMENT, resource_kinds.THROUGHPUT],
    ids=lambda kind: kind.resource_type.removeprefix("Custom::Bedrock"),
)
def test_what_a_cancelled_create_made_that_bedrock_cannot_delete_yet_is_named_and_adopted_later(
    bedrock, monkeypatch, caplog, serving
):
    """As above, but what the Create made is still being created, which Bedrock refuses to delete (the stand-in's
    ConflictException), and nothing waits for it here. The Create still answers; an error names what stays and
    what to do; the same stack's next deploy of that configuration adopts it rather than make (and pay for) another."""
    caplog.set_level(logging.INFO)
    stack = Stack.named(bedrock, serving)
    properties = serving.properties(bedrock) | {"updateReplacePolicy": "Delete"}
    monkeypatch.setattr(
        index,
        "stack_status",
        lambda stack_id: "ROLLBACK_IN_PROGRESS" if bedrock.calls_to(serving.create_operation) else "CREATE_IN_PROGRESS",
    )

    made = index.on_event(stack.events.create(properties, stack.logical_id))["PhysicalResourceId"]

    assert [record[serving.arn_member] for record in serving.existing(bedrock)] == [made]
    (said,) = [record for record in caplog.records if made in record.getMessage() and record.levelname == "ERROR"]
    assert "nothing waits for it" in said.getMessage() and "adopts it" in said.getMessage()
    serving.set_status(bedrock, made, serving.ready)
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_IN_PROGRESS")
    mark = len(bedrock.calls)
    assert stack.create(properties)[0] == made
    assert serving.create_operation not in writes(bedrock, mark)


def test_a_create_not_cancelled_keeps_what_it_made(bedrock, kind, stack, monkeypatch):
    properties = kind.properties(bedrock) | {"updateReplacePolicy": "Delete"}
    mark = len(bedrock.calls)
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "CREATE_IN_PROGRESS")

    index.on_event(stack.events.create(properties, stack.logical_id))

    assert [operation for operation in writes(bedrock, mark) if not operation.endswith("TagResource")] == [
        kind.create_operation
    ]


def test_a_rollback_that_returns_to_the_resource_before_the_update_keeps_it(bedrock, kind, stack, monkeypatch):
    """The rollback Update of a completed replacement takes the earlier resource back (another id than the one it is
    sent): not made by this request, so never deleted as if this request had made it."""
    before = kind.properties(bedrock) | {"updateReplacePolicy": "Delete"}
    after = before | kind.replacing.change
    a_id, _ = stack.create(before)
    b_id, _ = stack.update(a_id, after, before)
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_ROLLBACK_IN_PROGRESS")
    mark = len(bedrock.calls)

    assert index.on_event(stack.events.update(b_id, before, after, stack.logical_id))["PhysicalResourceId"] == a_id
    assert not [operation for operation in writes(bedrock, mark) if operation.startswith(("Delete", "Stop"))]


@pytest.mark.parametrize(
    ("first_served", "creates"), [(True, 1), (False, 2)], ids=["first-call-served", "second-call-served"]
)
@pytest.mark.parametrize(
    "any_kind", resource_kinds.KINDS, ids=lambda kind: kind.resource_type.removeprefix("Custom::Bedrock")
)
def test_a_create_answered_with_server_errors_takes_what_it_made(bedrock, any_kind, first_served, creates):
    """Every attempt of the call (botocore's retries included) got a server error, though Bedrock may have done the
    work: failing would leave what it made running unseen (a failed Create's Delete never reaches the handler). The
    handler looks for it by its name and configuration and takes it; when the first call made nothing, the same
    request is sent again, and looked for again once that too gets server errors. One resource either way."""
    stack = Stack.named(bedrock, any_kind)
    event = stack.events.create(any_kind.properties(bedrock), stack.logical_id)
    attempts = bedrock.client().meta.config.retries["total_max_attempts"]
    bedrock.answer_with_server_errors(any_kind.create_operation, [first_served] * attempts + [True] * attempts)

    made = index.on_event(event)["PhysicalResourceId"]

    assert made.startswith("arn:")
    assert len(bedrock.calls_to(any_kind.create_operation)) == creates
    assert bedrock.attempts.count(any_kind.create_operation) == creates * attempts
    assert any_kind.record(bedrock, made) is not None


def test_a_create_that_server_errors_kept_from_being_served_fails(bedrock):
    """Nothing was made by either call: the Create fails with the service's error, and nothing is left."""
    kind = resource_kinds.JOB
    stack = Stack.named(bedrock, kind)
    event = stack.events.create(kind.properties(bedrock), stack.logical_id)
    attempts = bedrock.client().meta.config.retries["total_max_attempts"]
    bedrock.answer_with_server_errors(kind.create_operation, [False] * (2 * attempts))

    with pytest.raises(Exception, match="InternalServerException"):
        index.on_event(event)
    assert bedrock.jobs() == []


# The member that names the model a serving resource serves, which an update changes in place.
SERVED_MODEL_MEMBER = {
    resource_kinds.DEPLOYMENT.resource_type: "modelArn",
    resource_kinds.THROUGHPUT.resource_type: "modelId",
}


@pytest.mark.parametrize(
    "serving", [resource_kinds.DEPLOYMENT, resource_kinds.THROUGHPUT], ids=lambda kind: kind.update_operation
)
def test_an_update_carried_out_but_answered_with_a_server_error_is_done(bedrock, serving):
    """Bedrock carried out the update, but answered a server error; botocore sent it again, and Bedrock refused that
    as a change of a resource already changing. The update is done, not failed (which would fail the deployment,
    and then its rollback, refused the same way)."""
    stack = Stack.named(bedrock, serving)
    before = serving.properties(bedrock)
    physical_id, _ = stack.create(before)
    member = SERVED_MODEL_MEMBER[serving.resource_type]
    after = before | {member: active_model(bedrock, "retrained")}
    bedrock.answer_with_server_errors(serving.update_operation, [True])

    response = index.on_event(stack.events.update(physical_id, after, before, stack.logical_id))

    assert response["PhysicalResourceId"] == physical_id
    assert len(bedrock.calls_to(serving.update_operation)) == 1
    assert bedrock.attempts.count(serving.update_operation) == 2
    record = serving.record(bedrock, physical_id)
    changing_to = record["updateDetails"]["modelArn"] if "updateDetails" in record else record["desiredModelArn"]
    assert changing_to == after[member]


def test_a_late_create_adopts_what_its_first_invocation_made(bedrock, kind, stack, monkeypatch):
    """The first invocation made the resource and its answer was lost: the late one takes it, as a rollback's Delete
    of the id CloudFormation made up deletes it (the handler's Delete finds it by its tags)."""
    properties = kind.properties(bedrock)
    status = "CREATE_IN_PROGRESS"
    monkeypatch.setattr(index, "stack_status", lambda stack_id: status)
    made = index.on_event(stack.events.create(properties, stack.logical_id))["PhysicalResourceId"]
    status = "ROLLBACK_IN_PROGRESS"
    mark = len(bedrock.calls)

    assert index.on_event(stack.events.create(properties, stack.logical_id))["PhysicalResourceId"] == made
    assert not [operation for operation in writes(bedrock, mark) if operation.startswith("Create")]


@pytest.mark.parametrize("status", ["CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"])
def test_a_create_of_the_stacks_own_operation_creates(bedrock, kind, stack, monkeypatch, status):
    monkeypatch.setattr(index, "stack_status", lambda stack_id: status)
    event = stack.events.create(kind.properties(bedrock), stack.logical_id)
    mark = len(bedrock.calls)

    made = index.on_event(event)["PhysicalResourceId"]

    assert made.startswith("arn:")
    assert [operation for operation in writes(bedrock, mark) if operation.startswith("Create")] == [
        kind.create_operation
    ]


NOTHING = "nothing-made:Model"
A_JOB = "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.nova-micro-v1:0/abcdefghijkl"
# What reads a model by its job resource's id or attribute: (resource type, its properties naming NOTHING (from
# those it had), the properties it had, the attribute its readers read).
READERS_OF_A_MODEL = [
    (
        "Custom::BedrockModelCustomizationJobResult",
        lambda properties: {"jobIdentifier": NOTHING},
        lambda bedrock: {"jobIdentifier": A_JOB},
        "outputModelArn",
    ),
    (
        resource_kinds.DEPLOYMENT.resource_type,
        lambda properties: properties | {"modelArn": NOTHING},
        resource_kinds.DEPLOYMENT.properties,
        "customModelDeploymentArn",
    ),
]


@pytest.mark.parametrize(
    ("resource_type", "naming_nothing", "before", "attribute"), READERS_OF_A_MODEL, ids=["job-result", "deployment"]
)
def test_what_reads_an_id_of_nothing_in_a_rollback_makes_nothing_in_turn(
    bedrock, monkeypatch, resource_type, naming_nothing, before, attribute
):
    """A rollback made nothing for Model (what it returned to was gone). What reads Model gets a rollback Update
    that names the id of nothing: it makes nothing, writes nothing, and answers an id of nothing whose attributes
    can be read, so that what reads it in turn rolls back too (CloudFormation fails a rollback whose Fn::GetAtt
    finds no such key)."""
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_ROLLBACK_IN_PROGRESS")
    events = CloudFormationEvents(resource_type=resource_type)
    had = before(bedrock)
    rollback = events.update(A_JOB, naming_nothing(had), had, "Reader")
    mark = len(bedrock.calls)

    answered = index.on_event(rollback)

    assert answered["PhysicalResourceId"] == "nothing-made:Reader"
    assert answered["Data"][attribute] == "nothing-made:Reader"
    assert index.is_complete(is_complete_input(rollback, answered)) == {"IsComplete": True}
    assert writes(bedrock, mark) == []


def test_an_update_that_names_an_id_of_nothing_outside_a_rollback_is_refused(bedrock, monkeypatch):
    """Nothing is made (or let through an evaluation gate) from nothing: the error names the property, its value and
    what to do."""
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_IN_PROGRESS")
    kind = resource_kinds.DEPLOYMENT
    events = CloudFormationEvents(resource_type=kind.resource_type)
    had = kind.properties(bedrock)
    nothing = lifecycle.NOTHING_MADE + LONGEST_LOGICAL_ID  # of the most characters a logical id may have
    update = events.update(A_JOB, had | {"modelArn": nothing}, had, "Reader")
    mark = len(bedrock.calls)
    with pytest.raises(ValueError, match=r"^modelArn names nothing\. Nothing was created: change what it names") as e:
        index.on_event(update)
    message = str(e.value)
    # What to do survives a single-function provider's cut, whatever the logical id; then the value.
    assert survives_the_cut(message, "so that an update makes it again.")
    assert f"for {LONGEST_LOGICAL_ID}, " in message and message.endswith(f"modelArn: {nothing!r}.")
    assert writes(bedrock, mark) == []


# What deleting a resource that is ready writes (a completed customization job: its model is deleted).
COMPLETED_DELETED_BY = STOPPED_OR_DELETED | {resource_kinds.JOB.resource_type: "DeleteCustomModel"}


@pytest.mark.parametrize(
    "kind",
    [kind for kind in KINDS if kind.resource_type in DELETE_OUTSIDE],
    ids=lambda kind: kind.resource_type.removeprefix("Custom::Bedrock"),
)
def test_an_update_of_a_resource_that_is_gone_keeps_what_it_makes(bedrock, kind, stack, monkeypatch):
    """The resource the stack holds was deleted outside the stack, and an update changes only what does not identify
    it (its UpdateReplacePolicy, from Delete): the handler makes it again, under the same configuration, and the
    clean-up of a cancelled update's leftovers, which runs only in a rollback, leaves it."""
    unchanged = kind.properties(bedrock)
    before = unchanged | {"updateReplacePolicy": "Delete"}
    physical_id, _ = stack.create(before)
    delete_outside_the_stack(bedrock, kind, physical_id)
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_IN_PROGRESS")
    mark = len(bedrock.calls)

    new_id, _ = stack.update(physical_id, unchanged, before)

    assert new_id != physical_id
    assert writes(bedrock, mark) == [kind.create_operation]
    assert kind.record(bedrock, new_id)[kind.status_member] == kind.ready


@pytest.mark.parametrize(
    "kind",
    [kind for kind in KINDS if kind.resource_type in DELETE_OUTSIDE],
    ids=lambda kind: kind.resource_type.removeprefix("Custom::Bedrock"),
)
def test_the_rollback_of_a_cancelled_update_deletes_what_it_made_when_the_old_resource_is_gone(
    bedrock, kind, stack, monkeypatch
):
    """The resource the stack holds was deleted outside the stack while an update replaced it: the rollback's
    Update back makes nothing (the resource stays gone), and what the cancelled update made still goes, as its
    UpdateReplacePolicy (Delete) says."""
    before = kind.properties(bedrock) | {"updateReplacePolicy": "Delete"}
    physical_id, made, after = cancelled_update(kind, stack, before)
    delete_outside_the_stack(bedrock, kind, physical_id)

    written = rollback_of_cancelled_update(bedrock, kind, stack, monkeypatch, physical_id, before, after)

    assert [call.operation for call in written] == [STOPPED_OR_DELETED[kind.resource_type]]
    assert made in str(written[0].params)


# --- a replacement that no wait condition would wait for ----------------------------------------------------------

# For each job type, a change of its properties that needs a new job.
JOB_REPLACEMENTS = [
    (resource_kinds.JOB, {"hyperParameters": {"epochCount": "3", "batchSize": "1", "learningRate": "0.00001"}}),
    # New weights (a new role alone changes nothing once the job has completed: what it imported is the same).
    (resource_kinds.IMPORT_JOB, {"modelDataSource": {"s3DataSource": {"s3Uri": "s3://weights-bucket/llama-3-8b-v2/"}}}),
    (resource_kinds.COPY_JOB, {"targetModelName": "support-copy"}),
    # Its results elsewhere (a new role alone changes nothing once it has completed: its results are the same).
    (resource_kinds.EVALUATION_JOB, {"outputDataConfig": {"s3Uri": "s3://evaluation-results/evaluations-v2/"}}),
]


def waited_for(properties: dict[str, Any], key: str | None) -> dict[str, Any]:
    """The properties of a job that a wait condition of this key waits for (None: an older template's, unkeyed)."""
    return properties | {"waitUntil": "Accepted"} | ({} if key is None else {"waitConditionKey": key})


@pytest.mark.parametrize(
    ("job_kind", "change"), JOB_REPLACEMENTS, ids=lambda value: getattr(value, "create_operation", "")
)
def test_a_job_replaced_under_its_wait_conditions_key_is_refused_before_anything_is_made(bedrock, job_kind, change):
    """A wait condition waits only when it is created, and its key (in its logical id) is made at synth: a value
    known only at deploy (a CfnParameter) that changes the job leaves the key as it was. The new job would run
    while the deployment went on, so the update is refused, and its rollback changes nothing."""
    stack = Stack.named(bedrock, job_kind)
    before = waited_for(job_kind.properties(bedrock), "1A2B3C4D")
    after = before | change
    physical_id, _ = stack.create(before)
    mark = len(bedrock.calls)

    with pytest.raises(ValueError, match=r"waitConditionKey: '1A2B3C4D' is unchanged.*Nothing was created"):
        index.on_event(stack.events.update(physical_id, after, before, stack.logical_id))
    assert writes(bedrock, mark) == []
    # CloudFormation's rollback: an Update back to the properties the job has.
    assert stack.update(physical_id, before, after)[0] == physical_id
    assert writes(bedrock, mark) == []


@pytest.mark.parametrize(
    ("job_kind", "change"), JOB_REPLACEMENTS, ids=lambda value: getattr(value, "create_operation", "")
)
@pytest.mark.parametrize(
    ("old_key", "new_key"),
    [
        ("1A2B3C4D", "5E6F7A8B"),  # a change the template shows: a new wait condition
        (None, None),  # plain templates, and templates made before the key
        (None, "5E6F7A8B"),
        ("1A2B3C4D", None),  # now polled: the job resource itself waits
    ],
)
def test_a_job_replaced_with_a_new_wait_condition_or_none_is_replaced(bedrock, job_kind, change, old_key, new_key):
    stack = Stack.named(bedrock, job_kind)
    properties = job_kind.properties(bedrock)
    before = waited_for(properties, old_key)
    physical_id, _ = stack.create(before)
    mark = len(bedrock.calls)
    after = waited_for(properties | change, new_key)
    new_id = index.on_event(stack.events.update(physical_id, after, before, stack.logical_id))["PhysicalResourceId"]
    assert new_id != physical_id
    assert job_kind.create_operation in writes(bedrock, mark)


# For each type made with a role: its properties of one configuration or another (a variant), and the role.
MADE_WITH_A_ROLE = {
    "job": (resource_kinds.JOB, lambda variant: {"hyperParameters": {"epochCount": str(variant + 1)}}),
    "import-job": (
        resource_kinds.IMPORT_JOB,
        lambda variant: {"modelDataSource": {"s3DataSource": {"s3Uri": f"s3://weights-bucket/v{variant}/"}}},
    ),
    "nova-model": (
        resource_kinds.IMPORT,
        lambda variant: {"modelSourceConfig": {"s3DataSource": {"s3Uri": f"{ESCROW_URI}v{variant}/"}}},
    ),
}


def role(number: int) -> str:
    return f"{ROLE_ARN}-drawn-anew-{number}"


@pytest.mark.parametrize("made", MADE_WITH_A_ROLE)
@pytest.mark.parametrize("stacks", ["one-stack", "made-again"])
def test_an_update_back_to_an_earlier_configuration_takes_its_resource_whatever_role_it_ran_with(bedrock, made, stacks):
    """v0 (role 1), then v1 (role 2): a replacement, v0's resource kept (UpdateReplacePolicy Retain, the default), or
    in a stack made again after the first was deleted with RETAIN; then back to v0 with role 2. The update's
    replacement takes v0's resource, which differs only in its role, as a create does: nothing trains or imports
    again."""
    kind, variant = MADE_WITH_A_ROLE[made]

    def properties(number: int, role_number: int) -> dict[str, Any]:
        return kind.properties(bedrock) | variant(number) | {"roleArn": role(role_number)}

    stack = Stack.named(bedrock, kind)
    first, _ = stack.create(properties(0, 1))
    if stacks == "made-again":
        stack = Stack.named(bedrock, kind)  # a new stack id, the same stack name; the first retained its resource
        second, _ = stack.create(properties(1, 2))
    else:
        second, _ = stack.update(first, properties(1, 2), properties(0, 1))
    assert second != first
    assert stack.update(second, properties(0, 2), properties(1, 2))[0] == first
    assert sum(call.operation == kind.create_operation for call in bedrock.calls) == 2


@pytest.mark.parametrize("made", MADE_WITH_A_ROLE)
def test_a_resource_made_before_the_fifth_tag_with_46_of_your_tags_stays_updatable(bedrock, made):
    """A version before what-it-makes put four tags of its own, so 46 of yours fit Bedrock's 50. Under this version
    its updates in place and their rollbacks go on without the fifth tag (there is no room); a replacement, which
    makes a resource anew, needs room for all five and is refused before anything is made, and so rolls back."""
    kind, variant = MADE_WITH_A_ROLE[made]
    limit = bedrock_tags_per_resource()
    yours = [{"key": f"tag-{i:03d}", "value": "v"} for i in range(limit - 4)]

    def properties(number: int, role_number: int, tags: list[dict[str, str]]) -> dict[str, Any]:
        return kind.properties(bedrock) | variant(number) | {"roleArn": role(role_number), kind.tag_member: tags}

    stack = Stack.named(bedrock, kind)
    physical_id, _ = stack.create(properties(0, 1, yours[:-1]))
    tagged = kind.tagged(bedrock, physical_id, kind.tag_member)
    assert tagged is not None
    client = bedrock.client()
    client.untag_resource(resourceARN=tagged, tagKeys=[lifecycle.WHAT_IT_MAKES_TAG])  # as the older version made it
    client.tag_resource(resourceARN=tagged, tags=yours[-1:])
    before = properties(0, 1, yours)
    mark = len(bedrock.calls)

    role_changed = properties(0, 2, yours)
    assert stack.update(physical_id, role_changed, before)[0] == physical_id
    assert stack.update(physical_id, before, role_changed)[0] == physical_id  # its rollback
    tags = bedrock.all_tags(tagged)
    assert len(tags) == limit and lifecycle.WHAT_IT_MAKES_TAG not in tags
    assert {key: tags[key] for key in tags if key.startswith("tag-")} == {tag["key"]: "v" for tag in yours}

    replaced = properties(1, 1, yours)
    with pytest.raises(ValueError, match=f"{kind.tag_member}: {limit - 4} tags; at most {limit - 5} "):
        index.on_event(stack.events.update(physical_id, replaced, before, stack.logical_id))
    assert stack.update(physical_id, before, replaced)[0] == physical_id  # its rollback
    assert kind.create_operation not in writes(bedrock, mark)
    assert [resource[kind.arn_member] for resource in kind.existing(bedrock)] == [physical_id]


@pytest.mark.parametrize(
    "change", [{"roleArn": ROLE_ARN + "-v2"}, {"updateReplacePolicy": "Delete"}], ids=["identifying", "replace-policy"]
)
def test_a_gone_job_is_not_made_again_by_an_update_nor_by_its_rollback(bedrock, monkeypatch, change):
    """An evaluation job's record can be deleted (BatchDeleteEvaluationJob): an Update then has no live job to
    compare with, and a new one would run unwaited for, so it is refused. CloudFormation's rollback sends the Update
    back, to the same gone job: the stack returns to where it was, and nothing is made."""
    kind = resource_kinds.EVALUATION_JOB
    stack = Stack.named(bedrock, kind)
    before = waited_for(kind.properties(bedrock), "1A2B3C4D")
    after = before | change
    physical_id, _ = stack.create(before)
    EVALUATION_JOBS.resources(bedrock.backend).clear()  # deleted outside the stack
    status = "UPDATE_IN_PROGRESS"
    monkeypatch.setattr(index, "stack_status", lambda stack_id: status)
    mark = len(bedrock.calls)
    with pytest.raises(ValueError, match=r"waitConditionKey: '1A2B3C4D' is unchanged"):
        index.on_event(stack.events.update(physical_id, after, before, stack.logical_id))

    status = "UPDATE_ROLLBACK_IN_PROGRESS"
    rollback = stack.events.update(physical_id, before, after, stack.logical_id)
    response = index.on_event(rollback)
    assert response["PhysicalResourceId"] == physical_id
    # Each response's Data replaces the resource's attributes: without any, every Fn::GetAtt of it would fail. They
    # name nothing, as a rollback that makes nothing answers, so that what reads them makes nothing in turn.
    assert response["Data"] and set(response["Data"].values()) == {f"{lifecycle.NOTHING_MADE}{stack.logical_id}"}
    assert {"jobArn", "jobName", "status"} <= set(response["Data"])  # GetEvaluationJob's members
    assert index.is_complete(is_complete_input(rollback, {"PhysicalResourceId": physical_id})) == {"IsComplete": True}
    assert writes(bedrock, mark) == []


def a_waited_for_job_whose_model_is_gone(bedrock: BedrockStandIn) -> tuple[Stack, dict[str, Any], dict[str, Any]]:
    """A stack's completed, waited-for job whose model was deleted outside the stack; its properties, and those of
    a change the template shows that keeps the wait condition's key (a tag)."""
    kind = resource_kinds.JOB
    stack = Stack.named(bedrock, kind)
    before = waited_for(kind.properties(bedrock), "1A2B3C4D") | {"updateReplacePolicy": "Delete"}
    job_arn, _ = stack.create(before)
    bedrock.set_job_status(job_arn, "Completed")
    bedrock.client().delete_custom_model(modelIdentifier=bedrock.job(job_arn)["outputModelArn"])
    return stack, before, before | {"jobTags": [{"key": "team", "value": "ops"}]}


def test_the_rollback_of_a_refused_update_of_a_job_the_stack_holds_as_nothing_makes_nothing(bedrock, monkeypatch):
    """The stack holds an id of nothing for a waited-for job (an earlier rollback returned to a job whose model was
    deleted outside the stack, and made nothing). An update that would make a job under the same key is refused;
    CloudFormation's rollback then sends the Update back with that id and the properties it had: it makes nothing
    and succeeds (refused too, the stack would stay in UPDATE_ROLLBACK_FAILED, as would each ContinueUpdateRollback).
    Found by an outside review's hypothesis state machine."""
    stack, before, after = a_waited_for_job_whose_model_is_gone(bedrock)
    nothing = lifecycle.NOTHING_MADE + stack.logical_id
    status = "UPDATE_IN_PROGRESS"
    monkeypatch.setattr(index, "stack_status", lambda stack_id: status)
    mark = len(bedrock.calls)
    with pytest.raises(ValueError, match=r"waitConditionKey: '1A2B3C4D' is unchanged"):
        index.on_event(stack.events.update(nothing, after, before, stack.logical_id))

    status = "UPDATE_ROLLBACK_IN_PROGRESS"
    rollback = stack.events.update(nothing, before, after, stack.logical_id)
    response = index.on_event(rollback)
    assert response["PhysicalResourceId"] == nothing
    assert index.is_complete(is_complete_input(rollback, response)) == {"IsComplete": True}
    assert writes(bedrock, mark) == []


def test_a_request_reads_whether_the_stack_is_rolling_back_once(bedrock, monkeypatch):
    """The rollback above, where a second read of the stack's status would fail (DescribeStacks throttled: taken as
    not rolling back). Read twice, the refusal let the request by as a rollback's and the create then made a job;
    read once, the request makes nothing. Found by an outside review."""
    stack, before, after = a_waited_for_job_whose_model_is_gone(bedrock)
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_ROLLBACK_IN_PROGRESS")
    readings = itertools.chain([True], itertools.repeat(False))  # rolling back, then reads that failed
    monkeypatch.setattr(index, "_makes_nothing", lambda stack_id: next(readings))
    mark = len(bedrock.calls)

    nothing = lifecycle.NOTHING_MADE + stack.logical_id
    assert (
        index.on_event(stack.events.update(nothing, before, after, stack.logical_id))["PhysicalResourceId"] == nothing
    )
    assert writes(bedrock, mark) == []


def test_the_rollback_of_a_refused_replacement_leaves_a_job_of_its_configuration_made_earlier(bedrock):
    """The logical id trained B earlier (left behind by an update, UpdateReplacePolicy Retain) and holds A now. A
    deploy-time change back to B's configuration, under the same key, is refused: it made nothing, so its rollback
    (an Update back, which deletes what a cancelled update made when the policy is Delete) must not take B for it."""
    kind = resource_kinds.JOB
    stack = Stack.named(bedrock, kind)
    first = waited_for(kind.properties(bedrock), "1A2B3C4D") | {"updateReplacePolicy": "Delete"}
    second = first | JOB_REPLACEMENTS[0][1]
    b_id, _ = stack.create(second)
    a_id, _ = stack.create(first)
    assert a_id != b_id
    with pytest.raises(ValueError, match="waitConditionKey"):
        index.on_event(stack.events.update(a_id, second, first, stack.logical_id))
    mark = len(bedrock.calls)

    assert index.on_event(stack.events.update(a_id, first, second, stack.logical_id))["PhysicalResourceId"] == a_id
    assert writes(bedrock, mark) == []


# Jobs that cannot be stopped (import and copy jobs), and the operation that deletes the model each makes (API
# reference: DeleteImportedModel, DeleteCustomModel).
UNSTOPPABLE_JOB_REPLACEMENTS = [
    entry for entry in JOB_REPLACEMENTS if entry[0] in (resource_kinds.IMPORT_JOB, resource_kinds.COPY_JOB)
]
MODEL_DELETED_BY = {
    resource_kinds.IMPORT_JOB.resource_type: "DeleteImportedModel",
    resource_kinds.COPY_JOB.resource_type: "DeleteCustomModel",
}


@pytest.mark.parametrize(
    ("job_kind", "change"), UNSTOPPABLE_JOB_REPLACEMENTS, ids=lambda value: getattr(value, "create_operation", "")
)
def test_the_rollback_of_a_cancelled_update_says_what_a_job_that_cannot_be_stopped_leaves(
    bedrock, monkeypatch, caplog, job_kind, change
):
    """An import or copy job cannot be stopped, and the rollback does not wait for it: it says that the model the job
    makes stays once the job ends, and a later deploy of that configuration adopts it rather than import again."""
    caplog.set_level(logging.INFO)
    stack = Stack.named(bedrock, job_kind)
    before = job_kind.properties(bedrock) | {"updateReplacePolicy": "Delete"}
    after = before | change
    physical_id, _ = stack.create(before)
    made = index.on_event(stack.events.update(physical_id, after, before, stack.logical_id))["PhysicalResourceId"]
    assert job_kind.record(bedrock, made)[job_kind.status_member] == "InProgress"
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_ROLLBACK_IN_PROGRESS")
    mark = len(bedrock.calls)

    assert stack.update(physical_id, before, after)[0] == physical_id

    assert writes(bedrock, mark) == []
    assert not [record for record in caplog.records if "Waiting for" in record.getMessage()]  # nothing waits
    (said,) = [record for record in caplog.records if made in record.getMessage() and record.levelname == "ERROR"]
    assert "cannot be stopped" in said.getMessage() and "delete that model by hand" in said.getMessage()
    job_kind.set_status(bedrock, made, "Completed")
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_IN_PROGRESS")
    assert stack.update(physical_id, after, before)[0] == made
    assert job_kind.create_operation not in writes(bedrock, mark)


@pytest.mark.parametrize(
    ("job_kind", "change"), UNSTOPPABLE_JOB_REPLACEMENTS, ids=lambda value: getattr(value, "create_operation", "")
)
def test_the_rollback_of_a_cancelled_update_deletes_the_model_of_a_job_that_has_ended(
    bedrock, monkeypatch, job_kind, change
):
    stack = Stack.named(bedrock, job_kind)
    before = job_kind.properties(bedrock) | {"updateReplacePolicy": "Delete"}
    after = before | change
    physical_id, _ = stack.create(before)
    made = index.on_event(stack.events.update(physical_id, after, before, stack.logical_id))["PhysicalResourceId"]
    job_kind.set_status(bedrock, made, "Completed")
    (model,) = [job_kind.tagged(bedrock, made, member) for member in job_kind.tag_members[-1:]]
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_ROLLBACK_IN_PROGRESS")
    mark = len(bedrock.calls)

    assert stack.update(physical_id, before, after)[0] == physical_id

    deleted_by = MODEL_DELETED_BY[job_kind.resource_type]
    assert writes(bedrock, mark) == [deleted_by]
    assert model is not None and model in str(bedrock.calls_to(deleted_by)[-1])


@pytest.mark.parametrize("gone", [False, True], ids=["held-resource-live", "held-resource-gone"])
def test_a_resource_adopted_by_an_update_that_fails_in_place_stays_through_the_rollback(bedrock, monkeypatch, gone):
    """The logical id made throughput B earlier (left by a replacement, retained) and holds A now. An update back to
    B's configuration adopts B, and changing it in place fails (Bedrock refuses, a throttle): the update fails, and
    its rollback (an Update back to A, which may have been deleted outside the stack) deletes nothing: B existed
    before the operation."""
    kind = resource_kinds.THROUGHPUT
    stack = Stack.named(bedrock, kind)
    first = kind.properties(bedrock) | {"updateReplacePolicy": "Delete"}
    second = first | {"modelUnits": "2"}
    b_id, _ = stack.create(second)
    a_id, _ = stack.create(first)
    if gone:
        bedrock.client().delete_provisioned_model_throughput(provisionedModelId=a_id)
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_IN_PROGRESS")
    handler = index._handler(stack.events.create(first, stack.logical_id))

    def refused(*_args: Any) -> None:
        raise RuntimeError("UpdateProvisionedModelThroughput: ThrottlingException")

    with monkeypatch.context() as patched:
        patched.setattr(handler, "KIND", dataclasses.replace(handler.KIND, update_in_place=refused))
        with pytest.raises(RuntimeError, match="ThrottlingException"):
            index.on_event(stack.events.update(a_id, second, first, stack.logical_id))
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_ROLLBACK_IN_PROGRESS")
    mark = len(bedrock.calls)

    assert index.on_event(stack.events.update(a_id, first, second, stack.logical_id))["PhysicalResourceId"] == a_id
    assert writes(bedrock, mark) == []
    assert kind.record(bedrock, b_id)[kind.status_member] == kind.ready


@pytest.mark.parametrize(
    ("name_before", "name_after"),
    [(None, "support-pt"), ("support-pt", None), ("support-pt", "support-pt-v2")],
    ids=["generated-to-given", "given-to-generated", "given-to-another"],
)
@pytest.mark.parametrize("commitment", [None, "OneMonth"], ids=["no-commitment", "one-month"])
def test_a_throughput_kept_under_another_name_is_taken_back_and_renamed(bedrock, name_before, name_after, commitment):
    """A throughput's name changes in place. The stack of this name kept it (RETAIN) and was deleted; deployed again
    with another name, it takes the throughput back and renames it: no second throughput, no second commitment term
    (README, Commitments)."""
    kind = resource_kinds.THROUGHPUT
    unnamed = kind.properties(bedrock) | ({"commitmentDuration": commitment} if commitment else {})
    before = unnamed | ({kind.name_member: name_before} if name_before else {})
    after = unnamed | ({kind.name_member: name_after} if name_after else {})
    kept, _ = Stack.named(bedrock, kind).create(before)
    mark = len(bedrock.calls)

    again = Stack.named(bedrock, kind)  # the same stack name, a new stack id
    physical_id = index.on_event(again.events.create(after, again.logical_id))["PhysicalResourceId"]

    assert physical_id == kept
    assert writes(bedrock, mark)[:1] == ["TagResource"] and kind.create_operation not in writes(bedrock, mark)
    (renamed,) = bedrock.calls_to("UpdateProvisionedModelThroughput")
    if name_after is not None:
        assert renamed["desiredProvisionedModelName"] == name_after
    else:
        assert renamed["desiredProvisionedModelName"].startswith("my-stack-Model-")


def test_a_throughput_kept_while_still_being_created_is_taken_and_renamed_once_created(bedrock):
    """Bedrock changes a throughput in service (the stand-in refuses UpdateProvisionedModelThroughput otherwise): a
    stack made again that takes one still being created under another name says so, as for a deployment, rather than
    fail with Bedrock's refusal; deployed again once it is in service, it renames it."""
    kind = resource_kinds.THROUGHPUT
    properties = kind.properties(bedrock) | {"commitmentDuration": "OneMonth"}
    kept, _ = Stack.named(bedrock, kind).create(properties)
    bedrock.set_throughput_status(kept, "Creating")
    mark = len(bedrock.calls)

    again = Stack.named(bedrock, kind)
    renamed = properties | {kind.name_member: "support-pt"}
    with pytest.raises(lifecycle.ChangeInProgress, match="is still being created") as refusal:
        index.on_event(again.events.create(renamed, again.logical_id))
    assert "Only its tags were changed" in str(refusal.value)
    assert set(writes(bedrock, mark)) <= {"TagResource", "UntagResource"}

    bedrock.set_throughput_status(kept, "InService")
    assert index.on_event(again.events.create(renamed, again.logical_id))["PhysicalResourceId"] == kept
    (call,) = bedrock.calls_to("UpdateProvisionedModelThroughput")
    assert call["desiredProvisionedModelName"] == "support-pt"


def test_the_throughputs_are_listed_page_by_page_to_find_the_one_kept(bedrock, monkeypatch):
    """The service does not say how many throughputs a list page holds: the kept one, on a later page behind newer
    throughputs of the same configuration, is still found and taken back."""
    monkeypatch.setattr(listing, "MAX_RESULTS", 1)
    kind = resource_kinds.THROUGHPUT
    properties = kind.properties(bedrock) | {"commitmentDuration": "OneMonth"}
    kept, _ = Stack.named(bedrock, kind).create(properties)
    for other in ("Other1", "Other2"):
        Stack.named(bedrock, kind, logical_id=other).create(properties | {kind.name_member: f"{other.lower()}-pt"})
    mark = len(bedrock.calls)

    again = Stack.named(bedrock, kind)
    physical_id = index.on_event(again.events.create(properties | {kind.name_member: "support-pt"}, again.logical_id))

    assert physical_id["PhysicalResourceId"] == kept
    assert kind.create_operation not in writes(bedrock, mark)
    assert [call.operation for call in bedrock.calls[mark:]].count("ListProvisionedModelThroughputs") == 3


def test_a_throughput_deleted_while_the_list_is_read_is_passed_over(bedrock, monkeypatch):
    """Another stack's throughput of the same configuration is listed, then deleted (its stack's delete or rollback)
    before its tags are read: it is no candidate, and the create goes on (the engine test met this race)."""
    kind = resource_kinds.THROUGHPUT
    properties = kind.properties(bedrock)
    other, _ = Stack.named(bedrock, kind, "team-b").create(properties | {kind.name_member: "team-b-pt"})
    read_tags = lifecycle.current_tags

    def deleted_first(client, arn):
        if arn == other:
            client.delete_provisioned_model_throughput(provisionedModelId=arn)
        return read_tags(client, arn)

    monkeypatch.setattr(lifecycle, "current_tags", deleted_first)
    mark = len(bedrock.calls)

    physical_id, _ = Stack.named(bedrock, kind).create(properties)

    assert physical_id != other
    assert writes(bedrock, mark) == ["DeleteProvisionedModelThroughput", kind.create_operation]


def test_a_throughput_of_another_logical_id_under_another_name_is_not_taken(bedrock):
    """The same configuration kept by another construct (logical id) of the stack is that construct's: a new one is
    made."""
    kind = resource_kinds.THROUGHPUT
    properties = kind.properties(bedrock)
    Stack.named(bedrock, kind, logical_id="Other").create(properties | {kind.name_member: "other-pt"})
    mark = len(bedrock.calls)

    stack = Stack.named(bedrock, kind)
    stack.create(properties)

    assert kind.create_operation in writes(bedrock, mark)
    assert len(kind.existing(bedrock)) == 2


def test_a_delete_of_a_made_up_id_when_the_create_made_nothing_completes_at_once(bedrock, kind, stack, monkeypatch):
    """CloudFormation cancelled a Create before anything was made, and rolls it back with a Delete of an id of its
    own. Nothing is found, nothing is written, and the first poll completes: a poll that answered "not complete" for
    ever would hold the rollback until the provider's total timeout, then DELETE_FAILED."""
    monkeypatch.setattr(index, "operation_started", lambda stack_id: OPERATION_STARTED)
    properties = kind.properties(bedrock)
    mark = len(bedrock.calls)
    delete = stack.events.delete(MADE_UP_ID, properties, stack.logical_id)
    response = index.on_event(delete)
    assert response["PhysicalResourceId"] == MADE_UP_ID
    assert index.is_complete(is_complete_input(delete, response))["IsComplete"] is True
    assert writes(bedrock, mark) == []
