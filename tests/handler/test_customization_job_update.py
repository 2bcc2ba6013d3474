"""Custom::BedrockModelCustomizationJob Update: tags change in place, and so do the same model or key named otherwise
and, once the job has completed, a new role; anything else replaces the job."""

from __future__ import annotations

import re
from typing import Any

import pytest
from bedrock_custom_resource import contract, index, lifecycle
from cdk_bedrock_customization.emulation.bedrock_stand_in import JOB_ARN_PATTERN, BedrockStandIn
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import (
    SERVICE_TOKEN,
    CloudFormationEvents,
    Deployed,
    deploy,
    distillation_properties,
    fine_tuning_properties,
    is_complete_input,
    rft_properties,
    start,
)

CREATE = "CreateModelCustomizationJob"
JOB_NAME = re.compile(contract.shape("JobName").metadata["pattern"])
MODEL_NAME = re.compile(contract.shape("CustomModelName").metadata["pattern"])


def update(events: CloudFormationEvents, deployed: Deployed, properties: dict[str, Any]) -> tuple[dict[str, Any], dict]:
    """onEvent for an Update from deployed's properties to properties: (event, result)."""
    event = events.update(deployed.physical_id, properties, deployed.properties)
    return event, index.on_event(event)


def writes(bedrock: BedrockStandIn, since: int) -> list[Any]:
    """The calls since the since-th that change something in Bedrock (reads are Get* and List*)."""
    return [call for call in bedrock.calls[since:] if not call.operation.startswith(("Get", "List"))]


def model_arn(bedrock: BedrockStandIn, deployed: Deployed) -> str:
    arn: str = bedrock.job(deployed.physical_id)["outputModelArn"]
    return arn


def test_a_tag_only_update_retags_the_job_and_the_model_in_place(bedrock, events):
    deployed = deploy(events, bedrock)
    job_arn, old_model_arn = deployed.physical_id, model_arn(bedrock, deployed)
    assert bedrock.tags(job_arn) == {"team": "ml", "cost-center": "1234"}
    assert bedrock.tags(old_model_arn) == {"team": "ml", "stage": "dev"}
    calls_before = len(bedrock.calls)

    properties = deployed.properties | {
        # team changed, cost-center removed, owner added
        "jobTags": [{"key": "team", "value": "platform"}, {"key": "owner", "value": "alice"}],
        # stage changed, team removed
        "customModelTags": [{"key": "stage", "value": "prod"}],
    }
    event, result = update(events, deployed, properties)

    assert result == {"PhysicalResourceId": job_arn}
    assert bedrock.tags(job_arn) == {"team": "platform", "owner": "alice"}
    assert bedrock.tags(old_model_arn) == {"stage": "prod"}
    update_calls = bedrock.operations()[calls_before:]
    assert CREATE not in update_calls
    assert len(bedrock.jobs()) == 1
    assert [model["modelArn"] for model in bedrock.models()] == [old_model_arn]

    completion = index.is_complete(is_complete_input(event, result))
    assert completion["IsComplete"] is True
    assert completion["Data"].keys() == deployed.data.keys()
    assert completion["Data"]["outputModelArn"] == old_model_arn
    assert completion["Data"]["jobArn"] == job_arn


def test_a_job_tags_change_leaves_the_model_alone(bedrock, events):
    deployed = deploy(events, bedrock)
    calls_before = len(bedrock.calls)
    properties = deployed.properties | {"jobTags": [{"key": "team", "value": "ml"}]}
    update(events, deployed, properties)
    assert bedrock.tags(deployed.physical_id) == {"team": "ml"}
    assert bedrock.tags(model_arn(bedrock, deployed)) == {"team": "ml", "stage": "dev"}
    update_writes = writes(bedrock, calls_before)
    assert [call.operation for call in update_writes] == ["UntagResource"]
    assert update_writes[0].params == {"resourceARN": deployed.physical_id, "tagKeys": ["cost-center"]}


def test_removing_every_tag_untags_both_resources(bedrock, events):
    deployed = deploy(events, bedrock)
    properties = {k: v for k, v in deployed.properties.items() if k not in ("jobTags", "customModelTags")}
    _, result = update(events, deployed, properties)
    assert result == {"PhysicalResourceId": deployed.physical_id}
    assert bedrock.tags(deployed.physical_id) == {}
    assert bedrock.tags(model_arn(bedrock, deployed)) == {}
    assert bedrock.calls_to(CREATE) == [bedrock.calls_to(CREATE)[0]]


