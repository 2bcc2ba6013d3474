"""The custom resource behind each construct of this library, and Tags.of(...) for its tag lists."""

from __future__ import annotations

import functools
import typing
import weakref
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, cast

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from bedrock_custom_resource import contract
from bedrock_custom_resource.lifecycle import STACK_TAG

from constructs import Construct, IConstruct, IDependable

from ._regions import refuse_another_partition, refuse_another_region
from ._requests import tag_list
from ._tokens import attribute, is_unresolved, made_in, remembered, stack_of

if TYPE_CHECKING:
    from .provider import CustomizationProvider, StackUse


class TaggedResource:
    """Gives a construct a ``tags`` TagManager that reaches the tag-list properties of its ``resource``, and
    ``apply_removal_policy`` that reaches the resource itself.

    Subclasses set ``resource`` and ``_own_tags`` (tag property name -> the construct's own tags) and
    render their own tags with ``tag_list`` into the resource's properties.
    """

    resource: cdk.CfnResource
    _own_tags: Mapping[str, Mapping[str, str]]
    _tags: cdk.TagManager | None = None  # created when Tags.of(...) first looks

    @property
    def tags(self) -> cdk.TagManager:
        """Tags from ``Tags.of(...)`` (own tags win on a clash; they win over the stack's, stack_tags).

        Made on first use (by the Tags aspect, at synth), and only then are the tag properties made
        lazy: a lazy value costs jsii round trips at every resolution, which a resource without
        ``Tags.of`` need not pay.
        """
        if self._tags is None:
            tags = self._tags = cdk.TagManager(cdk.TagType.MAP, self.resource.cfn_resource_type)
            inherited = stack_tags(cdk.Stack.of(self.resource))
            for resource in self._tagged_resources:
                for name, own in self._own_tags.items():
                    merged = partial(_merged_tag_list, resource, name, tags, own, inherited)
                    resource.add_property_override(name, cdk.Lazy.uncached_any(Producer(merged)))
        return self._tags

    @property
    def _tagged_resources(self) -> Sequence[cdk.CfnResource]:
        """The resources whose tag-list properties the tags reach: ``resource``, unless a construct has more."""
        return [self.resource]

    def apply_removal_policy(self, policy: cdk.RemovalPolicy) -> None:
        """What deleting the construct, or replacing it, does to what it made in AWS (as the ``removal_policy``
        option does): applied to its custom resources, which tags reach too.

        :param policy: ``DESTROY``, ``RETAIN`` or ``RETAIN_ON_UPDATE_OR_DELETE`` (``SNAPSHOT`` is refused)
        """
        for resource in self._tagged_resources:
            resource.apply_removal_policy(policy)


class PolicyTellingResource(cdk.CfnResource):
    """A custom resource whose removal policy, however applied (the construct's option or ``apply_removal_policy``,
    ``RemovalPolicies.of(...)``'s aspect, the L1 itself), is also told to the handler (replace_policy_member): a
    policy the handler was not told of would leave what a cancelled update made, or refuse too late (SNAPSHOT)."""

    def apply_removal_policy(
        self,
        policy: cdk.RemovalPolicy | None = None,
        *,
        apply_to_update_replace_policy: bool | None = None,
        default: cdk.RemovalPolicy | None = None,
    ) -> None:
        policy = policy or default or cdk.RemovalPolicy.RETAIN  # as CfnResource.applyRemovalPolicy
        members = replace_policy_member(self.cfn_resource_type, policy, explicit=True)  # refuses first
        if apply_to_update_replace_policy is False:  # its UpdateReplacePolicy stays as it was
            members.pop(contract.REPLACE_POLICY, None)
        super().apply_removal_policy(policy, apply_to_update_replace_policy=apply_to_update_replace_policy)
        for name, value in members.items():
            if value is None:  # not told: any value written before goes
                self.add_property_deletion_override(name)
            else:
                self.add_property_override(name, value)


