"""A local rehearsal of CloudFormation for one stack: create, update and delete, with rollback.

It plays CloudFormation only where this library's resources need it:
- custom resources go to their ServiceToken, a function of this stack or of another stack of the cloud (an
  imported provider);
- on the Provider framework, through its real runtime (framework.js, run with Node by FrameworkHost), whose
  Lambda and Step Functions calls are answered here: user functions run in-process, and the waiter runs
  isComplete at the state machine's interval;
- on the single-function provider (crhelper), in-process as Lambda runs it (SingleFunctionRuntime); the
  EventBridge polling rules it makes in moto are played at their rate until it removes them;
- the response arrives on a local ResponseURL (ResponseEndpoint, HTTPS) and is checked as CloudFormation
  checks it (status, physical id, the 4096-byte limit); Fn::GetAtt reads its Data;
- wait conditions wait for signals on local handle URLs, sent by the notifier function when Bedrock's job
  state change events (or the backstop's schedule) invoke it;
- a bucket is made in moto's S3 under its name, with its Tags, and deleted there when empty (buckets.py);
- everything else (IAM, Lambda, Step Functions, Logs, EventBridge, and the rest of a bucket's configuration) is
  recorded as created, with plausible Ref and Fn::GetAtt values, after the limits AWS checks (limits.py).
Bedrock is the in-process stand-in of the test-support layer, moved on by BedrockWorld.

LocalStack composes the parts, one module each: the stack's records (stack_resources.py), its operations
(stack_operation.py: create, update, delete and rollback, in the order of dependency_walk.py), one resource's
provisioning (provisioning.py), custom resource requests (custom_resources.py), Lambda (lambda_service.py),
EventBridge (event_rules.py) and wait conditions (wait_conditions.py).

Time is the virtual clock (clock.py): every thread started here is one of its actors (clock.spawn), and every
wait (for a response, a signal, a rate, the waiter's interval) is a wait on it, so that a rehearsal's outcome
and its simulated timestamps do not depend on how fast the machine runs it. In-process functions get their own
environment each (lambda_environment.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from .clock import VirtualClock
from .custom_resources import CustomResourceRequests, StandIn
from .event_rules import EventRules, resource_status_change
from .framework_host import InvokeResult
from .lambda_service import LambdaService, LateRetries
from .provisioning import Provisioner
from .reporting import Outcome, Printer
from .response_endpoint import ResponseEndpoint
from .stack_operation import StackOperation
from .stack_resources import Deployed, ResourceFailed, StackResources
from .template import Environment, Template
from .wait_conditions import WaitConditions

__all__ = ["Deployed", "LocalStack", "Outcome", "Printer", "ResourceFailed"]


# The statuses in which CloudFormation refuses to update a stack, and what it leaves one to do.
_CREATE_FAILED = "Delete the stack, and create it again (LocalCloud.deploy does, as the CDK CLI does)."
NOT_UPDATABLE = {
    "ROLLBACK_COMPLETE": _CREATE_FAILED,
    "ROLLBACK_FAILED": _CREATE_FAILED,
    "UPDATE_ROLLBACK_FAILED": "Continue its rollback (ContinueUpdateRollback, as `cdk rollback` or `cdk deploy` "
    "does after asking), or delete the stack.",
    "DELETE_FAILED": "Delete it again (RetainResources may keep what could not be deleted).",
}


class LocalStack:
    """One stack's resources and the operations on them."""

    def __init__(
        self,
        env: Environment,
        clock: VirtualClock,
        printer: Printer,
        guard: threading.RLock,
        *,
        retry_first_user_invocation: Callable[[str, Mapping[str, Any]], bool] = lambda _arn, _payload: False,
        late_retries: LateRetries = lambda _arn, _payload: (),
        responses: ResponseEndpoint | None = None,
        owner_of_function: Callable[[str], LocalStack | None] = lambda _arn: None,
        import_value: Callable[[str], Any] | None = None,
        service_token_stand_ins: Mapping[str, StandIn] | None = None,
        importer_of: Callable[[str], str | None] = lambda _export: None,
    ) -> None:
        """late_retries: Lambda's later retries of asynchronous invocations (lambda_service.LateRetries); responses:
        the cloud's ResponseURLs (by default, the stack's own); owner_of_function(function ARN):
        the stack of the cloud that has a function this stack does not; import_value(export name): the value
        of another stack's export; importer_of(export name): another stack that imports this stack's export (None:
        none does); service_token_stand_ins (for tests of the protocol): ServiceToken -> a
        callable that gets each custom resource request sent to it and returns the response (Status,
        PhysicalResourceId, Data, Reason), in place of a function that would PUT it to the ResponseURL."""
        self.env = env
        self.clock = clock
        self.printer = printer
        # Held around in-process Python functions, so that they and BedrockWorld's ticks do not interleave.
        self.guard = guard
        self.retry_first_user_invocation = retry_first_user_invocation
        self.resources = StackResources(env, clock, import_value)
        self.status = ""  # the stack's status after its last operation (CREATE_COMPLETE, DELETE_FAILED...)
        self._owner_of_function = owner_of_function
        self._own_responses = responses is None
        self._responses = responses or ResponseEndpoint(clock)
        self._closed = clock.event()
        self._functions = LambdaService(
            self.resources,
            printer,
            guard,
            self._responses,
            self._closed,
            retry_first_user_invocation=retry_first_user_invocation,
            late_retries=late_retries,
            invoke_elsewhere=self._invoke_in_owner,
            polling_rules_changed=lambda function_arn: self._event_rules.play_new_polling_rules(function_arn),
            run_python=self._invoke_python,
        )
        self._event_rules = EventRules(
            self.resources,
            guard,
            self._functions.single_functions,
            self._closed,
            self._functions.invoke,
            self._functions.invoke_async,
            printer.line,
        )
        self._wait_conditions = WaitConditions(
            clock,
            printer,
            self.resources.record,
            lambda deployed: self.publish(
                resource_status_change(env, deployed.logical_id, deployed.resource_type, at=clock.moment())
            ),
        )
        custom_resources = CustomResourceRequests(
            env, clock, self._responses, self._functions.invoke_async, service_token_stand_ins
        )
        provisioner = Provisioner(env, custom_resources, self._wait_conditions, self._functions, self.resources)
        self._operation = StackOperation(
            self.resources, printer, provisioner, self._wait_conditions, self._event_rules, importer_of
        )

    def close(self) -> None:
        self._closed.set()
        self._event_rules.stop_schedules()
        self._wait_conditions.cancel_waits()
        self._functions.close()
        self._wait_conditions.close()
        if self._own_responses:
            self._responses.close()

    # --- what the stack holds: its records, shared by its parts -------------------------------------------

    @property
    def state(self) -> dict[str, Deployed]:
        return self.resources.state

    @property
    def template(self) -> Template:
        return self.resources.template

    @property
    def imports(self) -> set[str]:
        """The exports this stack's template imported (CloudFormation keeps them from being deleted)."""
        return self.resources.imports

    @property
    def assembly_dir(self) -> Path:
        return self.resources.assembly_dir

    # --- stack operations ------------------------------------------------------------------------------

    def deploy(self, template: Template, assembly_dir: Path) -> Outcome:
        """Create the stack, or update it to template; roll back on failure. A template CloudFormation refuses
        (limits.template_refusal), or a stack in a status that cannot be updated (NOT_UPDATABLE), fails the
        operation before it starts, touching nothing."""
        if self.status in NOT_UPDATABLE:
            reason = (
                f"{self.env.stack_name}: ValidationError: Stack:{self.env.stack_id} is in {self.status} state and "
                f"can not be updated. {NOT_UPDATABLE[self.status]}"
            )
            return self._refused("UPDATE", reason)
        with self.clock.actor():
            return self._ended(self._operation.deploy(template, assembly_dir))

    def delete(self, retain_resources: Collection[str] = ()) -> Outcome:
        """Delete the stack. retain_resources (DeleteStack's RetainResources: logical ids kept whatever their
        DeletionPolicy) is refused unless the stack's last operation was a delete that failed: the API reference
        gives it "for stacks in the DELETE_FAILED state" (the refusal's wording is the rehearsal's)."""
        if retain_resources and self.status != "DELETE_FAILED":
            reason = (
                f"{self.env.stack_name}: ValidationError: RetainResources is only for a stack whose delete failed "
                f"(DELETE_FAILED); the stack is {self.status or 'not created'}"
            )
            return self._refused("DELETE", reason)
        with self.clock.actor():
            return self._ended(self._operation.delete(retain_resources))

    def continue_update_rollback(self, resources_to_skip: Collection[str] = ()) -> Outcome:
        """ContinueUpdateRollback (StackOperation.continue_update_rollback): refused unless the stack's update
        rollback failed, and for a resource to skip whose rollback Update did not fail, as the API reference says
        (the refusals' wording is the rehearsal's)."""
        if self.status != "UPDATE_ROLLBACK_FAILED" or self._operation.failed_rollback is None:
            reason = (
                f"{self.env.stack_name}: ValidationError: ContinueUpdateRollback is only for a stack whose update "
                f"rollback failed (UPDATE_ROLLBACK_FAILED); the stack is {self.status or 'not created'}"
            )
            return self._refused("CONTINUE_UPDATE_ROLLBACK", reason)
        failed = self._operation.failed_rollback.failed_rollbacks
        refused = sorted(set(resources_to_skip) - failed)
        if refused:
            reason = (
                f"{self.env.stack_name}: ValidationError: ResourcesToSkip {refused}: only a resource whose rollback "
                f"failed can be skipped (here {sorted(failed)})"
            )
            return self._refused("CONTINUE_UPDATE_ROLLBACK", reason)
        with self.clock.actor():
            return self._ended(self._operation.continue_update_rollback(resources_to_skip))

    def _refused(self, operation: str, reason: str) -> Outcome:
        """An operation refused before it starts: the stack is untouched."""
        self.printer.line(f"{operation} refused {reason}")
        return Outcome(operation, False, reason)

    def _ended(self, outcome: Outcome) -> Outcome:
        if outcome.status:  # a refused operation did not change the stack
            self.status = outcome.status
        return outcome

    def outputs(self) -> dict[str, Any]:
        return self.resources.outputs()

    def exports(self) -> dict[str, Any]:
        """The stack's exports (Outputs with Export.Name): name -> value."""
        return self.resources.exports()

    def export_names(self) -> list[str]:
        """The names of the stack's exports: what DeleteStack checks (a delete retried after one that failed may have
        lost the resource an export's value reads)."""
        return self.resources.export_names()

    def export_value(self, export: str) -> Any:
        """The value of one export, as Fn::ImportValue reads it: no other export's (KeyError: none of this name)."""
        return self.resources.export_value(export)

    def describe_stack_resource(self, logical_id: str) -> dict[str, Any] | None:
        """DescribeStackResource's StackResourceDetail (see StackResources.describe_stack_resource)."""
        return self.resources.describe_stack_resource(logical_id)

    def list_stack_resources(self) -> list[dict[str, Any]]:
        """ListStackResources, as the notifier reads it: wait conditions still waiting are CREATE_IN_PROGRESS."""
        return self.resources.list_stack_resources()

    # --- Lambda and EventBridge --------------------------------------------------------------------------

    def has_function(self, function_arn: str) -> bool:
        return self._functions.has_function(function_arn)

    def invoke(self, function_arn: str, payload: Mapping[str, Any]) -> InvokeResult:
        """Invoke a function of the stack (or, by its ARN, of another stack of the cloud): Python in-process,
        Node through the framework host."""
        return self._functions.invoke(function_arn, payload)

    def publish(self, event: Mapping[str, Any]) -> None:
        """EventBridge: deliver an event to the targets of the stack's rules whose pattern matches it."""
        self._event_rules.publish(event)

    def _invoke_python(
        self, function_arn: str, handler: str, environment: Mapping[str, str], payload: Mapping[str, Any]
    ) -> InvokeResult:
        """One in-process Python invocation (LambdaService.invoke_python): every one passes here, where a test
        of the rehearsal's determinism slows them down."""
        return self._functions.invoke_python(function_arn, handler, environment, payload)

    def _invoke_in_owner(self, function_arn: str, payload: Mapping[str, Any]) -> InvokeResult | None:
        """Invoke a function that another stack of the cloud has; None when none has it."""
        owner = self._owner_of_function(function_arn)
        if owner is None or owner is self:
            return None
        return owner.invoke(function_arn, payload)
