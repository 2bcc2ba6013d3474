"""The stack's one provider, shared by every model in the stack: the Provider framework (the default) or a
single function on crhelper (see _provider_kinds), with the handler's grants (_handler_grants) and the job order
(_job_queue) of each stack whose resources it runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from bedrock_custom_resource import contract
from bedrock_custom_resource.environment import PASSABLE_ROLES_VARIABLE
from bedrock_custom_resource.lifecycle import DEFAULT_MAX_CONCURRENT_JOBS

from constructs import Construct, IDependable

if TYPE_CHECKING:
    from .completion import JobCompletionNotifier

from . import _identity
from ._handler_grants import HandlerGrants, provider_wide_statements, provider_wide_wildcards
from ._job_queue import POLLING_WARNING_ID, UNWAITED_JOBS_WARNING_ID, JobQueue
from ._nag import acknowledge, wildcard_resources
from ._packaging import HANDLER_RUNTIME
from ._prop_types import check_types
from ._provider_kinds import (
    POLLING_RULE_PREFIX,
    RUNNERS,
    SINGLE_FUNCTION_TIMEOUT,
    ProviderKind,
    Runner,
    RunnerSettings,
)
from ._resource import PolicyTellingResource, one_per_stack, refusal_leaves_nothing, replace_policy_member
from ._tokens import is_unresolved, stack_of
from .limits import check_limits, count_nested_templates

__all__ = [
    "HANDLER_RUNTIME",
    "POLLING_RULE_PREFIX",
    "POLLING_WARNING_ID",
    "SINGLE_FUNCTION_TIMEOUT",
    "UNWAITED_JOBS_WARNING_ID",
    "CustomizationProvider",
    "ProviderKind",
    "StackUse",
]

PROVIDER_ID = "BedrockCustomizationProvider"
# The policy of a stack's grants on another stack's handler role is named for that stack; IAM names hold 128.
GRANTS_POLICY_PREFIX = "BedrockCustomizationGrants"
MAX_POLICY_NAME = 128
# CloudFormation waits at most one hour for any custom resource (ServiceTimeout is at most 3600 s), from the request.
MAX_TOTAL_TIMEOUT = cdk.Duration.hours(1)
# A provider notices its deadline at a poll, up to a query interval late, then answers: allowed this much besides,
# and this much for each poll's own invocation.
ANSWER_ALLOWANCE = cdk.Duration.minutes(2)
POLL_ALLOWANCE = cdk.Duration.seconds(1)
DEFAULT_QUERY_INTERVAL = cdk.Duration.minutes(1)
DEFAULT_LOG_RETENTION = logs.RetentionDays.ONE_MONTH


class CustomizationProvider(Construct):
    """Runs the custom resources of this library, on the Provider framework (the default) or a single function.

    One is created per stack the first time a model needs it (see ``of``). Create it yourself first, with
    ``CustomizationProvider.of(stack, kind=ProviderKind.SINGLE_FUNCTION, query_interval=...)``, to change
    its settings.

    Example::

        # Before the stack's first model: every model of the stack then runs on it.
        CustomizationProvider.of(self, kind=ProviderKind.SINGLE_FUNCTION, query_interval=Duration.minutes(2))
    """

    @refusal_leaves_nothing
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        query_interval: cdk.Duration | None = None,
        total_timeout: cdk.Duration | None = None,
        log_retention: logs.RetentionDays | None = None,
        max_concurrent_jobs: int = DEFAULT_MAX_CONCURRENT_JOBS,
        kind: ProviderKind = ProviderKind.FRAMEWORK,
    ) -> None:
        """
        :param query_interval: how often a job is checked; whole minutes for the single function (an
            EventBridge rate). @default 1 minute
        :param total_timeout: how long a deployment waits for a job; at most 1 hour, and the provider answers
            within CloudFormation's hour: it polls as many times as fit in 1 hour less the query interval and 2
            minutes, each poll taking its interval and a second. @default 1 hour (56 minutes of polling at the
            default query interval)
        :param log_retention: how long the handlers' logs are kept. @default one month
        :param max_concurrent_jobs: the most customization jobs (and, separately, imports of trained Nova models:
            ``ImportedCustomModel``) of the stack that run at once; later ones start when earlier ones end.
            Open-weight imports (``ImportedModel``) run one at a time whatever this is. @default 2, Bedrock's quota
        :param kind: the Provider framework, or a single function on crhelper with fewer resources (see the
            README). @default ProviderKind.FRAMEWORK
        """
        check_types(log_retention=(log_retention, (logs.RetentionDays, type(None))))
        query_interval = DEFAULT_QUERY_INTERVAL if query_interval is None else query_interval
        total_timeout = MAX_TOTAL_TIMEOUT if total_timeout is None else total_timeout
        _check_settings(query_interval, total_timeout, max_concurrent_jobs, kind)  # before all
        total_timeout = answered_within_the_hour(query_interval, total_timeout)
        super().__init__(scope, construct_id)
        self.query_interval = query_interval
        self.total_timeout = total_timeout
        self.kind = kind
        self.max_concurrent_jobs = max_concurrent_jobs
        retention = log_retention or DEFAULT_LOG_RETENTION
        stack = cdk.Stack.of(self)
        self.handler_role = iam.Role(
            self,
            "HandlerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Lets the cdk-bedrock-customization handler manage this stack's Bedrock customization jobs",
        )
        for statement in provider_wide_statements(stack):
            self.handler_role.add_to_policy(statement)
        # What the provider does for each stack whose resources it runs (its own stack, and any other).
        self._uses: dict[cdk.Stack, StackUse] = {}
        # The roles the handler may pass (allow_passing_roles); None: its stacks' own roles, and the roles given.
        self.passable_roles: str | None = None
        handler_logs = logs.LogGroup(self, "HandlerLogs", retention=retention, removal_policy=cdk.RemovalPolicy.DESTROY)
        handler_logs.grant_write(self.handler_role)
        # A Delete that runs after the policy became a template's that declares nothing of this library (a stack that
        # only hosts the provider others use: the cleanup of its last model, the rollback of its first) reads the
        # stack's status and events (an adopted resource, a create CloudFormation cancelled): the provider's own.
        self.use(self).grants.allow_reading_stack_status()
        settings = RunnerSettings(self.query_interval, self.total_timeout, retention)
        self.runner: Runner = RUNNERS[kind](self, self.handler_role, handler_logs, settings)
        self.service_token = self.runner.service_token
        self.polled_types = frozenset(contract.CONTRACTS) if kind is ProviderKind.SINGLE_FUNCTION else frozenset()
        check_limits(self, self.polled_types)
        acknowledge(
            self.handler_role,
            (
                "IAM5",
                "Bedrock generates the names of jobs and models at deploy time, and its List actions have no resource "
                "type: the handler may read, delete and tag this account and Region's resources of the kinds this "
                "library makes, and list them (to find its own, or explain a quota error), whatever a template "
                "declares, since a resource removed from a template is deleted after the handler's policy is updated.",
                wildcard_resources(self, provider_wide_wildcards(stack)),
            ),
        )

    def custom_resource(
        self,
        scope: Construct,
        construct_id: str,
        resource_type: str,
        properties: dict[str, Any],
        removal_policy: cdk.RemovalPolicy | None = None,
        *,
        dependencies: Sequence[IDependable] = (),
        use: StackUse | None = None,
    ) -> cdk.CfnResource:
        """For the library's constructs: a custom resource of resource_type (``Custom::...``, one of the contract's)
        and properties that this provider runs, after dependencies. use: scope's (found when not given).
        removal_policy None: CloudFormation's default, Delete, left unwritten (the library's own readers).

        The L1 resource, as cdk.CustomResource renders it: the L2 adds jsii round trips and nothing used here.
        """
        if removal_policy is not None:
            properties = {**properties, **replace_policy_member(resource_type, removal_policy)}
        resource = PolicyTellingResource(
            scope, construct_id, type=resource_type, properties={"ServiceToken": self.service_token, **properties}
        )
        if removal_policy is not None:  # a round trip; its members are in properties already
            cdk.CfnResource.apply_removal_policy(resource, removal_policy)
        use = use or self.use(scope)
        _identity.remember(use.stack, resource, resource_type, properties)
        # The grants made in scope's stack are attached to the handler role of the provider's stack.
        grants = [use.handler] if use.handler is not self.handler_role else []
        after = [*self.runner.prerequisites, *grants, *dependencies]
        if after:
            resource.node.add_dependency(*after)  # one round trip for them all
        return resource

    @classmethod
    def of(
        cls,
        scope: Construct,
        *,
        query_interval: cdk.Duration | None = None,
        total_timeout: cdk.Duration | None = None,
        log_retention: logs.RetentionDays | None = None,
        max_concurrent_jobs: int | None = None,
        kind: ProviderKind | None = None,
    ) -> CustomizationProvider:
        """scope's stack's provider, created with these settings (those of the constructor, with its defaults) when
        the stack has none yet. A setting given once the provider exists is refused, naming it: it would be ignored.
        The stack's first model makes it with the defaults: to give settings, call this before that model.

        :param query_interval: as the constructor's. @default 1 minute
        :param total_timeout: as the constructor's: at most 1 hour. @default 1 hour
        :param log_retention: as the constructor's. @default one month
        :param max_concurrent_jobs: as the constructor's: at least 1. @default 2, Bedrock's quota
        :param kind: as the constructor's. @default ProviderKind.FRAMEWORK

        Example::

            CustomizationProvider.of(stack, kind=ProviderKind.SINGLE_FUNCTION, query_interval=Duration.minutes(5))
        """
        given = {
            "query_interval": query_interval,
            "total_timeout": total_timeout,
            "log_retention": log_retention,
            "max_concurrent_jobs": max_concurrent_jobs,
            "kind": kind,
        }
        return one_per_stack(
            cls, scope, PROVIDER_ID, {name: value for name, value in given.items() if value is not None}
        )

    def use(self, scope: Construct) -> StackUse:
        """What this provider does for scope's stack: its grants and its job order."""
        stack = stack_of(scope)
        use = self._uses.get(stack)
        if use is None:
            _refuse_another_environment(self, stack)
            use = self._uses[stack] = StackUse(self, stack)
        return use

    def allow_passing_roles(self, role_arns: str) -> None:
        """Let the handler pass any role whose ARN matches role_arns (ending in ``*``) to Bedrock only, for
        templates that bring their own service roles. The handler then refuses, before creating anything,
        a roleArn that does not match: the error names it, rather than IAM's AccessDenied."""
        if not role_arns.endswith("*"):
            raise ValueError(f"role_arns: {role_arns!r} does not end with '*'")
        self.passable_roles = role_arns
        self.use(self).grants.allow_passing(role_arns)
        self.runner.creating_function.add_environment(PASSABLE_ROLES_VARIABLE, role_arns)