def replace_policy_member(
    resource_type: str, policy: cdk.RemovalPolicy, *, explicit: bool = False
) -> dict[str, str | None]:
    """The handler members that tell the handler the UpdateReplacePolicy this removal policy gives the resource
    (contract.REPLACE_POLICY), written when not the default (or when explicit), and whether its DeletionPolicy is
    RetainExceptOnCreate (contract.DELETION_POLICY), written only then (when explicit, None otherwise: removed), for
    a type that has them."""
    if policy is cdk.RemovalPolicy.SNAPSHOT:
        raise ValueError(
            "removal_policy: RemovalPolicy.SNAPSHOT is not one that CloudFormation takes for a custom resource "
            "(Snapshot is for resources that support snapshots, such as volumes and databases), and nothing would keep "
            "a snapshot of a model: use RemovalPolicy.RETAIN to keep what it made, or DESTROY"
        )
    declared = contract.CONTRACTS.get(resource_type)
    if declared is None or contract.REPLACE_POLICY not in declared.handler_members:
        return {}
    replace_policy = _UPDATE_REPLACE_POLICIES.get(policy, contract.DEFAULT_REPLACE_POLICY)
    members: dict[str, str | None] = {}
    # Always for a type whose handler default is not Retain: its templates keep saying what they said.
    type_default = declared.defaults[contract.REPLACE_POLICY]
    if explicit or (replace_policy, type_default) != (contract.DEFAULT_REPLACE_POLICY, contract.DEFAULT_REPLACE_POLICY):
        members[contract.REPLACE_POLICY] = replace_policy
    if policy is cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE or explicit:
        members[contract.DELETION_POLICY] = _DELETION_POLICIES.get(policy)
    return members


# The UpdateReplacePolicy each removal policy sets (RETAIN and RETAIN_ON_UPDATE_OR_DELETE: Retain, the default).
_UPDATE_REPLACE_POLICIES = {cdk.RemovalPolicy.DESTROY: "Delete"}
# The DeletionPolicy the handler is told of: only RetainExceptOnCreate (DESTROY's is told by its UpdateReplacePolicy).
_DELETION_POLICIES = {cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE: contract.RETAIN_EXCEPT_ON_CREATE}


def custom_resource(
    scope: Construct,
    provider: CustomizationProvider,
    resource_type: str,
    properties: dict[str, Any],
    own_tags: Mapping[str, Mapping[str, str]],
    removal_policy: cdk.RemovalPolicy,
    *,
    dependencies: Sequence[IDependable] = (),
    use: StackUse | None = None,
) -> cdk.CfnResource:
    """scope's resource, once its properties, with its own tags, pass the contract (tokens are left to the
    handler)."""
    properties = checked_with_tags(resource_type, properties, own_tags)
    use = use or provider.use(scope)
    properties = with_stack_tags(scope, use.stack, resource_type, properties, own_tags)
    return provider.custom_resource(
        scope, "Resource", resource_type, properties, removal_policy, dependencies=dependencies, use=use
    )


def checked_with_tags(
    resource_type: str, properties: Mapping[str, Any], own_tags: Mapping[str, Mapping[str, str]]
) -> dict[str, Any]:
    """properties with their own tags, once they pass the contract."""
    tagged = {**properties, **{name: tag_list(own) for name, own in own_tags.items() if own}}
    contract.create_request(resource_type, tagged, is_unresolved=is_unresolved)
    return tagged


STACK_TAGS_LEFT_OUT_WARNING_ID = "cdk-bedrock-customization:stackTagsLeftOut"


def with_stack_tags(
    scope: Construct,
    stack: cdk.Stack,
    resource_type: str,
    properties: dict[str, Any],
    own_tags: Mapping[str, Mapping[str, str]],
) -> dict[str, Any]:
    """properties (checked_with_tags) whose tag lists also hold stack's tags (stack_tags), below scope's own.
    CloudFormation tags a Custom:: resource with none of them. A stack tag that Bedrock refuses is left out, with a
    warning: it deployed before (IAM's and Lambda's tag patterns take any letter, Bedrock's ASCII letters only)."""
    inherited = stack_tags(stack)
    if not inherited:  # the common case: nothing to add, the properties are as they were
        return properties
    tag_lists, left_out = {}, []
    for name, own in own_tags.items():
        kept, refused = _stack_tags_that_fit(resource_type, name, inherited, own)
        if kept:
            tag_lists[name] = tag_list({**kept, **own})
        left_out += refused
    if left_out:
        cdk.Annotations.of(scope).add_warning_v2(
            STACK_TAGS_LEFT_OUT_WARNING_ID,
            f"{_stack_tags_named(stack)}: left out here, since Bedrock refuses them: {'; '.join(left_out)}. A tag "
            "of the same key given to the construct itself (job_tags, tags...) replaces a stack tag.",
        )
    return {**properties, **tag_lists}


