"""What an earlier operation made stays: a rollback deletes only what the operation it undoes made.

With RETAIN_ON_UPDATE_OR_DELETE (DeletionPolicy RetainExceptOnCreate, UpdateReplacePolicy Retain), a resource that
a deploy removed, or an update replaced, is retained: CloudFormation forgets it, and it keeps the tags that name this
stack, its logical id and its configuration. A later deploy that adds it back under the same construct id (or
updates back to that configuration), and fails before that resource's own request ran, rolls back with a Delete of
an id CloudFormation made up (or an Update back): the handler then looks for what the cancelled request made by name
and tags (lifecycle.made_by), and would find the retained resource. It is told apart by its creation time: before the
operation being rolled back began (index.operation_started, CloudFormation's stack events).
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session
import pytest
from bedrock_custom_resource import index, lifecycle, provisioned_throughput
from botocore.stub import Stubber

from . import resource_kinds
from .conftest import is_complete_input, survives_the_cut
from .resource_kinds import KINDS, ResourceKind, Stack, writes
from .test_identity import COMPLETED_DELETED_BY, MADE_UP_ID, Kind, rollback_of_cancelled_update
from .test_identity import KINDS as REPLACEABLE_KINDS

# A deploy made the resource at MADE (and a later one retained it); the deploy being rolled back began at STARTED.
MADE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
STARTED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RETAIN_ON_UPDATE_OR_DELETE = {"deletionPolicy": "RetainExceptOnCreate"}
# The handler's own reading, before the bedrock fixture stands in for it.
OPERATION_STARTED_READ = index.operation_started


class Clock:
    """Bedrock's time in a test: set by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(bedrock, monkeypatch) -> Clock:
    clock = Clock(MADE)
    bedrock.use_clock(clock)
    monkeypatch.setattr(provisioned_throughput, "now", clock)  # the handler's clock, as the rehearsal sets it
    return clock


def named_by(bedrock, kind: ResourceKind, arn: str) -> set[str]:
    """The ARN, and every value of its record (what a Delete of it may name: a job's model)."""
    records = [record for record in kind.existing(bedrock) if record[kind.arn_member] == arn]
    return {arn, *(str(value) for record in records for value in record.values() if str(value).startswith("arn:"))}


def whole_delete(stack: Stack, event: dict[str, Any], made: str) -> None:
    """A Delete run whole: onEvent, then isComplete, given onEvent's answer as the providers give it, until it
    completes (what is stopping stops)."""
    response = index.on_event(event)
    assert response["PhysicalResourceId"] == event["PhysicalResourceId"]
    polled = is_complete_input(event, response)
    for _ in range(5):
        if index.is_complete(polled)["IsComplete"]:
            return
        stack.make_ready(made)
    raise AssertionError("the Delete never completed")


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.resource_type.removeprefix("Custom::Bedrock"))
@pytest.mark.parametrize(
    ("created", "kept"),
    [
        (MADE, True),
        (STARTED - timedelta(seconds=6), True),
        (STARTED - timedelta(seconds=4), False),  # within a few seconds: the services' clocks may differ
        (STARTED, False),
        (STARTED + timedelta(minutes=3), False),
    ],
    ids=["a-day-before", "seconds-before", "within-clock-skew", "as-it-began", "during-it"],
)
def test_a_rollback_delete_of_a_made_up_id_leaves_what_an_earlier_operation_made(
    bedrock, clock, monkeypatch, kind: ResourceKind, created, kept
):
    """The resource of this logical id and configuration was made at `created`; the operation that the rollback
    undoes began at STARTED. Made before: an earlier deploy made it and the stack retained it; nothing is written.
    Made since (control): what the cancelled create made, deleted (stopped) as before."""
    monkeypatch.setattr(index, "operation_started", lambda stack_id: STARTED)
    stack = Stack.named(bedrock, kind)
    properties = kind.properties(bedrock) | RETAIN_ON_UPDATE_OR_DELETE
    clock.now = created
    if kind is resource_kinds.EVALUATION_JOB:  # a completed one leaves nothing to delete: a running one is stopped
        made = index.on_event(stack.events.create(properties, stack.logical_id))["PhysicalResourceId"]
    else:
        made, _ = stack.create(properties)
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "ROLLBACK_IN_PROGRESS")
    before = kind.existing(bedrock)
    mark = len(bedrock.calls)

    whole_delete(stack, stack.events.delete(MADE_UP_ID, properties, stack.logical_id), made)

    if kept:
        assert writes(bedrock, mark) == []
        assert kind.existing(bedrock) == before
    else:
        written = [call for call in bedrock.calls[mark:] if not call.operation.startswith(("Get", "List"))]
        assert written, "what the cancelled create made was left"
        assert any(arn in str(call.params) for call in written for arn in named_by(bedrock, kind, made))