def test_reordering_tags_changes_nothing_in_bedrock(bedrock, events):
    deployed = deploy(events, bedrock)
    calls_before = len(bedrock.calls)
    properties = deployed.properties
    properties["jobTags"].reverse()
    properties["customModelTags"].reverse()
    _, result = update(events, deployed, properties)
    assert result == {"PhysicalResourceId": deployed.physical_id}
    assert writes(bedrock, calls_before) == []


def test_a_service_token_only_change_is_a_no_op(bedrock, events):
    deployed = deploy(events, bedrock)
    calls_before = len(bedrock.calls)
    properties = deployed.properties | {"ServiceToken": SERVICE_TOKEN.replace("AbCdEf123456", "ZyXwVu654321")}
    event, result = update(events, deployed, properties)
    assert result == {"PhysicalResourceId": deployed.physical_id}
    assert writes(bedrock, calls_before) == []
    completion = index.is_complete(is_complete_input(event, result))
    assert completion == {"IsComplete": True, "Data": deployed.data}


def test_spelling_out_the_default_customization_type_is_no_change(bedrock, events):
    deployed = deploy(events, bedrock)
    _, result = update(events, deployed, deployed.properties | {"customizationType": "FINE_TUNING"})
    assert result == {"PhysicalResourceId": deployed.physical_id}
    assert len(bedrock.calls_to(CREATE)) == 1


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"hyperParameters": {"epochCount": "3", "batchSize": "1", "learningRate": "0.00001"}}, id="hyper"),
        pytest.param({"trainingDataConfig": {"s3Uri": "s3://my-data-bucket/train/v2.jsonl"}}, id="training-data"),
        pytest.param({"baseModelIdentifier": "amazon.titan-text-lite-v1:0:4k"}, id="base-model"),
    ],
)
def test_any_other_change_starts_a_new_job_with_new_names_and_leaves_the_old_one(bedrock, events, change):
    deployed = deploy(events, bedrock)
    old_job = bedrock.job(deployed.physical_id)
    old_model_arn = old_job["outputModelArn"]
    properties = deployed.properties | change | {"jobTags": [{"key": "team", "value": "platform"}]}

    event, result = update(events, deployed, properties)

    new_arn = result["PhysicalResourceId"]
    assert new_arn != deployed.physical_id
    assert JOB_ARN_PATTERN.fullmatch(new_arn)
    first, second = bedrock.calls_to(CREATE)
    assert second["jobName"] != first["jobName"]
    assert second["customModelName"] != first["customModelName"]
    assert JOB_NAME.fullmatch(second["jobName"])
    assert MODEL_NAME.fullmatch(second["customModelName"])
    assert second["clientRequestToken"] != first["clientRequestToken"]
    for name, value in change.items():
        assert second[name] == value
    new_job = bedrock.job(new_arn)
    assert new_job["status"] == "InProgress"
    assert bedrock.tags(new_arn) == {"team": "platform"}
    # the old job and its model are untouched (CloudFormation deletes them later, after the update)
    assert bedrock.job(deployed.physical_id) == old_job
    assert bedrock.tags(deployed.physical_id) == {"team": "ml", "cost-center": "1234"}
    assert [model["modelArn"] for model in bedrock.models()] == [old_model_arn]
    assert bedrock.tags(old_model_arn) == {"team": "ml", "stage": "dev"}
    assert index.is_complete(is_complete_input(event, result)) == {"IsComplete": False}


def test_a_retried_replacement_starts_one_new_job(bedrock, events):
    deployed = deploy(events, bedrock)
    properties = deployed.properties | {"hyperParameters": {"epochCount": "5"}}
    event = events.update(deployed.physical_id, properties, deployed.properties)
    first, second = index.on_event(event), index.on_event(event)
    assert first == second
    assert len(bedrock.jobs()) == 2