def _stack_tags_that_fit(
    resource_type: str, member: str, inherited: Mapping[str, str], above: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """The inherited (stack) tags that the member takes below above (the tags that win over them): each one that
    Bedrock's patterns take, in their order (stack_tags': by key) while there is room beside above. And why the
    others are not."""
    kept: dict[str, str] = {}
    refused: list[str] = []
    no_room: list[str] = []
    why = ""
    for key, value in inherited.items():
        if key in above:
            continue
        if problems := contract.tag_list_problems(
            resource_type, member, tag_list({key: value}), is_unresolved=is_unresolved
        ):  # named by its key: the problem's path is of a list of this tag alone
            refused += [f"{member} {key!r}: {problem.split(': ', 1)[-1]}" for problem in problems]
        elif beside := contract.tag_list_problems(
            resource_type, member, tag_list({**kept, key: value, **above}), is_unresolved=is_unresolved
        ):
            no_room.append(key)
            why = "; ".join(beside)
        else:
            kept[key] = value
    if no_room and not contract.tag_list_problems(resource_type, member, tag_list(above)):
        refused.append(f"{member}: no room beside its own for {', '.join(map(repr, no_room))} ({why})")
    return kept, refused


def stack_tags(stack: cdk.Stack) -> Mapping[str, str]:
    """The tags CloudFormation gives every resource of stack that supports tagging: stack's own (``Stack(tags=...)``)
    and those of the stacks it is nested in (which it propagates to nested stacks), the nearer stack's winning; as
    they are when the stack's first resource of this library is made. Read once per stack: each read is a jsii round
    trip. ``Tags.of(stack)`` reaches the resources at synth through its aspect, at a higher priority."""
    tags = _STACK_TAGS.get(stack)
    if tags is None:
        parent = stack.nested_stack_parent
        tags = {**(stack_tags(parent) if parent else {}), **stack.tags.tag_values()}
        # In key order by code point: the CDK's own order follows the machine's locale (Node's localeCompare).
        tags = _STACK_TAGS[stack] = dict(sorted(tags.items()))
    return tags


def _stack_tags_named(stack: cdk.Stack) -> str:
    """Where stack's tags (stack_tags) come from, for a warning."""
    nested = " and of the stacks it is nested in" if stack.nested else ""
    return f"the tags of stack {stack.node.path}{nested}, which CloudFormation gives its resources"


_STACK_TAGS: weakref.WeakKeyDictionary[cdk.Stack, dict[str, str]] = weakref.WeakKeyDictionary()


C = TypeVar("C", bound=Construct)
_FOUND_CHILDREN = "_cdk_bedrock_customization_found_children"
# For each construct being made (outermost first), the stack singletons (provider, notifier) made meanwhile.
_MAKING: list[list[tuple[cdk.Stack, str]]] = []
Init = TypeVar("Init", bound=Callable[..., None])


def refusal_leaves_nothing(init: Init) -> Init:
    """For a construct's __init__: when it raises, the construct leaves the tree, so that a retry may take its id,
    and so do the stack's provider and notifier if it made them."""

    @functools.wraps(init)
    def making(self: Construct, scope: Construct, construct_id: str, *args: Any, **kwargs: Any) -> None:
        singletons: list[tuple[cdk.Stack, str]] = []
        _MAKING.append(singletons)
        made_in(self, scope)
        try:
            init(self, scope, construct_id, *args, **kwargs)
        except BaseException:
            if scope.node.try_find_child(construct_id) is self:  # made, not refused before (or taken by another)
                scope.node.try_remove_child(construct_id)
            for stack, singleton_id in reversed(singletons):
                stack.node.try_remove_child(singleton_id)
                stack.__dict__.get(_FOUND_CHILDREN, {}).pop(singleton_id, None)
            raise
        finally:
            _MAKING.pop()
        if _MAKING:  # made within another construct: its refusal removes them too
            _MAKING[-1].extend(singletons)

    return cast(Init, making)


# Where one_per_stack keeps, on the construct's Python object, the settings it was made with.
_MADE_WITH = "_cdk_bedrock_customization_made_with"


def _same_setting(made: Any, given: Any) -> bool:
    """Whether a setting given again is the one in force (two Durations of one length are; a token only itself)."""
    if isinstance(made, cdk.Duration) and isinstance(given, cdk.Duration):
        unresolved = made.is_unresolved() or given.is_unresolved()
        return made is given if unresolved else bool(made.to_milliseconds() == given.to_milliseconds())
    return bool(made == given)


def one_per_stack(cls: Callable[..., C], scope: Construct, construct_id: str, settings: Mapping[str, Any]) -> C:
    """The construct of this class that scope's stack has at construct_id, created with settings when it has
    none. Settings given when it exists already are refused, naming them: they would be silently ignored. The
    settings it was made with may be given again (two parts of an app may both ask for them)."""
    settings = {name: value for name, value in settings.items() if value is not None}  # None: the default
    stack = stack_of(scope)
    # What the stack's tree held at construct_id when last looked at, kept on the stack's Python object: each
    # model looks its provider up, and a lookup in the tree is a jsii round trip. A child is never replaced.
    found: dict[str, IConstruct] = stack.__dict__.setdefault(_FOUND_CHILDREN, {})
    existing = found.get(construct_id) or stack.node.try_find_child(construct_id)
    if existing is None:
        created = found[construct_id] = cls(stack, construct_id, **settings)
        created.__dict__[_MADE_WITH] = dict(settings)
        if _MAKING:
            _MAKING[-1].append((stack, construct_id))
        return created
    name = getattr(cls, "__name__", str(cls))
    if not isinstance(existing, cast(type, cls)):
        raise ValueError(f"{stack.node.path}/{construct_id}: taken by a construct that is not a {name}")
    made_with: dict[str, Any] = existing.__dict__.get(_MADE_WITH, {})
    differing = sorted(key for key, value in settings.items() if not _same_setting(made_with.get(key), value))
    if differing and made_with:
        raise ValueError(
            f"{stack.node.path} already has its {name}, made by an earlier {name}.of with settings "
            f"{sorted(made_with)}; settings {differing} given now differ: give each once, to {name}.of before the "
            "stack's first model"
        )
    if differing:
        # Most often no call of the user's made it: the stack's first model did, which calls of() itself.
        raise ValueError(
            f"{stack.node.path} already has its {name}, made with its defaults by the stack's first model that "
            f"needs it (or by an earlier {name}.of); pass settings {differing} to {name}.of before the "
            "stack's first model"
        )
    found[construct_id] = existing
    return cast(C, existing)


class Grants:
    """A service role's grants, as IAM statements built in Python.

    The role gets them inline, as one policy, in the call that creates it: no policy resource per role (a stack
    of many models stays far from CloudFormation's 500 resources, and whatever reads the role's ARN waits for
    every grant), and no jsii round trip per statement.
    """

    def __init__(self) -> None:
        self.statements: list[dict[str, Any]] = []

    def allow(
        self, actions: Sequence[str], resources: Sequence[str], conditions: Mapping[str, Any] | None = None
    ) -> None:
        statement: dict[str, Any] = {"Effect": "Allow", "Action": list(actions), "Resource": list(resources)}
        if conditions:
            statement["Condition"] = dict(conditions)
        self.statements.append(statement)


def _refuse_another_account(scope: Construct, role: iam.IRole, arn: str) -> None:
    """Refuse a role given of another account than scope's stack's, when both are known: Bedrock could never be given
    it ("You can only use the PassRole permission to pass an IAM role to a service that shares the same AWS account",
    IAM user guide, id_roles_use_passrole.html)."""
    literal = not is_unresolved(arn) and arn.count(":") >= 5
    account = arn.split(":")[4] if literal else str(remembered(role, "account", lambda: role.env.account))
    problem = another_account_problem(scope, account, arn if literal else role.node.path)
    if problem is not None:
        raise ValueError(f"role: {problem}")


def another_account_problem(scope: Construct, account: str, named: str) -> str | None:
    """What is wrong with a role (named so) of account when it is not the account of scope's stack (None: the same, or
    either unknown)."""
    home = str(attribute(stack_of(scope), "account"))
    if not account or is_unresolved(account) or is_unresolved(home) or account == home:
        return None
    return (
        f"{named!r} is a role of account {account}, and this stack deploys to account {home}: Bedrock is given a "
        f"service role of its own account only (iam:PassRole passes a role to a service of the role's account): give "
        f"a role of account {home}, or leave role out for one made for it"
    )


class ServiceRoleUser:
    """A construct whose Bedrock job runs as a service role: the one given (``_given_role``), or one it made
    (``_own_role``, None when a role was given or none is needed)."""

    resource: cdk.CfnResource
    _given_role: iam.IRole | None
    _own_role: OwnRole | None

    def _use_role(self, given: iam.IRole | None, own: OwnRole | None, job_kind: str) -> str | None:
        """Keep the role the construct runs as; its ARN (None: it runs as none). job_kind: the kind of resource
        Bedrock assumes the role for (``*``: not documented); a role this library made for another kind is refused."""
        self._given_role, self._own_role = given, own
        if own is not None:
            return own.arn
        if given is None:
            return None
        arn = str(attribute(given, "role_arn"))
        refuse_another_partition(cast(Construct, self), "role", arn, "a role")
        made = _OWN_ROLES.get(arn)
        if made is None:
            _refuse_another_account(cast(Construct, self), given, arn)
            return arn
        scope = cast(Construct, self)
        elsewhere = made.other_environment(cdk.Stack.of(scope))
        if elsewhere is not None or not made.trusted_for(job_kind):
            only = f"in the {elsewhere}" if elsewhere else f"for {made.bedrock_resource}s"
            raise ValueError(
                f"role: {scope.node.path} runs a {job_kind}, but was given {made.resource.node.path}, a role this "
                f"library made that Bedrock may assume only {only} (its trust's aws:SourceAccount and aws:SourceArn), "
                "so the job would fail at deploy: give it a role of its own, or leave role out for one made for it"
            )
        return arn

    def _let_given_role_read(self, datasets: Sequence[object], *jobs: cdk.CfnResource | None) -> None:
        """A role given is granted read on the local datasets shipped as file assets, as a role made here is: their
        keys are the files' hashes, which the role's owner cannot name ahead. The jobs wait for the grant. As
        aws-cdk-lib has it, a role imported as immutable (or of another account) is left as it is: yours to grant."""
        from .inputs import S3Data  # it imports this module

        shipped = [data for data in datasets if isinstance(data, S3Data) and data.shipped_from is not None]
        role = self._given_role
        if role is None or not shipped:
            return
        grants = Grants()
        for data in shipped:
            data.allow_read(cast(Construct, self), grants)
        for statement in grants.statements:
            iam.Grant.add_to_principal(
                grantee=role,
                actions=statement["Action"],
                resource_arns=statement["Resource"],
                conditions=statement.get("Condition"),
            ).apply_before(*filter(None, jobs))

    @property
    def _service_role(self) -> iam.IRole | None:
        """The service role Bedrock assumes (None: none). For a role this construct made, what you grant it goes
        in a policy of its own, which its resource waits for."""
        if self._own_role is not None:
            return self._own_role.view(self.resource)
        return self._given_role


class OwnRole:
    """A service role this library makes: Bedrock may assume it only for this account's resources of one kind
    (a confused-deputy guard), its grants are one inline policy, and it carries its stack's tag (the stack's
    handler may pass such roles with one statement).

    An L1 role made in one call: an L2 role costs jsii round trips to make and to synthesize, which a stack of
    many models pays for each. ``view`` is the IRole to grant more to.
    """

    def __init__(
        self, scope: Construct, stack: cdk.Stack, bedrock_resource: str, description: str, grants: Grants
    ) -> None:
        """bedrock_resource: the kind of resource Bedrock assumes the role for (``model-customization-job``, or
        ``*`` for any)."""
        if not grants.statements:
            raise ValueError("a service role starts with its grants: CloudFormation refuses an empty inline policy")
        self.resource = iam.CfnRole(
            scope,
            "ServiceRole",
            assume_role_policy_document=_trust(stack, bedrock_resource),
            # Rendered as an L2 role renders its policies (one round trip for every statement).
            policies=[
                iam.CfnRole.PolicyProperty(
                    policy_name="Grants", policy_document=iam.PolicyDocument.from_json({"Statement": grants.statements})
                )
            ],
            description=description,
            tags=[cdk.CfnTag(key=STACK_TAG, value=_stack_id())],
        )
        self.arn: str = self.resource.attr_arn
        self.bedrock_resource = bedrock_resource
        self._stack = stack
        self._scope = scope
        self._view: iam.IRole | None = None
        _OWN_ROLES[self.arn] = self

    def trusted_for(self, job_kind: str) -> bool:
        """Whether Bedrock may assume the role for a job of this kind (``*``: one whose source ARN is not documented,
        which is not refused)."""
        return "*" in (self.bedrock_resource, job_kind) or self.bedrock_resource == job_kind

    def other_environment(self, stack: cdk.Stack) -> str | None:
        """The role's Region or account, which its trust names, when known and not stack's (None: the same, or not
        known at synth)."""
        for what, theirs, ours in (
            ("Region", self._stack.region, stack.region),
            ("account", self._stack.account, stack.account),
        ):
            if not is_unresolved(theirs) and not is_unresolved(ours) and theirs != ours:
                return f"{what} {theirs}"
        return None

    def view(self, dependent: IConstruct) -> iam.IRole:
        """The role as an IRole, made on first use. Its grants go in a policy of their own, which dependent
        (the resource that needs them) waits for."""
        if self._view is None:
            self._view = iam.Role.from_role_arn(self._scope, "ServiceRoleGrants", self.arn, mutable=True)
            dependent.node.add_dependency(self._view)
        return self._view


def stack_arn(stack: cdk.Stack, service: str, resource: str, resource_name: str | None = None) -> str:
    """stack.format_arn, once per stack and arguments: each call is a jsii round trip, and a stack's models ask
    for the same ARNs."""
    arns = _ARNS.setdefault(stack, {})
    key = (service, resource, resource_name)
    if key not in arns:
        arns[key] = stack.format_arn(service=service, resource=resource, resource_name=resource_name)
    return arns[key]


def _trust(stack: cdk.Stack, bedrock_resource: str) -> dict[str, Any]:
    """The trust policy of a role for Bedrock, for this stack's account and its resources of this kind, as an L2
    role renders it; once per stack and kind."""
    policies = _TRUST.setdefault(stack, {})
    if bedrock_resource not in policies:
        name = None if bedrock_resource == "*" else "*"
        condition = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {"aws:SourceArn": stack_arn(stack, "bedrock", bedrock_resource, name)},
        }
        policies[bedrock_resource] = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "sts:AssumeRole",
                    "Condition": condition,
                    "Effect": "Allow",
                    "Principal": {"Service": "bedrock.amazonaws.com"},
                }
            ],
        }
    return policies[bedrock_resource]


