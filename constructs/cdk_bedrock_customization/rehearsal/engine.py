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
- everything else (IAM, S3, Lambda, Step Functions, Logs, EventBridge) is recorded as created, with
  plausible Ref and Fn::GetAtt values, after the limits AWS checks (limits.py).
Bedrock is the in-process stand-in of the test-support layer, moved on by BedrockWorld.

Time is the virtual clock (clock.py): every thread started here is one of its actors (clock.spawn), and every
wait (for a response, a signal, a rate, the waiter's interval) is a wait on it, so that a rehearsal's outcome
and its simulated timestamps do not depend on how fast the machine runs it. In-process functions get their own
environment each (lambda_environment.py).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .clock import EPOCH, Event, VirtualClock
from .framework_host import CallResult, FrameworkHost, FrameworkHostError, InvokeResult, Waiter
from .lambda_environment import invocation_environment
from .limits import resource_refusal, template_refusal
from .resources import plausible
from .response_endpoint import ResponseEndpoint
from .single_function import HANDLER as SINGLE_FUNCTION_HANDLER
from .single_function import Function, SingleFunctionRuntime, lambda_runtime_variables, rate_seconds
from .template import Environment, Resolver, Template, TemplateError

RESPONSE_LIMIT_BYTES = 4096
CUSTOM_RESOURCE_TIMEOUT = 3600.0  # simulated seconds: CloudFormation's longest wait for a custom resource
# CloudFormation's timeout and a provider's own deadline (at most the same hour) both start at about the request;
# in AWS which is reported first turns on seconds of latency, and a provider notices its deadline at its next
# poll (crhelper's rate, up to a few minutes later). The rehearsal gives the provider that time, so that a job
# too long for polling fails with the provider's reason, which names the cause; CloudFormation's "did not
# receive a response" stays for a response that never comes.
RESPONSE_GRACE = 300.0
MAX_RUNNING = 32  # resources worked on at once by a walk of the dependency graph


class ResourceFailed(RuntimeError):
    """A resource's create, update or delete failed; the message is the stack event's reason.

    physical_id: the id a failed custom resource answered with, which CloudFormation keeps, so that its
    rollback deletes what the create may have made.
    """

    def __init__(self, message: str, physical_id: str | None = None) -> None:
        super().__init__(message)
        self.physical_id = physical_id


@dataclass
class Deployed:
    logical_id: str
    resource_type: str
    physical_id: str
    properties: dict[str, Any]
    attributes: dict[str, Any] = field(default_factory=dict)
    generation: int = 0
    deletion_policy: str = "Delete"
    update_replace_policy: str = "Delete"
    updated_at: float = 0.0  # simulated time of its last create or update (DescribeStackResource)

    def kept_when(self, reason: str) -> bool:
        """Whether CloudFormation keeps the physical resource when it goes for this reason: "delete" (from
        the stack, or with it), "replace" (the old resource after a replacement) or "rollback" (created by
        the operation that failed)."""
        if reason == "replace":
            return self.update_replace_policy == "Retain"
        if reason == "rollback":
            return self.deletion_policy == "Retain"
        return self.deletion_policy in ("Retain", "RetainExceptOnCreate")


@dataclass
class Outcome:
    """What a stack operation did, for the report.

    status: the stack's status at the end (UPDATE_COMPLETE, ROLLBACK_COMPLETE, UPDATE_ROLLBACK_FAILED...);
    update_started: every resource whose update started, whether it completed (updated in place, replaced)
    or failed; after a failed update, each got a rollback Update, and those that completed are rolled_back;
    rollback_reason: why the rollback failed."""

    operation: str
    succeeded: bool
    reason: str = ""
    created: list[str] = field(default_factory=list)
    updated_in_place: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    retained: list[str] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    status: str = ""
    update_started: list[str] = field(default_factory=list)
    rolled_back: list[str] = field(default_factory=list)
    rollback_reason: str = ""

    @property
    def rollback_failed(self) -> bool:
        return self.status.endswith("ROLLBACK_FAILED")


class Printer:
    """Stack events, as the console and `cdk deploy` show them, on the simulated clock."""

    def __init__(self, clock: VirtualClock, write: Callable[[str], None] = print) -> None:
        self.clock = clock
        self._write = write
        self._lock = threading.Lock()
        self.lines: list[str] = []

    def line(self, text: str) -> None:
        seconds = int(self.clock.now())
        stamp = f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
        with self._lock:
            self.lines.append(text)
            self._write(f"[{stamp}] {text}")

    def event(self, status: str, deployed_type: str, logical_id: str, reason: str = "") -> None:
        self.line(f"{status:<28} {deployed_type:<46} {logical_id}" + (f"  {reason}" if reason else ""))


class SignalServer:
    """Local wait condition handle URLs, and the signals PUT to them. A signal wakes its wait through the
    clock while the signaller (an actor) waits for the PUT's answer, so time cannot move in between."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._signals: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._cancelled = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with server._lock:
                    server._signals.setdefault(self.path.split("?", 1)[0], []).append(json.loads(body))
                server._clock.notify()
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def new_handle(self, logical_id: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/wait/{logical_id}/{uuid.uuid4().hex}"

    def wait_for(self, handle_url: str, count: int, timeout: float) -> list[dict[str, Any]] | None:
        """The signals to handle_url once count arrived, or a failure did; fewer when timeout (simulated
        seconds) runs out; None when the waits were cancelled."""
        path = "/" + handle_url.split("/", 3)[3]

        def settled() -> bool:
            with self._lock:
                signals = self._signals.get(path, [])
                return (
                    self._cancelled
                    or len(signals) >= count
                    or any(signal.get("Status") == "FAILURE" for signal in signals)
                )

        self._clock.wait(settled, timeout)
        with self._lock:
            return None if self._cancelled else list(self._signals.get(path, []))

    def cancel_waits(self, cancelled: bool = True) -> None:
        """Stop every wait in progress (a stack operation failed), or allow waits again."""
        with self._lock:
            self._cancelled = cancelled
        self._clock.notify()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


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
        responses: ResponseEndpoint | None = None,
        owner_of_function: Callable[[str], LocalStack | None] = lambda _arn: None,
        import_value: Callable[[str], Any] | None = None,
        service_token_stand_ins: Mapping[str, Callable[[dict[str, Any]], Mapping[str, Any]]] | None = None,
    ) -> None:
        """responses: the cloud's ResponseURLs (by default, the stack's own); owner_of_function(function ARN):
        the stack of the cloud that has a function this stack does not; import_value(export name): the value
        of another stack's export; service_token_stand_ins (for tests of the protocol): ServiceToken -> a
        callable that gets each custom resource request sent to it and returns the response (Status,
        PhysicalResourceId, Data, Reason), in place of a function that would PUT it to the ResponseURL."""
        self.env = env
        self.clock = clock
        self.printer = printer
        # Held around in-process Python functions, so that they and BedrockWorld's ticks do not interleave.
        self.guard = guard
        self.retry_first_user_invocation = retry_first_user_invocation
        self.state: dict[str, Deployed] = {}
        self.template = Template({"Resources": {}})
        self.assembly_dir = Path(".")
        # The exports this stack's template imported (CloudFormation keeps them from being deleted).
        self.imports: set[str] = set()
        self._lock = threading.RLock()
        self._own_responses = responses is None
        self._responses = responses or ResponseEndpoint(clock)
        self._owner_of_function = owner_of_function
        self._import_value = import_value
        self._stand_ins = dict(service_token_stand_ins or {})
        self._single_functions = SingleFunctionRuntime(env.region, self._responses.ca_file, clock.now)
        self._played_rules: set[str] = set()  # polling rules in moto's EventBridge, each played by a thread
        self._closed = clock.event()
        self._signals = SignalServer(clock)
        self._host = FrameworkHost(
            invoke_function=self.invoke,
            start_execution=self._start_execution,
            deliver_response=self._deliver_response,
        )
        self._host.__enter__()
        # The schedules (rate rules) being played: (rule's logical id, target's index) -> what stops it.
        self._schedules: dict[tuple[str, int], Event] = {}
        self._schedules_lock = threading.Lock()  # resources are created at once: one schedule per target

    def close(self) -> None:
        self._closed.set()
        self._stop_schedules()
        self._signals.cancel_waits()
        self._host.__exit__(None, None, None)
        self._signals.close()
        if self._own_responses:
            self._responses.close()

    # --- stack operations ------------------------------------------------------------------------------

    def deploy(self, template: Template, assembly_dir: Path) -> Outcome:
        """Create the stack, or update it to template; roll back on failure. A template CloudFormation refuses
        (limits.template_refusal) fails the operation before it starts, touching nothing."""
        with self.clock.actor():
            return self._deploy(template, assembly_dir)

    def _deploy(self, template: Template, assembly_dir: Path) -> Outcome:
        operation = "UPDATE" if self.state else "CREATE"
        refusal = template_refusal(template)
        if refusal is not None:
            reason = f"{self.env.stack_name}: ValidationError: {refusal}"
            self.printer.line(f"{operation} refused {self.env.stack_name}: ValidationError: {refusal}")
            return Outcome(operation, False, reason)
        previous_template, previous_state, previous_imports = self.template, dict(self.state), self.imports
        self.imports = set()  # what the new template imports, found as it is resolved
        self.template, self.assembly_dir = template, assembly_dir
        outcome = Outcome(operation, True)
        self.printer.event(f"{operation}_IN_PROGRESS", "AWS::CloudFormation::Stack", self.env.stack_name)
        wanted = [lid for lid in template.resources if template.included(lid, self.env)]
        try:
            self._walk(wanted, template.dependencies, lambda lid: self._apply(lid, previous_state, outcome))
        except ResourceFailed as failure:
            outcome.succeeded, outcome.reason = False, str(failure)
            self._roll_back(previous_template, previous_state, outcome)
            self.imports = previous_imports
            return outcome
        stale = [lid for lid in previous_state if lid not in wanted]
        self.printer.event(
            f"{operation}_COMPLETE_CLEANUP_IN_PROGRESS", "AWS::CloudFormation::Stack", self.env.stack_name
        )
        for deployed in outcome_replaced_old(outcome, previous_state, self.state):
            self._delete_resource(deployed, outcome, "replace")
        self._walk(
            stale,
            lambda lid: {d for d in stale if lid in previous_template.dependencies(d)},
            lambda lid: self._delete_resource(previous_state[lid], outcome, "delete"),
        )
        self._start_schedules()
        outcome.outputs = self.outputs()
        outcome.status = f"{operation}_COMPLETE"
        self.printer.event(outcome.status, "AWS::CloudFormation::Stack", self.env.stack_name)
        return outcome

    def delete(self) -> Outcome:
        with self.clock.actor():
            return self._delete()

    def _delete(self) -> Outcome:
        outcome = Outcome("DELETE", True)
        self._stop_schedules()
        self.printer.event("DELETE_IN_PROGRESS", "AWS::CloudFormation::Stack", self.env.stack_name)
        template, state = self.template, dict(self.state)
        ids = list(state)
        try:
            self._walk(
                ids,
                lambda lid: {d for d in ids if lid in template.dependencies(d)},
                lambda lid: self._delete_resource(state[lid], outcome, "delete"),
            )
        except ResourceFailed as failure:
            outcome.succeeded, outcome.reason, outcome.status = False, str(failure), "DELETE_FAILED"
            self.printer.event("DELETE_FAILED", "AWS::CloudFormation::Stack", self.env.stack_name, str(failure))
            return outcome
        outcome.status = "DELETE_COMPLETE"
        self.printer.event("DELETE_COMPLETE", "AWS::CloudFormation::Stack", self.env.stack_name)
        self.template, self.imports = Template({"Resources": {}}), set()  # a deleted stack exports nothing
        return outcome

    def outputs(self) -> dict[str, Any]:
        resolver = self._resolver()
        return {
            name: resolver.resolve(output["Value"])
            for name, output in self.template.outputs.items()
            if self.template.output_included(name, self.env)
        }

    def exports(self) -> dict[str, Any]:
        """The stack's exports (Outputs with Export.Name): name -> value."""
        return self.template.exports(self._resolver())

    def describe_stack_resource(self, logical_id: str) -> dict[str, Any] | None:
        """DescribeStackResource's StackResourceDetail of a resource of the stack (None: the stack has no such
        resource). Metadata is the resource's template Metadata attribute (resolved), as JSON text, as
        CloudFormation returns it; absent when the resource has none."""
        with self._lock:
            deployed = self.state.get(logical_id)
        if deployed is None:
            return None
        detail: dict[str, Any] = {
            "StackName": self.env.stack_name,
            "StackId": self.env.stack_id,
            "LogicalResourceId": logical_id,
            "PhysicalResourceId": deployed.physical_id,
            "ResourceType": deployed.resource_type,
            "LastUpdatedTimestamp": EPOCH + timedelta(seconds=deployed.updated_at),
            "ResourceStatus": deployed.attributes.get("__status", "CREATE_COMPLETE"),
        }
        definition = self.template.resources.get(logical_id, {})
        if "Metadata" in definition:
            detail["Metadata"] = json.dumps(self._resolver().resolve(definition["Metadata"]))
        return detail

    def list_stack_resources(self) -> list[dict[str, Any]]:
        """ListStackResources, as the notifier reads it: wait conditions still waiting are CREATE_IN_PROGRESS."""
        with self._lock:
            summaries = [
                {
                    "LogicalResourceId": d.logical_id,
                    "PhysicalResourceId": d.physical_id,
                    "ResourceType": d.resource_type,
                    "ResourceStatus": d.attributes.get("__status", "CREATE_COMPLETE"),
                }
                for d in self.state.values()
            ]
        return summaries

    # --- walking the dependency graph --------------------------------------------------------------------

    def _walk(self, ids: list[str], dependencies: Callable[[str], set[str]], act: Callable[[str], None]) -> None:
        """act on every id once all its dependencies among ids are done, as many at once as are ready (each on
        an actor of the clock). The first failure stops new work; what is running finishes; then the failure
        is raised."""
        remaining = set(ids)
        needs = {lid: dependencies(lid) & remaining for lid in ids}
        done: set[str] = set()
        failures: list[ResourceFailed] = []
        running: set[str] = set()
        finished: list[tuple[str, BaseException | None]] = []
        lock = threading.Lock()
        some_finished = self.clock.event()

        def run(lid: str) -> None:
            error: BaseException | None = None
            try:
                act(lid)
            except BaseException as raised:
                error = raised
            with lock:
                finished.append((lid, error))
            some_finished.set()  # wakes the walk before this actor ends

        while remaining or running:
            if not failures:
                for lid in sorted(remaining):
                    if needs[lid] <= done and len(running) < MAX_RUNNING:
                        remaining.discard(lid)
                        running.add(lid)
                        self.clock.spawn(run, lid, name=f"resource-{lid}")
            if not running:
                if remaining and not failures:
                    raise ResourceFailed(f"Circular dependency between {sorted(remaining)}")
                break
            self.clock.wait(some_finished)
            some_finished.clear()  # before reading what finished: a later finish sets it again
            with lock:
                ended, finished[:] = list(finished), []
            for lid, error in ended:
                running.discard(lid)
                if error is None:
                    done.add(lid)
                elif isinstance(error, ResourceFailed):
                    failures.append(error)
                else:
                    failures.append(ResourceFailed(f"{lid}: {type(error).__name__}: {error}"))
                if failures:
                    # As CloudFormation does, a failure cancels the wait conditions still waiting.
                    self._signals.cancel_waits()
        self._signals.cancel_waits(False)
        if failures:
            raise failures[0]

    # --- one resource ----------------------------------------------------------------------------------

    def _apply(self, logical_id: str, previous_state: Mapping[str, Deployed], outcome: Outcome) -> None:
        definition = self.template.resources[logical_id]
        resource_type = definition["Type"]
        try:
            properties = self._resolver().resolve(definition.get("Properties", {}))
        except TemplateError as error:  # e.g. an export that does not exist
            failed = "UPDATE_FAILED" if logical_id in previous_state else "CREATE_FAILED"
            self.printer.event(failed, resource_type, logical_id, str(error))
            raise ResourceFailed(f"{logical_id}: {error}") from error
        policies = {
            "deletion_policy": definition.get("DeletionPolicy", "Delete"),
            "update_replace_policy": definition.get("UpdateReplacePolicy", "Delete"),
        }
        existing = previous_state.get(logical_id)
        if existing is not None and existing.resource_type == resource_type and existing.properties == properties:
            self.state[logical_id] = existing
            return
        if existing is None:
            self.printer.event("CREATE_IN_PROGRESS", resource_type, logical_id)
            try:
                deployed = self._create(logical_id, resource_type, properties, generation=0)
            except ResourceFailed as failure:
                self.printer.event("CREATE_FAILED", resource_type, logical_id, str(failure))
                if failure.physical_id:
                    self._record(Deployed(logical_id, resource_type, failure.physical_id, properties, **policies))
                raise
            vars(deployed).update(policies)
            self._record(deployed)
            outcome.created.append(logical_id)
            self.printer.event("CREATE_COMPLETE", resource_type, logical_id)
            if resource_type == "AWS::Events::Rule":  # a schedule fires from its creation on, not the stack's end
                self._start_schedules()
            return
        self.printer.event("UPDATE_IN_PROGRESS", resource_type, logical_id)
        outcome.update_started.append(logical_id)
        try:
            deployed = self._update(existing, properties)
        except ResourceFailed as failure:
            self.printer.event("UPDATE_FAILED", resource_type, logical_id, str(failure))
            # CloudFormation now holds the properties it tried, with the physical id unchanged: the rollback
            # Update sends them as the old properties.
            self._record(replace(existing, properties=properties, **policies))
            raise
        vars(deployed).update(policies)
        self._record(deployed)
        if deployed.physical_id == existing.physical_id:
            outcome.updated_in_place.append(logical_id)
        else:
            outcome.replaced.append(logical_id)
        self.printer.event("UPDATE_COMPLETE", resource_type, logical_id)

    def _record(self, deployed: Deployed) -> None:
        deployed.updated_at = self.clock.now()
        with self._lock:
            self.state[deployed.logical_id] = deployed

    def _create(self, logical_id: str, resource_type: str, properties: dict[str, Any], generation: int) -> Deployed:
        if _is_custom(resource_type):
            physical_id, data = self._custom("Create", logical_id, resource_type, properties, None, None)
            return Deployed(logical_id, resource_type, physical_id, properties, data, generation)
        if resource_type == "AWS::CloudFormation::WaitConditionHandle":
            return Deployed(logical_id, resource_type, self._signals.new_handle(logical_id), properties)
        if resource_type == "AWS::CloudFormation::WaitCondition":
            return self._wait_condition(logical_id, properties)
        refusal = resource_refusal(logical_id, resource_type, properties)
        if refusal is not None:
            raise ResourceFailed(f"{logical_id}: {refusal}")
        physical_id, attributes = plausible(resource_type, logical_id, properties, self.env, generation)
        deployed = Deployed(logical_id, resource_type, physical_id, properties, attributes, generation)
        if resource_type == "AWS::Lambda::Function" and properties.get("Handler") == SINGLE_FUNCTION_HANDLER:
            self._start_single_function(deployed)
        return deployed

    def _update(self, existing: Deployed, properties: dict[str, Any]) -> Deployed:
        if _is_custom(existing.resource_type):
            physical_id, data = self._custom(
                "Update",
                existing.logical_id,
                existing.resource_type,
                properties,
                existing.properties,
                existing.physical_id,
            )
            return Deployed(
                existing.logical_id, existing.resource_type, physical_id, properties, data, existing.generation
            )
        if existing.resource_type.startswith("AWS::CloudFormation::Wait"):
            raise ResourceFailed(f"{existing.logical_id}: CloudFormation cannot update a wait condition")
        refusal = resource_refusal(existing.logical_id, existing.resource_type, properties)
        if refusal is not None:
            raise ResourceFailed(f"{existing.logical_id}: {refusal}")
        # A recorded resource keeps its physical id unless a name it was given changed.
        physical_id, attributes = plausible(
            existing.resource_type, existing.logical_id, properties, self.env, existing.generation
        )
        return Deployed(
            existing.logical_id, existing.resource_type, physical_id, properties, attributes, existing.generation
        )

    def _delete_resource(self, deployed: Deployed, outcome: Outcome, reason: str) -> None:
        """Delete (or retain) one resource; reason as for Deployed.kept_when. Failures are raised: a delete
        that fails leaves the resource."""
        if deployed.kept_when(reason):
            self.printer.event("DELETE_SKIPPED", deployed.resource_type, deployed.logical_id, "retained by its policy")
            outcome.retained.append(deployed.logical_id)
        else:
            self.printer.event("DELETE_IN_PROGRESS", deployed.resource_type, deployed.logical_id)
            if _is_custom(deployed.resource_type):
                try:
                    self._custom(
                        "Delete",
                        deployed.logical_id,
                        deployed.resource_type,
                        deployed.properties,
                        None,
                        deployed.physical_id,
                    )
                except ResourceFailed as failure:
                    self.printer.event("DELETE_FAILED", deployed.resource_type, deployed.logical_id, str(failure))
                    raise
            if deployed.resource_type == "AWS::Lambda::Function":
                with self.guard:
                    self._single_functions.forget(deployed.physical_id)
            outcome.deleted.append(deployed.logical_id)
            self.printer.event("DELETE_COMPLETE", deployed.resource_type, deployed.logical_id)
        with self._lock:
            if self.state.get(deployed.logical_id) is deployed:
                del self.state[deployed.logical_id]

    def _roll_back(self, previous_template: Template, previous_state: dict[str, Deployed], outcome: Outcome) -> None:
        """Undo a failed update (_roll_back_update), or a failed create: delete what it created."""
        if previous_state:
            self._roll_back_update(previous_template, previous_state, outcome)
            return
        self.printer.event("ROLLBACK_IN_PROGRESS", "AWS::CloudFormation::Stack", self.env.stack_name, outcome.reason)
        made = dict(self.state)
        self._walk(
            list(made),
            dependents_among(self.template, list(made)),
            lambda lid: self._delete_resource(made[lid], outcome, "rollback"),
        )
        self.state, self.template = {}, previous_template
        outcome.status = "ROLLBACK_COMPLETE"
        self.printer.event(outcome.status, "AWS::CloudFormation::Stack", self.env.stack_name)

    def _roll_back_update(
        self, previous_template: Template, previous_state: dict[str, Deployed], outcome: Outcome
    ) -> None:
        """Undo a failed update as CloudFormation does: every resource whose update started gets an Update back
        to its previous properties, in the previous template's order (a rollback is an update to that template:
        what a resource depends on goes first); then the cleanup deletes what the failed update created, and
        each physical resource that a rollback Update moved away from (after its UpdateReplacePolicy)."""
        stack = self.env.stack_name
        self.printer.event("UPDATE_ROLLBACK_IN_PROGRESS", "AWS::CloudFormation::Stack", stack, outcome.reason)
        current, template = dict(self.state), self.template
        started = [lid for lid in outcome.update_started if lid in current]
        restored: dict[str, Deployed] = {}

        def roll_back(lid: str) -> None:
            restored[lid] = self._roll_back_resource(current[lid], previous_state[lid], outcome)

        try:
            self._walk(started, dependencies_among(previous_template, started), roll_back)
        except ResourceFailed as failure:
            outcome.status, outcome.rollback_reason = "UPDATE_ROLLBACK_FAILED", str(failure)
            self.printer.event(outcome.status, "AWS::CloudFormation::Stack", stack, str(failure))
            return
        self.printer.event("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "AWS::CloudFormation::Stack", stack)
        left = {lid: current[lid] for lid in current if lid not in previous_state}  # created by the failed update
        left |= {lid: current[lid] for lid in started if restored[lid].physical_id != current[lid].physical_id}

        def clean_up(lid: str) -> None:
            with contextlib.suppress(ResourceFailed):  # a delete that fails leaves the resource, not the stack
                self._delete_resource(left[lid], outcome, "rollback" if lid not in previous_state else "replace")

        self._walk(list(left), dependents_among(template, list(left)), clean_up)
        with self._lock:
            self.state = {**previous_state, **restored}
        self.template = previous_template
        outcome.status = "UPDATE_ROLLBACK_COMPLETE"
        self.printer.event(outcome.status, "AWS::CloudFormation::Stack", stack)

    def _roll_back_resource(self, now: Deployed, before: Deployed, outcome: Outcome) -> Deployed:
        """One resource's rollback Update, from the properties of the failed update to its previous ones, sent
        with the physical id it has now. A custom resource returns to the id and Data that the Update answers;
        any other resource to its previous state."""
        self.printer.event("UPDATE_IN_PROGRESS", now.resource_type, now.logical_id, "rollback")
        restored = before
        if _is_custom(now.resource_type):
            try:
                answered = self._update(now, before.properties)
            except ResourceFailed as failure:
                self.printer.event("UPDATE_FAILED", now.resource_type, now.logical_id, str(failure))
                raise
            restored = replace(before, physical_id=answered.physical_id, attributes=answered.attributes)
        self._record(restored)
        outcome.rolled_back.append(now.logical_id)
        self.printer.event("UPDATE_COMPLETE", now.resource_type, now.logical_id)
        return restored

    # --- custom resources through framework.js ---------------------------------------------------------

    def _custom(
        self,
        request_type: str,
        logical_id: str,
        resource_type: str,
        properties: dict[str, Any],
        old_properties: dict[str, Any] | None,
        physical_id: str | None,
    ) -> tuple[str, dict[str, Any]]:
        """Send one custom resource request to its ServiceToken, as CloudFormation does, and await the
        response on the ResponseURL. Returns (physical id, Data)."""
        request_id = str(uuid.uuid4())
        event: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": properties["ServiceToken"],
            "ResponseURL": self._responses.url(request_id),
            "StackId": self.env.stack_id,
            "RequestId": request_id,
            "LogicalResourceId": logical_id,
            "ResourceType": resource_type,
            "ResourceProperties": as_cloudformation_sends(properties),
        }
        if old_properties is not None:
            event["OldResourceProperties"] = as_cloudformation_sends(old_properties)
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        stand_in = self._stand_ins.get(str(properties["ServiceToken"]))
        if stand_in is not None:
            answer = json.dumps(stand_in(event)).encode()
            return _checked_response(logical_id, request_type, physical_id, answer)
        pending = self._responses.expect(request_id)
        # CloudFormation invokes the ServiceToken function asynchronously.
        self.clock.spawn(self._invoke_async, properties["ServiceToken"], event, name=f"invoke-{logical_id}")
        body = pending.wait(CUSTOM_RESOURCE_TIMEOUT + RESPONSE_GRACE)
        if body is None:
            raise ResourceFailed(f"{logical_id}: CloudFormation did not receive a response from your Custom Resource")
        return _checked_response(logical_id, request_type, physical_id, body)

    def _invoke_async(self, function_arn: str, payload: Mapping[str, Any]) -> None:
        result = self.invoke(function_arn, payload)
        if result.function_error:  # an asynchronous invocation's error goes to the function's log only
            self.printer.line(f"Lambda {function_arn.rsplit(':', 1)[-1]} failed: {result.payload}")

    def _deliver_response(self, path: str, body: bytes) -> None:
        self._responses.deliver(path, body)

    # --- the Lambda service ----------------------------------------------------------------------------

    def has_function(self, function_arn: str) -> bool:
        return self._find_function(function_arn) is not None

    def _find_function(self, function_arn: str) -> Deployed | None:
        name = function_arn.split(":")[6] if function_arn.count(":") >= 6 else function_arn
        with self._lock:
            for deployed in self.state.values():
                if deployed.resource_type == "AWS::Lambda::Function" and deployed.physical_id == name:
                    return deployed
        return None

    def _function(self, function_arn: str) -> Deployed:
        found = self._find_function(function_arn)
        if found is None:
            raise ResourceFailed(f"Lambda function {function_arn} does not exist")
        return found

    def invoke(self, function_arn: str, payload: Mapping[str, Any]) -> InvokeResult:
        """Invoke a function of the stack (or, by its ARN, of another stack of the cloud): Python in-process,
        Node through the framework host."""
        if self._find_function(function_arn) is None:
            owner = self._owner_of_function(function_arn)
            if owner is not None and owner is not self:
                return owner.invoke(function_arn, payload)
        function = self._function(function_arn)
        handler = function.properties["Handler"]
        environment = dict(function.properties.get("Environment", {}).get("Variables", {}))
        if str(function.properties.get("Runtime", "")).startswith("nodejs"):
            entry = handler.rsplit(".", 1)[1]
            result = self._host.call(self._asset_dir(function), entry, environment, dict(payload))
            return _as_invoke_result(result)
        if handler == SINGLE_FUNCTION_HANDLER:
            return self._invoke_single_function(function_arn, function, payload)
        return self._invoke_python(function_arn, handler, environment, payload)

    def _invoke_python(
        self, function_arn: str, handler: str, environment: Mapping[str, str], payload: Mapping[str, Any]
    ) -> InvokeResult:
        module_name, entry = handler.rsplit(".", 1)
        function = getattr(importlib.import_module(module_name), entry)
        attempts = 2 if self.retry_first_user_invocation(function_arn, payload) else 1
        with self.guard, invocation_environment(environment):
            try:
                for _ in range(attempts):  # a retried invocation: the first one's result is lost
                    result = function(dict(payload), None)
            except Exception as error:
                return InvokeResult({"errorType": type(error).__name__, "errorMessage": str(error)}, "Unhandled")
        return InvokeResult(result if result is not None else {}, None)

    def _single_function(self, function: Deployed) -> tuple[Function, dict[str, str]]:
        """What Lambda knows of a single function, and its environment as Lambda's runtime sets it."""
        properties = function.properties
        described = Function(
            name=function.physical_id,
            arn=str(function.attributes["Arn"]),
            runtime=str(properties.get("Runtime", "python3.12")),
            timeout_seconds=float(properties.get("Timeout", 3)),
            memory=int(properties.get("MemorySize", 128)),
        )
        environment = {
            str(name): str(value) for name, value in properties.get("Environment", {}).get("Variables", {}).items()
        }
        variables = {**environment, **lambda_runtime_variables(described.name, self.env.region, described.memory)}
        return described, variables

    def _start_single_function(self, function: Deployed) -> None:
        """Lambda creates the function: it exists in moto's Lambda, with an execution environment ready."""
        described, variables = self._single_function(function)
        with self.guard, invocation_environment(variables):
            self._single_functions.start(described, variables)

    def _invoke_single_function(
        self, function_arn: str, function: Deployed, payload: Mapping[str, Any]
    ) -> InvokeResult:
        """The single-function provider, as Lambda runs it; then the polling rules it made are played. The
        invocation takes no simulated time: its caller is busy throughout (its response PUT included), as an
        invocation takes milliseconds in AWS against the provider's deadline in minutes."""
        described, variables = self._single_function(function)
        attempts = 2 if self.retry_first_user_invocation(function_arn, payload) else 1
        with self.guard, invocation_environment(variables):
            try:
                self._single_functions.invoke(described, variables, payload, attempts)
            except Exception as error:
                return InvokeResult({"errorType": type(error).__name__, "errorMessage": str(error)}, "Unhandled")
            finally:
                self._play_new_rules(described.arn)
        return InvokeResult({}, None)

    def _play_new_rules(self, function_arn: str) -> None:
        """Start playing the polling rules that now target the function. Called with the guard held, as is
        the check that ends a rule's thread, so that a rule is never both found gone and made anew unplayed."""
        for rule in self._single_functions.polling_rules(function_arn):
            if rule not in self._played_rules:
                self._played_rules.add(rule)
                self.clock.spawn(self._play_rule, rule, name=f"rule-{rule}")

    def _play_rule(self, rule: str) -> None:
        """EventBridge: invoke the rule's targets with their Input at its rate, until the rule is deleted."""
        with self.guard:
            schedule = self._single_functions.schedule(rule)
        while schedule is not None and not self.clock.sleep(schedule.interval_seconds, until=self._closed):
            with self.guard:
                schedule = self._single_functions.schedule(rule)
                if schedule is None:
                    break
            for target_arn, event in schedule.targets:
                self._invoke_async(target_arn, event)
        with self.guard:
            self._played_rules.discard(rule)

    def _asset_dir(self, function: Deployed) -> Path:
        key = str(function.properties["Code"]["S3Key"])
        return self.assembly_dir / f"asset.{key.removesuffix('.zip')}"

    # --- Step Functions: the framework's waiter --------------------------------------------------------

    def _start_execution(self, state_machine_arn: str, execution_input: str) -> None:
        with self._lock:
            machine = next(
                d
                for d in self.state.values()
                if d.resource_type == "AWS::StepFunctions::StateMachine" and d.physical_id == state_machine_arn
            )
        definition = json.loads(machine.properties["DefinitionString"])
        waiter = Waiter(definition, self._run_node_function, self.clock)

        def run() -> None:
            try:
                waiter.run(execution_input)
            except FrameworkHostError:
                if not self._closed.is_set():
                    raise  # the stack closed under a running execution: it ends with it

        # On a bridge thread, for an actor busy in its framework call: the waiter is counted busy from here.
        self.clock.spawn(run, name="waiter")

    def _run_node_function(self, function_arn: str, event: dict[str, Any]) -> CallResult:
        function = self._function(function_arn)
        environment = dict(function.properties.get("Environment", {}).get("Variables", {}))
        entry = function.properties["Handler"].rsplit(".", 1)[1]
        return self._host.call(self._asset_dir(function), entry, environment, event)

    # --- wait conditions, EventBridge and the ListStackResources the notifier reads ---------------------

    def _wait_condition(self, logical_id: str, properties: Mapping[str, Any]) -> Deployed:
        handle_url = str(properties["Handle"])
        count = int(properties.get("Count", 1))
        timeout = float(properties["Timeout"])
        deployed = Deployed(
            logical_id,
            "AWS::CloudFormation::WaitCondition",
            f"{handle_url}#condition",
            dict(properties),
            {"__status": "CREATE_IN_PROGRESS"},
        )
        self._record(deployed)  # the notifier sees it waiting
        started = self.clock.now()
        with self._progress(logical_id, started, timeout):
            signals = self._signals.wait_for(handle_url, count, timeout)
        if signals is None:
            deployed.attributes["__status"] = "CREATE_FAILED"
            raise ResourceFailed(f"{logical_id}: Resource creation cancelled")
        failures = [s for s in signals if s.get("Status") == "FAILURE"]
        if failures:
            deployed.attributes["__status"] = "CREATE_FAILED"
            failure = failures[0]
            reason = (
                f"WaitCondition received failed message: '{failure.get('Reason')}' "
                f"for uniqueId: {failure.get('UniqueId')}"
            )
            raise ResourceFailed(f"{logical_id}: {reason}")
        if len(signals) < count:
            deployed.attributes["__status"] = "CREATE_FAILED"
            raise ResourceFailed(
                f"{logical_id}: WaitCondition timed out. Received {len(signals)} conditions when expecting {count}"
            )
        deployed.attributes = {
            "__status": "CREATE_COMPLETE",
            "Data": json.dumps({s["UniqueId"]: s.get("Data", "") for s in signals}),
        }
        return deployed

    @contextlib.contextmanager
    def _progress(self, logical_id: str, started: float, timeout: float) -> Iterator[None]:
        """A progress bar for a long wait, every simulated 15 minutes."""
        done = self.clock.event()

        def show() -> None:
            while not self.clock.sleep(900, until=done):
                elapsed = self.clock.now() - started
                filled = min(int(20 * elapsed / timeout), 20)
                self.printer.line(
                    f"  {logical_id} waiting for its job [{'#' * filled}{'.' * (20 - filled)}] "
                    f"{_duration(elapsed)} of up to {_duration(timeout)}"
                )

        self.clock.spawn(show, name=f"progress-{logical_id}")
        try:
            yield
        finally:
            done.set()

    def publish(self, event: Mapping[str, Any]) -> None:
        """EventBridge: deliver an event to the targets of the stack's rules whose pattern matches it."""
        for rule, target in self._rule_targets():
            pattern = rule.properties.get("EventPattern")
            if pattern and _matches(pattern, event):
                payload = json.loads(target["Input"]) if "Input" in target else dict(event)
                self.clock.spawn(self._invoke_async, target["Arn"], payload, name=f"event-{rule.logical_id}")

    def _rule_targets(self) -> list[tuple[Deployed, dict[str, Any]]]:
        with self._lock:
            rules = [d for d in self.state.values() if d.resource_type == "AWS::Events::Rule"]
        return [(rule, target) for rule in rules for target in rule.properties.get("Targets", [])]

    def _start_schedules(self) -> None:
        """Play every rate rule's targets that is not played yet, from now on."""
        with self._lock:
            rules = [d for d in self.state.values() if d.resource_type == "AWS::Events::Rule"]
        with self._schedules_lock:
            for rule in rules:
                interval = rate_seconds(str(rule.properties.get("ScheduleExpression", "")))
                for index, target in enumerate(rule.properties.get("Targets", [])):
                    if interval is not None and (rule.logical_id, index) not in self._schedules:
                        stop = self._schedules[rule.logical_id, index] = self.clock.event()
                        self.clock.spawn(self._run_schedule, interval, target, stop, name=f"schedule-{rule.logical_id}")

    def _stop_schedules(self) -> None:
        with self._schedules_lock:
            for stop in self._schedules.values():
                stop.set()
            self._schedules.clear()

    def _run_schedule(self, interval: float, target: Mapping[str, Any], stop: Event) -> None:
        while not self.clock.sleep(interval, until=stop):
            payload = json.loads(target["Input"]) if "Input" in target else {}
            with contextlib.suppress(ResourceFailed):  # the function may be gone while the stack is deleted
                self.invoke(str(target["Arn"]), payload)

    def _resolver(self) -> Resolver:
        def attributes_of(logical_id: str) -> Mapping[str, Any]:
            with self._lock:
                return self.state[logical_id].attributes

        def physical_id_of(logical_id: str) -> str:
            with self._lock:
                return self.state[logical_id].physical_id

        def import_value(name: str) -> Any:
            if self._import_value is None:
                raise TemplateError(f"No export named {name} found")
            value = self._import_value(name)
            self.imports.add(name)
            return value

        return Resolver(self.template, self.env, attributes_of, physical_id_of, import_value)