@pytest.mark.parametrize(
    ("name", "value"), [("jobName", "churn-ft"), ("customModelName", "churn_model")], ids=["jobName", "customModelName"]
)
def test_a_replacement_that_would_reuse_an_explicit_name_fails_and_creates_nothing(bedrock, events, name, value):
    deployed = deploy(events, bedrock, fine_tuning_properties(**{name: value}))
    calls_before = len(bedrock.calls)
    properties = deployed.properties | {"hyperParameters": {"epochCount": "3"}}
    with pytest.raises(ValueError, match=f"{name}: '{value}' is held by ") as raised:
        update(events, deployed, properties)
    if name == "jobName":  # the job's name is how it is found: it is named as the one being replaced
        assert "the one this update replaces" in str(raised.value)
        assert "differs in hyperParameters" in str(raised.value)
    assert writes(bedrock, calls_before) == []
    assert len(bedrock.jobs()) == 1


def test_a_replacement_with_a_changed_explicit_name_uses_the_new_name(bedrock, events):
    deployed = deploy(events, bedrock, fine_tuning_properties(jobName="churn-ft-v1", customModelName="churn-v1"))
    properties = deployed.properties | {
        "jobName": "churn-ft-v2",
        "customModelName": "churn-v2",
        "hyperParameters": {"epochCount": "3"},
    }
    _, result = update(events, deployed, properties)
    job = bedrock.job(result["PhysicalResourceId"])
    assert (job["jobName"], job["outputModelName"]) == ("churn-ft-v2", "churn-v2")


def test_an_update_with_invalid_properties_changes_nothing(bedrock, events):
    deployed = deploy(events, bedrock)
    calls_before = len(bedrock.calls)
    properties = deployed.properties | {"jobTags": [{"key": "team", "value": "x"}], "roleArn": "BedrockRole"}
    with pytest.raises(contract.InvalidProperties, match="roleArn: 'BedrockRole' does not match"):
        update(events, deployed, properties)
    assert bedrock.calls[calls_before:] == []
    assert bedrock.tags(deployed.physical_id) == {"team": "ml", "cost-center": "1234"}


NEW_ROLE = "arn:aws:iam::123456789012:role/shared-bedrock-role"


def test_a_new_role_for_a_completed_job_changes_nothing_in_bedrock_but_its_record(bedrock, events):
    """The service role is what the job ran as: a completed job's model is the same whatever role a later template
    names (the stack's roles shared, or a role renamed by an upgrade), so no new job trains again."""
    deployed = deploy(events, bedrock)
    calls_before = len(bedrock.calls)
    renamed = deployed.properties | {"roleArn": NEW_ROLE}
    event, result = update(events, deployed, renamed)
    assert result == {"PhysicalResourceId": deployed.physical_id}
    assert CREATE not in bedrock.operations()[calls_before:]
    assert len(bedrock.jobs()) == 1
    assert index.is_complete(is_complete_input(event, result))["Data"] == deployed.data
    # Its record is the new configuration's: a later update of the same properties is in place too, and so is one
    # back to the old role (a rollback).
    after = Deployed(event, deployed.physical_id, deployed.data)
    assert update(events, after, renamed)[1] == {"PhysicalResourceId": deployed.physical_id}
    assert update(events, after, deployed.properties)[1] == {"PhysicalResourceId": deployed.physical_id}
    assert CREATE not in bedrock.operations()[calls_before:]


@pytest.mark.parametrize("status", ["InProgress", "Failed", "Stopped"])
def test_a_new_role_for_a_job_that_has_not_completed_makes_a_new_job(bedrock, events, status):
    deployed = start(events)
    bedrock.set_job_status(deployed.physical_id, status)
    _event, result = update(events, deployed, deployed.properties | {"roleArn": NEW_ROLE})
    assert result["PhysicalResourceId"] != deployed.physical_id
    assert bedrock.operations().count(CREATE) == 2


def test_a_new_role_with_another_change_makes_a_new_job(bedrock, events):
    deployed = deploy(events, bedrock)
    changed = deployed.properties | {"roleArn": NEW_ROLE, "hyperParameters": {"epochCount": "3"}}
    _event, result = update(events, deployed, changed)
    assert result["PhysicalResourceId"] != deployed.physical_id
    assert bedrock.operations().count(CREATE) == 2