_ARNS: weakref.WeakKeyDictionary[cdk.Stack, dict[tuple[str, str, str | None], str]] = weakref.WeakKeyDictionary()
_TRUST: weakref.WeakKeyDictionary[cdk.Stack, dict[str, dict[str, Any]]] = weakref.WeakKeyDictionary()
# The roles this library made, by their ARN token: a role given by ARN (the role a construct exposes, or one imported
# from its ARN) is found as made here.
_OWN_ROLES: weakref.WeakValueDictionary[str, OwnRole] = weakref.WeakValueDictionary()


@functools.cache
def _stack_id() -> str:
    """The AWS::StackId pseudo parameter, read from aws-cdk-lib once (each read is a jsii round trip)."""
    return str(cdk.Aws.STACK_ID)  # str: older aws-cdk-lib types it as Any


# What Bedrock needs of a customer managed key that encrypts a custom model: its use, and CreateGrant only through
# Bedrock (kms:ViaService, as the user guide's key policies for custom models have it: encryption-custom-job.html;
# Bedrock sends the CreateGrant with the caller's credentials); unconditioned, the principal could grant the key to
# anyone. The Region and URL suffix are the policy's stack's, which is the key's (checked_kms_key).
MODEL_KEY_USE_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey")
MODEL_KEY_GRANT_ACTIONS = ("kms:CreateGrant",)


