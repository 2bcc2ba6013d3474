"""The two ways to run this library's custom resources, behind one small interface: the ServiceToken that custom
resources name, the role whose functions call Bedrock, and what custom resources must wait for."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from bedrock_custom_resource import environment

from constructs import Construct, IConstruct

from ._nag import acknowledge, wildcard_resources
from ._packaging import SINGLE_FUNCTION_PACKAGE, handler_code, handler_function, single_function_code

# The single function's Lambda timeout bounds crhelper's response PUT, which it retries without end, and keeps the
# last poll's answer within CloudFormation's hour (ANSWER_ALLOWANCE). A Bedrock call that is still retrying then (one
# may take 3 to 6 minutes) is cut off: the request goes on at its rule's next poll, or Lambda's retry.
SINGLE_FUNCTION_TIMEOUT = cdk.Duration.minutes(2)
# The framework's on_event and is_complete: longer than one Bedrock call with all its retries (9 attempts of at
# most 30 s, a backoff of at most 25 s before each retry: aws.ONE_CALL_AT_MOST_SECONDS, about 8 minutes), and
# shorter than the framework's own functions (15 minutes). An on_event that timed out would fail its create, and
# the framework answers the rollback's Delete of a failed create without the handler: what the create had made would
# run on outside the stack.
FRAMEWORK_HANDLER_TIMEOUT = cdk.Duration.minutes(12)
# What the single function's polling rules are named after (plus a per-stack id and a per-request hash).
POLLING_RULE_PREFIX = "bedrock-cr-"


class ProviderKind(enum.Enum):
    """How the custom resources of a stack are run."""

    #: aws-cdk-lib's Provider framework: on_event and is_complete functions, three framework functions and
    #: a Step Functions waiter (15 resources per stack). The default.
    FRAMEWORK = "framework"
    #: One function on crhelper that is itself the ServiceToken and polls through an EventBridge schedule
    #: rule per waiting request (5 resources per stack).
    SINGLE_FUNCTION = "single-function"


@dataclass(frozen=True)
class RunnerSettings:
    """The provider's settings that its functions need."""

    query_interval: cdk.Duration
    total_timeout: cdk.Duration
    log_retention: logs.RetentionDays

    def cleanup_wait(self) -> dict[str, str]:
        """The functions' environment that bounds how long a rollback's polls may wait to delete what the update it
        undoes made: the total timeout less two query intervals, answered before the provider fails the request."""
        seconds = self.total_timeout.to_seconds() - 2 * self.query_interval.to_seconds()
        return {environment.CLEANUP_WAIT_VARIABLE: str(max(int(seconds), 0))}


class Runner:
    """What runs the custom resources of a provider, built in scope (the provider)."""

    #: The ServiceToken of every custom resource it runs.
    service_token: str
    #: The function that creates Bedrock resources (it checks the roles it may pass).
    creating_function: lambda_.Function
    #: What every custom resource must wait for, besides its ServiceToken.
    prerequisites: Sequence[IConstruct] = ()

    def __init__(
        self, scope: Construct, handler_role: iam.Role, handler_logs: logs.ILogGroup, settings: RunnerSettings
    ) -> None:
        #: The role its functions call Bedrock with.
        self.handler_role = handler_role
        self._build(scope, handler_logs, settings)

    def _build(self, scope: Construct, handler_logs: logs.ILogGroup, settings: RunnerSettings) -> None:
        raise NotImplementedError


class FrameworkRunner(Runner):
    """aws-cdk-lib's Provider, with on_event and is_complete functions."""

    def _build(self, scope: Construct, handler_logs: logs.ILogGroup, settings: RunnerSettings) -> None:
        handler_role = self.handler_role
        code = handler_code()
        on_event, is_complete = (
            handler_function(
                scope,
                name,
                f"index.{entry}",
                handler_role,
                handler_logs,
                description=f"cdk-bedrock-customization {entry}",
                code=code,
                timeout=FRAMEWORK_HANDLER_TIMEOUT,
                environment=settings.cleanup_wait(),
            )
            for name, entry in (("OnEvent", "on_event"), ("IsComplete", "is_complete"))
        )
        provider = cr.Provider(
            scope,
            "Provider",
            on_event_handler=on_event,
            is_complete_handler=is_complete,
            query_interval=settings.query_interval,
            total_timeout=settings.total_timeout,
            log_group=logs.LogGroup(
                scope, "FrameworkLogs", retention=settings.log_retention, removal_policy=cdk.RemovalPolicy.DESTROY
            ),
        )
        self.creating_function = on_event
        self.service_token = provider.service_token
        _acknowledge_framework(scope, provider, [on_event, is_complete])


