"""An Update cancelled before it ran, and retried by Lambda while the rollback is still under way, changes nothing.

CloudFormation sends U1 (the deploy's change); another resource fails, and U1 is cancelled before its invocation
ran. The rollback (UPDATE_ROLLBACK_IN_PROGRESS) sends U2, back to the earlier properties, and U2 completes. Then
U1's invocation runs: Lambda retries an invocation that failed or timed out, and keeps a throttled one for hours.
Applied, U1 would leave the resource as the failed deploy wanted while the stack holds the earlier properties. It is
told from U2 by the stack's events (index.rolled_back_already): U2 is sent while the resource's latest event is the
rollback's UPDATE_IN_PROGRESS of it; once the events read, newest first, the resource's UPDATE_COMPLETE, its
UPDATE_IN_PROGRESS and the stack's UPDATE_ROLLBACK_IN_PROGRESS, the rollback has no other Update for it.

The event histories are written by hand, newest first, as DescribeStackEvents answers them (stubbed with botocore's
Stubber, which checks the answers against the API's shapes).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session
import pytest
from bedrock_custom_resource import index
from botocore.stub import Stubber

from .conftest import is_complete_input
from .resource_kinds import KINDS, ResourceKind, Stack, writes
from .test_retained_resources import stack_event

STACK_TYPE = "AWS::CloudFormation::Stack"
BEGAN = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
# What U1 changes in place, on every kind: the resource's own tags.
FAILED_DEPLOYS_TAGS = [{"key": "team", "value": "the-failed-deploy"}]

by_kind = pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.resource_type.removeprefix("Custom::Bedrock"))


class History:
    """A stack's events, written oldest first (one a minute), answered newest first in pages."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.events: list[dict[str, Any]] = []

    def of_stack(self, status: str) -> History:
        stack_id = self.stack.events.stack_id
        return self._add(self.stack.events.stack_name, stack_id, STACK_TYPE, status)

    def of_resource(self, status: str, logical_id: str | None = None) -> History:
        logical_id = logical_id or self.stack.logical_id
        return self._add(logical_id, f"{logical_id}-physical-id", self.stack.kind.resource_type, status)

    def _add(self, logical_id: str, physical_id: str, resource_type: str, status: str) -> History:
        number, events = len(self.events), self.stack.events
        at = BEGAN + timedelta(minutes=number)
        self.events.append(
            stack_event(
                number,
                logical_id,
                physical_id,
                resource_type,
                status,
                at,
                stack_id=events.stack_id,
                stack_name=events.stack_name,
            )
        )
        return self

    def pages(self, size: int) -> list[list[dict[str, Any]]]:
        newest_first = self.events[::-1]
        return [newest_first[start : start + size] for start in range(0, len(newest_first), size)]


def deploy_failed_elsewhere(history: History, *, update_ran: bool) -> History:
    """U1 sent; another resource (Other) fails; U1 cancelled (or, update_ran, completed before); the rollback begins."""
    history.of_stack("UPDATE_IN_PROGRESS").of_resource("UPDATE_IN_PROGRESS")
    history.of_resource("UPDATE_IN_PROGRESS", "Other").of_resource("UPDATE_FAILED", "Other")
    history.of_resource("UPDATE_COMPLETE" if update_ran else "UPDATE_FAILED")
    return history.of_stack("UPDATE_ROLLBACK_IN_PROGRESS")