def via_bedrock(region: str) -> dict[str, Any]:
    """The condition that KMS is called through Bedrock in region (the key's: Bedrock calls KMS where the model is)."""
    return {"StringEquals": {"kms:ViaService": f"bedrock.{region}.{cdk.Aws.URL_SUFFIX}"}}


def via_bedrock_in_the_keys_region(key_arn: str) -> dict[str, Any]:
    """via_bedrock in the Region read from the key's ARN: a principal's policy may be in a stack of another Region,
    whose AWS::Region is not the key's."""
    return via_bedrock(cdk.Fn.select(3, cdk.Fn.split(":", key_arn)))


MODEL_KEY_GRANT_CONDITIONS = via_bedrock(cdk.Aws.REGION)
# What a job that reads an encrypted custom model (a copy's source, a model trained further) needs of its key
# (encryption-custom-job.html: Decrypt "to validate that the role has proper access to the KMS key").
SOURCE_MODEL_KEY_ACTIONS = ("kms:Decrypt",)


def allow_model_key(grants: Grants, key_arn: str) -> None:
    """A service role's statements for the key that encrypts its model."""
    grants.allow(MODEL_KEY_USE_ACTIONS, [key_arn])
    grants.allow(MODEL_KEY_GRANT_ACTIONS, [key_arn], MODEL_KEY_GRANT_CONDITIONS)