# The same model, key or teacher written as an id and as an ARN of the stack's account and Region (the API
# reference's identifier patterns take both); written by hand here, not by the code under test.
NOVA_MICRO_ARN = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:us-east-1:123456789012:key/{KEY_ID}"
RESPELLINGS = [
    ({"baseModelIdentifier": "amazon.nova-micro-v1:0:128k"}, {"baseModelIdentifier": NOVA_MICRO_ARN}),
    ({"baseModelIdentifier": NOVA_MICRO_ARN}, {"baseModelIdentifier": "amazon.nova-micro-v1:0:128k"}),
    ({"customModelKmsKeyId": KEY_ID}, {"customModelKmsKeyId": KEY_ARN}),
    (
        {"customModelKmsKeyId": "alias/models"},
        {"customModelKmsKeyId": "arn:aws:kms:us-east-1:123456789012:alias/models"},
    ),
]


@pytest.mark.parametrize(("written", "rewritten"), RESPELLINGS)
@pytest.mark.parametrize("status", ["InProgress", "Completed"])
def test_the_same_model_or_key_written_otherwise_keeps_the_job(bedrock, events, written, rewritten, status):
    deployed = start(events, fine_tuning_properties(**written))
    bedrock.set_job_status(deployed.physical_id, status)
    _event, result = update(events, deployed, deployed.properties | rewritten)
    assert result == {"PhysicalResourceId": deployed.physical_id}
    assert bedrock.operations().count(CREATE) == 1


@pytest.mark.parametrize(
    "rewritten",
    [
        {"baseModelIdentifier": "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-micro-v1:0:128k"},
        {"baseModelIdentifier": "amazon.nova-lite-v1:0:300k"},
        {"customModelKmsKeyId": f"arn:aws:kms:us-east-1:210987654321:key/{KEY_ID}"},  # another account's key
        # An alias is a key of its own, whatever its name (KMS DescribeKey: key id, key ARN, alias name, alias ARN).
        {"customModelKmsKeyId": f"arn:aws:kms:us-east-1:123456789012:alias/{KEY_ID}"},
        {"customModelKmsKeyId": "alias/models"},
    ],
)
def test_a_model_or_key_of_another_region_account_or_name_makes_a_new_job(bedrock, events, rewritten):
    deployed = start(
        events, fine_tuning_properties(baseModelIdentifier="amazon.nova-micro-v1:0:128k", customModelKmsKeyId=KEY_ID)
    )
    _event, result = update(events, deployed, deployed.properties | rewritten)
    assert result["PhysicalResourceId"] != deployed.physical_id
    assert bedrock.operations().count(CREATE) == 2


def test_a_distillation_teacher_written_as_its_id_keeps_the_job(bedrock, events):
    deployed = start(events, distillation_properties())
    teacher = deployed.properties["customizationConfig"]["distillationConfig"]["teacherModelConfig"]
    assert teacher["teacherModelIdentifier"] == "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0"
    respelled = deployed.properties
    respelled["customizationConfig"]["distillationConfig"]["teacherModelConfig"]["teacherModelIdentifier"] = (
        "amazon.nova-pro-v1:0"
    )
    _event, result = update(events, deployed, respelled)
    assert result == {"PhysicalResourceId": deployed.physical_id}
    assert bedrock.operations().count(CREATE) == 1


def test_names_that_only_end_alike_are_other_resources(bedrock, events):
    deployed = start(events, fine_tuning_properties(customModelKmsKeyId="alias/models"))
    rewritten = {"customModelKmsKeyId": "arn:aws:kms:us-east-1:123456789012:alias/legacy/alias/models"}
    _event, result = update(events, deployed, deployed.properties | rewritten)
    assert result["PhysicalResourceId"] != deployed.physical_id
    assert bedrock.operations().count(CREATE) == 2
    # A custom model's ARN ends in a generated id; a bare string there names a model by its name.
    custom_model = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/abcdefghijkl"
    assert not lifecycle._names_alike(custom_model, "abcdefghijkl", "us-east-1", "123456789012")


