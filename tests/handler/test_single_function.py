"""The single-function provider closes crhelper 2.0.12's gaps: guarded here, on crhelper's real code.

Polling leaves nothing behind however it ends; it has a deadline; its rule names fit EventBridge for any
logical id, and its rule target's input fits EventBridge's 8192 characters without the old properties; a
request complete at once polls not at all; a retried invocation (Lambda retries one that
failed or timed out) starts nothing twice and leaves nothing twice; the ResponseURL is never logged.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from bedrock_custom_resource import index
from bedrock_single_function import polling_input, provider
from cdk_bedrock_customization import limits
from cdk_bedrock_customization.emulation.bedrock_stand_in import BedrockStandIn
from crhelper import resource_helper

from .conftest import (
    ACCOUNT,
    BASE_MODEL,
    REGION,
    SERVICE_TOKEN,
    CloudFormationEvents,
    active_model,
    deploy,
    fine_tuning_properties,
)
from .serving_helpers import deployment_properties
from .single_function_helpers import (
    FUNCTION_ARN,
    FUNCTION_NAME,
    RULE_PREFIX,
    TARGET_INPUT_MAX_CHARACTERS,
    TOTAL_TIMEOUT_SECONDS,
    Leftovers,
    SingleFunction,
    single_function_fixture,  # noqa: F401 (a fixture)
)


def only_job(bedrock: BedrockStandIn) -> str:
    (job,) = bedrock.jobs()
    arn: str = job["jobArn"]
    return arn


def assert_polling(leftovers: Leftovers) -> str:
    """Exactly one request is being polled: one rule, its one target, one permission. Returns the rule name."""
    (name,) = leftovers.rules
    (target,) = leftovers.targets[name]
    (statement,) = leftovers.statements
    assert statement["Sid"] == name
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == leftovers.rules[name]["Arn"]
    assert json.loads(target["Input"])["CrHelperPoll"] is True
    return name


def start_polling(single_function: SingleFunction, event: dict[str, Any]) -> str:
    """The first invocation of a request that is not complete at once: no response, one polling rule."""
    single_function.invoke(event)
    assert single_function.responses(event) == []
    return assert_polling(single_function.leftovers())


def response(single_function: SingleFunction, event: dict[str, Any]) -> dict[str, Any]:
    (body,) = single_function.responses(event)
    return body


# --- nothing left behind -----------------------------------------------------------------------------------


OUTCOMES: dict[str, tuple[Callable[[BedrockStandIn, str], None], str]] = {
    "success": (lambda bedrock, arn: bedrock.set_job_status(arn, "Completed"), "SUCCESS"),
    "job-failed": (lambda bedrock, arn: bedrock.set_job_status(arn, "Failed", failure_message="No data"), "FAILED"),
    "job-stopped": (lambda bedrock, arn: bedrock.set_job_status(arn, "Stopped"), "FAILED"),
}


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_polling_leaves_nothing_once_answered(single_function, bedrock, events, outcome):
    event = single_function.addressed(events.create())
    start_polling(single_function, event)
    assert single_function.play_schedule() == 1  # still running: polled, not answered
    assert single_function.responses(event) == []

    move, status = OUTCOMES[outcome]
    move(bedrock, only_job(bedrock))
    assert single_function.play_schedule() == 1
    assert response(single_function, event)["Status"] == status
    assert single_function.leftovers().empty
    assert single_function.play_schedule() == 0  # nothing polls on


def test_a_polling_setup_that_fails_half_way_removes_what_it_made_and_answers_failed(
    single_function, bedrock, events, monkeypatch
):
    from moto.core.exceptions import JsonRESTError
    from moto.events.models import EventsBackend

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise JsonRESTError("AccessDeniedException", "not authorized to perform: events:PutTargets")

    monkeypatch.setattr(EventsBackend, "put_targets", refuse)
    event = single_function.addressed(events.create())
    single_function.invoke(event)
    body = response(single_function, event)
    assert body["Status"] == "FAILED"
    assert "not authorized to perform: events:PutTargets" in body["Reason"]
    assert body["PhysicalResourceId"] == only_job(bedrock)  # the rollback's Delete stops the job
    assert body["Data"] == {}
    assert single_function.put_rules  # the rule was made, then removed
    assert single_function.leftovers().empty


# --- the deadline ------------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


def test_polling_ends_at_the_providers_total_timeout_and_not_before(single_function, bedrock, events, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(provider, "now", clock)
    event = single_function.addressed(events.create())
    start_polling(single_function, event)
    job_arn = only_job(bedrock)

    clock.now += TOTAL_TIMEOUT_SECONDS - 1
    assert single_function.play_schedule() == 1
    assert single_function.responses(event) == []  # not before the deadline
    assert_polling(single_function.leftovers())

    clock.now += 2
    assert single_function.play_schedule() == 1
    body = response(single_function, event)
    assert body["Status"] == "FAILED"
    assert "did not complete within the provider's total timeout of 60 minutes" in body["Reason"]
    assert len(body["Reason"]) <= provider.MAX_REASON_CHARACTERS
    assert body["PhysicalResourceId"] == job_arn
    assert body["Data"] == {}
    assert single_function.leftovers().empty
    assert bedrock.job(job_arn)["status"] == "InProgress"  # the rollback's Delete stops it


def test_an_event_delivered_again_keeps_its_first_deadline(single_function, bedrock, events, monkeypatch):
    """Lambda may deliver an asynchronous event more than once: half an hour later, the same request polls on to
    the deadline its first invocation set, not another hour."""
    clock = Clock()
    monkeypatch.setattr(provider, "now", clock)
    event = single_function.addressed(events.create())
    start_polling(single_function, event)
    clock.now += 1800
    single_function.invoke(event)
    assert len(bedrock.jobs()) == 1
    clock.now += TOTAL_TIMEOUT_SECONDS - 1800 + 1
    single_function.play_schedule()
    assert "did not complete within the provider's total timeout" in response(single_function, event)["Reason"]
    assert single_function.leftovers().empty


def test_a_deadline_that_cannot_be_read_back_counts_from_now_rather_than_failing_a_started_job(
    single_function, bedrock, events, monkeypatch
):
    """Reading the polling rule's targets only recovers a first invocation's deadline: refused (throttled, denied),
    the job already started polls to a deadline from now, rather than answering FAILED with a made-up id."""
    from moto.core.exceptions import JsonRESTError
    from moto.events.models import EventsBackend

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise JsonRESTError("ThrottlingException", "Rate exceeded")

    clock = Clock()
    monkeypatch.setattr(provider, "now", clock)
    reads = EventsBackend.list_targets_by_rule
    monkeypatch.setattr(EventsBackend, "list_targets_by_rule", refuse)
    event = single_function.addressed(events.create())
    single_function.invoke(event)
    monkeypatch.setattr(EventsBackend, "list_targets_by_rule", reads)
    assert single_function.responses(event) == []
    assert_polling(single_function.leftovers())
    job_arn = only_job(bedrock)
    clock.now += TOTAL_TIMEOUT_SECONDS - 1  # still running, within the total timeout from the start
    assert single_function.play_schedule() == 1
    assert single_function.responses(event) == []
    bedrock.set_job_status(job_arn, "Completed")
    single_function.play_schedule()
    body = response(single_function, event)
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", job_arn)
    assert single_function.leftovers().empty


def test_a_poll_after_the_deadline_of_a_job_that_has_completed_succeeds(single_function, bedrock, events, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(provider, "now", clock)
    event = single_function.addressed(events.create())
    start_polling(single_function, event)
    bedrock.set_job_status(only_job(bedrock), "Completed", training_loss=0.25, validation_loss=0.5)
    clock.now += TOTAL_TIMEOUT_SECONDS + 60  # the poll came late; the job ended in time
    assert single_function.play_schedule() == 1
    body = response(single_function, event)
    assert (body["Status"], body["Data"]["status"]) == ("SUCCESS", "Completed")
    assert single_function.leftovers().empty


def test_the_rollback_of_a_create_that_timed_out_stops_the_job_and_leaves_nothing(
    single_function, bedrock, events, monkeypatch
):
    clock = Clock()
    monkeypatch.setattr(provider, "now", clock)
    create = single_function.addressed(events.create())
    start_polling(single_function, create)
    clock.now += TOTAL_TIMEOUT_SECONDS + 1
    single_function.play_schedule()
    failed = response(single_function, create)
    assert (failed["Status"], failed["PhysicalResourceId"]) == ("FAILED", only_job(bedrock))
    assert single_function.leftovers().empty

    delete = single_function.addressed(events.delete(failed["PhysicalResourceId"]))
    start_polling(single_function, delete)  # the job is stopping
    assert bedrock.calls_to("StopModelCustomizationJob") == [{"jobIdentifier": failed["PhysicalResourceId"]}]
    bedrock.finish_stopping()
    assert single_function.play_schedule() == 1
    assert response(single_function, delete)["Status"] == "SUCCESS"
    assert bedrock.job(failed["PhysicalResourceId"])["status"] == "Stopped"
    assert single_function.leftovers().empty


def test_the_timeout_reason_keeps_its_message_for_a_long_logical_id(single_function, bedrock, events, monkeypatch):
    """Reasons are cut at the end to 256 characters: the ids must not push the message out."""
    clock = Clock()
    monkeypatch.setattr(provider, "now", clock)
    event = single_function.addressed(events.create(logical_id="Model" * 51))  # 255 characters, the most
    start_polling(single_function, event)
    clock.now += TOTAL_TIMEOUT_SECONDS + 1
    single_function.play_schedule()
    body = response(single_function, event)
    assert "did not complete within the provider's total timeout of 60 minutes" in body["Reason"]
    assert len(body["Reason"]) <= provider.MAX_REASON_CHARACTERS


# --- names -------------------------------------------------------------------------------------------------


def test_an_80_character_logical_id_gets_a_rule_name_that_fits_eventbridge(single_function, bedrock, events):
    logical_id = "FineTuned" * 8 + "Job12345"
    assert len(logical_id) == 80
    event = single_function.addressed(events.create(logical_id=logical_id))
    name = start_polling(single_function, event)
    assert len(name) <= 64
    assert name.startswith(RULE_PREFIX)
    assert name == provider.polling_rule_name(event)

    bedrock.set_job_status(only_job(bedrock), "Completed")
    single_function.play_schedule()
    assert response(single_function, event)["Status"] == "SUCCESS"
    assert single_function.leftovers().empty


def test_eventbridge_refuses_a_rule_name_over_64_characters(single_function):
    """The moto compensation that the test above relies on, as EventBridge does."""
    events = boto3.client("events", region_name=REGION)
    with pytest.raises(events.exceptions.ClientError, match="ValidationException"):
        events.put_rule(Name=RULE_PREFIX + "x" * 45, ScheduleExpression="rate(1 minute)")
    events.put_rule(Name=RULE_PREFIX + "x" * 44, ScheduleExpression="rate(1 minute)")


# --- the polling rule's target input ------------------------------------------------------------------------


def large_tags(label: str, count: int) -> list[dict[str, str]]:
    """count tags of about 270 characters each in JSON, valid for Bedrock (a value has at most 256 characters)."""
    return [{"key": f"{label}-{i:02d}", "value": f"{label} annotation {i:02d} " + "v" * 220} for i in range(count)]


def _written_input(single_function: SingleFunction, event: dict[str, Any], url_length: int) -> int:
    """The length of the polling Input crhelper writes for event, its ResponseURL padded to url_length."""
    event["ResponseURL"] += "&X-Amz-Security-Token=" + "t" * (url_length - len(event["ResponseURL"]) - 22)
    before = set(single_function.leftovers().rules)
    single_function.invoke(event)
    assert single_function.responses(event) == []  # polled
    (name,) = set(single_function.leftovers().rules) - before
    (target,) = single_function.leftovers().targets[name]
    return len(target["Input"])


def test_synth_counts_a_polling_input_at_least_as_long_as_crhelper_writes_it(single_function, bedrock, monkeypatch):
    """limits.polling_input_length, against the Input crhelper really writes for the longest ids CloudFormation
    allows (a 128-character stack name, a 255-character logical id), many tags, and a ResponseURL as long as synth
    counts one (RESPONSE_URL_CHARACTERS besides the ids it repeats), for the longest requests of the resource's life:
    its Create, and the Delete its rollback sends a cancelled Create with an id CloudFormation made up (which crhelper
    writes twice, beside the ARN it found). Never less, and not much more. (A guard of synth's count, which covered
    that Delete already; the provider's own count is tested by
    test_what_the_provider_takes_it_can_poll_through_its_rollback.)"""
    stack_name, logical_id = "s" * 128, "M" * 255
    events = CloudFormationEvents(stack_name=stack_name)
    properties = fine_tuning_properties(jobTags=large_tags("t", 10))
    url_length = limits.RESPONSE_URL_CHARACTERS + len(stack_name) + len(logical_id)
    created = _written_input(
        single_function, single_function.addressed(events.create(properties, logical_id)), url_length
    )
    monkeypatch.setattr(index, "stack_status", lambda _stack_id: "ROLLBACK_IN_PROGRESS")
    monkeypatch.setattr(index, "operation_started", lambda _stack_id: datetime(2000, 1, 1, tzinfo=UTC))
    made_up = f"{stack_name}-{logical_id}-1A2B3C4D5E6F"  # CloudFormation's form: the names and a random suffix
    rollback = single_function.addressed(events.delete(made_up, properties, logical_id))
    deleted = _written_input(single_function, rollback, url_length)
    resource = {"Type": events.resource_type, "Properties": properties}
    counted = limits.polling_input_length(resource, logical_id, stack_name)
    assert max(created, deleted) <= counted <= max(created, deleted) + 1000


def _as_long_as_accepted(single_function: SingleFunction, events: CloudFormationEvents, logical_id: str) -> dict:
    """Properties whose Create the provider takes, within 20 characters of the longest it takes (by bisection on the
    length of one tag value, over the provider's own count: what is asserted is what happens to them after)."""
    low, high = 0, 8192
    while high - low > 20:
        middle = (low + high) // 2
        tags = [{"key": f"pad-{i}", "value": "p" * min(250, middle - 250 * i)} for i in range((middle + 249) // 250)]
        event = single_function.addressed(events.create(fine_tuning_properties(customModelTags=tags), logical_id))
        low, high = (middle, high) if polling_input.polling_input_length(event) <= 8192 else (low, middle)
    tags = [{"key": f"pad-{i}", "value": "p" * min(250, low - 250 * i)} for i in range((low + 249) // 250)]
    return fine_tuning_properties(customModelTags=tags)


def test_what_the_provider_takes_it_can_poll_through_its_rollback(single_function, bedrock, monkeypatch):
    """A Create taken at the edge of the count, cancelled: its rollback's Delete, with the id CloudFormation made up
    from long names (written twice, beside the ARN it found), polls the job's stop rather than fail (ROLLBACK_FAILED,
    the job training on); and an Update back to those properties (an update rollback) is taken too."""
    stack_name, logical_id = "s" * 60, "Model" + "L" * 150
    events = CloudFormationEvents(stack_name=stack_name)
    properties = _as_long_as_accepted(single_function, events, logical_id)
    create = single_function.addressed(events.create(properties, logical_id))
    single_function.invoke(create)
    assert single_function.responses(create) == []  # taken, and polled
    job = only_job(bedrock)

    back = single_function.addressed(events.update(job, properties, properties, logical_id))
    single_function.invoke(back)
    assert [body["Status"] for body in single_function.responses(back)] in ([], ["SUCCESS"])

    monkeypatch.setattr(index, "stack_status", lambda _stack_id: "ROLLBACK_IN_PROGRESS")
    monkeypatch.setattr(index, "operation_started", lambda _stack_id: datetime(2000, 1, 1, tzinfo=UTC))
    rollback = single_function.addressed(
        events.delete(f"{stack_name}-{logical_id}-1A2B3C4D5E6F", properties, logical_id)
    )
    single_function.invoke(rollback)
    assert single_function.responses(rollback) == []  # polling the stop: no FAILED from PutTargets
    bedrock.finish_stopping()
    single_function.play_schedule()
    assert response(single_function, rollback)["Status"] == "SUCCESS"
    assert bedrock.job(job)["status"] == "Stopped"


def test_an_update_from_properties_as_long_is_left_to_polling(single_function, bedrock, events):
    """A resource made before the provider counted (its properties over the count, its polling Input within
    EventBridge's limit): an Update from such properties is not refused, or its update rollback would be stuck."""
    properties = _as_long_as_accepted(single_function, events, "Model")
    properties["customModelTags"].append({"key": "over", "value": "o" * 100})
    deployed = deploy(events, bedrock, properties)
    retagged = properties | {"jobTags": [{"key": "team", "value": "ml"}]}
    event = single_function.addressed(events.update(deployed.physical_id, retagged, properties))
    assert polling_input.polling_input_length(event) > 8192  # the premise: over the count
    single_function.invoke(event)
    body = response(single_function, event)
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", deployed.physical_id)


def test_an_update_from_properties_as_long_to_longer_ones_is_refused(single_function, bedrock, events):
    """The exemption above is for an Update no longer than the properties it leaves: one that makes them longer still
    (a replacement, with more tags) would start a job whose polling then fails, training on untracked."""
    properties = _as_long_as_accepted(single_function, events, "Model")
    properties["customModelTags"].append({"key": "over", "value": "o" * 100})
    deployed = deploy(events, bedrock, properties)
    longer = properties | {
        "hyperParameters": {"epochCount": "3", "batchSize": "1", "learningRate": "0.00001"},
        "jobTags": [{"key": f"big-{i}", "value": "b" * 250} for i in range(10)],
    }
    event = single_function.addressed(events.update(deployed.physical_id, longer, properties))
    single_function.invoke(event)
    body = response(single_function, event)
    assert (body["Status"], body["PhysicalResourceId"]) == ("FAILED", deployed.physical_id)
    assert body["Reason"].startswith("ResourceProperties: too long for the single-function provider to poll")
    assert [job["jobArn"] for job in bedrock.jobs()] == [deployed.physical_id]


def test_an_update_polls_with_a_target_input_that_leaves_the_old_properties_out(single_function, bedrock, events):
    """crhelper stores the whole event as the polling rule target's input, which EventBridge limits to 8192
    characters: an Update whose old and new properties are each about 4,500 characters fits only without
    OldResourceProperties, which polls do not need."""
    old = fine_tuning_properties(jobTags=large_tags("old", 14))
    new = fine_tuning_properties(
        jobTags=large_tags("new", 14), hyperParameters={"epochCount": "3", "batchSize": "1", "learningRate": "0.00001"}
    )
    assert 4_000 < len(json.dumps(old)) < 5_000 and 4_000 < len(json.dumps(new)) < 5_000
    deployed = deploy(events, bedrock, old)
    event = single_function.addressed(events.update(deployed.physical_id, new, old))

    name = start_polling(single_function, event)  # hyperParameters changed: a new job, to be polled
    (new_job,) = [job["jobArn"] for job in bedrock.jobs() if job["jobArn"] != deployed.physical_id]
    (target,) = single_function.leftovers().targets[name]
    poll = json.loads(target["Input"])
    assert "OldResourceProperties" not in poll
    assert len(target["Input"]) <= TARGET_INPUT_MAX_CHARACTERS
    assert poll["ResourceProperties"] == new
    # The premise: with the old properties the same input would be over EventBridge's limit.
    assert len(json.dumps({**poll, "OldResourceProperties": old})) > TARGET_INPUT_MAX_CHARACTERS

    bedrock.set_job_status(new_job, "Completed")
    assert single_function.play_schedule() == 1
    body = response(single_function, event)
    assert (body["Status"], body["PhysicalResourceId"], body["Data"]["jobArn"]) == ("SUCCESS", new_job, new_job)
    assert single_function.leftovers().empty


def test_eventbridge_refuses_a_target_input_over_8192_characters(single_function):
    """The compensation that the test above relies on, as EventBridge does (the fixture adds it to moto)."""
    events = boto3.client("events", region_name=REGION)
    rule = RULE_PREFIX + "input"
    events.put_rule(Name=rule, ScheduleExpression="rate(1 minute)")
    over, at_limit = json.dumps("x" * 8191), json.dumps("x" * 8190)
    assert (len(over), len(at_limit)) == (8193, 8192)
    with pytest.raises(events.exceptions.ClientError, match="ValidationException"):
        events.put_targets(Rule=rule, Targets=[{"Id": "1", "Arn": FUNCTION_ARN, "Input": over}])
    events.put_targets(Rule=rule, Targets=[{"Id": "1", "Arn": FUNCTION_ARN, "Input": at_limit}])
    assert events.list_targets_by_rule(Rule=rule)["Targets"][0]["Input"] == at_limit


def test_a_plain_template_too_long_to_poll_is_refused_before_anything_starts(single_function, bedrock, events):
    """A template that synth never checked (plain CloudFormation on the provider stack's service token), with tags
    Bedrock takes (30 values of 250 characters): its polling Input would be over EventBridge's 8192 characters, and
    setting polling up would fail once the job had started, as would the rollback's Delete. It is refused first,
    with both ways out in what crhelper sends, then the largest property; the rollback's Delete has nothing to do."""
    tags = [{"key": f"tag-{i:02d}", "value": "v" * 250} for i in range(30)]
    properties = fine_tuning_properties(customModelTags=tags)
    event = single_function.addressed(events.create(properties))
    assert len(json.dumps(event)) > TARGET_INPUT_MAX_CHARACTERS  # the premise: crhelper would store all of it

    single_function.invoke(event)
    body = response(single_function, event)
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith("ResourceProperties: too long for the single-function provider to poll.")
    # Both ways out in the first 200 characters of what crhelper sent (its 256, less the note of the cut).
    for way_out in ("shorten them (fewer or shorter tags)", "or use the Provider framework's service token"):
        assert way_out in body["Reason"][:200]
    with pytest.raises(ValueError) as refused:
        provider._refuse_what_polling_cannot_hold(event)
    assert f"(customModelTags has {len(json.dumps(tags)):,}, " in str(refused.value)
    assert bedrock.jobs() == []
    assert single_function.leftovers().empty

    rollback = single_function.addressed(events.delete(body["PhysicalResourceId"], properties))
    single_function.invoke(rollback)
    assert response(single_function, rollback)["Status"] == "SUCCESS"
    assert bedrock.jobs() == []


def test_a_delete_with_properties_too_long_to_poll_is_not_refused(single_function, bedrock, events):
    """A Delete carries the properties the resource was made with, perhaps before this check (or a cancelled Create's,
    under the id CloudFormation made up): a Delete must succeed, whatever their length, or the stack's delete and
    rollbacks fail (DELETE_FAILED)."""
    tags = [{"key": f"tag-{i:02d}", "value": "v" * 250} for i in range(30)]
    delete = single_function.addressed(
        events.delete("my-stack-Model-1A2B3C4D5E6F", fine_tuning_properties(jobTags=tags))
    )
    assert len(json.dumps(delete)) > TARGET_INPUT_MAX_CHARACTERS  # the premise: too long to poll
    single_function.invoke(delete)
    assert response(single_function, delete)["Status"] == "SUCCESS"


def test_an_update_too_long_to_poll_is_refused_and_changes_nothing(single_function, bedrock, events):
    """An Update (a replacement: new hyperparameters) whose new properties are too long to poll fails before it starts
    a job; the deployed job stays, and the update rollback (an Update back to the old properties) keeps it. (A tag
    change alone, in place, is refused too: synth refuses such properties whatever the change.)"""
    deployed = deploy(events, bedrock, fine_tuning_properties())
    new = fine_tuning_properties(
        jobTags=[{"key": f"tag-{i:02d}", "value": "v" * 250} for i in range(30)],
        hyperParameters={"epochCount": "3", "batchSize": "1", "learningRate": "0.00001"},
    )
    event = single_function.addressed(events.update(deployed.physical_id, new, fine_tuning_properties()))
    single_function.invoke(event)
    body = response(single_function, event)
    assert (body["Status"], body["PhysicalResourceId"]) == ("FAILED", deployed.physical_id)
    assert "or use the Provider framework's service token" in body["Reason"][:200]
    with pytest.raises(ValueError, match="jobTags has "):  # the largest, after the ways out (cut from the reason)
        provider._refuse_what_polling_cannot_hold(event)
    assert [job["jobArn"] for job in bedrock.jobs()] == [deployed.physical_id]

    back = single_function.addressed(events.update(deployed.physical_id, fine_tuning_properties(), new))
    single_function.invoke(back)
    assert (response(single_function, back)["Status"], len(bedrock.jobs())) == ("SUCCESS", 1)
    assert single_function.leftovers().empty


# --- complete at once --------------------------------------------------------------------------------------


def _accepted(events: CloudFormationEvents, bedrock: BedrockStandIn) -> dict[str, Any]:
    return events.create(fine_tuning_properties(waitUntil="Accepted"))


def _bad_input(events: CloudFormationEvents, bedrock: BedrockStandIn) -> dict[str, Any]:
    return events.create(fine_tuning_properties(roleArn="BedrockRole"))


def _delete_of_a_failed_create(events: CloudFormationEvents, bedrock: BedrockStandIn) -> dict[str, Any]:
    return events.delete(provider.CREATE_FAILED)


def _delete_of_a_failed_job(events: CloudFormationEvents, bedrock: BedrockStandIn) -> dict[str, Any]:
    job_arn = index.on_event(events.create())["PhysicalResourceId"]
    bedrock.set_job_status(job_arn, "Failed", failure_message="No data")
    return events.delete(job_arn)


def _delete_of_a_job_that_is_gone(events: CloudFormationEvents, bedrock: BedrockStandIn) -> dict[str, Any]:
    return events.delete(f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-customization-job/{BASE_MODEL}/abcdef012345")


def _job_result(events: CloudFormationEvents, bedrock: BedrockStandIn) -> dict[str, Any]:
    job_arn = index.on_event(events.create())["PhysicalResourceId"]
    bedrock.set_job_status(job_arn, "Completed")
    results = CloudFormationEvents(resource_type="Custom::BedrockModelCustomizationJobResult")
    return results.create({"ServiceToken": SERVICE_TOKEN, "jobIdentifier": job_arn})


AT_ONCE = {
    "wait-until-accepted": (_accepted, "SUCCESS"),
    "bad-input": (_bad_input, "FAILED"),
    "delete-of-a-failed-create": (_delete_of_a_failed_create, "SUCCESS"),
    "delete-of-a-failed-job": (_delete_of_a_failed_job, "SUCCESS"),
    "delete-of-a-job-that-is-gone": (_delete_of_a_job_that_is_gone, "SUCCESS"),
    "job-result": (_job_result, "SUCCESS"),
}


@pytest.mark.parametrize("request_kind", AT_ONCE)
def test_a_request_complete_at_once_is_answered_at_once_without_a_rule(single_function, bedrock, events, request_kind):
    make, status = AT_ONCE[request_kind]
    event = single_function.addressed(make(events, bedrock))
    single_function.invoke(event)
    assert response(single_function, event)["Status"] == status
    assert single_function.put_rules == []
    assert single_function.leftovers().empty


@pytest.mark.parametrize("request_kind", AT_ONCE)
def test_a_warm_instance_keeps_nothing_of_a_request_answered_at_once(single_function, bedrock, events, request_kind):
    """The same instance (a warm Lambda) then gets a create that must be polled: it sets up its polling."""
    make, _status = AT_ONCE[request_kind]
    single_function.invoke(single_function.addressed(make(events, bedrock)))
    event = single_function.addressed(events.create(logical_id="AnotherModel"))
    single_function.invoke(event)
    assert single_function.responses(event) == []
    assert_polling(single_function.leftovers())


def test_a_delete_does_not_sleep_whatever_time_is_left(single_function, bedrock, events, monkeypatch):
    """README, single-function provider: "No sleep on delete (sleep_on_delete=0, crhelper's default is 120 s)".
    crhelper 2.0.12 sleeps min(sleep_on_delete, time left - 15 s) before answering a Delete, when that is over 1 s
    (CfnResource._wait_for_cwlogs): the other tests invoke with 60 s left, which hides any sleep_on_delete of 45 s or
    more. Here a Delete is invoked with 900 s left (Lambda's longest timeout), and crhelper's sleep is recorded."""
    slept: list[float] = []
    # _wait_for_cwlogs takes time.sleep as a default argument, bound at import: its default is replaced.
    original = resource_helper.CfnResource._wait_for_cwlogs
    monkeypatch.setattr(
        resource_helper.CfnResource, "_wait_for_cwlogs", lambda self, sleep=None: original(self, sleep=slept.append)
    )
    event = single_function.addressed(_delete_of_a_job_that_is_gone(events, bedrock))
    single_function.invoke(event, timeout_seconds=900.0)
    assert response(single_function, event)["Status"] == "SUCCESS"
    assert slept == []


# --- invocations that Lambda retries -----------------------------------------------------------------------


def test_a_retried_first_invocation_starts_one_job_and_sets_up_polling_once(single_function, bedrock, events):
    event = single_function.addressed(events.create())
    single_function.invoke(event)
    single_function.invoke(event, instance=single_function.new_provider())  # Lambda's retry, anywhere
    assert len(bedrock.jobs()) == 1
    assert_polling(single_function.leftovers())
    assert single_function.responses(event) == []

    bedrock.set_job_status(only_job(bedrock), "Completed")
    assert single_function.play_schedule() == 1
    assert response(single_function, event)["Status"] == "SUCCESS"
    assert single_function.leftovers().empty


@pytest.mark.parametrize("invocation", ["first", "poll"])
def test_an_invocation_about_to_time_out_answers_nothing_and_is_made_again(
    single_function, bedrock, events, monkeypatch, invocation
):
    """crhelper's timer fires half a second before the function's timeout (called here, in the middle of the
    invocation, where the timer would fire): no FAILED with an empty physical id, which CloudFormation would
    refuse. Lambda's retry, or the rule's next poll, then completes the request."""
    event = single_function.addressed(events.create())
    entry = "on_event" if invocation == "first" else "is_complete"
    real = getattr(index, entry)

    def running_out_of_time(request: dict[str, Any], context: Any = None) -> dict[str, Any]:
        result = real(request, context)
        single_function.provider._timeout()  # the timer's call, just before Lambda ends the invocation
        return result

    if invocation == "poll":
        single_function.invoke(event)
    monkeypatch.setattr(index, entry, running_out_of_time)
    if invocation == "first":
        single_function.invoke(event)
    else:
        single_function.play_schedule()
    assert single_function.responses(event) == []
    monkeypatch.setattr(index, entry, real)

    if invocation == "first":
        single_function.invoke(event, instance=single_function.new_provider())  # Lambda's retry
    bedrock.set_job_status(only_job(bedrock), "Completed")
    assert single_function.play_schedule() == 1
    assert response(single_function, event)["Status"] == "SUCCESS"
    assert len(bedrock.jobs()) == 1
    assert single_function.leftovers().empty


def test_a_retried_last_poll_answers_again_and_leaves_nothing(single_function, bedrock, events):
    """Lambda retries a poll invocation that failed or timed out, e.g. in its response PUT, after that
    invocation had already removed the rule, the target and the permission."""
    event = single_function.addressed(events.create())
    name = start_polling(single_function, event)
    (target,) = single_function.leftovers().targets[name]
    poll = json.loads(target["Input"])
    bedrock.set_job_status(only_job(bedrock), "Completed")
    single_function.invoke(poll)
    assert single_function.leftovers().empty
    single_function.invoke(poll, instance=single_function.new_provider())
    first, again = single_function.responses(event)
    assert first["Status"] == again["Status"] == "SUCCESS"
    assert first["PhysicalResourceId"] == again["PhysicalResourceId"] == only_job(bedrock)
    assert first["Data"] == again["Data"]
    assert single_function.leftovers().empty


# Lambda's answer to a change of a function's policy while another is in progress (botocore's lambda model:
# ResourceConflictException, "The resource already exists, or another operation is in progress").
IN_PROGRESS = {
    "Error": {
        "Code": "ResourceConflictException",
        "Message": "The operation cannot be performed at this time. An update is in progress for resource: x",
    }
}


def refused_while_busy(monkeypatch, client: Any, method: str, times: int) -> list[float]:
    """client's method refused as another change in progress the first times calls; the pauses between tries."""
    real, refused, pauses = getattr(client, method), [0], []

    def busy(**kwargs: Any) -> Any:
        if refused[0] < times:
            refused[0] += 1
            raise client.exceptions.ResourceConflictException(IN_PROGRESS, method)
        return real(**kwargs)

    monkeypatch.setattr(client, method, busy)
    monkeypatch.setattr(provider, "sleep", pauses.append)
    return pauses


def test_a_permission_refused_while_another_change_is_in_progress_is_added_again(
    single_function, bedrock, events, monkeypatch
):
    """A conflict is not the statement existing: polling set up without it could never invoke the function."""
    functions = single_function.provider._lambda_client
    pauses = refused_while_busy(monkeypatch, functions, "add_permission", times=2)
    event = single_function.addressed(events.create())
    start_polling(single_function, event)  # one rule, its target, and the permission
    assert pauses == [1, 2]
    bedrock.set_job_status(only_job(bedrock), "Completed")
    assert single_function.play_schedule() == 1
    assert response(single_function, event)["Status"] == "SUCCESS"


def test_a_permission_refused_at_every_try_fails_the_request_and_leaves_nothing(
    single_function, bedrock, events, monkeypatch
):
    functions = single_function.provider._lambda_client
    refused_while_busy(monkeypatch, functions, "add_permission", times=provider.POLICY_CHANGE_ATTEMPTS)
    event = single_function.addressed(events.create())
    single_function.invoke(event)
    answered = response(single_function, event)
    assert (answered["Status"], answered["PhysicalResourceId"]) == ("FAILED", only_job(bedrock))
    assert single_function.leftovers().empty


def test_a_permission_removal_refused_while_busy_is_made_again_and_the_job_succeeds(
    single_function, bedrock, events, monkeypatch
):
    event = single_function.addressed(events.create())
    start_polling(single_function, event)
    functions = single_function.provider._lambda_client
    refused_while_busy(monkeypatch, functions, "remove_permission", times=2)
    bedrock.set_job_status(only_job(bedrock), "Completed")
    single_function.play_schedule()
    assert response(single_function, event)["Status"] == "SUCCESS"
    assert single_function.leftovers().empty


def test_a_clean_up_that_fails_does_not_fail_a_completed_job(single_function, bedrock, events, monkeypatch):
    """crhelper answers FAILED for any error of its clean-up: the job that completed (and was paid for) would fail
    the deployment. The answer goes on; what is left is logged, and a target left polls again to remove it."""
    event = single_function.addressed(events.create())
    name = start_polling(single_function, event)
    events_client = single_function.provider._events_client
    real_remove_targets = events_client.remove_targets

    def throttled(**kwargs: Any) -> Any:
        raise events_client.exceptions.ConcurrentModificationException(
            {"Error": {"Code": "ConcurrentModificationException", "Message": "busy"}}, "RemoveTargets"
        )

    monkeypatch.setattr(events_client, "remove_targets", throttled)
    bedrock.set_job_status(only_job(bedrock), "Completed")
    single_function.play_schedule()
    assert response(single_function, event)["Status"] == "SUCCESS"
    assert assert_polling(single_function.leftovers()) == name  # all of it left, for the next poll
    monkeypatch.setattr(events_client, "remove_targets", real_remove_targets)
    single_function.play_schedule()
    assert [body["Status"] for body in single_function.responses(event)] == ["SUCCESS", "SUCCESS"]
    assert single_function.leftovers().empty


def test_lambda_refuses_a_second_permission_with_the_same_statement_id(single_function):
    """The moto compensation that the test above relies on, as Lambda does."""
    functions = boto3.client("lambda", region_name=REGION)
    permission = {
        "FunctionName": FUNCTION_NAME,
        "StatementId": RULE_PREFIX + "0",
        "Action": "lambda:InvokeFunction",
        "Principal": "events.amazonaws.com",
    }
    functions.add_permission(**permission)
    with pytest.raises(functions.exceptions.ResourceConflictException):
        functions.add_permission(**permission)


def test_a_response_endpoint_that_never_answers_holds_the_invocation_and_lambdas_retry_answers(
    single_function, bedrock, events
):
    """crhelper retries its PUT without end; the function's timeout (set by the construct) ends the invocation,
    and Lambda retries it: a new execution environment, the same event."""
    event = single_function.addressed(events.create(fine_tuning_properties(waitUntil="Accepted")))
    single_function.endpoint.answering = False
    hung = threading.Thread(
        target=single_function.invoke, args=(event,), kwargs={"timeout_seconds": 900}, daemon=True, name="hung"
    )
    hung.start()
    assert single_function.endpoint.wait_for_held(1, timeout=10)  # its PUT was sent, and is not answered
    hung.join(timeout=1)
    assert hung.is_alive()
    assert single_function.responses(event) == []

    single_function.endpoint.answering = True
    single_function.invoke(event, instance=single_function.new_provider())
    assert response(single_function, event)["Status"] == "SUCCESS"
    assert response(single_function, event)["PhysicalResourceId"] == only_job(bedrock)  # one job
    assert single_function.put_rules == []
    assert single_function.leftovers().empty

    single_function.endpoint.close()  # answers the held PUT: the hung invocation ends
    hung.join(timeout=10)
    assert not hung.is_alive()


# --- logging -----------------------------------------------------------------------------------------------


def test_the_response_url_is_never_logged(single_function, bedrock, events, caplog):
    """crhelper logs the whole event at DEBUG, and sets the root logger to the provider's level on each call."""
    caplog.set_level(logging.DEBUG)
    event = single_function.addressed(events.create())
    single_function.invoke(event)
    bedrock.set_job_status(only_job(bedrock), "Completed")
    single_function.play_schedule()
    assert response(single_function, event)["Status"] == "SUCCESS"
    assert caplog.records
    assert event["ResponseURL"] not in caplog.text
    assert "X-Amz-Signature" not in caplog.text


def test_a_late_update_is_answered_at_once_without_a_rule(single_function, bedrock, monkeypatch):
    """A late Update (Lambda's retry, after the rollback completed) changes nothing, and the mark in its answer's Data
    reaches its first poll through crhelper: no polling is set up. Without the mark, a deployment's poll waits for
    the model the late Update asked for, which it never serves."""
    serving, asked = active_model(bedrock, "support-v1"), active_model(bedrock, "support-v2")
    events = CloudFormationEvents(resource_type="Custom::BedrockCustomModelDeployment")
    before = deployment_properties(serving)
    deployment = index.on_event(events.create(before))["PhysicalResourceId"]
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_ROLLBACK_COMPLETE")
    event = single_function.addressed(events.update(deployment, before | {"modelArn": asked}, before))

    single_function.invoke(event)

    assert response(single_function, event)["Status"] == "SUCCESS"
    assert single_function.put_rules == []
    assert single_function.leftovers().empty
    live = bedrock.client().get_custom_model_deployment(customModelDeploymentIdentifier=deployment)
    assert live["modelArn"] == serving