def _refuse_another_environment(provider: Construct, stack: cdk.Stack) -> None:
    """A custom resource's ServiceToken is a function of its own stack's Region and account (CloudFormation's
    AWS::CloudFormation::CustomResource: "The service token must be from the same Region in which you are creating
    the stack"): a provider of another is refused, where both are known at synth."""
    home = cdk.Stack.of(provider)
    for what, theirs, ours in (("Region", home.region, stack.region), ("account", home.account, stack.account)):
        if not cdk.Token.is_unresolved(theirs) and not cdk.Token.is_unresolved(ours) and theirs != ours:
            raise ValueError(
                f"provider: {provider.node.path} is of the {what} {theirs}, and {stack.node.path} of {ours}: a custom "
                "resource's ServiceToken is a function of its own stack's Region and account. Use a provider of that "
                "environment (CustomizationProvider.of(stack))"
            )


def answered_within_the_hour(query_interval: cdk.Duration, total_timeout: cdk.Duration) -> cdk.Duration:
    """total_timeout, or less: a whole number of query intervals (the Provider framework counts its polls), so few
    that the provider's answer (the reason, and the physical id its rollback's Delete acts on) reaches CloudFormation
    within its hour. Later, CloudFormation has failed the resource itself ("did not receive a response"), and its
    rollback's Delete names an id it made up. Zero when not even one poll fits (_check_settings refuses it)."""
    interval = query_interval.to_seconds(integral=False)
    # Each poll takes its own time besides the interval (Step Functions waits between them): POLL_ALLOWANCE.
    usable = MAX_TOTAL_TIMEOUT.to_seconds() - interval - ANSWER_ALLOWANCE.to_seconds()
    polls = min(
        max(usable, 0) // (interval + POLL_ALLOWANCE.to_seconds()), total_timeout.to_seconds(integral=False) // interval
    )
    return cdk.Duration.seconds(polls * interval)