def outcome_replaced_old(
    outcome: Outcome, previous: Mapping[str, Deployed], current: Mapping[str, Deployed]
) -> list[Deployed]:
    """The old physical resources of replaced resources: CloudFormation deletes them in the cleanup."""
    return [
        previous[lid]
        for lid in outcome.replaced
        if lid in previous and previous[lid].physical_id != current[lid].physical_id
    ]


def _all_dependencies(template: Template) -> Callable[[str], set[str]]:
    """logical id -> what it depends on, directly or through other resources of the template."""
    closure: dict[str, set[str]] = {}

    def dependencies(lid: str) -> set[str]:
        if lid not in closure:
            closure[lid] = set()  # a cycle ends here (the update's walk refused it already)
            direct = template.dependencies(lid) & template.resources.keys()
            closure[lid] = direct.union(*(dependencies(d) for d in direct))
        return closure[lid]

    return dependencies


def dependents_among(template: Template, ids: list[str]) -> Callable[[str], set[str]]:
    """logical id -> those of ids that depend on it: what is deleted before it."""
    dependencies = _all_dependencies(template)
    return lambda lid: {d for d in ids if lid in dependencies(d)}


def dependencies_among(template: Template, ids: list[str]) -> Callable[[str], set[str]]:
    """logical id -> those of ids it depends on: what is updated before it."""
    dependencies = _all_dependencies(template)
    return lambda lid: dependencies(lid) & set(ids)


