"""The bookkeeping that every emulated resource type shares, following the type's declaration in
``contract.CONTRACTS``.

A ``Kind`` describes one type. Its declaration gives the operations that create, read, update and delete it
(``operation`` and ``managed``), the resource type its ARNs name (``managed.arn_type``), the member that
names it (the first of ``generated_names``) and the member that tags it (the first of ``tag_members``). The
service model gives the rest: the member a create answers with (the new ARN) and that ARN's shape, whose
pattern every new ARN must match, and the member (the path label) by which the other operations name it.

Kept here for every kind: a repeated clientRequestToken returns the resource it created; names are unique per
kind; Get, Update and Delete take a name or an ARN; tags given at create are applied, and a create whose tags
are refused creates nothing; a deleted resource's tags go with it. What is particular to a kind is its own
hooks: what its create request must also satisfy and what it refers to, what refuses a name or a delete, and
how an update behaves.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, cast

from bedrock_custom_resource import contract
from botocore.model import OperationModel
from moto.bedrock.exceptions import BedrockClientError, ResourceNotFoundException
from moto.bedrock.models import BedrockBackend
from moto.utilities.utils import get_partition

from .service_model import checked_arn
from .validation import BedrockValidationException

Params = dict[str, Any]
# An emulated operation: the request's members in, the response's members out (None: moto answers instead).
Handler = Callable[[BedrockBackend, Params], dict[str, Any] | None]

_STORE = "stand_in_serving"
_TOKEN = "clientRequestToken"


@dataclass(kw_only=True)
class Resource:
    """What every emulated resource has; a kind's resource adds its own members, and how Get describes it."""

    arn: str
    name: str
    token: str | None  # the clientRequestToken of the request that created it
    created: datetime

    def describe(self) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} does not say how its read operation describes it")


R = TypeVar("R", bound=Resource)


def _no_request_rule(_params: Params) -> None:
    return None


def _deletable(_backend: BedrockBackend, _resource: Resource) -> None:
    return None


