"""CloudFormation's rollback of a failed stack update, and the cleanup of a successful one, as LocalStack plays it
(DESIGN.md, fact 10).

Engine-level: small hand-written templates whose custom resources go to a ServiceToken that the test answers
(LocalStack's service_token_stand_ins), so each test asserts exactly the requests CloudFormation sends,
whatever the Bedrock handler decides. The expected requests are written out by hand from the rules:
- every resource whose update started (updated in place, replaced, or failed) gets an Update back, with
  ResourceProperties = its previous properties, OldResourceProperties = those of the failed update, and the
  physical id it has now; dependents first;
- the cleanup (UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS) deletes what the failed update created, and the
  physical resource whose id CloudFormation no longer holds after a rollback Update changed it (after the
  resource's UpdateReplacePolicy).
The last tests hold LocalStack to what CloudFormation's documentation says of custom resource responses, wait
conditions and DeletionPolicy, each citing its source.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cdk_bedrock_customization.rehearsal.clock import VirtualClock
from cdk_bedrock_customization.rehearsal.custom_resources import CustomResourceRequests, _checked_response
from cdk_bedrock_customization.rehearsal.engine import LocalStack, Printer
from cdk_bedrock_customization.rehearsal.response_endpoint import ResponseEndpoint
from cdk_bedrock_customization.rehearsal.stack_resources import ResourceFailed
from cdk_bedrock_customization.rehearsal.template import Environment, Template
from cdk_bedrock_customization.rehearsal.wait_conditions import SignalServer

STACK = "RollbackUnderTest"
TOKEN = "arn:aws:lambda:us-east-1:111122223333:function:StandIn"
ENV = Environment("111122223333", "us-east-1", STACK, f"arn:aws:cloudformation:us-east-1:111122223333:stack/{STACK}/1")


class StandIn:
    """The ServiceToken's function: it records every request and answers it. By default a Create answers the
    id "<logical id>1", an Update or Delete the id it was sent, with Data {"Value": <the Value property>};
    answers[(request type, logical id, Value)] overrides parts of the response (a new id, a failure), or is
    NEVER: the request is never answered (it is in flight until CloudFormation cancels it or times out)."""

    def __init__(self, answers: Mapping[tuple[str, str, str], Mapping[str, Any] | None] | None = None) -> None:
        self.answers = dict(answers or {})
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> Mapping[str, Any] | None:
        with self._lock:
            self.requests.append(event)
        logical_id, value = event["LogicalResourceId"], event["ResourceProperties"]["Value"]
        response = {
            "Status": "SUCCESS",
            "PhysicalResourceId": event.get("PhysicalResourceId", f"{logical_id}1"),
            "Data": {"Value": value},
        }
        answer = self.answers.get((event["RequestType"], logical_id, value), {})
        return None if answer is NEVER else {**response, **answer}

    def sent(self, since: int = 0) -> list[tuple[str, str, str | None, str, str | None]]:
        """(request type, logical id, physical id, Value, old Value) of each request from the since-th on."""
        return [
            (
                request["RequestType"],
                request["LogicalResourceId"],
                request.get("PhysicalResourceId"),
                request["ResourceProperties"]["Value"],
                request.get("OldResourceProperties", {}).get("Value"),
            )
            for request in self.requests[since:]
        ]


NEVER = None  # StandIn's answer to a request it never answers


def custom(value: str, *depends_on: str, replace_policy: str = "Delete") -> dict[str, Any]:
    return {
        "Type": "Custom::Thing",
        "Properties": {"ServiceToken": TOKEN, "Value": value},
        "DependsOn": list(depends_on),
        "UpdateReplacePolicy": replace_policy,
    }


def template(**resources: dict[str, Any]) -> Template:
    return Template({"Resources": resources})


@pytest.fixture(autouse=True)
def aws(moto_aws: None) -> None:
    """Every test here runs in moto: a stack's buckets are made in its S3."""


@pytest.fixture
def play(tmp_path: Path) -> Iterator[Any]:
    """play(stand_in) -> a LocalStack whose custom resources the stand-in answers; closed after the test."""
    stacks: list[LocalStack] = []

    def make(stand_in: StandIn) -> LocalStack:
        clock = VirtualClock()
        stack = LocalStack(
            ENV, clock, Printer(clock, lambda _line: None), threading.RLock(), service_token_stand_ins={TOKEN: stand_in}
        )
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.close()


def events(stack: LocalStack, since: int = 0) -> list[tuple[str, str]]:
    """(status, logical id) of each printed stack event from the since-th on."""
    return [(line.split()[0], line.split()[2]) for line in stack.printer.lines[since:]]


def state(stack: LocalStack) -> dict[str, tuple[str, Any, dict[str, Any]]]:
    """logical id -> (physical id, Value property, attributes)."""
    return {
        lid: (deployed.physical_id, deployed.properties.get("Value"), deployed.attributes)
        for lid, deployed in stack.state.items()
    }