def test_a_delete_fails_and_deletes_nothing_when_the_operations_start_cannot_be_read(bedrock, clock, monkeypatch):
    """Unknown: it may be what the cancelled create made or one the stack retained. The Delete fails, naming it and
    what to do (CloudFormation shows the reason; continuing the rollback tries again), and nothing is written."""

    def unreadable(stack_id: str) -> datetime:
        raise RuntimeError("ThrottlingException: Rate exceeded")

    monkeypatch.setattr(index, "operation_started", unreadable)
    kind = resource_kinds.DEPLOYMENT
    stack = Stack.named(bedrock, kind)
    properties = kind.properties(bedrock) | RETAIN_ON_UPDATE_OR_DELETE
    made, _ = stack.create(properties)
    mark = len(bedrock.calls)

    with pytest.raises(Exception, match="could not be read") as refused:
        index.on_event(stack.events.delete(MADE_UP_ID, properties, stack.logical_id))

    assert made in str(refused.value) and "Rate exceeded" in str(refused.value)
    # What to do survives a single-function provider's cut: it comes before the error and the ARN.
    assert survives_the_cut(str(refused.value), "Nothing was deleted: retry (continue the rollback, or delete again)")
    assert writes(bedrock, mark) == []


def test_a_resource_without_a_creation_time_is_left(bedrock, clock, monkeypatch, caplog):
    """creationTime is optional in some Get responses: what made such a resource cannot be told, so it stays."""
    handler = index.HANDLERS[resource_kinds.DEPLOYMENT.resource_type]
    stack = Stack.named(bedrock, resource_kinds.DEPLOYMENT)
    properties = resource_kinds.DEPLOYMENT.properties(bedrock)
    clock.now = STARTED + timedelta(minutes=1)
    made, _ = stack.create(properties)

    def undated_get(client: Any, name: str) -> dict[str, Any] | None:
        live = handler.KIND.get(client, name)
        return None if live is None else {**live, "createdAt": None}

    undated = dataclasses.replace(handler.KIND, get=undated_get)
    delete = stack.events.delete(MADE_UP_ID, properties, stack.logical_id)
    caplog.clear()

    with caplog.at_level(logging.ERROR):
        assert lifecycle.made_by(undated, handler.bedrock_client(), delete, lambda: STARTED) is None
        assert lifecycle.made_by(handler.KIND, handler.bedrock_client(), delete, lambda: STARTED) == made  # control

    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert [made in record.getMessage() for record in errors] == [True]