def _check_settings(
    query_interval: cdk.Duration, total_timeout: cdk.Duration, max_concurrent_jobs: int, kind: ProviderKind
) -> None:
    check_types(query_interval=(query_interval, cdk.Duration), total_timeout=(total_timeout, cdk.Duration))
    total, interval = total_timeout.to_seconds(integral=False), query_interval.to_seconds(integral=False)
    # Each sets, at synth, how the provider polls or how the stack's jobs are ordered: none can wait for deploy time.
    for name, value in (
        ("query_interval", interval),
        ("total_timeout", total),
        ("max_concurrent_jobs", max_concurrent_jobs),
    ):
        if is_unresolved(value):  # never NaN or an infinity, which the kernel cannot take
            raise ValueError(f"{name}: a value known only at deploy (a token) cannot set the provider; give one")
    for name, value, given in (("total_timeout", total, total_timeout), ("query_interval", interval, query_interval)):
        if value < 1 or value != int(value):  # Step Functions' IntervalSeconds, and EventBridge's rate
            raise ValueError(f"{name}: {given.to_human_string()} is not a whole number of seconds, at least 1")
    if total > MAX_TOTAL_TIMEOUT.to_seconds():
        raise ValueError(
            f"total_timeout: {total_timeout.to_human_string()} is longer than 1 hour, the most "
            "CloudFormation waits for a custom resource"
        )
    if interval > answered_within_the_hour(query_interval, total_timeout).to_seconds():
        left = MAX_TOTAL_TIMEOUT.to_seconds() - interval - ANSWER_ALLOWANCE.to_seconds()
        raise ValueError(
            f"query_interval: {query_interval.to_human_string()} leaves no poll: a poll takes it and a second, within "
            f"total_timeout ({total_timeout.to_human_string()}) and within the {max(left, 0):g} seconds that "
            f"CloudFormation's hour leaves (1 hour less the interval, and {ANSWER_ALLOWANCE.to_human_string()} to "
            "answer)"
        )
    if isinstance(max_concurrent_jobs, bool) or not isinstance(max_concurrent_jobs, int) or max_concurrent_jobs < 1:
        raise ValueError(f"max_concurrent_jobs: {max_concurrent_jobs!r} is not a whole number of at least 1")
    if not isinstance(kind, ProviderKind):
        raise ValueError(f"kind: {kind!r} is not a ProviderKind; use ProviderKind.FRAMEWORK or SINGLE_FUNCTION")
    minutes = interval / 60
    if kind is ProviderKind.SINGLE_FUNCTION and (minutes < 1 or minutes != int(minutes)):
        raise ValueError(
            f"query_interval: {query_interval.to_human_string()} is not a whole number of minutes; the "
            "single-function provider polls through an EventBridge schedule, rate(N minutes)"
        )


