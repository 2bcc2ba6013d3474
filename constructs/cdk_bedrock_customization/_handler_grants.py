"""What the handler role may do, made from each resource type's declaration (contract.CONTRACTS): on the model a
resource is made from, its create; on the resources of its type, the operations that manage them.

Resource types per the Service Authorization Reference (DESIGN.md, fact 12): tests/construct/test_iam_reference.py
checks every statement against it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from bedrock_custom_resource import contract
from bedrock_custom_resource.lifecycle import FINGERPRINT_TAG, STACK_TAG

from ._nag import acknowledge, wildcard_resources
from ._tokens import is_unresolved, remembered

TAG_ACTIONS = ("bedrock:ListTagsForResource", "bedrock:TagResource", "bedrock:UntagResource")
# What CreateCustomModel's caller needs of a model package it imports: Bedrock's API reference names
# AccessModelPackageData (ModelPackageArnDataSource), the Service Authorization Reference lists AccessModelPackage
# only. IAM takes an action it does not know, so both are granted, whichever name it checks.
MODEL_PACKAGE_ACTIONS = (
    "sagemaker:DescribeModelPackage",
    "sagemaker:AccessModelPackage",
    "sagemaker:AccessModelPackageData",
)
MODEL_PACKAGE_REASON = "CreateCustomModel's caller must be allowed the model packages that an import names."
# The types whose create the Service Authorization Reference also authorizes on what it makes: a job's output
# model, whose name is generated (as the Step Functions guide's CreateModelCustomizationJob example grants it).
CREATES_ON_WHAT_IT_MAKES = (contract.CUSTOMIZATION_JOB,)
# The types whose create takes a foundation model as well as a custom model (their create actions' resource types
# in the Service Authorization Reference); the others take custom models only.
FOUNDATION_MODEL_TYPES = (contract.CUSTOMIZATION_JOB, contract.PROVISIONED_THROUGHPUT)
GENERATED_ID_REASON = (
    "Bedrock generates the last part of these ARNs: the handler may act on this account and Region's resources of "
    "this kind only."
)


def managing_actions(resource_type: str, managed: contract.Managed | None = None) -> list[str]:
    """The actions that read, update, delete and tag created resources of this type (managed: what it manages,
    itself by default, or what it makes); tag actions only on what carries tags (a copy job cannot: its tags are
    its copied model's)."""
    managed = managed or contract.CONTRACTS[resource_type].managed
    operations = [name for name in (managed.read, managed.update, managed.delete) if name is not None]
    return [f"bedrock:{name}" for name in operations] + (list(TAG_ACTIONS) if managed.tag_member else [])


def arns_of(stack: cdk.Stack, resource_type: str, managed: contract.Managed | None = None) -> str:
    """Every resource of this declared type (or of what it makes: managed) in the stack's account and Region."""
    return _any_of_kind(stack, (managed or contract.CONTRACTS[resource_type].managed).arn_type)


def _any_of_kind(stack: cdk.Stack, arn_type: str) -> str:
    def formatted() -> str:
        return stack.format_arn(service="bedrock", resource=arn_type, resource_name="*")

    return remembered(stack, ("any of kind", arn_type), formatted)


def _managing_actions_by_kind() -> dict[str, list[str]]:
    """The managing actions of every declared type, by the kind of resource (ARN type) they act on."""
    by_kind: dict[str, list[str]] = {}
    for declared in contract.CONTRACTS.values():
        for managed in filter(None, (declared.managed, declared.managed.made)):
            actions = by_kind.setdefault(managed.arn_type, [])
            actions += [a for a in managing_actions(declared.resource_type, managed) if a not in actions]
    return by_kind


def provider_wide_statements(stack: cdk.Stack) -> list[iam.PolicyStatement]:
    """The provider's own grants, whatever its stacks declare: reading, updating, deleting and tagging the account's
    resources of every type (one statement per kind of resource), and listing them. A resource removed from a
    template is deleted in the update's cleanup, after the handler's policy was updated to that template: a grant
    made for the types a template declares would deny the Delete, which CloudFormation then abandons, leaving the
    resource (a throughput billed). Creating stays granted for what a stack declares (HandlerGrants)."""
    listings = sorted({f"bedrock:{declared.listing}" for declared in contract.CONTRACTS.values() if declared.listing})
    return [
        *(
            iam.PolicyStatement(actions=actions, resources=[_any_of_kind(stack, kind)])
            for kind, actions in _managing_actions_by_kind().items()
        ),
        iam.PolicyStatement(actions=listings, resources=["*"]),
    ]


def provider_wide_wildcards(stack: cdk.Stack) -> list[str]:
    """The wildcard resources of provider_wide_statements."""
    return [*(_any_of_kind(stack, kind) for kind in _managing_actions_by_kind()), "*"]


class HandlerGrants:
    """The handler role's grants for the resources of one stack, grown as the stack's constructs declare them.

    One statement per purpose, whatever the number of resources: a stack of many models stays within IAM's
    policy size.
    """

    def __init__(
        self, handler: iam.IRole, stack: cdk.Stack, passable_roles: Callable[[], str | None] = lambda: None
    ) -> None:
        """passable_roles(): the only roles the provider's handler passes (None: its stacks' own roles too)."""
        self.handler = handler
        self.stack = stack
        self.passable_roles = passable_roles
        # Statements by purpose, with the resources they name so far. Python-side sets: reading
        # statement.resources back would cost a jsii round trip per model.
        self._statements: dict[str, tuple[iam.PolicyStatement, set[str]]] = {}
        # (resource type, model id or ARN) -> the ARNs granted for it
        self._granted_model_arns: dict[tuple[str, str], list[str]] = {}
        self._reasons: dict[str, list[str]] = {}  # wildcard resource -> why it is granted, for cdk-nag
        # The handler serves the templates of any stack (a provider stack's): it may read any stack's status.
        self.any_stack = False
        self._stack_status_granted: bool | None = None  # None: not yet; else the any_stack it was granted for

    def allow(
        self, resource_type: str, model: str | None = None, role_arn: str | None = None, own_role: bool = False
    ) -> None:
        """Let the handler create resources of this type from model (an id or ARN; the declared ``made_from``
        member's value), passing role_arn (if any) to Bedrock only (managing them is the provider's own grant:
        provider_wide_statements). own_role: the role is one this library made in the stack (tagged with its
        stack)."""
        declared = contract.CONTRACTS[resource_type]
        if declared.made_from is None:
            self._allow_creating_untyped(declared)
        else:
            if model is None:
                raise ValueError(f"{resource_type} is made from a model ({declared.made_from}): give it")
            changes_model = declared.made_from in declared.in_place_members
            actions = [declared.operation, *([declared.managed.update] if changes_model else [])]
            for model_arn in self._model(resource_type, model):
                self._allow(f"create {resource_type}", [f"bedrock:{name}" for name in actions if name], model_arn)
            if resource_type in CREATES_ON_WHAT_IT_MAKES and declared.managed.made is not None:
                made = arns_of(self.stack, resource_type, declared.managed.made)
                self._allow(f"create {resource_type}", [f"bedrock:{declared.operation}"], made)
        self._allow_passing_role(role_arn, own_role)
        if declared.tag_members:
            self.allow_reading_stack_status()

    def allow_reading_stack_status(self) -> None:
        """Once per kind of grant (this stack's, or any stack's once any_stack is set)."""
        if self._stack_status_granted != self.any_stack:
            self._stack_status_granted = self.any_stack
            self._allow_reading_stack_status()

    def _allow_reading_stack_status(self) -> None:
        """A Delete of an adopted resource (a copy's: its model's origin) leaves it when it is the rollback of the
        operation that took it, which the stack's status tells; a nested stack's ancestors', when they delete it.
        Their ids would be references through the nesting, which cycle from two levels deep: they are granted by
        name, as CloudFormation names nested stacks (the root's name, a dash, ...). The stack's own events tell
        when its operation began: a rollback deletes only what was made since. Its template and resources tell
        what an update removes: a job's Create under a new logical id does not make again what a removed one holds."""
        reads = [
            "cloudformation:DescribeStacks",
            "cloudformation:DescribeStackEvents",
            "cloudformation:GetTemplate",
            "cloudformation:ListStackResources",
        ]
        if self.any_stack:
            self._allow(
                "stack status",
                reads,
                self.stack.format_arn(service="cloudformation", resource="stack", resource_name="*/*"),
                reason="The provider stack serves the templates of any stack in its account and Region: the handler "
                "calls DescribeStacks for a stack's status (it answers the outputs and parameters too), "
                "DescribeStackEvents for when its operation began, GetTemplate and ListStackResources for what an "
                "update removes.",
            )
            return
        self._allow("stack status", reads, self.stack.stack_id)
        if self.stack.nested_stack_parent is None:
            return
        root = self.stack
        while root.nested_stack_parent is not None:
            root = root.nested_stack_parent
        for name in (f"{root.stack_name}/*", f"{root.stack_name}-*/*"):
            self._allow(
                "ancestors' status",
                ["cloudformation:DescribeStacks"],
                self.stack.format_arn(service="cloudformation", resource="stack", resource_name=name),
                reason="The stacks this nested stack is nested in, by their names: the handler calls DescribeStacks "
                "for their status (it answers their outputs and parameters too).",
            )

    def allow_passing(self, role_arn: str) -> None:
        """Let the handler pass roles whose ARN matches role_arn to Bedrock only."""
        self._allow(
            "pass-role",
            ["iam:PassRole"],
            role_arn,
            conditions={"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
            reason="The provider stack's templates pass roles of this path or name prefix only, to Bedrock only.",
        )

    def allow_using_model_package(self, model_package_arn: str, reason: str = MODEL_PACKAGE_REASON) -> None:
        """Let the handler import from the SageMaker AI model packages that model_package_arn matches: Bedrock reads
        a package with its own credentials, but CreateCustomModel's caller needs both actions on it (the API
        reference, ModelPackageArnDataSource)."""
        self._allow("model packages", list(MODEL_PACKAGE_ACTIONS), model_package_arn, reason=reason)

    def _allow_creating_untyped(self, declared: contract.ResourceContract) -> None:
        """A create with no resource type (CreateCustomModel) is granted on ``*``, for requests that put the
        configuration tag on the new resource, as the handler always does."""
        self._allow(
            f"create {declared.resource_type}",
            [f"bedrock:{declared.operation}"],
            "*",
            conditions={"StringLike": {f"aws:RequestTag/{FINGERPRINT_TAG}": "*"}},
            reason=f"{declared.operation} has no resource type; the statement allows only requests that put the "
            "configuration tag on the new model, as the handler always does.",
        )

    def _allow_passing_role(self, role_arn: str | None, own_role: bool) -> None:
        """One statement for every role the library made in the stack, whatever their number (they carry the
        stack tag); a role given by the user, by its ARN."""
        if role_arn is None:
            return
        if not own_role:
            self.allow_passing(role_arn)
            return
        passable = self.passable_roles()
        if passable is not None:
            raise ValueError(
                f"role: none given, but the provider passes only roles matching {passable} to Bedrock (the provider "
                "of a CustomizationProviderStack, for templates that bring their roles), and would refuse the role "
                "made for it at deploy: give role= such a role, or use a provider without passable roles "
                "(CustomizationProvider.of(stack))"
            )
        if "pass-own-roles" in self._statements:
            return  # one statement for all of them: nothing to add
        any_role = self.stack.format_arn(service="iam", region="", resource="role", resource_name="*")
        self._allow(
            "pass-own-roles",
            ["iam:PassRole"],
            any_role,
            conditions={
                "StringEquals": {
                    "iam:PassedToService": "bedrock.amazonaws.com",
                    f"aws:ResourceTag/{STACK_TAG}": self.stack.stack_id,
                }
            },
            reason="Service roles of this stack's models, which carry the stack's tag, may be passed to Bedrock "
            "only: one statement, however many models the stack has.",
        )

    def _allow(
        self,
        purpose: str,
        actions: list[str],
        resource: str,
        conditions: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        """Add resource to the handler's statement for purpose, made with these actions on first use.

        reason says why a resource of ``*``, or one ending in ``*`` beyond Bedrock's generated ids, is granted.
        """
        if resource == "*" and reason is None:
            raise ValueError(f"{purpose}: a grant on * needs a reason")
        if resource.endswith("*"):
            self._acknowledge(resource, reason or GENERATED_ID_REASON)
        if purpose not in self._statements:
            # Made with its first resource: a round trip fewer than adding it.
            statement = iam.PolicyStatement(actions=actions, resources=[resource], conditions=conditions)
            self.handler.add_to_principal_policy(statement)
            self._statements[purpose] = (statement, {resource})
            return
        statement, resources = self._statements[purpose]
        if resource not in resources:
            resources.add(resource)
            statement.add_resources(resource)

    def _acknowledge(self, resource: str, reason: str) -> None:
        reasons = self._reasons.setdefault(resource, [])
        if reason not in reasons:
            # cdk-nag names every such resource of the policy alike, and the last acknowledgement wins: it gives
            # every reason.
            reasons.append(reason)
            acknowledge(self.handler, ("IAM5", " ".join(reasons), wildcard_resources(self.stack, [resource])))

    def _model(self, resource_type: str, model: str) -> list[str]:
        """The ARNs to grant for a model id or ARN that a resource of this type is made from.

        A model made by a resource of this stack (an attribute of it) is granted as any custom model of the
        account: naming the attribute would make the handler's grants wait for a resource that needs them, a
        circular dependency. A model known only at deploy (a parameter, an import) may be an id or an ARN of
        either kind: any custom model of the account, and any foundation model where the type takes one.
        """
        key = (resource_type, model)
        if key not in self._granted_model_arns:  # computing it costs jsii round trips
            self._granted_model_arns[key] = self._granted_model_arns_of(resource_type, model)
        return self._granted_model_arns[key]

    def _granted_model_arns_of(self, resource_type: str, model: str) -> list[str]:
        if is_unresolved(model):
            resolved = self.stack.resolve(model)
            if _reads_attribute(resolved):
                return [arns_of(self.stack, contract.CUSTOM_MODEL)]
            if _references_resources(resolved) or not _is_arn(resolved):
                any_custom_model = arns_of(self.stack, contract.CUSTOM_MODEL)
                if resource_type in FOUNDATION_MODEL_TYPES:
                    return [any_custom_model, self._foundation_model_arn("*")]
                return [any_custom_model]
            return [model]
        if model.startswith("arn:"):
            return [model]
        return [self._foundation_model_arn(model)]

    def _foundation_model_arn(self, model_id: str) -> str:
        return self.stack.format_arn(service="bedrock", account="", resource="foundation-model", resource_name=model_id)


def _reads_attribute(resolved: Any) -> bool:
    """Whether a resolved value reads an attribute of a resource of the template."""
    if isinstance(resolved, dict):
        return "Fn::GetAtt" in resolved or any(_reads_attribute(value) for value in resolved.values())
    if isinstance(resolved, list):
        return any(_reads_attribute(value) for value in resolved)
    return False


def _is_arn(resolved: Any) -> bool:
    """Whether a resolved value is an ARN whatever the intrinsics in it resolve to: a string, a Fn::Join or a Fn::Sub
    that begins with "arn:". Any other (a Fn::FindInMap, a Fn::Select, a Fn::If) may give a model id, which IAM
    takes as no resource: granted as a parameter is."""
    if isinstance(resolved, str):
        return resolved.startswith("arn:")
    if isinstance(resolved, dict) and len(resolved) == 1:
        (function, arguments), *_ = resolved.items()
        if function == "Fn::Join" and isinstance(arguments, list) and len(arguments) == 2:
            delimiter, parts = arguments
            first = parts[0] if isinstance(parts, list) and parts else None
            return isinstance(delimiter, str) and isinstance(first, str) and _is_arn(first + delimiter)
        if function == "Fn::Sub":
            return _is_arn(arguments[0] if isinstance(arguments, list) else arguments)
    return False


def _references_resources(resolved: Any) -> bool:
    """Whether a resolved value is made of anything but literals and pseudo parameters (AWS::Region...): a
    parameter, a resource, an import, a dynamic reference."""
    if isinstance(resolved, dict):
        if "Fn::GetAtt" in resolved or "Fn::ImportValue" in resolved:
            return True
        if "Ref" in resolved and not str(resolved["Ref"]).startswith("AWS::"):
            return True
        return any(_references_resources(value) for value in resolved.values())
    if isinstance(resolved, list):
        return any(_references_resources(value) for value in resolved)
    return isinstance(resolved, str) and "{{resolve:" in resolved
