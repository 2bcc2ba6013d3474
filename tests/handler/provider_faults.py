"""What the state machines that play CloudFormation and the CDK Provider framework against the handler share: a
Bedrock of their own per example, the handler wired to it, how a Lambda dies after a Bedrock call, how the
framework delivers a request (under a fault, and perhaps twice) and waits for it, and what CloudFormation does once a
request completed or when it rolls an update back."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from bedrock_custom_resource import index, lifecycle
from cdk_bedrock_customization.emulation.bedrock_stand_in import BedrockStandIn
from hypothesis.stateful import RuleBasedStateMachine
from moto import mock_aws

from .conftest import ACCOUNT, OPERATION_STARTED, REGION, is_complete_input


class LambdaDied(BaseException):
    """The invocation ended right after a Bedrock call returned; not an Exception, so the handler cannot catch it."""


# The Reason the framework sends for a Lambda that died (the user function's errorMessage, framework.ts).
LAMBDA_DIED = "Task timed out"
# Failures that a second try of the same request may not meet: the operator deletes the stack again, or continues
# the rollback (a throttling storm past botocore's retries is not the handler's to outlast).
TRANSIENT = (LAMBDA_DIED, "An error occurred (ThrottlingException)")
ROLLBACK_OF = {"Create": "ROLLBACK_IN_PROGRESS", "Update": "UPDATE_ROLLBACK_IN_PROGRESS"}


class ProviderFrameworkMachine(RuleBasedStateMachine):
    """The stack's status (status), what CloudFormation holds (held, its properties, and held_choice: what the rules
    drew for it), the request under way (operation), the handler's clients on a Bedrock of its own, and the
    framework's delivery. Subclasses say what Bedrock holds (made), which Bedrock operation a drawn fault names
    (fault_operation), what Bedrock ends given time (bedrock_moves_on), and how a replaced id is deleted
    (_delete_replaced)."""

    def __init__(self) -> None:
        super().__init__()
        # A Bedrock of its own for each example: conftest's bedrock fixture is made once per test function, so this
        # wires the stand-in as that fixture does (the aws_environment fixture gives the credentials).
        self.patches = pytest.MonkeyPatch()
        self.moto = mock_aws()
        self.moto.start()
        self.bedrock = BedrockStandIn(self.patches, region=REGION, account_id=ACCOUNT)
        self.reader = self.bedrock.client()  # the invariants' own client: no fault reaches it
        self.dies_after: str | None = None
        self.status = "CREATE_IN_PROGRESS"
        self.held: str | None = None
        self.held_properties: dict[str, Any] = {}
        self.held_choice: Any = None
        self.operation: dict[str, Any] | None = None
        self._wire_handler()

    def made(self) -> set[str]:
        """The ARNs of what Bedrock holds of the machine's resource type, read through its API."""
        raise NotImplementedError

    def fault_operation(self, drawn: Any) -> str:
        """The Bedrock operation a drawn fault names."""
        return str(drawn)

    def bedrock_moves_on(self, physical_id: str) -> None:
        """What Bedrock ends given time, between two polls of the request that made physical_id."""
        raise NotImplementedError

    def _delete_replaced(self, physical_id: str, properties: dict[str, Any]) -> None:
        """The cleanup Delete of a replaced id."""
        raise NotImplementedError

    def after_the_update_back(self, answer: str) -> None:
        """What a rollback's Update back leaves, besides the id it answers."""

    def _wire_handler(self) -> None:
        """The handler builds its clients through the stand-in, and reads the stack's status from this machine."""

        def handler_client(*args: Any, **kwargs: Any) -> Any:
            client = self.bedrock.client(*args, **kwargs)
            client.meta.events.register("after-call.bedrock", self._maybe_die)
            return client

        for handler in index.HANDLERS.values():
            self.patches.setattr(handler, "bedrock_client", handler_client)
        self.patches.setattr(index, "stack_status", lambda stack_id: self.status)
        self.patches.setattr(index, "operation_started", lambda stack_id: OPERATION_STARTED)
        under_way = lifecycle.OperationUnderWay(OPERATION_STARTED, frozenset({"Model"}))
        self.patches.setattr(index, "operation_under_way", lambda stack_id: under_way)
        # Each rollback here sends the resource one Update back, so none has been rolled back already.
        self.patches.setattr(index, "rolled_back_already", lambda stack_id, logical_id: False)

    def teardown(self) -> None:
        self.moto.stop()
        self.patches.undo()

    def _maybe_die(self, model: Any, **_: Any) -> None:
        if model.name == self.dies_after:
            self.dies_after = None
            raise LambdaDied(model.name)

    def deliver(self, entry: str, event: dict[str, Any], fault: tuple | None, twice: bool) -> tuple[bool, Any]:
        """One request to onEvent or isComplete, under a fault, and once more if delivered twice: (succeeded, the
        answer or the FAILED reason). The framework answers any exception, a dead Lambda's too, as FAILED
        (cfn-response.ts safeHandler), with the message as Reason."""
        before = self.made()
        answer = self._invoke(entry, event, fault)
        if twice:
            first = self.made()
            if not answer[0] and event["RequestType"] != "Delete":  # CloudFormation acts on the first answer
                self.status = ROLLBACK_OF[event["RequestType"]]
            self._invoke(entry, event, None)
            again = self.made() - first
            # DESIGN.md fact 5 and README "Create": a retried or replayed request finds what the first made.
            assert not (first - before and again), f"a {event['RequestType']} delivered twice made {again} too"
        return answer

    def _invoke(self, entry: str, event: dict[str, Any], fault: tuple | None) -> tuple[bool, Any]:
        self._inject(fault)
        try:
            return True, getattr(index, entry)(copy.deepcopy(event))
        except LambdaDied as died:
            return False, f"{LAMBDA_DIED} after {died} returned"
        except Exception as error:
            return False, str(error)
        finally:
            self.dies_after = None
            self.bedrock.throttle(0)
            self.bedrock.answer_with_server_errors("none", [])

    def _inject(self, fault: tuple | None) -> None:
        if fault is None:
            return
        operation = self.fault_operation(fault[1])
        if fault[0] == "dies":
            self.dies_after = operation
        elif fault[0] == "throttled":
            self.bedrock.throttle(fault[2], operation)
        else:  # served, then its answer lost as a 500, once; botocore's retries get through
            self.bedrock.answer_with_server_errors(operation, [True])

    def run_to_end(self, event: dict[str, Any], fault: tuple | None = None, twice: bool = False) -> tuple[bool, Any]:
        """A request the stack waits on until it ends (a rollback's, a Delete): onEvent, then isComplete until
        complete while Bedrock moves on. (succeeded, physical id or FAILED reason)."""
        succeeded, answer = self.deliver("on_event", event, fault, twice)
        if not succeeded and answer.startswith(TRANSIENT):  # the operator deletes again, continues the rollback
            succeeded, answer = self.deliver("on_event", event, None, False)
        if not succeeded:
            return False, answer
        merged = is_complete_input(event, answer)
        for _ in range(4):
            succeeded, polled = self.deliver("is_complete", merged, None, False)
            if not succeeded:
                return False, polled
            if polled["IsComplete"]:
                return True, merged["PhysicalResourceId"]
            self.bedrock_moves_on(merged["PhysicalResourceId"])
        return False, "not complete within the framework's total timeout"

    def finish(self) -> None:
        """The request completed and nothing later failed. A replacement's old id gets its cleanup Delete."""
        operation, self.operation = self.operation, None
        assert operation is not None
        event, new_id = operation["event"], operation["new_id"]
        if event["RequestType"] == "Update" and new_id != event["PhysicalResourceId"]:
            self.status = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
            self._delete_replaced(event["PhysicalResourceId"], event["OldResourceProperties"])
        self.status = "CREATE_COMPLETE" if event["RequestType"] == "Create" else "UPDATE_COMPLETE"
        self.held, self.held_properties = new_id, copy.deepcopy(event["ResourceProperties"])
        self.held_choice = operation["choice"]

    def _roll_back_update(self, physical_id: str, fault: tuple | None, twice: bool) -> None:
        """The Update back to the previous properties, with the id the resource has now; when its answer is another
        id, the cleanup Delete of this one."""
        assert self.operation is not None
        self.status = "UPDATE_ROLLBACK_IN_PROGRESS"
        failed = self.operation["event"]
        back = self.events.update(physical_id, failed["OldResourceProperties"], failed["ResourceProperties"])
        succeeded, answer = self.run_to_end(back, fault, twice)
        assert succeeded, f"the rollback's Update failed (UPDATE_ROLLBACK_FAILED): {answer}"
        if answer != physical_id:
            self.status = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
            self._delete_replaced(physical_id, failed["ResourceProperties"])
        self.after_the_update_back(answer)
        self.status = "UPDATE_ROLLBACK_COMPLETE"
        self.held, self.held_properties = answer, copy.deepcopy(failed["OldResourceProperties"])
