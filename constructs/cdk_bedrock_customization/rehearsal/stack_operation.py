"""CloudFormation's operations on one stack: create, update and delete, the rollback of a failed create or
update, and ContinueUpdateRollback of an update rollback that failed, each resource in the order of the dependency
graph (dependency_walk.py), with the stack events they print and the Outcome they report. A template CloudFormation
refuses (limits.template_refusal) fails the operation before it starts, touching nothing. A delete may retain
resources besides those its policies retain (DeleteStack's RetainResources, for a stack whose delete failed); a
rollback of a create whose delete of a resource fails ends ROLLBACK_FAILED, the resources it could not delete left
in the stack."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from .clock import VirtualClock
from .custom_resources import is_custom
from .dependency_walk import dependencies_among, dependents_among, direct_dependents_among, walk
from .event_rules import RULE, EventRules
from .limits import template_refusal
from .provisioning import Provisioner, not_rehearsed
from .reporting import Outcome, Printer
from .stack_resources import Deployed, ResourceFailed, StackEvent, StackResources
from .template import Template, TemplateError
from .wait_conditions import WaitConditions

STACK = "AWS::CloudFormation::Stack"
# CloudFormation's refusal of a custom resource whose ServiceToken changed (its documentation: "Updates aren't
# supported"; the message as users report it).
SERVICE_TOKEN_REFUSED = "Modifying service token is not allowed."
# What a rollback Update sends as a resource's properties: its previous resolved properties (False), or the previous
# template resolved again against what the rollback's earlier Updates answered (True). CloudFormation does not
# document which; the rehearsal plays the first, and tests play both.
ROLLBACK_RESOLVES_AGAIN = False


def stack_event(resources: StackResources, printer: Printer, status: str, reason: str = "") -> None:
    """The stack's new status (what DescribeStacks answers while it lasts), recorded and printed as its event."""
    resources.stack_status = status
    resources.stack_events.append(StackEvent(status, resources.clock.moment()))
    printer.event(status, STACK, resources.env.stack_name, reason)


def resource_event(
    resources: StackResources,
    printer: Printer,
    status: str,
    resource_type: str,
    logical_id: str,
    reason: str = "",
    physical_id: str | None = None,
) -> None:
    """A resource's event, recorded and printed; physical_id: the resource's it is about (None: the one the stack
    holds for logical_id, if any: a resource being created has none yet)."""
    if physical_id is None:
        with resources.lock:
            deployed = resources.state.get(logical_id)
        physical_id = deployed.physical_id if deployed is not None else ""
    resources.stack_events.append(StackEvent(status, resources.clock.moment(), logical_id, resource_type, physical_id))
    printer.event(status, resource_type, logical_id, reason)