def test_an_update_in_place_and_the_failed_update_both_get_an_update_back(play, tmp_path):
    stand_in = StandIn({("Update", "B", "2"): {"Status": "FAILED", "Reason": "B broke"}})
    stack = play(stand_in)
    bucket = {"Type": "AWS::S3::Bucket", "Properties": {"Tags": [{"Key": "v", "Value": "1"}]}}
    assert stack.deploy(template(A=custom("1"), Bucket=bucket, B=custom("1", "A", "Bucket")), tmp_path).succeeded
    before, printed = dict(stack.state), len(stack.printer.lines)
    changed_bucket = {"Type": "AWS::S3::Bucket", "Properties": {"Tags": [{"Key": "v", "Value": "2"}]}}

    outcome = stack.deploy(template(A=custom("2"), Bucket=changed_bucket, B=custom("2", "A", "Bucket")), tmp_path)

    assert (outcome.succeeded, outcome.reason, outcome.status) == (False, "B: B broke", "UPDATE_ROLLBACK_COMPLETE")
    assert not outcome.rollback_failed
    assert sorted(outcome.update_started) == ["A", "B", "Bucket"]
    assert outcome.rolled_back[-1] == "B" and sorted(outcome.rolled_back) == ["A", "B", "Bucket"]
    assert stand_in.sent(2) == [
        ("Update", "A", "A1", "2", "1"),
        ("Update", "B", "B1", "2", "1"),  # fails
        ("Update", "A", "A1", "1", "2"),  # the rollback: back to the previous properties, the same id
        ("Update", "B", "B1", "1", "2"),  # the failed one too, after what it depends on
    ]
    rollback_of_a = stand_in.requests[-2]
    assert rollback_of_a["ResourceProperties"] == {"ServiceToken": TOKEN, "Value": "1"}
    assert rollback_of_a["OldResourceProperties"] == {"ServiceToken": TOKEN, "Value": "2"}
    assert stack.state == before  # the bucket too: its previous state restored
    assert [e for e in events(stack, printed) if e[1] != "Bucket"] == [
        ("UPDATE_IN_PROGRESS", STACK),
        ("UPDATE_IN_PROGRESS", "A"),
        ("UPDATE_COMPLETE", "A"),
        ("UPDATE_IN_PROGRESS", "B"),
        ("UPDATE_FAILED", "B"),
        ("UPDATE_ROLLBACK_IN_PROGRESS", STACK),
        ("UPDATE_IN_PROGRESS", "A"),
        ("UPDATE_COMPLETE", "A"),
        ("UPDATE_IN_PROGRESS", "B"),
        ("UPDATE_COMPLETE", "B"),
        ("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", STACK),
        ("UPDATE_ROLLBACK_COMPLETE", STACK),
    ]
    rollback_started = stack.printer.lines.index(next(line for line in stack.printer.lines if "ROLLBACK_IN" in line))
    assert all(
        line.endswith("  rollback") for line in stack.printer.lines[rollback_started:] if "UPDATE_IN_PROGRESS" in line
    )


CLEANUP = ("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", STACK)
ROLLBACK_COMPLETE = ("UPDATE_ROLLBACK_COMPLETE", STACK)


@pytest.mark.parametrize(
    ("policy", "deleted", "retained", "cleanup"),
    [
        ("Delete", ["A"], [], [CLEANUP, ("DELETE_IN_PROGRESS", "A"), ("DELETE_COMPLETE", "A"), ROLLBACK_COMPLETE]),
        ("Retain", [], ["A"], [CLEANUP, ("DELETE_SKIPPED", "A"), ROLLBACK_COMPLETE]),
    ],
    ids=["delete", "retain"],
)
def test_a_replaced_resource_rolled_back_to_its_first_id_leaves_the_new_one_to_its_replace_policy(
    play, tmp_path, policy, deleted, retained, cleanup
):
    stand_in = StandIn(
        {
            ("Update", "A", "2"): {"PhysicalResourceId": "A2"},  # a replacement
            ("Update", "B", "2"): {"Status": "FAILED", "Reason": "B broke"},
            ("Update", "A", "1"): {"PhysicalResourceId": "A1"},  # the rollback returns to the first resource
        }
    )
    stack = play(stand_in)
    assert stack.deploy(template(A=custom("1", replace_policy=policy), B=custom("1", "A")), tmp_path).succeeded
    printed = len(stack.printer.lines)

    outcome = stack.deploy(template(A=custom("2", replace_policy=policy), B=custom("2", "A")), tmp_path)

    assert (outcome.status, outcome.replaced, outcome.deleted, outcome.retained) == (
        "UPDATE_ROLLBACK_COMPLETE",
        ["A"],
        deleted,
        retained,
    )
    rollback = [
        ("Update", "A", "A1", "2", "1"),
        ("Update", "B", "B1", "2", "1"),
        ("Update", "A", "A2", "1", "2"),  # sent with the id A has now
        ("Update", "B", "B1", "1", "2"),
    ]
    # The cleanup deletes A2, which CloudFormation no longer holds; nothing deletes A1.
    assert stand_in.sent(2) == rollback + ([("Delete", "A", "A2", "2", None)] if policy == "Delete" else [])
    assert state(stack)["A"] == ("A1", "1", {"Value": "1"})
    assert events(stack, printed)[-len(cleanup) :] == cleanup


def test_a_replaced_resource_that_keeps_its_new_id_in_the_rollback_deletes_nothing(play, tmp_path):
    stand_in = StandIn(
        {
            ("Update", "A", "2"): {"PhysicalResourceId": "A2"},
            ("Update", "B", "2"): {"Status": "FAILED", "Reason": "B broke"},
        }
    )
    stack = play(stand_in)
    assert stack.deploy(template(A=custom("1"), B=custom("1", "A")), tmp_path).succeeded

    outcome = stack.deploy(template(A=custom("2"), B=custom("2", "A")), tmp_path)

    assert (outcome.status, outcome.deleted, outcome.retained) == ("UPDATE_ROLLBACK_COMPLETE", [], [])
    assert stand_in.sent(2) == [
        ("Update", "A", "A1", "2", "1"),
        ("Update", "B", "B1", "2", "1"),
        ("Update", "A", "A2", "1", "2"),  # answered with A2 itself: A stays A2, and A1 is not deleted either
        ("Update", "B", "B1", "1", "2"),
    ]
    assert state(stack)["A"] == ("A2", "1", {"Value": "1"})
    assert state(stack)["B"] == ("B1", "1", {"Value": "1"})