@dataclass(frozen=True, kw_only=True)
class Kind(Generic[R]):
    """One emulated resource type: its declaration, and the rules particular to it (the hooks)."""

    resource_type: str  # its declaration: contract.CONTRACTS[resource_type]
    noun: str  # how messages name one: "custom model deployment"
    # The resource a create request makes, given what every resource has (base: ``R(**vars(base), ...)``). It
    # refuses what the request refers to but cannot use, before anything is created.
    build: Callable[[BedrockBackend, Params, Resource], R]
    # What the ARN puts between the resource type and the id (imported models: custom-model/imported/<id>).
    arn_infix: str = ""
    # Rules of a create request that the service model cannot express, checked before anything else.
    check_request: Callable[[Params], None] = _no_request_rule
    # Refuses a taken name; without it, a name another resource of this kind has (ValidationException).
    name_rule: Callable[[BedrockBackend, str], None] | None = None
    refuse_delete: Callable[[BedrockBackend, R], None] = _deletable
    # Carries out an update (the declaration's managed.update) and gives its response.
    apply_update: Callable[[BedrockBackend, R, Params], dict[str, Any]] | None = None
    # For a kind whose operations moto serves too: called with an identifier the kind does not hold, with the
    # operation, before moto answers. Without it, such an identifier is ResourceNotFoundException.
    leave_to_moto: Callable[[BedrockBackend, str, str], None] | None = None

    def __post_init__(self) -> None:
        managed = self.declaration.managed
        if (self.apply_update is None) != (managed.update is None):
            raise AssertionError(f"{self.noun}: apply_update is needed exactly when {managed.update} is declared")
        labels = {_path_label(operation) for operation in (managed.read, managed.update, managed.delete) if operation}
        if len(labels) != 1:
            raise AssertionError(f"{self.noun}: its operations name it by different members: {sorted(labels)}")

    # what the declaration and the service model say

    @property
    def declaration(self) -> contract.ResourceContract:
        return contract.CONTRACTS[self.resource_type]

    @property
    def name_member(self) -> str:
        return self.declaration.generated_names[0]

    @property
    def tag_member(self) -> str:
        return self.declaration.tag_members[0]

    @property
    def arn_member(self) -> str:
        """The member a create answers with: the new resource's ARN, the one member its output requires."""
        (member,) = _output_members(self.declaration.operation)
        return member

    @property
    def arn_shape(self) -> str:
        return _output_members(self.declaration.operation)[self.arn_member]

    @property
    def identifier_member(self) -> str:
        """The member that names the resource (by name or ARN) in its read, update and delete requests."""
        return _path_label(self.declaration.managed.read)

    def handlers(self) -> dict[str, Handler]:
        """The operations it answers: the declaration's create, read, update and delete."""
        managed = self.declaration.managed
        served: dict[str | None, Handler] = {
            self.declaration.operation: self.create,
            managed.read: self.get,
            managed.update: self.update,
            managed.delete: self.delete,
        }
        return {operation: handler for operation, handler in served.items() if operation is not None}

    # the resources of one account and Region

    def resources(self, backend: BedrockBackend) -> dict[str, R]:
        """Its resources, by ARN."""
        return cast("dict[str, R]", _store(backend).setdefault(self.resource_type, {}))

    def held(self, backend: BedrockBackend, identifier: str) -> R | None:
        """The resource named or ARN'd by identifier, if this kind holds it."""
        return next((r for r in self.resources(backend).values() if identifier in (r.arn, r.name)), None)

    def find(self, backend: BedrockBackend, identifier: str) -> R:
        found = self.held(backend, identifier)
        if found is None:
            raise ResourceNotFoundException(f"{self.noun[0].upper()}{self.noun[1:]} {identifier} not found")
        return found

    def refuse_taken_name(self, backend: BedrockBackend, name: str) -> None:
        if self.name_rule is not None:
            self.name_rule(backend, name)
        elif any(resource.name == name for resource in self.resources(backend).values()):
            raise BedrockValidationException(f"A {self.noun} named {name} already exists")

    # the operations

    def create(self, backend: BedrockBackend, params: Params) -> dict[str, Any]:
        self.check_request(params)
        token = params.get(_TOKEN)
        resources = self.resources(backend)
        repeated = next((r for r in resources.values() if token and r.token == token), None)
        if repeated is not None:
            return {self.arn_member: repeated.arn}
        name = params[self.name_member]
        self.refuse_taken_name(backend, name)
        base = Resource(arn=self._new_arn(backend), name=name, token=token, created=datetime.now(UTC))
        resource = self.build(backend, params, base)
        resources[resource.arn] = resource
        tags = params.get(self.tag_member)
        if tags:
            try:
                backend.tag_resource(resource.arn, tags)
            except BedrockClientError:  # TooManyTagsException: nothing is created
                del resources[resource.arn]
                raise
        return {self.arn_member: resource.arn}

    def get(self, backend: BedrockBackend, params: Params) -> dict[str, Any] | None:
        resource = self._target(backend, params, self.declaration.managed.read)
        return None if resource is None else resource.describe()

    def update(self, backend: BedrockBackend, params: Params) -> dict[str, Any] | None:
        operation = self.declaration.managed.update
        assert operation is not None and self.apply_update is not None  # handlers() serves only a declared one
        resource = self._target(backend, params, operation)
        return None if resource is None else self.apply_update(backend, resource, params)

    def delete(self, backend: BedrockBackend, params: Params) -> dict[str, Any] | None:
        operation = self.declaration.managed.delete
        assert operation is not None  # handlers() serves only a declared one
        resource = self._target(backend, params, operation)
        if resource is None:
            return None
        self.refuse_delete(backend, resource)
        del self.resources(backend)[resource.arn]
        backend.tagger.delete_all_tags_for_resource(resource.arn)
        return {}

    def _target(self, backend: BedrockBackend, params: Params, operation: str) -> R | None:
        """The resource a request names or ARNs, or None if moto answers for it."""
        identifier = params[self.identifier_member]
        if self.leave_to_moto is None:
            return self.find(backend, identifier)
        resource = self.held(backend, identifier)
        if resource is None:
            self.leave_to_moto(backend, identifier, operation)
        return resource

    def _new_arn(self, backend: BedrockBackend) -> str:
        # Random, not derived from the name: a resource deleted and created again under its name gets a new ARN.
        resource = f"{self.declaration.managed.arn_type}/{self.arn_infix}{uuid.uuid4().hex[:12]}"
        partition = get_partition(backend.region_name)
        arn = f"arn:{partition}:bedrock:{backend.region_name}:{backend.account_id}:{resource}"
        return checked_arn(arn, self.arn_shape)


def emulated_arns(backend: BedrockBackend) -> list[str]:
    """The ARNs of every emulated resource of the backend's account and Region."""
    return [arn for resources in _store(backend).values() for arn in resources]


def _store(backend: BedrockBackend) -> dict[str, dict[str, Resource]]:
    """Each kind's resources, by resource type. Kept on moto's backend, so it is per account and Region, and
    mock_aws() discards it."""
    store = getattr(backend, _STORE, None)
    if not isinstance(store, dict):
        store = {}
        setattr(backend, _STORE, store)
    return store


def _operation(name: str) -> OperationModel:
    return contract.service_model().operation_model(name)


def _output_members(operation: str) -> dict[str, str]:
    """The members an operation's response requires, with their shapes' names."""
    output = _operation(operation).output_shape
    assert output is not None
    return {name: output.members[name].name for name in output.required_members}


def _path_label(operation: str) -> str:
    """The one member an operation's path carries: what names the resource it acts on."""
    (label,) = re.findall(r"\{(\w+)\+?\}", _operation(operation).http["requestUri"])
    return str(label)