# What an evaluation job's service role, and its caller, need of its key (model-evaluation-security-data.html): no
# grant, which a custom model's key needs.
EVALUATION_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey")


def checked_kms_key(scope: Construct, key: kms.IKey | None) -> kms.IKey | None:
    """A construct's kms_key: the key itself (key_itself), of the stack's Region (Bedrock encrypts with a key of its
    own Region)."""
    key = key_itself(key)
    if key is not None:
        refuse_another_region(scope, "kms_key", key.key_arn, "a key", "Bedrock uses a key of its own Region")
    return key


KEY_MADE_ANEW_WARNING_ID = "cdk-bedrock-customization:keyMadeAnewWithItsStack"


def key_grantee(construct: Construct, role: iam.IRole | None) -> iam.IRole | None:
    """What a role given to construct is granted keys through: the role itself, or, for a role of another stack (made
    or imported there), that role imported here by name, whose grants go in a policy of this stack (a grant in the
    role's own policy would name this stack's key from the role's stack, which this stack names already: a dependency
    cycle). An immutable role is left as it is, as aws-cdk-lib leaves it. None: no role."""
    if role is None or stack_of(role) is stack_of(construct) or _immutable(role):
        return role
    return iam.Role.from_role_name(construct, "GivenRoleHere", role.role_name)


