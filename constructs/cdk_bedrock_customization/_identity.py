"""What a job resource is at synth time, for the key of its wait condition.

A wait condition waits only when it is created, so a replaced job needs a new one: its logical id carries a digest
of the job's properties. A property that reads another resource of this library in the stack (an evaluation of a
throughput that a retrained model's job feeds, a model that continues training another) is the same token in every
synth, though its value changes when that resource is replaced or changed. So each such reference is replaced, in
the digest, by what the referenced resource is: its type and its own properties, recursively (``key``).
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Mapping
from typing import Any, get_type_hints

import aws_cdk as cdk
from bedrock_custom_resource import contract

from ._tokens import refuse_what_json_cannot_hold


class _Remembered:
    """The library's custom resources of one stack, with their properties as the constructs gave them (tags aside);
    their logical ids are looked up (a jsii round trip each) only when a key needs them, and once."""

    def __init__(self) -> None:
        self.pending: dict[cdk.CfnResource, tuple[str, Mapping[str, Any]]] = {}
        self.by_logical_id: dict[str, tuple[str, Mapping[str, Any]]] = {}
        # Ids found to be other resources: a resource made later cannot take an id already in the stack.
        self.others: set[str] = set()

    def lookup(self, stack: cdk.Stack, logical_id: str) -> tuple[str, Mapping[str, Any]] | None:
        if logical_id not in self.by_logical_id and logical_id not in self.others:
            for resource, remembered in self.pending.items():
                self.by_logical_id[stack.get_logical_id(resource)] = remembered
            self.pending.clear()
            if logical_id not in self.by_logical_id:
                self.others.add(logical_id)
        return self.by_logical_id.get(logical_id)


_REMEMBERED: weakref.WeakKeyDictionary[cdk.Stack, _Remembered] = weakref.WeakKeyDictionary()


def _remembered(stack: cdk.Stack) -> _Remembered:
    if stack not in _REMEMBERED:
        _REMEMBERED[stack] = _Remembered()
    return _REMEMBERED[stack]


def remember(stack: cdk.Stack, resource: cdk.CfnResource, resource_type: str, properties: Mapping[str, Any]) -> None:
    """Record a custom resource of this library (cheap: nothing is resolved until a key needs it)."""
    # What it is: not its tags, nor how far its handler waits or what replacing it does.
    ignored = {*contract.CONTRACTS[resource_type].tag_members, *contract.NOT_IDENTIFYING}
    kept = {name: value for name, value in properties.items() if name not in ignored}
    _remembered(stack).pending[resource] = (resource_type, kept)


def key(stack: cdk.Stack, properties: Mapping[str, Any]) -> str:
    """A digest of properties that changes whenever what they are made of changes, in this stack's resources too."""
    return _Identities(stack).digest(dict(properties))


class _Identities:
    def __init__(self, stack: cdk.Stack) -> None:
        self.stack = stack
        self._remembered = _remembered(stack)
        self._identities: dict[str, str] = {}

    def digest(self, properties: Mapping[str, Any]) -> str:
        refuse_what_json_cannot_hold(properties)  # before the kernel sees it: a NaN would crash it
        resolved = self.stack.resolve(properties)
        return hashlib.sha256(json.dumps(self._substituted(resolved, ()), sort_keys=True).encode()).hexdigest()

    def _substituted(self, value: Any, seen: tuple[str, ...]) -> Any:
        """value, with each Ref or Fn::GetAtt of a resource of this library replaced by that resource's identity."""
        if isinstance(value, list):
            return [self._substituted(item, seen) for item in value]
        if not isinstance(value, dict):
            return value
        referenced = _referenced(value)
        if referenced is not None and referenced[0] not in seen and referenced[1] in _LIBRARY_ATTRIBUTES:
            identity = self._identity(referenced[0], seen)
            if identity is not None:
                return {"identityOf": identity, "attribute": referenced[1]}
        return {name: self._substituted(item, seen) for name, item in value.items()}

    def _identity(self, logical_id: str, seen: tuple[str, ...]) -> str | None:
        if logical_id not in self._identities:
            found = self._remembered.lookup(self.stack, logical_id)
            if found is None:
                return None
            resource_type, properties = found
            resolved = self._substituted(self.stack.resolve(dict(properties)), (*seen, logical_id))
            canonical = json.dumps([resource_type, resolved], sort_keys=True)
            self._identities[logical_id] = hashlib.sha256(canonical.encode()).hexdigest()
        return self._identities[logical_id]


# What a reference to a resource of this library reads: its Ref, or an attribute its contract declares. Any other
# (a role's Arn) names another resource: no need to look up the logical ids of this library's resources.
_LIBRARY_ATTRIBUTES = frozenset(
    ["Ref", *(name for declared in contract.CONTRACTS.values() for name in get_type_hints(declared.attributes))]
)


def _referenced(value: Mapping[str, Any]) -> tuple[str, str] | None:
    """The (logical id, attribute) that a resolved Ref or Fn::GetAtt names; None for anything else."""
    if len(value) != 1:
        return None
    if isinstance(value.get("Ref"), str) and not value["Ref"].startswith("AWS::"):
        return value["Ref"], "Ref"
    target = value.get("Fn::GetAtt")
    if isinstance(target, list) and len(target) == 2 and all(isinstance(part, str) for part in target):
        return target[0], target[1]
    return None