def test_a_resource_created_by_the_failed_update_is_deleted_in_the_cleanup(play, tmp_path):
    stand_in = StandIn({("Update", "B", "2"): {"Status": "FAILED", "Reason": "B broke"}})
    stack = play(stand_in)
    assert stack.deploy(template(A=custom("1"), B=custom("1", "A")), tmp_path).succeeded
    printed = len(stack.printer.lines)

    # C is new, between A and B: the rollback follows the previous template, where B depends on A directly.
    outcome = stack.deploy(template(A=custom("2"), C=custom("1", "A"), B=custom("2", "C")), tmp_path)

    assert (outcome.status, outcome.created, outcome.deleted) == ("UPDATE_ROLLBACK_COMPLETE", ["C"], ["C"])
    assert stand_in.sent(2) == [
        ("Update", "A", "A1", "2", "1"),
        ("Create", "C", None, "1", None),
        ("Update", "B", "B1", "2", "1"),
        ("Update", "A", "A1", "1", "2"),
        ("Update", "B", "B1", "1", "2"),
        ("Delete", "C", "C1", "1", None),  # after every rollback Update
    ]
    assert set(stack.state) == {"A", "B"}
    assert events(stack, printed)[-4:] == [
        ("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", STACK),
        ("DELETE_IN_PROGRESS", "C"),
        ("DELETE_COMPLETE", "C"),
        ("UPDATE_ROLLBACK_COMPLETE", STACK),
    ]


def test_a_failed_rollback_update_ends_in_update_rollback_failed(play, tmp_path):
    stand_in = StandIn(
        {
            ("Update", "B", "2"): {"Status": "FAILED", "Reason": "B broke"},
            ("Update", "A", "1"): {"Status": "FAILED", "Reason": "A cannot go back"},
        }
    )
    stack = play(stand_in)
    assert stack.deploy(template(A=custom("1"), B=custom("1", "A")), tmp_path).succeeded
    printed = len(stack.printer.lines)

    outcome = stack.deploy(template(A=custom("2"), C=custom("1", "A"), B=custom("2", "C")), tmp_path)

    assert (outcome.succeeded, outcome.reason) == (False, "B: B broke")
    assert (outcome.status, outcome.rollback_failed, outcome.rollback_reason) == (
        "UPDATE_ROLLBACK_FAILED",
        True,
        "A: A cannot go back",
    )
    assert stand_in.sent(5) == [("Update", "A", "A1", "1", "2")]  # B waits for A; no cleanup
    assert events(stack, printed)[-3:] == [
        ("UPDATE_IN_PROGRESS", "A"),
        ("UPDATE_FAILED", "A"),
        ("UPDATE_ROLLBACK_FAILED", STACK),
    ]
    # The stack keeps what it has: A and B with the properties of the failed update, C still there.
    assert {lid: values[:2] for lid, values in state(stack).items()} == {
        "A": ("A1", "2"),
        "B": ("B1", "2"),
        "C": ("C1", "1"),
    }


def test_a_stack_whose_update_rollback_failed_refuses_an_update(play, tmp_path):
    """CloudFormation refuses UpdateStack in UPDATE_ROLLBACK_FAILED (only ContinueUpdateRollback or a delete may
    follow): the deploy fails before it starts, and no request is sent."""
    stand_in = StandIn(
        {
            ("Update", "B", "2"): {"Status": "FAILED", "Reason": "B broke"},
            ("Update", "A", "1"): {"Status": "FAILED", "Reason": "A cannot go back"},
        }
    )
    stack = play(stand_in)
    assert stack.deploy(template(A=custom("1"), B=custom("1", "A")), tmp_path).succeeded
    assert stack.deploy(template(A=custom("2"), B=custom("2", "A")), tmp_path).status == "UPDATE_ROLLBACK_FAILED"
    sent = len(stand_in.requests)

    refused = stack.deploy(template(A=custom("3"), B=custom("3", "A")), tmp_path)

    assert not refused.succeeded
    assert refused.reason.startswith(
        f"{STACK}: ValidationError: Stack:{ENV.stack_id} is in UPDATE_ROLLBACK_FAILED state and can not be updated."
    )
    assert "ContinueUpdateRollback" in refused.reason
    assert stand_in.sent(sent) == []
    assert stack.status == "UPDATE_ROLLBACK_FAILED"


def test_what_a_resource_depends_on_is_rolled_back_before_it(play, tmp_path):
    """A rollback is an update to the previous template: in its order, dependencies first."""
    stand_in = StandIn({("Update", "D", "2"): {"Status": "FAILED", "Reason": "D broke"}})
    stack = play(stand_in)
    chain = {"A": (), "B": ("A",), "C": ("B",), "D": ("C",)}
    assert stack.deploy(template(**{lid: custom("1", *needs) for lid, needs in chain.items()}), tmp_path).succeeded

    outcome = stack.deploy(template(**{lid: custom("2", *needs) for lid, needs in chain.items()}), tmp_path)

    assert outcome.status == "UPDATE_ROLLBACK_COMPLETE"
    assert [(kind, lid) for kind, lid, *_ in stand_in.sent(4)] == [
        *[("Update", lid) for lid in "ABCD"],
        *[("Update", lid) for lid in "ABCD"],
    ]
    assert outcome.rolled_back == list("ABCD")


def test_a_failed_create_deletes_what_it_created(play, tmp_path):
    stand_in = StandIn({("Create", "B", "1"): {"Status": "FAILED", "Reason": "B broke"}})
    stack = play(stand_in)

    outcome = stack.deploy(template(A=custom("1"), B=custom("1", "A")), tmp_path)

    assert (outcome.status, outcome.deleted) == ("ROLLBACK_COMPLETE", ["B", "A"])
    assert stand_in.sent() == [
        ("Create", "A", None, "1", None),
        ("Create", "B", None, "1", None),  # fails, answering the id B1: CloudFormation deletes it
        ("Delete", "B", "B1", "1", None),
        ("Delete", "A", "A1", "1", None),
    ]
    assert stack.state == {}