def _immutable(role: iam.IRole) -> bool:
    """Whether role is aws-cdk-lib's ImmutableRole, to which grants add nothing (Role.from_role_arn or from_role_name
    with mutable=False or of another account, Role.without_policy_updates). That class is private, so it is known by
    the ids aws-cdk-lib gives (aws-iam/lib/role.ts): the imported role it wraps is its sibling MutableRole<id>, and a
    role's own is ImmutableRole<the role's id>, beside the role, with the role's ARN."""
    scope = role.node.scope
    if scope is None:
        return False
    role_id, siblings = role.node.id, scope.node
    if siblings.try_find_child(f"MutableRole{role_id}") is not None:
        return True
    wrapped = siblings.try_find_child(role_id.removeprefix("ImmutableRole"))
    return role_id.startswith("ImmutableRole") and isinstance(wrapped, iam.Role) and wrapped.role_arn == role.role_arn


def use_model_key(
    construct: Construct, key: kms.IKey | None, removal_policy: cdk.RemovalPolicy, *principals: iam.IGrantable
) -> None:
    """The construct's model key (if any) granted to the principals. A key of the construct's own stack is made anew,
    with another ARN, when the stack is made again (deleted with RETAIN, or rolled back after its create): what the
    kept resource made with the old key is not the configuration asked for, so the stack made again makes it again (a
    second training run) rather than take it; a warning says so."""
    if key is None:
        return
    grant_model_key(key, *principals)
    kept = removal_policy in (cdk.RemovalPolicy.RETAIN, cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
    if kept and isinstance(key, kms.Key) and cdk.Stack.of(key) is cdk.Stack.of(construct):
        cdk.Annotations.of(construct).add_warning_v2(
            KEY_MADE_ANEW_WARNING_ID,
            f"kms_key: {key.node.path} is made in this stack, so a stack of this name made again (deleted with "
            "RETAIN, or rolled back after its create, a wait timed out) makes a new key: what this construct made with "
            "the old one is not taken, and it is made again (a model trains again). Keep the key in a stack of its "
            "own, or give one made outside the app (kms.Key.from_key_arn).",
        )


def key_itself(key: kms.IKey | None, parameter: str = "kms_key") -> kms.IKey | None:
    """The key an alias stands for: IAM names a key by its key ARN, never by an alias ("You cannot use a key id,
    alias name, or alias ARN to identify a KMS key in an IAM policy statement", cmks-in-iam-policies.html)."""
    if key is None or isinstance(key, kms.Key):
        return key
    alias_name = getattr(key, "alias_name", None)
    if alias_name is None:
        key_arn = key.key_arn
        if not is_unresolved(key_arn) and key_arn.split(":", 5)[-1].startswith("alias/"):
            raise ValueError(
                f"{parameter}: {key_arn!r} is an alias ARN, and IAM grants a key only by its key ARN: give the key's "
                "ARN (kms.Key.from_key_arn), or the alias with its key (kms.Alias.from_alias_attributes)"
            )
        return key
    try:
        target: kms.IKey = key.alias_target_key  # type: ignore[attr-defined]
    except RuntimeError:  # jsii's CannotAccessAliasTargetKey: imported by name alone
        raise ValueError(
            f"{parameter}: the alias {alias_name!r} names no key this app knows, and IAM grants a key only by its key "
            "ARN: give the key (kms.Key.from_key_arn), or the alias with its key (kms.Alias.from_alias_attributes)"
        ) from None
    return target


def grant_model_key(key: kms.IKey, *principals: iam.IGrantable) -> None:
    grant_key(key, MODEL_KEY_USE_ACTIONS, *principals)
    grant_key(key, MODEL_KEY_GRANT_ACTIONS, *principals, conditions=MODEL_KEY_GRANT_CONDITIONS)


def grant_key(
    key: kms.IKey, actions: Sequence[str], *principals: iam.IGrantable, conditions: Mapping[str, Any] | None = None
) -> None:
    """Let each principal use the key, named by its key ARN. A key made in the principal's own stack: its grant,
    which also adds to the key's policy should that not trust the account's IAM policies. Any other key: a statement
    on its ARN, as the grant of a key of another stack gives ``*`` (every key of the account) when their
    environments differ or are unknown; its policy must let the account's IAM policies allow it (a key's default
    policy does)."""
    target = key_itself(key)
    assert target is not None
    for principal in principals:
        made_here = isinstance(target, kms.Key) and isinstance(principal, Construct)
        if made_here and cdk.Stack.of(target) is cdk.Stack.of(cast(Construct, principal)):
            if conditions is None:
                target.grant(principal, *actions)
            else:  # as IKey.grant, with the conditions
                iam.Grant.add_to_principal_or_resource(
                    grantee=principal,
                    actions=list(actions),
                    resource=target,
                    resource_arns=[target.key_arn],
                    resource_self_arns=["*"],
                    conditions=dict(conditions),
                )
        else:
            statement = iam.PolicyStatement(
                actions=list(actions), resources=[target.key_arn], conditions=dict(conditions) if conditions else None
            )
            principal.grant_principal.add_to_principal_policy(statement)


def attribute_string(resource: cdk.CfnResource, name: str) -> str:
    """A custom resource's attribute, as cdk.CustomResource.get_att_string gives it."""
    return cdk.Token.as_string(resource.get_att(name))


def _merged_tag_list(
    resource: cdk.CfnResource,
    member: str,
    tags: cdk.TagManager,
    own: Mapping[str, str],
    inherited: Mapping[str, str],
) -> list[dict[str, str]] | None:
    """The tag list member of resource: its stack's tags (inherited) that fit, Tags.of's and its own, each winning
    over the one before, checked as its own are since Tags.of adds them only at synth (stack tags that Bedrock
    refuses were warned of when the resource was made; those Tags.of leaves no room for are left out)."""
    above = {**(tags.render_tags() or {}), **own}
    kept, _ = _stack_tags_that_fit(resource.cfn_resource_type, member, inherited, above) if inherited else ({}, [])
    merged = tag_list({**kept, **above})
    problems = contract.tag_list_problems(resource.cfn_resource_type, member, merged, is_unresolved=is_unresolved)
    if problems:
        leave_out = f"exclude_resource_types=[{resource.cfn_resource_type!r}] leaves it out"
        raise ValueError(f"{resource.node.path}: Tags.of(...) ({leave_out}): {'; '.join(problems)}")
    return merged or None


@jsii.implements(cdk.IAnyProducer)
class Producer:
    def __init__(self, produce: Callable[[], Any]) -> None:
        self._produce = produce

    def produce(self, context: cdk.IResolveContext) -> Any:
        return self._produce()


class AwaitedJob:
    """A construct whose ``resource`` runs a job that the deployment awaits as its completion says: the job's ARN,
    and the attributes of the completed job, read from ``_completed`` (None: the deployment does not wait)."""

    resource: cdk.CfnResource
    _completed: cdk.CfnResource | None
    node: Any  # the construct's

    @property
    def job_arn(self) -> str:
        """The job's ARN, known at deploy time once the job has started (with any ``Completion``)."""
        return attribute_string(self.resource, "jobArn")

    def completed_attribute(self, name: str) -> str:
        """An attribute of the completed job, as a string token: any that its type answers, as Bedrock names it
        (a customization job's ``status``, ``baseModelArn``, ``creationTime``, ``endTime``, ``trainingLoss``,
        ``validationLoss``...). Bedrock reports some only for some jobs (losses, a KMS key): reading one it did not
        report fails the deployment, as Fn::GetAtt does.

        :param name: the attribute, as Bedrock names it; refused, naming the ones there are, when the type has none
            of that name
        """
        if self._completed is not None:
            resource_type = self._completed.cfn_resource_type
            names = sorted(typing.get_type_hints(contract.CONTRACTS[resource_type].attributes))
            if name not in names:
                raise ValueError(
                    f"{self.node.path}: completed_attribute: {name!r} is not an attribute of {resource_type}; it "
                    f"answers {', '.join(names)}"
                )
        return self._completed_attribute(name)

    def _completed_attribute(self, name: str) -> str:
        if self._completed is None:
            raise ValueError(
                f"{self.node.path}: {name} is not available with Completion.no_wait(): the deployment ends once "
                "Bedrock has accepted the job, before the job has made a model. Use Completion.event_driven() "
                "(up to 12 hours) or Completion.polling() (up to 1 hour) to use the model in this stack."
            )
        return attribute_string(self._completed, name)