@pytest.mark.parametrize("kind", REPLACEABLE_KINDS, ids=lambda kind: kind.resource_type.removeprefix("Custom::Bedrock"))
@pytest.mark.parametrize(("retained_at", "kept"), [(MADE, True), (STARTED + timedelta(minutes=3), False)])
def test_the_rollback_of_an_update_back_to_a_retained_configuration_leaves_its_resource(
    bedrock, clock, monkeypatch, kind: Kind, retained_at, kept
):
    """A (made at retained_at) was replaced by B and retained (UpdateReplacePolicy Retain); an update back to A
    failed before its request ran, and its rollback is an Update from A back to B. The resource of A is what an
    earlier update retained when it was made before the update being rolled back began: it stays. Made since
    (control): what the cancelled update made, deleted as RetainExceptOnCreate removes what a failed operation made."""
    monkeypatch.setattr(index, "operation_started", lambda stack_id: STARTED)
    stack = Stack.named(bedrock, kind)
    configuration_a = kind.properties(bedrock) | RETAIN_ON_UPDATE_OR_DELETE
    configuration_b = configuration_a | kind.replacing.change
    clock.now = retained_at
    retained, _ = stack.create(configuration_a)
    clock.now = retained_at + timedelta(minutes=1)
    held, _ = stack.update(retained, configuration_b, configuration_a)
    assert held != retained

    names = named_by(bedrock, kind, retained)
    written = rollback_of_cancelled_update(
        bedrock, kind, stack, monkeypatch, held, before=configuration_b, after=configuration_a
    )

    assert [call.operation for call in written] == ([] if kept else [COMPLETED_DELETED_BY[kind.resource_type]])
    assert all(any(name in str(call.params) for name in names) for call in written)


# --- when the operation began, as CloudFormation's events tell it --------------------------------------------

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/my-stack/5b7a9ac0-3e3a-11ef-9c8e-0affd3c6b1a5"
NESTED_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/my-stack-Nested-1ABC/6c8b0bd0-3e3a-11ef-8f2e-0a1b2c"


def stack_event(
    number: int,
    logical_id: str,
    physical_id: str,
    resource_type: str,
    status: str,
    at: datetime,
    *,
    stack_id: str = STACK_ID,
    stack_name: str = "my-stack",
) -> dict:
    """One event as DescribeStackEvents answers it."""
    return {
        "StackId": stack_id,
        "EventId": f"event-{number}",
        "StackName": stack_name,
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": physical_id,
        "ResourceType": resource_type,
        "Timestamp": at,
        "ResourceStatus": status,
    }