IDENTIFIERS = st.from_regex(r"[a-z0-9][a-z0-9.:/-]{0,40}", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(
    service_and_type=st.sampled_from(
        [
            ("bedrock", "foundation-model"),
            ("bedrock", "inference-profile"),
            ("kms", "key"),
            ("kms", "alias"),
            ("bedrock", "custom-model"),
            ("bedrock", "imported-model"),
            ("iam", "role"),
        ]
    ),
    identifier=IDENTIFIERS,
    name=st.one_of(IDENTIFIERS, st.just("")),
    same_name=st.booleans(),
    account=st.sampled_from(["123456789012", "", "210987654321"]),
    region=st.sampled_from(["us-east-1", "", "us-west-2"]),
)
def test_an_arn_and_a_name_are_alike_only_when_the_name_identifies_that_resource_here(
    service_and_type, identifier, name, same_name, account, region
):
    """The API reference's identifier forms: a foundation model or inference profile by its id, a KMS key by its id,
    an alias by alias/<name>; each only in the stack's account and Region (or in an ARN that has none)."""
    service, resource_type = service_and_type
    arn = f"arn:aws:{service}:{region}:{account}:{resource_type}/{identifier}"
    named_by = f"alias/{identifier}" if resource_type == "alias" else identifier
    written = named_by if same_name else name
    here = region in ("", "us-east-1") and account in ("", "123456789012")
    identified = service_and_type in {
        ("bedrock", "foundation-model"),
        ("bedrock", "inference-profile"),
        ("kms", "key"),
        ("kms", "alias"),
    }
    expected = written == named_by and here and identified
    assert lifecycle._names_alike(arn, written, "us-east-1", "123456789012") is expected
    assert lifecycle._names_alike(written, arn, "us-east-1", "123456789012") is expected


def in_place_then_replaced(bedrock: BedrockStandIn, events: CloudFormationEvents) -> tuple[Deployed, Deployed, str]:
    """X deployed (job A); Y, a new role, in place on A; Z, new hyper-parameters, a new job C (completed): (A as X,
    A as Y, C). A stays under the name X's configuration generated."""
    as_x = deploy(events, bedrock)
    with_new_role = as_x.properties | {"roleArn": NEW_ROLE}
    event, result = update(events, as_x, with_new_role)
    assert result == {"PhysicalResourceId": as_x.physical_id}
    as_y = Deployed(event, as_x.physical_id, as_x.data)
    retrained = with_new_role | {"hyperParameters": {"epochCount": "3"}}
    _event, replaced = update(events, as_y, retrained)
    assert replaced["PhysicalResourceId"] != as_x.physical_id
    bedrock.set_job_status(replaced["PhysicalResourceId"], "Completed")
    return as_x, as_y, replaced["PhysicalResourceId"]


def test_the_rollback_of_a_replacement_takes_back_the_job_a_new_role_was_given_in_place(bedrock, events, monkeypatch):
    """CloudFormation rolls back to A with an Update back to Y sent to C: A, found under the name X gave it, is taken
    back; nothing trains again, and the stack does not lose A's model."""
    as_x, as_y, replacement = in_place_then_replaced(bedrock, events)
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_ROLLBACK_IN_PROGRESS")
    rollback = events.update(replacement, as_y.properties, as_y.properties | {"hyperParameters": {"epochCount": "3"}})
    assert index.on_event(rollback) == {"PhysicalResourceId": as_x.physical_id}
    assert bedrock.operations().count(CREATE) == 2


def test_an_update_back_to_the_configuration_a_job_was_made_from_takes_it_back(bedrock, events):
    """Z back to X: the name X generates holds A, made from X and since changed in place only in its role."""
    as_x, as_y, replacement = in_place_then_replaced(bedrock, events)
    back = events.update(replacement, as_x.properties, as_y.properties | {"hyperParameters": {"epochCount": "3"}})
    assert index.on_event(back) == {"PhysicalResourceId": as_x.physical_id}
    assert bedrock.operations().count(CREATE) == 2


def test_a_create_of_the_configuration_a_job_was_changed_to_in_place_takes_it(bedrock, events):
    """A stack of the same name deployed again (the first deleted with RETAIN) with Y: A has Y, under X's name."""
    as_x = deploy(events, bedrock)
    update(events, as_x, as_x.properties | {"roleArn": NEW_ROLE})
    again = CloudFormationEvents()  # a new stack id, the same stack name
    assert index.on_event(again.create(as_x.properties | {"roleArn": NEW_ROLE})) == {
        "PhysicalResourceId": as_x.physical_id
    }
    assert bedrock.operations().count(CREATE) == 1


ROLES_DRAWN_ANEW = [f"arn:aws:iam::123456789012:role/my-stack-ModelServiceRole-DRAWN{n}" for n in range(3)]


@pytest.mark.parametrize("status", ["Completed", "InProgress"])
@pytest.mark.parametrize("given_name", [{}, {"jobName": "support-ft-job"}], ids=["generated-name", "name-you-gave"])
def test_every_stack_made_again_takes_the_job_its_first_made_though_its_role_was_drawn_anew(
    bedrock, events, status, given_name
):
    """CloudFormation draws a generated name anew each time it creates a resource (the "Name type" page: "a unique
    physical ID"), so a stack of the same name deleted with RETAIN, or rolled back once its wait timed out, and
    deployed again asks for the same job with a new service role. That job is taken, completed or still training;
    nothing trains again. A name you gave holding it is no NameTaken refusal, whose advice (another name) would
    train again. Each stack that takes it tags it with its own configuration, whose role is gone with that stack:
    the stacks made after it take the job too."""
    first = start(events, fine_tuning_properties(**given_name))
    bedrock.set_job_status(first.physical_id, status)
    for role in ROLES_DRAWN_ANEW:
        again = CloudFormationEvents()  # a new stack id, the same stack name
        assert index.on_event(again.create(first.properties | {"roleArn": role})) == {
            "PhysicalResourceId": first.physical_id
        }
    assert bedrock.operations().count(CREATE) == 1


def test_a_stack_made_again_takes_a_done_job_whose_role_an_update_changed_in_place(bedrock, events):
    """The update records the job's new configuration (its new role, gone with the stack); Bedrock keeps the role it
    ran with. Neither is the role of the stack made again, which takes the job by what it makes."""
    done = deploy(events, bedrock)
    assert update(events, done, done.properties | {"roleArn": NEW_ROLE})[1] == {"PhysicalResourceId": done.physical_id}
    again = CloudFormationEvents().create(done.properties | {"roleArn": ROLES_DRAWN_ANEW[0]})
    assert index.on_event(again) == {"PhysicalResourceId": done.physical_id}
    assert bedrock.operations().count(CREATE) == 1


def test_a_job_made_before_what_it_makes_was_tagged_is_taken_by_what_it_ran_with_and_then_tagged(bedrock, events):
    """A job made by an earlier version carries no cdk-bedrock-customization:what-it-makes tag: the stack made again
    takes it by its configuration with the role Bedrock says it ran with, and tags it, so the next one takes it too."""
    first = start(events)
    bedrock.client().untag_resource(resourceARN=first.physical_id, tagKeys=[lifecycle.WHAT_IT_MAKES_TAG])
    for role in ROLES_DRAWN_ANEW[:2]:
        again = CloudFormationEvents().create(first.properties | {"roleArn": role})
        assert index.on_event(again) == {"PhysicalResourceId": first.physical_id}
        assert lifecycle.WHAT_IT_MAKES_TAG in bedrock.all_tags(first.physical_id)
    assert bedrock.operations().count(CREATE) == 1


def _graded_by(properties: dict[str, Any], grader: str) -> dict[str, Any]:
    config = properties["customizationConfig"]["rftConfig"]
    return properties | {
        "customizationConfig": {"rftConfig": config | {"graderConfig": {"lambdaGrader": {"lambdaArn": grader}}}}
    }


GRADER_DRAWN_ANEW = "arn:aws:lambda:us-east-1:123456789012:function:my-stack-Grader-NEWSUFFIX12"


@pytest.mark.parametrize("status", ["Completed", "InProgress"])
def test_a_stack_made_again_takes_its_rft_job_though_its_grader_function_was_named_anew(bedrock, events, status):
    """An RFT job's grader function made in the stack gets a name drawn anew with it (a Lambda function without a
    FunctionName: "AWS CloudFormation generates a unique physical ID"): the grader is called only while the job
    trains, as its role is used, so the job is taken, not trained again."""
    first = start(events, rft_properties())
    bedrock.set_job_status(first.physical_id, status)
    again = _graded_by(first.properties, GRADER_DRAWN_ANEW) | {"roleArn": NEW_ROLE}
    assert index.on_event(CloudFormationEvents().create(again)) == {"PhysicalResourceId": first.physical_id}
    assert bedrock.operations().count(CREATE) == 1


def test_a_new_grader_for_a_completed_rft_job_changes_it_in_place_and_for_a_running_one_makes_a_new_job(
    bedrock, events
):
    done = deploy(events, bedrock, rft_properties())
    assert update(events, done, _graded_by(done.properties, GRADER_DRAWN_ANEW))[1] == {
        "PhysicalResourceId": done.physical_id
    }
    running = start(events, rft_properties(), logical_id="Running")
    regraded = _graded_by(running.properties, GRADER_DRAWN_ANEW)
    replaced = index.on_event(events.update(running.physical_id, regraded, running.properties, "Running"))
    assert replaced["PhysicalResourceId"] != running.physical_id
    assert bedrock.operations().count(CREATE) == 3


VPC = {"subnetIds": ["subnet-0123456789abcdef0"], "securityGroupIds": ["sg-0123456789abcdef0"]}
VPC_DRAWN_ANEW = {"subnetIds": ["subnet-0123456789abcdef0"], "securityGroupIds": ["sg-0fedcba9876543210"]}


@pytest.mark.parametrize(
    ("first_network", "status", "network_again", "taken"),
    [
        (VPC, "InProgress", VPC_DRAWN_ANEW, True),  # the stack's security group made anew
        (None, "Completed", VPC, True),  # a done job is alike whatever it ran with, as an update has it
        (VPC, "Completed", None, True),
        (None, "InProgress", VPC, False),  # a running job outside the network now asked for is not that job
        (VPC, "InProgress", None, False),
    ],
)
def test_a_stack_made_again_takes_a_job_of_another_network_as_an_update_would(
    bedrock, events, first_network, status, network_again, taken
):
    network = {"vpcConfig": first_network} if first_network else {}
    first = start(events, fine_tuning_properties(**network))
    bedrock.set_job_status(first.physical_id, status)
    again_properties = {key: value for key, value in first.properties.items() if key != "vpcConfig"}
    again_properties |= {"roleArn": NEW_ROLE} | ({"vpcConfig": network_again} if network_again else {})
    made = index.on_event(CloudFormationEvents().create(again_properties))["PhysicalResourceId"]
    assert (made == first.physical_id) is taken
    assert bedrock.operations().count(CREATE) == (1 if taken else 2)


@pytest.mark.parametrize(
    ("status", "change"),
    [
        ("Completed", {"hyperParameters": {"epochCount": "3"}}),  # another configuration, besides the role
        ("Failed", {}),  # nothing to take
        ("Stopped", {}),
    ],
)
def test_a_stack_made_again_makes_a_new_job_when_its_first_cannot_be_taken(bedrock, events, status, change):
    first = start(events)
    bedrock.set_job_status(first.physical_id, status)
    again = CloudFormationEvents()
    made = index.on_event(again.create(first.properties | {"roleArn": NEW_ROLE} | change))["PhysicalResourceId"]
    assert made != first.physical_id
    assert bedrock.operations().count(CREATE) == 2


def test_another_logical_ids_job_is_never_taken_for_this_ones(bedrock, events):
    """The listing looks for this logical id's generated names: Model1's job is not Model's, though its name starts
    with Model's stem."""
    other = deploy(events, bedrock, logical_id="Model1")
    made = index.on_event(events.create(other.properties))["PhysicalResourceId"]
    assert made != other.physical_id
    assert bedrock.operations().count(CREATE) == 2


@pytest.mark.parametrize("status", ["InProgress", "Stopped"])
def test_a_new_role_for_an_unfinished_job_under_a_name_you_gave_is_refused_not_taken_as_done(bedrock, events, status):
    """A job still training (or stopped) under a name you gave, whose role an update changes: the update replaces it
    (a new job must run with the new role), and Bedrock's job names are unique, so the create is refused naming the
    name (NameTaken), nothing created. Taking the replaced job for the new configuration would answer the same
    physical id and report the update done while the job runs (or stays stopped) with the old role."""
    deployed = start(events, fine_tuning_properties(jobName="support-ft-job"))
    bedrock.set_job_status(deployed.physical_id, status)
    new_role = "arn:aws:iam::123456789012:role/my-stack-ModelServiceRole-NEW"
    with pytest.raises(lifecycle.NameTaken, match="support-ft-job"):
        update(events, deployed, deployed.properties | {"roleArn": new_role})
    assert bedrock.operations().count(CREATE) == 1