@pytest.fixture
def answering(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """answer(history, pages, size): from then on the stack is in UPDATE_ROLLBACK_IN_PROGRESS, and its events are
    answered as pages of that history, each page to be read once (Stubber fails a read it was not given, and the
    test checks that none is left)."""
    client = botocore.session.get_session().create_client("cloudformation", region_name="us-east-1")
    with Stubber(client) as stubber:

        def answer(history: History, pages: int = 1, size: int = 100) -> None:
            monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_ROLLBACK_IN_PROGRESS")
            monkeypatch.setattr(index, "cloudformation_client", lambda: client)
            stack_id = history.stack.events.stack_id
            all_pages = history.pages(size)
            for number, page in enumerate(all_pages[:pages]):
                token = {"NextToken": f"page-{number + 2}"} if number + 1 < len(all_pages) else {}
                expected = {"StackName": stack_id, **({"NextToken": f"page-{number + 1}"} if number else {})}
                stubber.add_response("describe_stack_events", {"StackEvents": page, **token}, expected)

        yield answer
        stubber.assert_no_pending_responses()


def tags_of(kind: ResourceKind, stack: Stack, physical_id: str) -> dict[str, str]:
    tagged = kind.tagged(stack.bedrock, physical_id, kind.tag_member)
    assert tagged is not None
    return {key: value for key, value in stack.bedrock.all_tags(tagged).items() if key == "team"}


@by_kind
def test_an_update_retried_after_the_rollback_updated_its_resource_back_changes_nothing(
    bedrock, answering, kind: ResourceKind, caplog
):
    """U1 runs after U2 completed: no write, the resource keeps the tags the stack holds, and its polls end at once.
    The history is read over three pages: the first holds only another resource's events (its own Update back)."""
    stack = Stack.named(bedrock, kind)
    before = kind.properties(bedrock) | {kind.tag_member: [{"key": "team", "value": "the-stack"}]}
    physical_id, _ = stack.create(before)
    after = before | {kind.tag_member: FAILED_DEPLOYS_TAGS}
    history = deploy_failed_elsewhere(History(stack), update_ran=False)
    history.of_resource("UPDATE_IN_PROGRESS").of_resource("UPDATE_COMPLETE")  # U2
    history.of_resource("UPDATE_IN_PROGRESS", "Other").of_resource("UPDATE_COMPLETE", "Other")
    answering(history, pages=3, size=2)
    late = stack.events.update(physical_id, after, before, stack.logical_id)
    mark = len(bedrock.calls)

    with caplog.at_level(logging.WARNING):
        response = index.on_event(late)
        polled = index.is_complete(is_complete_input(late, response))

    assert response["PhysicalResourceId"] == physical_id
    assert polled == {"IsComplete": True}
    assert writes(bedrock, mark) == []
    assert tags_of(kind, stack, physical_id) == {"team": "the-stack"}
    assert "A late Update (the stack is UPDATE_ROLLBACK_IN_PROGRESS)" in caplog.text


@pytest.mark.parametrize(
    "rollback_so_far",
    [
        pytest.param([], id="not-yet-at-this-resource"),
        pytest.param(["UPDATE_IN_PROGRESS"], id="its-update-back-sent"),
        # Continuing a rollback sends the Update that failed again (ContinueUpdateRollback: a new rollback start).
        pytest.param(["UPDATE_IN_PROGRESS", "UPDATE_FAILED", "stack:UPDATE_ROLLBACK_FAILED"], id="failed-back"),
        # The same, were no new stack event recorded: a failed Update back is no completed one.
        pytest.param(["UPDATE_IN_PROGRESS", "UPDATE_FAILED"], id="failed-back-sent-again"),
    ],
)
@by_kind
def test_the_rollbacks_own_update_back_is_carried_out(bedrock, answering, kind: ResourceKind, rollback_so_far):
    """U1 ran and completed, then another resource failed: U2 (back to the earlier tags) is carried out, whether the
    resource's UPDATE_IN_PROGRESS of it is in the events yet or not. Its UPDATE_COMPLETE of the deploy came before
    the rollback began, so it does not count."""
    stack = Stack.named(bedrock, kind)
    before = kind.properties(bedrock) | {kind.tag_member: [{"key": "team", "value": "the-stack"}]}
    physical_id, _ = stack.create(before)
    after = before | {kind.tag_member: FAILED_DEPLOYS_TAGS}
    assert stack.update(physical_id, after, before)[0] == physical_id  # U1, which ran
    history = deploy_failed_elsewhere(History(stack), update_ran=True)
    for status in rollback_so_far:
        if status.startswith("stack:"):
            history.of_stack(status.removeprefix("stack:"))
        else:
            history.of_resource(status)
    if rollback_so_far and rollback_so_far[-1].startswith("stack:"):
        history.of_stack("UPDATE_ROLLBACK_IN_PROGRESS")
    answering(history)
    rollback = stack.events.update(physical_id, before, after, stack.logical_id)
    mark = len(bedrock.calls)

    response = index.on_event(rollback)
    stack.complete(rollback, response["PhysicalResourceId"])

    assert response == {"PhysicalResourceId": physical_id}
    assert writes(bedrock, mark) != []
    assert tags_of(kind, stack, physical_id) == {"team": "the-stack"}


@by_kind
def test_an_update_retried_before_the_rollback_reached_its_resource_is_undone_by_it(
    bedrock, answering, kind: ResourceKind
):
    """U1 runs while the rollback has not reached its resource: it is carried out, and U2, which follows, takes the
    resource back. The stack ends as it began."""
    stack = Stack.named(bedrock, kind)
    before = kind.properties(bedrock) | {kind.tag_member: [{"key": "team", "value": "the-stack"}]}
    physical_id, _ = stack.create(before)
    after = before | {kind.tag_member: FAILED_DEPLOYS_TAGS}
    history = deploy_failed_elsewhere(History(stack), update_ran=False)
    answering(history)
    assert stack.update(physical_id, after, before)[0] == physical_id  # U1, late
    assert tags_of(kind, stack, physical_id) == {"team": "the-failed-deploy"}
    answering(history.of_resource("UPDATE_IN_PROGRESS"))

    assert stack.update(physical_id, before, after)[0] == physical_id  # U2

    assert tags_of(kind, stack, physical_id) == {"team": "the-stack"}


def test_events_that_cannot_be_read_leave_the_update_to_go_on(bedrock, monkeypatch, caplog):
    """As an unreadable stack status does: a request must not fail for a read it may not need (logged)."""
    kind = KINDS[0]
    stack = Stack.named(bedrock, kind)
    before = kind.properties(bedrock) | {kind.tag_member: [{"key": "team", "value": "the-stack"}]}
    physical_id, _ = stack.create(before)
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_ROLLBACK_IN_PROGRESS")
    client = botocore.session.get_session().create_client("cloudformation", region_name="us-east-1")
    monkeypatch.setattr(index, "cloudformation_client", lambda: client)
    after = before | {kind.tag_member: FAILED_DEPLOYS_TAGS}

    with Stubber(client) as stubber, caplog.at_level(logging.WARNING):
        stubber.add_client_error("describe_stack_events", "AccessDenied", "not authorized", 403)
        assert stack.update(physical_id, after, before)[0] == physical_id

    assert tags_of(kind, stack, physical_id) == {"team": "the-failed-deploy"}
    assert "could not be read" in caplog.text and "not authorized" in caplog.text


@by_kind
def test_the_rollbacks_update_back_is_carried_out_while_the_events_do_not_show_the_rollback_yet(
    bedrock, answering, kind: ResourceKind
):
    """The stack's status says UPDATE_ROLLBACK_IN_PROGRESS, but its events end with the deploy's own completed
    update of this resource (whether events can lag so is not documented): that UPDATE_COMPLETE is not the
    rollback's, so U2 is carried out."""
    stack = Stack.named(bedrock, kind)
    before = kind.properties(bedrock) | {kind.tag_member: [{"key": "team", "value": "the-stack"}]}
    physical_id, _ = stack.create(before)
    after = before | {kind.tag_member: FAILED_DEPLOYS_TAGS}
    assert stack.update(physical_id, after, before)[0] == physical_id  # U1, which ran
    answering(
        History(stack).of_stack("UPDATE_IN_PROGRESS").of_resource("UPDATE_IN_PROGRESS").of_resource("UPDATE_COMPLETE")
    )

    assert stack.update(physical_id, before, after)[0] == physical_id  # U2

    assert tags_of(kind, stack, physical_id) == {"team": "the-stack"}


@pytest.mark.parametrize("status", ["UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"])
def test_only_a_rollback_that_updates_reads_whether_it_updated_the_resource_back(bedrock, monkeypatch, status):
    """A forward Update in a later deploy is carried out though the events end with an earlier rollback's Update back
    of its resource; and in the cleanup, an Update is late whatever the events say (lifecycle.LATE_UPDATE_STATUSES)."""
    kind = KINDS[0]
    stack = Stack.named(bedrock, kind)
    before = kind.properties(bedrock) | {kind.tag_member: [{"key": "team", "value": "the-stack"}]}
    physical_id, _ = stack.create(before)
    earlier_rollback = deploy_failed_elsewhere(History(stack), update_ran=False)
    earlier_rollback.of_resource("UPDATE_IN_PROGRESS").of_resource("UPDATE_COMPLETE")
    client = botocore.session.get_session().create_client("cloudformation", region_name="us-east-1")
    monkeypatch.setattr(index, "cloudformation_client", lambda: client)
    monkeypatch.setattr(index, "stack_status", lambda stack_id: status)
    after = before | {kind.tag_member: FAILED_DEPLOYS_TAGS}

    with Stubber(client) as stubber:  # answered, should anything read them
        (page,) = earlier_rollback.pages(100)
        stubber.add_response("describe_stack_events", {"StackEvents": page}, {"StackName": stack.events.stack_id})
        response = index.on_event(stack.events.update(physical_id, after, before, stack.logical_id))

    assert response["PhysicalResourceId"] == physical_id
    carried_out = status == "UPDATE_IN_PROGRESS"
    assert tags_of(kind, stack, physical_id) == (
        {"team": "the-failed-deploy"} if carried_out else {"team": "the-stack"}
    )