# --- requests in flight when the operation fails: cancelled, as CloudFormation cancels them --------------------
# CloudFormation marks a custom resource still waiting for its response CREATE_FAILED "Resource creation cancelled"
# (or UPDATE_FAILED "Resource update cancelled") and ignores a later response. A cancelled create's rollback is a
# Delete with a physical id CloudFormation made up (aws-cloudformation/cloudformation-coverage-roadmap#1814); a
# cancelled update's, an Update back to the previous properties with the id it had.


def test_a_create_in_flight_when_another_fails_is_cancelled_and_deleted_with_an_id_cloudformation_made_up(
    play, tmp_path
):
    stand_in = StandIn({("Create", "A", "1"): NEVER, ("Create", "B", "1"): {"Status": "FAILED", "Reason": "B broke"}})
    stack = play(stand_in)

    outcome = stack.deploy(template(A=custom("1"), B=custom("1")), tmp_path)

    assert (outcome.status, outcome.reason) == ("ROLLBACK_COMPLETE", "B: B broke")
    assert sorted(outcome.deleted) == ["A", "B"]
    deletes = {
        request["LogicalResourceId"]: request for request in stand_in.requests if request["RequestType"] == "Delete"
    }
    assert deletes["B"]["PhysicalResourceId"] == "B1"
    made_up = deletes["A"]["PhysicalResourceId"]
    assert made_up.startswith(f"{STACK}-A-") and len(made_up) == len(f"{STACK}-A-") + 12
    assert ("CREATE_FAILED", "A") in events(stack)
    assert any(
        line.split()[0] == "CREATE_FAILED" and line.endswith("A: Resource creation cancelled")
        for line in stack.printer.lines
    )
    assert stack.state == {}


def test_an_update_in_flight_when_another_fails_is_cancelled_and_updated_back(play, tmp_path):
    stand_in = StandIn({("Update", "A", "2"): NEVER, ("Update", "B", "2"): {"Status": "FAILED", "Reason": "B broke"}})
    stack = play(stand_in)
    assert stack.deploy(template(A=custom("1"), B=custom("1")), tmp_path).succeeded
    before = state(stack)

    outcome = stack.deploy(template(A=custom("2"), B=custom("2")), tmp_path)

    assert (outcome.status, outcome.reason) == ("UPDATE_ROLLBACK_COMPLETE", "B: B broke")
    assert sorted(stand_in.sent(2)) == sorted(
        [
            ("Update", "A", "A1", "2", "1"),  # never answered: cancelled
            ("Update", "B", "B1", "2", "1"),  # fails
            ("Update", "A", "A1", "1", "2"),  # the rollback of each, with the id it had
            ("Update", "B", "B1", "1", "2"),
        ]
    )
    assert any(
        line.split()[0] == "UPDATE_FAILED" and line.endswith("A: Resource update cancelled")
        for line in stack.printer.lines
    )
    assert state(stack) == before


def test_a_create_never_answered_times_out_after_the_hour_and_is_deleted_with_an_id_cloudformation_made_up(
    play, tmp_path
):
    stand_in = StandIn({("Create", "A", "1"): NEVER})
    stack = play(stand_in)

    outcome = stack.deploy(template(A=custom("1")), tmp_path)

    assert outcome.status == "ROLLBACK_COMPLETE"
    assert outcome.reason == "A: CloudFormation did not receive a response from your Custom Resource"
    assert stand_in.sent()[0] == ("Create", "A", None, "1", None)
    (delete,) = stand_in.sent(1)
    assert delete[:2] == ("Delete", "A") and delete[2] is not None and delete[2].startswith(f"{STACK}-A-")
    # CloudFormation waits its hour for a custom resource (ServiceTimeout's default and maximum), and no longer.
    assert 3600 <= stack.clock.now() < 3600 + 60


def test_a_delete_in_flight_is_not_cancelled_by_another_failing(play, tmp_path):
    """A stack's delete waits for every resource it deletes: nothing of a delete is cancelled."""
    stand_in = StandIn({("Delete", "A", "1"): NEVER, ("Delete", "B", "1"): {"Status": "FAILED", "Reason": "B broke"}})
    stack = play(stand_in)
    assert stack.deploy(template(A=custom("1"), B=custom("1")), tmp_path).succeeded

    outcome = stack.delete()

    assert outcome.status == "DELETE_FAILED"
    assert "Resource deletion cancelled" not in "\n".join(stack.printer.lines)
    assert any(
        line.split()[0] == "DELETE_FAILED" and "did not receive a response" in line for line in stack.printer.lines
    )


# --- the cleanup of a successful update, and the delete of a stack whose rollback failed ---------------------


def test_the_cleanup_deletes_a_removed_dependent_before_the_replaced_resource_it_named(play, tmp_path):
    """The cleanup deletes the old instance of a replaced resource and the removed resources in the previous
    template's order, dependents first: a removed deployment goes before the replaced model it served."""
    stand_in = StandIn({("Update", "Model", "2"): {"PhysicalResourceId": "Model2"}})
    stack = play(stand_in)
    assert stack.deploy(template(Model=custom("1"), Serving=custom("1", "Model")), tmp_path).succeeded

    outcome = stack.deploy(template(Model=custom("2")), tmp_path)

    assert (outcome.status, outcome.replaced) == ("UPDATE_COMPLETE", ["Model"])
    assert stand_in.sent(2) == [
        ("Update", "Model", "Model1", "2", "1"),
        ("Delete", "Serving", "Serving1", "1", None),
        ("Delete", "Model", "Model1", "1", None),
    ]