class StackOperation:
    """Plays the operations on one stack's resources (each called by an actor of the clock)."""

    def __init__(
        self,
        resources: StackResources,
        printer: Printer,
        provisioner: Provisioner,
        wait_conditions: WaitConditions,
        event_rules: EventRules,
        importer_of: Callable[[str], str | None] = lambda _export: None,
    ) -> None:
        """importer_of(export name): another stack of the cloud that imports it (None: none does)."""
        self.resources = resources
        self.importer_of = importer_of
        self.env = resources.env
        self.clock: VirtualClock = resources.clock
        self.printer = printer
        self.provisioner = provisioner
        self.wait_conditions = wait_conditions
        self.event_rules = event_rules
        self.failed_rollback: Rollback | None = None  # the rollback that ended UPDATE_ROLLBACK_FAILED

    def deploy(self, template: Template, assembly_dir: Path) -> Outcome:
        """Create the stack, or update it to template; roll back on failure."""
        resources, stack = self.resources, self.env.stack_name
        operation = "UPDATE" if resources.state else "CREATE"
        unplayed = not_rehearsed(template)  # first: the limits cannot read a transform's template
        if unplayed is not None:
            self.printer.line(f"{operation} not rehearsed {stack}: {unplayed}")
            return Outcome(operation, False, f"{stack}: not rehearsed: {unplayed}")
        refusal = template_refusal(template, self.env)
        if refusal is not None:
            self.printer.line(f"{operation} refused {stack}: ValidationError: {refusal}")
            return Outcome(operation, False, f"{stack}: ValidationError: {refusal}")
        previous_template, previous_state = resources.template, dict(resources.state)
        previous_imports, previous_exports = resources.imports, resources.exports() if resources.state else {}
        resources.imports = set()  # what the new template imports, found as it is resolved
        resources.template = resources.template_reported = template
        resources.deployed_from(assembly_dir)
        outcome = Outcome(operation, True)
        stack_event(self.resources, self.printer, f"{operation}_IN_PROGRESS")
        wanted = [lid for lid in template.resources if template.included(lid, self.env)]
        try:
            self.walk_resources(
                wanted,
                template.dependencies,
                lambda lid: self._apply(lid, previous_state, outcome),
                cancel_requests=True,
            )
            self._refuse_changing_exports_in_use(previous_exports)
        except ResourceFailed as failure:
            outcome.succeeded, outcome.reason = False, str(failure)
            Rollback(self, previous_template, previous_state, outcome).run()
            resources.imports = previous_imports
            return outcome
        if operation == "UPDATE":  # a create has nothing to clean up, and no status for it
            stale = [lid for lid in previous_state if lid not in wanted]
            self._clean_up(previous_template, previous_state, stale, outcome)
        self.event_rules.start_schedules()
        outcome.outputs = resources.outputs()
        outcome.status = f"{operation}_COMPLETE"
        stack_event(self.resources, self.printer, outcome.status)
        return outcome

    def _refuse_changing_exports_in_use(self, previous: Mapping[str, Any]) -> None:
        """As CloudFormation fails an update (and rolls it back) that removes or changes an export another stack
        imports, once its resources are updated and its outputs evaluated."""
        current = self.resources.exports()
        for name, value in previous.items():
            importer = self.importer_of(name)
            if importer is None or (name in current and current[name] == value):
                continue
            change = "updated" if name in current else "deleted"
            raise ResourceFailed(f"Export {name} cannot be {change} as it is in use by {importer}")

    def _clean_up(
        self, previous_template: Template, previous_state: Mapping[str, Deployed], stale: list[str], outcome: Outcome
    ) -> None:
        """After a successful update: delete the old physical resources of replaced resources and the resources the
        new template no longer has, each after those that named it in the previous template (a removed deployment
        before the replaced model it served). What fails to delete is abandoned, as CloudFormation does ("Monitor
        the progress of a stack update"): the update still completes, and the stack no longer holds it."""
        stack_event(self.resources, self.printer, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        gone = {
            old.logical_id: (old, "replace")
            for old in outcome_replaced_old(outcome, previous_state, self.resources.state)
        }
        gone |= {lid: (previous_state[lid], "delete") for lid in stale}

        def delete_or_abandon(lid: str) -> None:
            deployed, reason = gone[lid]
            try:
                self.delete_resource(deployed, outcome, reason)
            except ResourceFailed:
                self.resources.forget(deployed)

        self.walk_resources(list(gone), direct_dependents_among(previous_template, list(gone)), delete_or_abandon)

    def delete(self, retain: Collection[str] = ()) -> Outcome:
        """Delete the stack's resources, the dependents first; those of retain are kept (RetainResources)."""
        outcome = Outcome("DELETE", True)
        self.event_rules.stop_schedules()
        stack_event(self.resources, self.printer, "DELETE_IN_PROGRESS")
        template, state = self.resources.template, dict(self.resources.state)
        ids = list(state)
        try:
            self.walk_resources(
                ids,
                direct_dependents_among(template, ids),
                lambda lid: self.delete_resource(state[lid], outcome, "delete", retain=lid in retain),
            )
        except ResourceFailed as failure:
            outcome.succeeded, outcome.reason, outcome.status = False, str(failure), "DELETE_FAILED"
            stack_event(self.resources, self.printer, "DELETE_FAILED", str(failure))
            return outcome
        outcome.status = "DELETE_COMPLETE"
        stack_event(self.resources, self.printer, "DELETE_COMPLETE")
        # A deleted stack exports nothing.
        self.resources.template, self.resources.imports = Template({"Resources": {}}), set()
        return outcome

    def continue_update_rollback(self, skip: Collection[str]) -> Outcome:
        """ContinueUpdateRollback of the rollback that failed (Rollback.continue_rollback), skipping resources whose
        rollback Update failed (LocalStack refuses others)."""
        rollback = self.failed_rollback
        if rollback is None:
            raise RuntimeError("no update rollback failed: LocalStack checks the stack's status first")
        outcome = Outcome("CONTINUE_UPDATE_ROLLBACK", True)
        rollback.continue_rollback(outcome, skip)
        if outcome.rollback_failed:
            outcome.succeeded, outcome.reason = False, outcome.rollback_reason
        return outcome

    def walk_resources(
        self,
        ids: list[str],
        dependencies: Callable[[str], set[str]],
        act: Callable[[str], None],
        *,
        cancel_requests: bool = False,
    ) -> None:
        """dependency_walk.walk on the stack's clock: a failure cancels the wait conditions still waiting, and with
        cancel_requests (the walk of a create or update), the custom resource creates and updates in flight."""

        def cancel(cancelled: bool) -> None:
            self.wait_conditions.cancel_waits(cancelled)
            if cancel_requests:
                self.provisioner.custom_resources.cancel_requests(cancelled)

        walk(self.clock, ids, dependencies, act, cancel)

    # --- one resource ----------------------------------------------------------------------------------

    def _resource_event(
        self, status: str, resource_type: str, logical_id: str, reason: str = "", physical_id: str | None = None
    ) -> None:
        resource_event(self.resources, self.printer, status, resource_type, logical_id, reason, physical_id)

    def _apply(self, logical_id: str, previous_state: Mapping[str, Deployed], outcome: Outcome) -> None:
        """Create or update one resource of the template (or keep it, unchanged)."""
        definition = self.resources.template.resources[logical_id]
        resource_type = definition["Type"]
        try:
            properties = self.resources.resolver().resolve(definition.get("Properties", {}))
        except TemplateError as error:  # e.g. an export that does not exist
            failed = "UPDATE_FAILED" if logical_id in previous_state else "CREATE_FAILED"
            self._resource_event(failed, resource_type, logical_id, str(error))
            raise ResourceFailed(f"{logical_id}: {error}") from error
        policies = {
            "deletion_policy": definition.get("DeletionPolicy", "Delete"),
            "update_replace_policy": definition.get("UpdateReplacePolicy", "Delete"),
        }
        existing = previous_state.get(logical_id)
        if existing is None:
            self._create(logical_id, resource_type, properties, policies, outcome)
        elif existing.resource_type == resource_type and existing.properties == properties:
            # Its policies may change alone: the update applies them, without a request (refactor-stacks.html).
            self.resources.state[logical_id] = replace(existing, **policies)
        else:
            self._update(existing, properties, policies, outcome)

    def _create(
        self,
        logical_id: str,
        resource_type: str,
        properties: dict[str, Any],
        policies: dict[str, Any],
        outcome: Outcome,
    ) -> None:
        self._resource_event("CREATE_IN_PROGRESS", resource_type, logical_id)
        try:
            deployed = self.provisioner.create(logical_id, resource_type, properties, generation=0)
        except ResourceFailed as failure:
            self._resource_event("CREATE_FAILED", resource_type, logical_id, str(failure), failure.physical_id or "")
            if failure.physical_id:
                self.resources.record(Deployed(logical_id, resource_type, failure.physical_id, properties, **policies))
            raise
        vars(deployed).update(policies)
        self.resources.record(deployed)
        outcome.created.append(logical_id)
        self._resource_event("CREATE_COMPLETE", resource_type, logical_id)
        if resource_type == RULE:  # a schedule fires from its creation on, not the stack's end
            self.event_rules.start_schedules()

    def _update(
        self, existing: Deployed, properties: dict[str, Any], policies: dict[str, Any], outcome: Outcome
    ) -> None:
        logical_id, resource_type = existing.logical_id, existing.resource_type
        self._resource_event("UPDATE_IN_PROGRESS", resource_type, logical_id)
        if is_custom(resource_type) and properties.get("ServiceToken") != existing.properties.get("ServiceToken"):
            # A custom resource's ServiceToken cannot be updated: CloudFormation refuses it before any request.
            self._resource_event("UPDATE_FAILED", resource_type, logical_id, SERVICE_TOKEN_REFUSED)
            raise ResourceFailed(f"{logical_id}: {SERVICE_TOKEN_REFUSED}")
        outcome.update_started.append(logical_id)
        try:
            deployed = self.provisioner.update(existing, properties)
        except ResourceFailed as failure:
            self._resource_event("UPDATE_FAILED", resource_type, logical_id, str(failure))
            # CloudFormation now holds the properties it tried, with the physical id unchanged: the rollback
            # Update sends them as the old properties.
            self.resources.record(replace(existing, properties=properties, **policies))
            raise
        vars(deployed).update(policies)
        self.resources.record(deployed)
        if deployed.physical_id == existing.physical_id:
            outcome.updated_in_place.append(logical_id)
        else:
            outcome.replaced.append(logical_id)
        self._resource_event("UPDATE_COMPLETE", resource_type, logical_id)

    def delete_resource(self, deployed: Deployed, outcome: Outcome, reason: str, retain: bool = False) -> None:
        """Delete (or retain) one resource; reason as for Deployed.kept_when; retain: kept whatever its policy
        (RetainResources). Failures are raised: a delete that fails leaves the resource (outcome.delete_failed)."""
        resource_type, logical_id = deployed.resource_type, deployed.logical_id
        if retain or deployed.kept_when(reason):
            why = "retained by its policy" if deployed.kept_when(reason) else "retained (RetainResources)"
            self._resource_event("DELETE_SKIPPED", resource_type, logical_id, why, deployed.physical_id)
            outcome.retained.append(logical_id)
        else:
            self._resource_event("DELETE_IN_PROGRESS", resource_type, logical_id, "", deployed.physical_id)
            try:
                self.provisioner.delete(deployed)
            except ResourceFailed as failure:
                self._resource_event("DELETE_FAILED", resource_type, logical_id, str(failure), deployed.physical_id)
                outcome.delete_failed.append(logical_id)
                raise
            outcome.deleted.append(logical_id)
            self._resource_event("DELETE_COMPLETE", resource_type, logical_id, "", deployed.physical_id)
        self.resources.forget(deployed)


class Rollback:
    """Undoes a failed create or update (run), as CloudFormation does. previous_template and previous_state:
    the stack before the operation that failed."""

    def __init__(
        self,
        operation: StackOperation,
        previous_template: Template,
        previous_state: dict[str, Deployed],
        outcome: Outcome,
    ) -> None:
        self.operation = operation
        self.resources = operation.resources
        self.printer = operation.printer
        self.stack = operation.env.stack_name
        self.previous_template = previous_template
        self.previous_state = previous_state
        self.outcome = outcome
        # An update's rollback: the stack and template it started from, the resources whose update started, those
        # rolled back (or skipped), and those whose rollback Update failed (what ContinueUpdateRollback may skip).
        self.current: dict[str, Deployed] = {}
        self.update_template = previous_template
        self.started: list[str] = []
        self.restored: dict[str, Deployed] = {}
        self.failed_rollbacks: set[str] = set()

    def run(self) -> None:
        """Undo a failed update (_roll_back_update), or a failed create: delete what it created."""
        if self.previous_state:
            self._roll_back_update()
            return
        stack_event(self.resources, self.printer, "ROLLBACK_IN_PROGRESS", self.outcome.reason)
        made = dict(self.resources.state)
        try:
            self.operation.walk_resources(
                list(made),
                dependents_among(self.resources.template, list(made)),
                lambda lid: self.operation.delete_resource(made[lid], self.outcome, "rollback"),
            )
        except ResourceFailed as failure:
            # What could not be deleted stays in the stack, with the template: only a delete can follow.
            self.outcome.status, self.outcome.rollback_reason = "ROLLBACK_FAILED", str(failure)
            stack_event(self.resources, self.printer, self.outcome.status, str(failure))
            return
        self.resources.state, self.resources.template = {}, self.previous_template
        self.outcome.status = "ROLLBACK_COMPLETE"
        stack_event(self.resources, self.printer, self.outcome.status)

    def _roll_back_update(self) -> None:
        """Undo a failed update as CloudFormation does: every resource whose update started gets an Update back
        to its previous properties, in the previous template's order (a rollback is an update to that template:
        what a resource depends on goes first); then the cleanup deletes what the failed update created, and
        each physical resource that a rollback Update moved away from (after its UpdateReplacePolicy)."""
        stack_event(self.resources, self.printer, "UPDATE_ROLLBACK_IN_PROGRESS", self.outcome.reason)
        self.current, self.update_template = dict(self.resources.state), self.resources.template
        self.resources.template_reported = self.previous_template
        self.started = [lid for lid in self.outcome.update_started if lid in self.current]
        self._roll_back_started()

    def continue_rollback(self, outcome: Outcome, skipped: Collection[str]) -> None:
        """ContinueUpdateRollback: the rollback Updates that failed or never ran are sent again, but for the
        skipped resources (whose rollback Update failed), which CloudFormation marks UPDATE_COMPLETE as they are:
        the stack holds their physical resource with the previous template's properties, and the cleanup deletes
        neither that resource nor the one it replaced."""
        self.outcome = outcome
        stack_event(self.resources, self.printer, "UPDATE_ROLLBACK_IN_PROGRESS", "Continue update rollback")
        for lid in skipped:
            before, now = self.previous_state[lid], self.current[lid]
            self.restored[lid] = replace(
                now,
                properties=before.properties,
                deletion_policy=before.deletion_policy,
                update_replace_policy=before.update_replace_policy,
            )
            self.resources.record(self.restored[lid])
            resource_event(
                self.resources, self.printer, "UPDATE_COMPLETE", now.resource_type, lid, "skipped (ResourcesToSkip)"
            )
        self._roll_back_started()

    def _roll_back_started(self) -> None:
        """The rollback Updates not sent yet, or that failed, then the cleanup. A failure ends UPDATE_ROLLBACK_FAILED,
        with this rollback kept for ContinueUpdateRollback."""
        outcome, previous_state, current = self.outcome, self.previous_state, self.current
        pending = [lid for lid in self.started if lid not in self.restored]
        self.failed_rollbacks = set()

        def roll_back(lid: str) -> None:
            self.restored[lid] = self._roll_back_resource(current[lid], previous_state[lid])

        try:
            self.operation.walk_resources(pending, dependencies_among(self.previous_template, pending), roll_back)
        except ResourceFailed as failure:
            outcome.status, outcome.rollback_reason = "UPDATE_ROLLBACK_FAILED", str(failure)
            stack_event(self.resources, self.printer, outcome.status, str(failure))
            # The stack now holds resources of both templates; a delete orders them by either.
            self.resources.template = holding_both(self.update_template, self.previous_template, self.restored)
            self.operation.failed_rollback = self
            return
        self.operation.failed_rollback = None
        stack_event(self.resources, self.printer, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
        left = {lid: current[lid] for lid in current if lid not in previous_state}  # created by the failed update
        left |= {
            lid: current[lid] for lid in self.started if self.restored[lid].physical_id != current[lid].physical_id
        }

        def clean_up(lid: str) -> None:
            with contextlib.suppress(ResourceFailed):  # a delete that fails leaves the resource, not the stack
                reason = "rollback" if lid not in previous_state else "replace"
                self.operation.delete_resource(left[lid], outcome, reason)

        self.operation.walk_resources(list(left), dependents_among(self.update_template, list(left)), clean_up)
        with self.resources.lock:
            self.resources.state = {**previous_state, **self.restored}
        self.resources.template = self.previous_template
        outcome.status = "UPDATE_ROLLBACK_COMPLETE"
        stack_event(self.resources, self.printer, outcome.status)

    def _roll_back_resource(self, now: Deployed, before: Deployed) -> Deployed:
        """One resource's rollback Update, from the properties of the failed update to its previous ones, sent
        with the physical id it has now. A custom resource returns to the id and Data that the Update answers;
        any other resource to its previous state."""
        resource_event(
            self.resources, self.printer, "UPDATE_IN_PROGRESS", now.resource_type, now.logical_id, "rollback"
        )
        restored = before
        if is_custom(now.resource_type):
            properties = before.properties
            if ROLLBACK_RESOLVES_AGAIN:
                definition = self.previous_template.resources[now.logical_id]
                properties = self.resources.resolver(self.previous_template).resolve(definition.get("Properties", {}))
            try:
                answered = self.operation.provisioner.update(now, properties)
            except ResourceFailed as failure:
                resource_event(
                    self.resources, self.printer, "UPDATE_FAILED", now.resource_type, now.logical_id, str(failure)
                )
                self.failed_rollbacks.add(now.logical_id)
                raise
            restored = replace(
                before, physical_id=answered.physical_id, attributes=answered.attributes, properties=properties
            )
        self.resources.record(restored)
        self.outcome.rolled_back.append(now.logical_id)
        resource_event(self.resources, self.printer, "UPDATE_COMPLETE", now.resource_type, now.logical_id)
        return restored


def holding_both(failed: Template, previous: Template, restored: Collection[str]) -> Template:
    """The failed update's template, also defining the previous template's resources that it does not have; a
    resource whose rollback Update succeeded (restored) is defined as in the previous template, as it is now."""
    resources = {**previous.resources, **failed.resources}
    resources |= {lid: previous.resources[lid] for lid in restored if lid in previous.resources}
    body = {**failed.body, "Resources": resources}
    return Template(body, failed.parameter_values, failed.size_bytes)


def outcome_replaced_old(
    outcome: Outcome, previous: Mapping[str, Deployed], current: Mapping[str, Deployed]
) -> list[Deployed]:
    """The old physical resources of replaced resources: CloudFormation deletes them in the cleanup."""
    return [
        previous[lid]
        for lid in outcome.replaced
        if lid in previous and previous[lid].physical_id != current[lid].physical_id
    ]
