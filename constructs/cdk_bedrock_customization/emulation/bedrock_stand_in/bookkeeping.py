"""The bookkeeping that every emulated resource type shares, following the type's declaration in
``contract.CONTRACTS``.

A ``Kind`` describes one type. Its declaration gives the operations that create, read, update and delete it
(``operation`` and ``managed``), the resource type its ARNs name (``managed.arn_type``), and the create
request's members that name and tag it (``managed.name_member`` and ``managed.tag_member``). The service model
gives the rest: the member a create answers with (the new ARN) and that ARN's shape, whose pattern every new
ARN must match, and the member (the path label) by which the other operations name it.

A kind may have no name or no tags of its own (``name_member`` or ``tag_member`` None; a model copy job has
neither): its resources are then found by ARN only, and a create tags nothing. The taggable ones are those
whose ARNs the service model's TaggableResourcesArn admits (``emulated_arns``), as Bedrock's tag operations do.

A kind may also be what a type's job makes (``managed.made``: an import job's imported model): then the made
declaration's own name and tag members name and tag it, the job creates it (``new_resource`` and ``keep``)
rather than a request of its own, and its ARN's shape is that of the member of its read operation's output
whose pattern names its ARN's resource type.

Kept here for every kind: a repeated clientRequestToken returns the resource it created, also once that resource is
deleted (botocore's model: Bedrock "ignores the request" of a token it has seen; how long it keeps one after its
resource is gone is not documented, so the stand-in keeps it, the harder answer: Get of what it returns is then
ResourceNotFoundException); names are unique per
kind; Get, Update and Delete take a name or an ARN; tags given at create are applied, and a create whose tags
are refused creates nothing; a deleted resource's tags go with it. What is particular to a kind is its own
hooks: what its create request must also satisfy and what it refers to, what refuses a name or a delete, and
how an update behaves.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from bedrock_custom_resource import contract
from botocore.model import OperationModel
from moto.bedrock.exceptions import BedrockClientError, ResourceNotFoundException
from moto.bedrock.models import BedrockBackend
from moto.utilities.utils import get_partition

from .service_model import TAGGABLE_ARN_PATTERN, checked_arn, moment
from .validation import BedrockValidationException

Params = dict[str, Any]
# An emulated operation: the request's members in, the response's members out (None: moto answers instead).
Handler = Callable[[BedrockBackend, Params], dict[str, Any] | None]

_STORE = "stand_in_serving"
_DELETED_TOKENS = "stand_in_deleted_tokens"
_MADE = "stand_in_made"  # how many resources were made under each identity (new_resource_id)
_TOKEN = "clientRequestToken"


@dataclass(kw_only=True)
class Resource:
    """What every emulated resource has; a kind's resource adds its own members, and how Get describes it."""

    arn: str
    name: str | None  # None: its kind has no name of its own (a model copy job)
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
    # refuses what the request refers to but cannot use, before anything is created. None for a made kind.
    build: Callable[[BedrockBackend, Params, Resource], R] | None = None
    # It is what the declared type's job makes (managed.made), created by the job, not by a request.
    made: bool = False
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
        managed = self.managed
        if (self.build is None) != self.made:
            raise AssertionError(f"{self.noun}: build is needed exactly when a request creates it (not made)")
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
    def managed(self) -> contract.Managed:
        """Its own operations and ARN type: the declaration's, or those of what the declared job makes."""
        managed = self.declaration.managed
        if self.made:
            assert managed.made is not None, f"{self.resource_type} declares nothing that its job makes"
            return managed.made
        return managed

    @property
    def name_member(self) -> str | None:
        return self.managed.name_member

    @property
    def tag_member(self) -> str | None:
        return self.managed.tag_member

    @property
    def arn_member(self) -> str:
        """The member a create answers with: the new resource's ARN, the one member its output requires."""
        (member,) = _output_members(self.declaration.operation)
        return member

    @property
    def arn_shape(self) -> str:
        if self.made:
            return _arn_shape_read_by(self.managed.read, self.managed.arn_type)
        return _output_members(self.declaration.operation)[self.arn_member]

    @property
    def identifier_member(self) -> str:
        """The member that names the resource (by name or ARN) in its read, update and delete requests."""
        return _path_label(self.managed.read)

    def handlers(self) -> dict[str, Handler]:
        """The operations it answers: the declaration's create (unless the kind is made), read, update and delete."""
        managed = self.managed
        served: dict[str | None, Handler] = {
            None if self.made else self.declaration.operation: self.create,
            managed.read: self.get,
            managed.update: self.update,
            managed.delete: self.delete,
        }
        return {operation: handler for operation, handler in served.items() if operation is not None}

    # the resources of one account and Region

    def resources(self, backend: BedrockBackend) -> dict[str, R]:
        """Its resources, by ARN."""
        return cast("dict[str, R]", _store(backend).setdefault(self.managed.arn_type, {}))

    def tokens_of_deleted(self, backend: BedrockBackend) -> dict[str, str]:
        """The ARN each clientRequestToken created, of its resources deleted since."""
        return _deleted_tokens(backend).setdefault(self.managed.arn_type, {})

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
        assert self.build is not None  # handlers() serves a create only for a kind that builds
        self.check_request(params)
        token = params.get(_TOKEN)
        repeated = next((r.arn for r in self.resources(backend).values() if token and r.token == token), None)
        repeated = repeated or (self.tokens_of_deleted(backend).get(token) if token else None)
        if repeated is not None:
            return {self.arn_member: repeated}
        name = params[self.name_member] if self.name_member else None
        if name is not None:
            self.refuse_taken_name(backend, name)
        identity = name or self._unnamed_identity(params)
        resource = self.build(backend, params, self.new_resource(backend, name, token, identity))
        self.keep(backend, resource, params.get(self.tag_member) if self.tag_member else None)
        return {self.arn_member: resource.arn}

    def new_resource(
        self, backend: BedrockBackend, name: str | None, token: str | None = None, identity: str | None = None
    ) -> Resource:
        """What every resource of this kind has, for a new one: a new ARN (from identity, else its name), and now as
        its creation time."""
        arn = self._new_arn(backend, identity or name or "")
        return Resource(arn=arn, name=name, token=token, created=moment())

    def _unnamed_identity(self, params: Params) -> str:
        """What identifies a request of a kind without a name (a copy job): its members but its token and tags, which
        change with each CloudFormation request (the handler's token and origin tag), so that its ARN does not."""
        changing = (_TOKEN, *self.declaration.tag_members)
        kept = {member: value for member, value in params.items() if member not in changing}
        return json.dumps(kept, sort_keys=True, default=str)

    def keep(self, backend: BedrockBackend, resource: R, tags: list[dict[str, str]] | None) -> None:
        """Hold a new resource, tagged; one whose tags are refused (TooManyTagsException) is not kept."""
        resources = self.resources(backend)
        resources[resource.arn] = resource
        if tags:
            try:
                backend.tag_resource(resource.arn, tags)
            except BedrockClientError:
                del resources[resource.arn]
                raise

    def get(self, backend: BedrockBackend, params: Params) -> dict[str, Any] | None:
        resource = self._target(backend, params, self.managed.read)
        return None if resource is None else resource.describe()

    def update(self, backend: BedrockBackend, params: Params) -> dict[str, Any] | None:
        operation = self.managed.update
        assert operation is not None and self.apply_update is not None  # handlers() serves only a declared one
        resource = self._target(backend, params, operation)
        return None if resource is None else self.apply_update(backend, resource, params)

    def delete(self, backend: BedrockBackend, params: Params) -> dict[str, Any] | None:
        operation = self.managed.delete
        assert operation is not None  # handlers() serves only a declared one
        resource = self._target(backend, params, operation)
        if resource is None:
            return None
        self.refuse_delete(backend, resource)
        del self.resources(backend)[resource.arn]
        if resource.token:
            self.tokens_of_deleted(backend)[resource.token] = resource.arn
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

    def _new_arn(self, backend: BedrockBackend, name: str) -> str:
        resource = f"{self.managed.arn_type}/{self.arn_infix}{new_resource_id(backend, self.managed.arn_type, name)}"
        partition = get_partition(backend.region_name)
        arn = f"arn:{partition}:bedrock:{backend.region_name}:{backend.account_id}:{resource}"
        return checked_arn(arn, self.arn_shape)