def test_what_the_cleanup_cannot_delete_is_abandoned_and_the_update_completes(play, tmp_path):
    """CloudFormation abandons a resource that its cleanup cannot delete ("Monitor the progress of a stack update"):
    DELETE_FAILED, the update still completes, and the stack no longer holds it (its delete does not try again)."""
    stand_in = StandIn(
        {
            ("Update", "Model", "2"): {"PhysicalResourceId": "Model2"},
            ("Delete", "Model", "1"): {"Status": "FAILED", "Reason": "Model1 cannot be deleted yet"},
            ("Delete", "Removed", "1"): {"Status": "FAILED", "Reason": "Removed1 cannot be deleted yet"},
        }
    )
    stack = play(stand_in)
    assert stack.deploy(template(Model=custom("1"), Removed=custom("1")), tmp_path).succeeded
    printed = len(stack.printer.lines)

    outcome = stack.deploy(template(Model=custom("2")), tmp_path)

    assert outcome.succeeded
    assert (outcome.status, sorted(outcome.delete_failed)) == ("UPDATE_COMPLETE", ["Model", "Removed"])
    assert ("DELETE_FAILED", "Removed") in events(stack, printed)
    assert state(stack) == {"Model": ("Model2", "2", {"Value": "2"})}
    sent = len(stand_in.requests)
    assert stack.delete().status == "DELETE_COMPLETE"
    assert stand_in.sent(sent) == [("Delete", "Model", "Model2", "2", None)]


def test_a_stack_whose_update_rollback_failed_can_be_deleted(play, tmp_path):
    """After UPDATE_ROLLBACK_FAILED the stack holds resources of both templates: Gone, which the failed update
    removed, named Kept in the previous template, so the delete deletes it first."""
    stand_in = StandIn(
        {
            ("Update", "Changed", "2"): {"Status": "FAILED", "Reason": "Changed broke"},
            ("Update", "Kept", "1"): {"Status": "FAILED", "Reason": "Kept cannot go back"},
        }
    )
    stack = play(stand_in)
    assert stack.deploy(template(Kept=custom("1"), Changed=custom("1"), Gone=custom("1", "Kept")), tmp_path).succeeded
    failed = stack.deploy(template(Kept=custom("2"), Changed=custom("2", "Kept")), tmp_path)
    assert failed.status == "UPDATE_ROLLBACK_FAILED"
    assert set(stack.state) == {"Kept", "Changed", "Gone"}
    sent = len(stand_in.requests)

    outcome = stack.delete()

    assert outcome.status == "DELETE_COMPLETE"
    deletes = [lid for kind, lid, *_ in stand_in.sent(sent) if kind == "Delete"]
    assert sorted(deletes) == ["Changed", "Gone", "Kept"]
    assert deletes.index("Gone") < deletes.index("Kept")
    assert deletes.index("Changed") < deletes.index("Kept")


def test_a_resource_rolled_back_before_the_rollback_failed_is_deleted_as_its_previous_definition_orders(play, tmp_path):
    """After UPDATE_ROLLBACK_FAILED, Restored's rollback Update had succeeded: it holds its previous properties
    again, which name Gone (removed by the failed update), so the delete deletes Restored before Gone."""
    stand_in = StandIn(
        {
            ("Update", "Changed", "2"): {"Status": "FAILED", "Reason": "Changed broke"},
            ("Update", "Kept", "1"): {"Status": "FAILED", "Reason": "Kept cannot go back"},
        }
    )
    stack = play(stand_in)
    assert stack.deploy(
        template(Kept=custom("1"), Changed=custom("1"), Gone=custom("1"), Restored=custom("1", "Gone")), tmp_path
    ).succeeded
    failed = stack.deploy(template(Kept=custom("2"), Changed=custom("2", "Kept"), Restored=custom("2")), tmp_path)
    assert failed.status == "UPDATE_ROLLBACK_FAILED"
    assert "Restored" in failed.rolled_back
    assert state(stack)["Restored"][1] == "1"
    sent = len(stand_in.requests)

    outcome = stack.delete()

    assert outcome.status == "DELETE_COMPLETE"
    deletes = [lid for kind, lid, *_ in stand_in.sent(sent) if kind == "Delete"]
    assert deletes.index("Restored") < deletes.index("Gone")


# --- ContinueUpdateRollback ------------------------------------------------------------------------------------------
# The failed update of these tests: A is replaced (A1 -> A2), C is new, B fails; A's rollback Update fails, and B,
# which depends on A in the previous template, waits for it. The stack ends UPDATE_ROLLBACK_FAILED holding A2, B
# with its failed properties, and C.
A_CANNOT_GO_BACK = ("Update", "A", "1")


def _failed_rollback(play: Any, tmp_path: Path) -> tuple[StandIn, LocalStack]:
    stand_in = StandIn(
        {
            ("Update", "A", "2"): {"PhysicalResourceId": "A2"},
            ("Update", "B", "2"): {"Status": "FAILED", "Reason": "B broke"},
            A_CANNOT_GO_BACK: {"Status": "FAILED", "Reason": "A cannot go back"},
        }
    )
    stack = play(stand_in)
    assert stack.deploy(template(A=custom("1"), B=custom("1", "A")), tmp_path).succeeded
    failed = stack.deploy(template(A=custom("2"), C=custom("1", "A"), B=custom("2", "C")), tmp_path)
    assert failed.status == "UPDATE_ROLLBACK_FAILED"
    assert {lid: values[:2] for lid, values in state(stack).items()} == {
        "A": ("A2", "2"),
        "B": ("B1", "2"),
        "C": ("C1", "1"),
    }
    return stand_in, stack