def as_cloudformation_sends(value: Any) -> Any:
    """CloudFormation passes every scalar property to a custom resource as a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return [as_cloudformation_sends(item) for item in value]
    if isinstance(value, dict):
        return {key: as_cloudformation_sends(item) for key, item in value.items()}
    return value


def _checked_response(
    logical_id: str, request_type: str, physical_id: str | None, body: bytes
) -> tuple[str, dict[str, Any]]:
    """The response, checked as CloudFormation checks it."""
    if len(body) > RESPONSE_LIMIT_BYTES:
        raise ResourceFailed(f"{logical_id}: Response object is too long ({len(body)} bytes; the limit is 4096)")
    response = json.loads(body)
    if response.get("Status") != "SUCCESS":
        reason = response.get("Reason", "no reason given")
        raise ResourceFailed(f"{logical_id}: {reason}", response.get("PhysicalResourceId"))
    new_id = response.get("PhysicalResourceId")
    if not new_id:
        raise ResourceFailed(f"{logical_id}: Invalid PhysicalResourceId")
    if request_type == "Delete" and new_id != physical_id:
        raise ResourceFailed(f"{logical_id}: a Delete may not change the physical id")
    return new_id, dict(response.get("Data") or {})


def _as_invoke_result(result: CallResult) -> InvokeResult:
    if result.ok:
        return InvokeResult(result.result if isinstance(result.result, dict) else {}, None)
    return InvokeResult({"errorType": result.error_type, "errorMessage": result.error_message}, "Unhandled")


def _matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """EventBridge matching for the patterns used here: each key's list of accepted values, nested."""
    for key, accepted in pattern.items():
        value = event.get(key)
        if isinstance(accepted, Mapping):
            if not isinstance(value, Mapping) or not _matches(accepted, value):
                return False
        elif value not in accepted:
            return False
    return True


def _is_custom(resource_type: str) -> bool:
    return resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource"


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"