def new_resource_id(backend: BedrockBackend, *identity: str) -> str:
    """The 12 hexadecimal digits that end a new resource's ARN, from what identifies it (its kind, its name) and how
    many were made so before: the same in every run whatever order threads create resources in (a rehearsal's
    report is the same on any machine), and new for one deleted and made again under its name."""
    made = getattr(backend, _MADE, None)
    if not isinstance(made, dict):
        made = {}
        setattr(backend, _MADE, made)
    key = "/".join(identity)
    made[key] = made.get(key, 0) + 1
    seed = f"{backend.account_id}/{backend.region_name}/{key}/{made[key]}"
    return hashlib.sha256(seed.encode()).hexdigest()[:12]


def emulated_arns(backend: BedrockBackend) -> list[str]:
    """The ARNs of every emulated resource of the backend's account and Region that the tag operations accept:
    those the service model's TaggableResourcesArn admits (not a model copy job's, for one)."""
    return [arn for resources in _store(backend).values() for arn in resources if TAGGABLE_ARN_PATTERN.fullmatch(arn)]


def _store(backend: BedrockBackend) -> dict[str, dict[str, Resource]]:
    """Each kind's resources, by the resource type their ARNs name. Kept on moto's backend, so it is per account
    and Region, and mock_aws() discards it."""
    store = getattr(backend, _STORE, None)
    if not isinstance(store, dict):
        store = {}
        setattr(backend, _STORE, store)
    return store


def _deleted_tokens(backend: BedrockBackend) -> dict[str, dict[str, str]]:
    """Each kind's tokens of deleted resources, by the resource type their ARNs name; kept as _store is."""
    tokens = getattr(backend, _DELETED_TOKENS, None)
    if not isinstance(tokens, dict):
        tokens = {}
        setattr(backend, _DELETED_TOKENS, tokens)
    return tokens


def _operation(name: str) -> OperationModel:
    return contract.service_model().operation_model(name)


def _output_members(operation: str) -> dict[str, str]:
    """The members an operation's response requires, with their shapes' names."""
    output = _operation(operation).output_shape
    assert output is not None
    return {name: output.members[name].name for name in output.required_members}


def _arn_shape_read_by(operation: str, arn_type: str) -> str:
    """The shape of the one member of an operation's response whose pattern is an ARN of arn_type."""
    output = _operation(operation).output_shape
    assert output is not None
    (shape,) = {
        member.name for member in output.members.values() if f":{arn_type}/" in member.metadata.get("pattern", "")
    }
    return str(shape)


def _path_label(operation: str) -> str:
    """The one member an operation's path carries: what names the resource it acts on."""
    (label,) = re.findall(r"\{(\w+)\+?\}", _operation(operation).http["requestUri"])
    return str(label)