def test_continue_update_rollback_sends_again_what_failed_and_what_waited_then_cleans_up(play, tmp_path):
    stand_in, stack = _failed_rollback(play, tmp_path)
    stand_in.answers[A_CANNOT_GO_BACK] = {"PhysicalResourceId": "A1"}  # fixed: A goes back to its first resource
    sent, printed = len(stand_in.requests), len(stack.printer.lines)

    outcome = stack.continue_update_rollback()

    assert (outcome.succeeded, outcome.status, stack.status) == (
        True,
        "UPDATE_ROLLBACK_COMPLETE",
        "UPDATE_ROLLBACK_COMPLETE",
    )
    assert stand_in.sent(sent) == [
        ("Update", "A", "A2", "1", "2"),
        ("Update", "B", "B1", "1", "2"),
        ("Delete", "C", "C1", "1", None),  # created by the failed update, where it named A: deleted first
        ("Delete", "A", "A2", "2", None),  # moved off by A's rollback Update (UpdateReplacePolicy Delete)
    ]
    assert {lid: values[:2] for lid, values in state(stack).items()} == {"A": ("A1", "1"), "B": ("B1", "1")}
    assert events(stack, printed)[0] == ("UPDATE_ROLLBACK_IN_PROGRESS", STACK)
    assert events(stack, printed)[-1] == ("UPDATE_ROLLBACK_COMPLETE", STACK)
    # The stack can be updated again.
    assert stack.deploy(template(A=custom("3"), B=custom("3", "A")), tmp_path).status == "UPDATE_COMPLETE"


def test_a_resource_skipped_by_continue_update_rollback_is_kept_as_it_is_and_not_cleaned_up(play, tmp_path):
    """ResourcesToSkip: A gets no request, and is marked UPDATE_COMPLETE; the stack holds A2 with the previous
    template's properties (inconsistent, as the API reference warns), and the cleanup deletes neither A1 nor A2."""
    stand_in, stack = _failed_rollback(play, tmp_path)
    sent, printed = len(stand_in.requests), len(stack.printer.lines)

    outcome = stack.continue_update_rollback(["A"])

    assert (outcome.succeeded, outcome.status) == (True, "UPDATE_ROLLBACK_COMPLETE")
    assert stand_in.sent(sent) == [("Update", "B", "B1", "1", "2"), ("Delete", "C", "C1", "1", None)]
    assert {lid: values[:2] for lid, values in state(stack).items()} == {"A": ("A2", "1"), "B": ("B1", "1")}
    assert ("UPDATE_COMPLETE", "A") in events(stack, printed)
    # The next update sends A's Update with the previous template's properties as the old ones, to A2.
    sent = len(stand_in.requests)
    assert stack.deploy(template(A=custom("3"), B=custom("3", "A")), tmp_path).status == "UPDATE_COMPLETE"
    assert stand_in.sent(sent)[0] == ("Update", "A", "A2", "3", "1")


def test_continue_update_rollback_that_fails_again_can_be_continued_again(play, tmp_path):
    stand_in, stack = _failed_rollback(play, tmp_path)
    sent = len(stand_in.requests)

    again = stack.continue_update_rollback()

    assert (again.succeeded, again.status, again.reason) == (False, "UPDATE_ROLLBACK_FAILED", "A: A cannot go back")
    assert stand_in.sent(sent) == [("Update", "A", "A2", "1", "2")]
    stand_in.answers[A_CANNOT_GO_BACK] = {"PhysicalResourceId": "A1"}
    assert stack.continue_update_rollback().status == "UPDATE_ROLLBACK_COMPLETE"
    assert set(stack.state) == {"A", "B"}


@pytest.mark.parametrize("skip", [["B"], ["C"], ["Nothing"]])
def test_continue_update_rollback_refuses_to_skip_a_resource_whose_rollback_did_not_fail(play, tmp_path, skip):
    """B failed in the update (not in the rollback), C was created by it, Nothing is no resource: none can be
    skipped. Refused before any request, and the stack stays UPDATE_ROLLBACK_FAILED."""
    stand_in, stack = _failed_rollback(play, tmp_path)
    sent = len(stand_in.requests)

    refused = stack.continue_update_rollback(skip)

    assert not refused.succeeded
    assert refused.reason == (
        f"{STACK}: ValidationError: ResourcesToSkip {skip}: only a resource whose rollback failed can be skipped "
        "(here ['A'])"
    )
    assert stand_in.sent(sent) == []
    assert stack.status == "UPDATE_ROLLBACK_FAILED"


def test_continue_update_rollback_is_refused_unless_the_update_rollback_failed(play, tmp_path):
    stand_in = StandIn({("Update", "A", "2"): {"Status": "FAILED", "Reason": "A broke"}})
    stack = play(stand_in)
    assert stack.deploy(template(A=custom("1")), tmp_path).status == "CREATE_COMPLETE"
    assert stack.deploy(template(A=custom("2")), tmp_path).status == "UPDATE_ROLLBACK_COMPLETE"
    sent = len(stand_in.requests)

    refused = stack.continue_update_rollback()

    assert not refused.succeeded
    assert refused.reason == (
        f"{STACK}: ValidationError: ContinueUpdateRollback is only for a stack whose update rollback failed "
        "(UPDATE_ROLLBACK_FAILED); the stack is UPDATE_ROLLBACK_COMPLETE"
    )
    assert stand_in.sent(sent) == []
    assert stack.status == "UPDATE_ROLLBACK_COMPLETE"


def _with(value: str, **properties: Any) -> dict[str, Any]:
    resource = custom(value)
    resource["Properties"].update(properties)
    return resource


# --- custom resource responses (CloudFormation "Custom resource response objects") --------------------------


@pytest.mark.parametrize("status", ["success", "OK", None])
def test_a_response_whose_status_is_neither_success_nor_failed_is_not_taken_as_success(play, tmp_path, status):
    """Response objects, Status: "Must be either SUCCESS or FAILED" (Required: Yes)."""
    stack = play(StandIn({("Create", "A", "1"): {"Status": status}}))
    outcome = stack.deploy(template(A=custom("1")), tmp_path)
    assert not outcome.succeeded and outcome.status == "ROLLBACK_COMPLETE"