class StackUse:
    """What a provider does for the resources of one stack: their grants (``grants``) and their job order
    (``jobs``).

    Their grants are made in their own stack: in the handler role's policy when it is the provider's stack,
    otherwise in a policy of that stack attached to the handler role (so that the provider's stack never
    names another stack's resources, which would be a dependency cycle). Their jobs are ordered within the
    stack.
    """

    def __init__(self, provider: CustomizationProvider, stack: cdk.Stack) -> None:
        self.stack = stack
        own = stack is cdk.Stack.of(provider)
        anchor: Construct = provider if own else stack
        self.handler: iam.IRole = (
            provider.handler_role
            if own
            else iam.Role.from_role_arn(
                stack,
                f"{PROVIDER_ID}Grants{provider.node.addr[:8]}",
                provider.handler_role.role_arn,
                mutable=True,
                # IAM keeps one inline policy per role and name (PutRolePolicy replaces it): each stack's own name.
                default_policy_name=GRANTS_POLICY_PREFIX
                + cdk.Names.unique_resource_name(stack, max_length=MAX_POLICY_NAME - len(GRANTS_POLICY_PREFIX)),
            )
        )
        self.grants = HandlerGrants(self.handler, stack, passable_roles=lambda: provider.passable_roles)
        self.jobs = JobQueue.of(stack, anchor, provider.max_concurrent_jobs, provider.total_timeout)
        self._notifier: JobCompletionNotifier | None = None
        if not own:
            check_limits(anchor, provider.polled_types)
            count_nested_templates(stack)

    @property
    def notifier(self) -> JobCompletionNotifier:
        """The stack's job completion notifier, looked up (or created) once for all its models."""
        if self._notifier is None:
            from .completion import JobCompletionNotifier  # it imports this module

            self._notifier = JobCompletionNotifier.of(self.stack)
        return self._notifier