class SingleFunctionRunner(Runner):
    """One function on crhelper, itself the ServiceToken; it polls through EventBridge rules it makes."""

    def _build(self, scope: Construct, handler_logs: logs.ILogGroup, settings: RunnerSettings) -> None:
        handler_role = self.handler_role
        stack = cdk.Stack.of(scope)
        # The first group of the stack id's UUID tells this stack's rules from any other's, at deploy time.
        stack_uuid = cdk.Fn.select(2, cdk.Fn.split("/", stack.stack_id))
        rule_prefix = POLLING_RULE_PREFIX + cdk.Fn.select(0, cdk.Fn.split("-", stack_uuid)) + "-"
        rules = stack.format_arn(service="events", resource="rule", resource_name=f"{rule_prefix}*")
        function = handler_function(
            scope,
            "Function",
            "provider.handler",
            handler_role,
            handler_logs,
            description="cdk-bedrock-customization single-function provider",
            code=single_function_code(),
            package=SINGLE_FUNCTION_PACKAGE,
            timeout=SINGLE_FUNCTION_TIMEOUT,
            environment={
                environment.RULE_PREFIX_VARIABLE: rule_prefix,
                environment.INTERVAL_VARIABLE: str(int(settings.query_interval.to_minutes())),
                environment.TOTAL_TIMEOUT_VARIABLE: str(int(settings.total_timeout.to_seconds())),
                **settings.cleanup_wait(),
            },
        )
        self.creating_function = function
        self.service_token = function.function_arn
        self.prerequisites = [_allow_polling(scope, handler_role, function, rules)]


def _allow_polling(scope: Construct, handler_role: iam.Role, function: lambda_.IFunction, rules: str) -> iam.Policy:
    """Let the single function manage its polling rules and their permission to invoke it. Returns the policy
    that custom resources must wait for."""
    handler_role.add_to_policy(
        iam.PolicyStatement(
            # ListTargetsByRule: a request's deadline, kept in its rule's target by its first invocation.
            actions=[
                "events:PutRule",
                "events:PutTargets",
                "events:RemoveTargets",
                "events:DeleteRule",
                "events:ListTargetsByRule",
            ],
            resources=[rules],
        )
    )
    acknowledge(
        handler_role,
        (
            "IAM5",
            "The single-function provider makes one polling rule per waiting request, named with this "
            "stack's prefix: it may manage those rules only.",
            wildcard_resources(scope, [rules]),
        ),
    )
    # In a policy of its own: in the role's default policy, which the function waits for, naming the
    # function would be a circular dependency. Custom resources wait for it instead.
    return iam.Policy(
        scope,
        "PollingPermissions",
        roles=[handler_role],
        statements=[
            iam.PolicyStatement(
                # GetPolicy: whether a refused AddPermission's statement exists (or another change was in progress).
                actions=["lambda:AddPermission", "lambda:RemovePermission", "lambda:GetPolicy"],
                resources=[function.function_arn],
            )
        ],
    )


def _acknowledge_framework(scope: Construct, provider: cr.Provider, handlers: list[lambda_.IFunction]) -> None:
    """The findings of aws-cdk-lib's Provider framework, which this library cannot change."""
    # Functions that the framework's roles invoke by version (<function ARN>:*).
    invoked = handlers + [
        cast(lambda_.IFunction, child)
        for name in ("framework-isComplete", "framework-onTimeout")
        if (child := provider.node.try_find_child(name)) is not None
    ]
    acknowledge(
        provider,
        (
            "IAM4",
            "The Provider framework's own functions use AWSLambdaBasicExecutionRole; aws-cdk-lib creates them.",
            ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
        ),
        (
            "IAM5",
            "The Provider framework invokes its functions and ours by version (<function ARN>:*).",
            wildcard_resources(scope, [f"{function.function_arn}:*" for function in invoked]),
        ),
        (
            "SF1",
            "The framework's waiter state machine is aws-cdk-lib's; the handlers log every step as JSON.",
            None,
        ),
        ("SF2", "X-Ray adds nothing to the framework's short waiter state machine.", None),
    )


RUNNERS: dict[ProviderKind, type[Runner]] = {
    ProviderKind.FRAMEWORK: FrameworkRunner,
    ProviderKind.SINGLE_FUNCTION: SingleFunctionRunner,
}