def test_the_4096_byte_response_limit_counts_utf8_bytes_not_characters():
    """Response objects: "The size of the response body is limited to 4096 bytes". A body of 4096 characters, 4 of
    them of 2 bytes (Node's JSON.stringify leaves them unescaped), is 4100 bytes."""
    prefix = '{"Status":"SUCCESS","PhysicalResourceId":"p","Data":{"V":"'
    suffix = '"}}'
    filler = 4000 - len(prefix) - len(suffix) - 4
    body = (prefix + "é" * 4 + "v" * filler + suffix).encode()
    assert len(body.decode()) == 4000 and len(body) == 4004
    assert _checked_response("A", "Create", "made-up", body)[0] == "p"  # within
    filler = 4096 - len(prefix) - len(suffix) - 4
    body = (prefix + "é" * 4 + "v" * filler + suffix).encode()
    assert len(body.decode()) == 4096 and len(body) == 4100
    with pytest.raises(ResourceFailed):
        _checked_response("A", "Create", "made-up", body)


def test_a_physical_id_over_1_kb_in_utf8_bytes_is_refused(play, tmp_path):
    """Response objects, PhysicalResourceId: "can be up to 1 KB in size": 600 'é' are 1,200 bytes."""
    stack = play(StandIn({("Create", "A", "1"): {"PhysicalResourceId": "é" * 600}}))
    outcome = stack.deploy(template(A=custom("1")), tmp_path)
    assert (outcome.status, outcome.reason) == ("ROLLBACK_COMPLETE", "A: Invalid PhysicalResourceId")


def test_a_service_timeout_of_0_is_refused(play, tmp_path):
    """AWS::CloudFormation::CustomResource, ServiceTimeout: "an integer from 1 to 3600"."""
    outcome = play(StandIn()).deploy(template(A=_with("1", ServiceTimeout="0")), tmp_path)
    assert not outcome.succeeded and "ServiceTimeout" in outcome.reason


# --- wait conditions (user guide "Create wait conditions in a CloudFormation template"; SignalResource) -------

HANDLE = {"Type": "AWS::CloudFormation::WaitConditionHandle"}


class Signaller(StandIn):
    """A custom resource that PUTs the signals of its Signals property (JSON) to its Url property, then succeeds."""

    def __call__(self, event):
        if event["RequestType"] == "Create":
            url = event["ResourceProperties"]["Url"]
            for signal in json.loads(event["ResourceProperties"]["Signals"]):
                data = json.dumps(signal).encode()
                request = urllib.request.Request(url, data=data, method="PUT")
                urllib.request.urlopen(request, timeout=10).read()
        return super().__call__(event)


def wait_stack(signals: list[dict[str, Any]], count: int | None, timeout: str = "600") -> Template:
    sender = custom("1")
    sender["Properties"].update({"Url": {"Ref": "H"}, "Signals": json.dumps(signals)})
    wait = {
        "Type": "AWS::CloudFormation::WaitCondition",
        "DependsOn": ["S"],
        "Properties": {"Handle": {"Ref": "H"}, "Timeout": timeout, **({"Count": count} if count else {})},
    }
    return Template({"Resources": {"H": HANDLE, "S": sender, "W": wait}})


def ok(uid: str) -> dict[str, str]:
    return {"Status": "SUCCESS", "UniqueId": uid, "Data": "d", "Reason": "r"}


@pytest.mark.parametrize(
    "signal",
    [ok(""), ok("u" * 65), {**ok("a"), "Status": "SUCCEEDED"}],
    ids=["empty-unique-id", "65-character-unique-id", "unknown-status"],
)
def test_a_signal_that_signal_resource_would_refuse_is_refused(play, tmp_path, signal):
    """botocore's SignalResource: UniqueId of 1 to 64 characters (ResourceSignalUniqueId), Status SUCCESS or FAILURE
    (ResourceSignalStatus); DESIGN.md fact 11 keeps handle-URL signals within them. The PUT is refused, so the sender
    fails and the stack rolls back."""
    outcome = play(Signaller()).deploy(wait_stack([signal], None), tmp_path)
    assert outcome.status == "ROLLBACK_COMPLETE"
    assert "400" in outcome.reason
    assert play(Signaller()).deploy(wait_stack([ok("u" * 64)], None), tmp_path).succeeded


@pytest.mark.parametrize("body", [b"not json", b"", b"\xff", b"[" * 100_000, b"[]", b'"SUCCESS"'])
def test_a_handle_answers_400_to_a_body_that_is_not_a_signal_and_goes_on(body):
    signals = SignalServer(VirtualClock())
    try:
        url = signals.new_handle("W")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(url, data=body, method="PUT"), timeout=10)
        assert refused.value.code == 400
        signal = json.dumps(ok("a")).encode()
        assert urllib.request.urlopen(urllib.request.Request(url, data=signal, method="PUT"), timeout=10).status == 200
    finally:
        signals.close()


def test_a_signal_sent_again_under_its_unique_id_counts_once(play, tmp_path):
    """SignalResource's UniqueId: "If you send multiple signals to a single resource (such as signaling a wait
    condition), each signal requires a different unique ID": two of one id are one signal, short of Count 2."""
    stack = play(Signaller())
    outcome = stack.deploy(wait_stack([ok("a"), ok("a")], 2), tmp_path)
    assert outcome.status == "ROLLBACK_COMPLETE"
    assert stack.clock.now() >= 600  # the wait timed out: the sender had succeeded


