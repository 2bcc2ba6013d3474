"""What CloudFormation knows of one stack as the rehearsal plays it: its template, a record (Deployed) of each
resource it holds, and the exports its template imported; and what is read from them: Ref and Fn::GetAtt
(the Resolver), the stack's outputs and exports, DescribeStackResource and ListStackResources.

Every part of the stack (its operations, Lambda, EventBridge, the wait conditions) reads and records
resources here; resources are worked on at once, hence the lock."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .clock import EPOCH, VirtualClock
from .template import Environment, Resolver, Template, TemplateError


class ResourceFailed(RuntimeError):
    """A resource's create, update or delete failed; the message is the stack event's reason.

    physical_id: the id a failed custom resource answered with, which CloudFormation keeps, so that its
    rollback deletes what the create may have made.
    """

    def __init__(self, message: str, physical_id: str | None = None) -> None:
        super().__init__(message)
        self.physical_id = physical_id


@dataclass(frozen=True)
class StackEvent:
    """An event as DescribeStackEvents answers it: the stack's own (logical_id None) or one of its resources'."""

    status: str
    moment: datetime
    logical_id: str | None = None
    resource_type: str = "AWS::CloudFormation::Stack"
    physical_id: str = ""  # a resource's, once it has one


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

    @property
    def status(self) -> str:
        """The resource's status, as CloudFormation's API reports it (a wait condition records its own)."""
        return str(self.attributes.get("__status", "CREATE_COMPLETE"))


class StackResources:
    """One stack's template and resource records. import_value(export name): the value of another stack's
    export (None: there are no other stacks)."""

    def __init__(self, env: Environment, clock: VirtualClock, import_value: Callable[[str], Any] | None = None) -> None:
        self.env = env
        self.clock = clock
        self.state: dict[str, Deployed] = {}
        self.stack_status = ""  # the stack's StackStatus, as it goes (stack_operation.stack_event)
        # Its events and its resources', oldest first, on the simulated clock.
        self.stack_events: list[StackEvent] = []
        self.template = Template({"Resources": {}})
        # The template GetTemplate answers: the one the operation under way goes to (an update's roll-forward: the
        # new one; its rollback: the one it returns to; a create's rollback: the one that failed to create).
        self.template_reported = self.template
        self.assembly_dir = Path(".")
        # Every cloud assembly the stack was deployed from, newest first. An asset's folder is named by its content's
        # hash, so any of them that has it holds that content: a function runs the code it was created or updated
        # with, though a later assembly no longer has it (its function is being deleted).
        self.assembly_dirs: list[Path] = []
        # The exports this stack's template imported (CloudFormation keeps them from being deleted).
        self.imports: set[str] = set()
        self.lock = threading.RLock()
        self._import_value = import_value

    def deployed_from(self, assembly_dir: Path) -> None:
        self.assembly_dir = assembly_dir
        self.assembly_dirs = [assembly_dir, *(known for known in self.assembly_dirs if known != assembly_dir)]

    def asset_folder(self, name: str) -> Path:
        """The folder of this asset (asset.HASH) in the newest assembly that has it (else in the newest)."""
        return next(
            (directory / name for directory in self.assembly_dirs if (directory / name).exists()),
            self.assembly_dir / name,
        )

    def record(self, deployed: Deployed) -> None:
        deployed.updated_at = self.clock.now()
        with self.lock:
            self.state[deployed.logical_id] = deployed

    def forget(self, deployed: Deployed) -> None:
        """Remove the record of a deleted resource, unless a newer one took its place."""
        with self.lock:
            if self.state.get(deployed.logical_id) is deployed:
                del self.state[deployed.logical_id]

    def of_type(self, resource_type: str) -> list[Deployed]:
        with self.lock:
            return [deployed for deployed in self.state.values() if deployed.resource_type == resource_type]

    def find(self, resource_type: str, physical_id: str) -> Deployed | None:
        return next((d for d in self.of_type(resource_type) if d.physical_id == physical_id), None)

    def resolver(self, template: Template | None = None) -> Resolver:
        """Ref and Fn::GetAtt of what the stack holds now, with template's parameters and conditions (the stack's
        own by default)."""

        def attributes_of(logical_id: str) -> Mapping[str, Any]:
            with self.lock:
                return self.state[logical_id].attributes

        def physical_id_of(logical_id: str) -> str:
            with self.lock:
                return self.state[logical_id].physical_id

        def import_value(name: str) -> Any:
            if self._import_value is None:
                raise TemplateError(f"No export named {name} found")
            value = self._import_value(name)
            self.imports.add(name)
            return value

        return Resolver(template or self.template, self.env, attributes_of, physical_id_of, import_value)

    def outputs(self) -> dict[str, Any]:
        resolver = self.resolver()
        return {
            name: resolver.resolve(output["Value"])
            for name, output in self.template.outputs.items()
            if self.template.output_included(name, self.env)
        }

    def exports(self) -> dict[str, Any]:
        """The stack's exports (Outputs with Export.Name): name -> value."""
        return self.template.exports(self.resolver())

    def export_names(self) -> list[str]:
        """The names of the stack's exports, whose values are not read."""
        return list(self.template.export_names(self.resolver()).values())

    def export_value(self, export: str) -> Any:
        """The value of one export (KeyError: the stack has none of this name)."""
        return self.template.export_value(self.resolver(), export)

    def describe_stack_resource(self, logical_id: str) -> dict[str, Any] | None:
        """DescribeStackResource's StackResourceDetail of a resource of the stack (None: the stack has no such
        resource). Metadata is the resource's template Metadata attribute (resolved), as JSON text, as
        CloudFormation returns it; absent when the resource has none."""
        with self.lock:
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
            "ResourceStatus": self._statuses().get(logical_id, deployed.status),
        }
        definition = self.template.resources.get(logical_id, {})
        if "Metadata" in definition:
            detail["Metadata"] = json.dumps(self.resolver().resolve(definition["Metadata"]))
        return detail

    def list_stack_resources(self) -> list[dict[str, Any]]:
        """ListStackResources, as the notifier reads it: wait conditions still waiting are CREATE_IN_PROGRESS."""
        statuses = self._statuses()
        with self.lock:
            return [
                {
                    "LogicalResourceId": d.logical_id,
                    "PhysicalResourceId": d.physical_id,
                    "ResourceType": d.resource_type,
                    "ResourceStatus": statuses.get(d.logical_id, d.status),
                }
                for d in self.state.values()
            ]

    def _statuses(self) -> dict[str, str]:
        """Each resource's status as its latest event says (an update's, a delete's: UPDATE_IN_PROGRESS and the
        like), but a wait condition's own (Deployed.status)."""
        with self.lock:
            latest = {event.logical_id: event.status for event in self.stack_events if event.logical_id}
            return {
                logical_id: status
                for logical_id, status in latest.items()
                if "__status" not in getattr(self.state.get(logical_id), "attributes", {})
            }