def test_the_operation_began_at_the_stacks_latest_create_or_update_event(aws_environment, monkeypatch):
    """Newest first, over two pages: the rollback's own events, a nested stack's (its resource in this stack), and a
    custom resource's come before the stack's UPDATE_IN_PROGRESS, which is on the second page."""
    began = datetime(2026, 3, 2, 9, 0, 0, 120000, tzinfo=UTC)
    t = lambda minutes: began + timedelta(minutes=minutes)  # noqa: E731
    stack = ("my-stack", STACK_ID, "AWS::CloudFormation::Stack")
    first_page = [
        stack_event(9, "Model", MADE_UP_ID, "Custom::BedrockCustomModelDeployment", "DELETE_IN_PROGRESS", t(9)),
        stack_event(8, *stack, "UPDATE_ROLLBACK_IN_PROGRESS", t(8)),
        stack_event(7, "Nested", NESTED_ID, "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS", t(2)),
        stack_event(6, "Model", MADE_UP_ID, "Custom::BedrockCustomModelDeployment", "CREATE_IN_PROGRESS", t(1)),
    ]
    second_page = [
        stack_event(5, *stack, "UPDATE_IN_PROGRESS", began),
        stack_event(4, *stack, "CREATE_COMPLETE", began - timedelta(days=1)),
        stack_event(3, *stack, "CREATE_IN_PROGRESS", began - timedelta(days=1, minutes=5)),
    ]
    client = botocore.session.get_session().create_client("cloudformation", region_name="us-east-1")
    with Stubber(client) as stubber:
        stubber.add_response(
            "describe_stack_events", {"StackEvents": first_page, "NextToken": "2"}, {"StackName": STACK_ID}
        )
        stubber.add_response(
            "describe_stack_events", {"StackEvents": second_page}, {"StackName": STACK_ID, "NextToken": "2"}
        )
        monkeypatch.setattr(index, "cloudformation_client", lambda: client)
        assert OPERATION_STARTED_READ(STACK_ID) == began
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("history", "began"),
    [
        # A deploy with rollback disabled failed; the next one (a retry) goes on from it and deletes what it left.
        (["UPDATE_IN_PROGRESS", "UPDATE_FAILED", "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE", "UPDATE_IN_PROGRESS"], 2),
        (["UPDATE_IN_PROGRESS", "UPDATE_FAILED", "UPDATE_IN_PROGRESS", "UPDATE_FAILED", "UPDATE_IN_PROGRESS"], 4),
        (["UPDATE_IN_PROGRESS", "CREATE_FAILED", "CREATE_IN_PROGRESS", "REVIEW_IN_PROGRESS"], 2),
        # A rollback, or a delete, after such a failure: no new start.
        (["UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_FAILED", "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"], 2),
        (["DELETE_IN_PROGRESS", "CREATE_FAILED", "CREATE_IN_PROGRESS", "REVIEW_IN_PROGRESS"], 2),
        # An update after a completed rollback: its own start.
        (["UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_IN_PROGRESS"], 0),
    ],
)
def test_an_operation_that_goes_on_from_a_failed_one_without_rollback_began_with_it(
    aws_environment, monkeypatch, history, began
):
    """history: the stack's own events, newest first, an hour apart; began: the index of the answer's event."""
    newest = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    stack = ("my-stack", STACK_ID, "AWS::CloudFormation::Stack")
    events = [
        stack_event(len(history) - number, *stack, status, newest - timedelta(hours=number))
        for number, status in enumerate(history)
    ]
    client = botocore.session.get_session().create_client("cloudformation", region_name="us-east-1")
    with Stubber(client) as stubber:
        stubber.add_response("describe_stack_events", {"StackEvents": events}, {"StackName": STACK_ID})
        monkeypatch.setattr(index, "cloudformation_client", lambda: client)
        assert OPERATION_STARTED_READ(STACK_ID) == newest - timedelta(hours=began)


def test_a_stack_without_such_an_event_has_no_start(aws_environment, monkeypatch):
    client = botocore.session.get_session().create_client("cloudformation", region_name="us-east-1")
    with Stubber(client) as stubber:
        stubber.add_response(
            "describe_stack_events",
            {
                "StackEvents": [
                    stack_event(1, "my-stack", STACK_ID, "AWS::CloudFormation::Stack", "REVIEW_IN_PROGRESS", MADE)
                ]
            },
            {"StackName": STACK_ID},
        )
        monkeypatch.setattr(index, "cloudformation_client", lambda: client)
        with pytest.raises(LookupError, match="has no event of"):
            OPERATION_STARTED_READ(STACK_ID)


@pytest.mark.parametrize("kind", REPLACEABLE_KINDS, ids=lambda kind: kind.resource_type.removeprefix("Custom::Bedrock"))
def test_requests_that_find_only_what_they_were_sent_do_not_read_the_stacks_events(bedrock, monkeypatch, kind: Kind):
    """A forward update that replaces (DESTROY), and the Delete of what it made: each finds by its old properties
    only the resource it was sent, so neither needs to know when the operation began (nor logs that it cannot)."""
    asked: list[str] = []
    monkeypatch.setattr(index, "operation_started", lambda stack_id: asked.append(stack_id) or STARTED)
    stack = Stack.named(bedrock, kind)
    before = kind.properties(bedrock) | {"updateReplacePolicy": "Delete"}
    physical_id, _ = stack.create(before)
    after = before | kind.replacing.change
    made, _ = stack.update(physical_id, after, before)
    whole_delete(stack, stack.events.delete(made, after, stack.logical_id), made)

    assert made != physical_id
    assert asked == []