def test_a_wait_condition_with_count_2_and_one_success_signal_times_out(play, tmp_path):
    """WaitCondition Count: "The number of success signals that CloudFormation must receive"; too few before the
    Timeout: "CloudFormation assumes that the wait condition has failed and rolls the stack back"."""
    stack = play(Signaller())
    outcome = stack.deploy(wait_stack([ok("a")], 2), tmp_path)
    assert outcome.status == "ROLLBACK_COMPLETE"
    assert stack.clock.now() >= 600

    assert play(Signaller()).deploy(wait_stack([ok("a"), ok("b")], 2), tmp_path).succeeded


def test_a_failure_signal_fails_the_wait_condition_at_once(play, tmp_path):
    """SignalResource, Status: "A failure signal causes CloudFormation to immediately fail the stack creation"."""
    failure = {"Status": "FAILURE", "UniqueId": "a", "Data": "", "Reason": "job failed"}
    for count in (1, 2):
        stack = play(Signaller())
        outcome = stack.deploy(wait_stack([failure], count), tmp_path)
        assert outcome.status == "ROLLBACK_COMPLETE", count
        assert stack.clock.now() < 600, count


def test_a_wait_condition_without_count_needs_one_signal(play, tmp_path):
    """WaitCondition Count, when absent, is 1 (a wait condition without signals does not complete)."""
    stack = play(Signaller())
    outcome = stack.deploy(wait_stack([], None), tmp_path)
    assert outcome.status == "ROLLBACK_COMPLETE" and stack.clock.now() >= 600


def test_numbers_and_booleans_reach_the_service_token_as_strings(play, tmp_path):
    """CloudFormation stringifies every scalar property of a custom resource (aws-cloudformation/
    cloudformation-coverage-roadmap#1037: `boolean_property: true`, `integer_property: 14` arrive as "true" and
    "14"; aws/aws-cdk#15249, aws/aws-cdk#4000)."""
    stand_in = StandIn()
    stack = play(stand_in)
    resource = _with("1", Flag=True, Off=False, N=14, Nested={"L": [7, True]})
    assert stack.deploy(template(A=resource), tmp_path).succeeded
    sent = stand_in.requests[0]["ResourceProperties"]
    assert (sent["Flag"], sent["Off"], sent["N"], sent["Nested"]) == ("true", "false", "14", {"L": ["7", "true"]})


@pytest.mark.parametrize("answered", [True, False], ids=["failed", "never-answered"])
def test_a_create_failed_or_never_answered_on_the_response_url_keeps_an_id_made_up(answered):
    """The ResponseURL path (a real function's PUT), not the stand-in shortcut: a FAILED Create without a
    PhysicalResourceId, or one never answered within CloudFormation's hour (ServiceTimeout's default and maximum),
    still leaves CloudFormation an id it made up, which its rollback sends a Delete
    (aws-cloudformation/cloudformation-coverage-roadmap#1814, as the stand-in path already plays it)."""
    clock = VirtualClock()
    endpoint = ResponseEndpoint(clock)

    def invoke(_arn, event):
        if answered:
            url = urlsplit(event["ResponseURL"])
            body = {"Status": "FAILED", "Reason": "broke", "RequestId": event["RequestId"]}
            endpoint.deliver(f"{url.path}?{url.query}", json.dumps(body).encode())

    requests = CustomResourceRequests(ENV, clock, endpoint, invoke)
    try:
        with clock.actor(), pytest.raises(ResourceFailed) as failed:
            requests.send(
                "Create", "A", "Custom::Thing", {"ServiceToken": "arn:aws:lambda:us-east-1:1:function:F"}, None, None
            )
        assert failed.value.physical_id and failed.value.physical_id.startswith(f"{ENV.stack_name}-A-")
        assert clock.now() == (0 if answered else 3600)
    finally:
        endpoint.close()


def test_a_custom_resource_whose_service_token_changes_fails_its_update_before_any_request(play, tmp_path):
    """AWS::CloudFormation::CustomResource, ServiceToken: "Update requires: Updates are not supported"; CloudFormation
    fails the update with "Modifying service token is not allowed." and rolls it back."""
    stand_in = StandIn()
    stack = play(stand_in)
    assert stack.deploy(template(A=custom("1")), tmp_path).succeeded
    moved = _with("1", ServiceToken="arn:aws:lambda:us-east-1:111122223333:function:Elsewhere")

    outcome = stack.deploy(template(A=moved), tmp_path)

    assert (outcome.status, outcome.reason) == (
        "UPDATE_ROLLBACK_COMPLETE",
        "A: Modifying service token is not allowed.",
    )
    assert stand_in.sent(1) == []


# --- DeletionPolicy (CloudFormation "DeletionPolicy attribute") -------------------------------------------------


def test_a_create_rollback_deletes_a_retain_except_on_create_resource(play, tmp_path):
    """RetainExceptOnCreate: "If the stack operation that created the resource is rolled back, CloudFormation
    deletes the resource"."""
    stand_in = StandIn({("Create", "B", "1"): {"Status": "FAILED", "Reason": "B broke"}})
    a = custom("1")
    a["DeletionPolicy"] = "RetainExceptOnCreate"
    outcome = play(stand_in).deploy(template(A=a, B=custom("1", "A")), tmp_path)
    assert outcome.status == "ROLLBACK_COMPLETE"
    assert ("Delete", "A", "A1", "1", None) in stand_in.sent()


def test_a_resource_removed_by_an_update_follows_its_deletion_policy_not_its_update_replace_policy(play, tmp_path):
    """UpdateReplacePolicy applies to "the existing physical instance of a resource when it's replaced during a
    stack update"; a resource removed from the template goes by its DeletionPolicy (Delete by default)."""
    stand_in = StandIn()
    stack = play(stand_in)
    assert stack.deploy(template(A=custom("1", replace_policy="Retain"), K=custom("1")), tmp_path).succeeded
    assert stack.deploy(template(K=custom("1")), tmp_path).succeeded
    assert ("Delete", "A", "A1", "1", None) in stand_in.sent()
