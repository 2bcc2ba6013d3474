"""How a deployment waits for a customization job: polling, event-driven, or not at all."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from bedrock_custom_resource.environment import STACK_ID_VARIABLE
from bedrock_custom_resource.lifecycle import STACK_TAG
from bedrock_custom_resource.notifier import WAIT_CONDITION, WAIT_METADATA_KEY

from constructs import Construct

from . import _requests
from ._nag import acknowledge, wildcard_resources
from ._packaging import handler_function
from ._requests import CompletionMode as CompletionMode
from ._resource import one_per_stack
from .provider import DEFAULT_LOG_RETENTION

NOTIFIER_ID = "BedrockJobCompletionNotifier"
# The longest a CloudFormation wait condition waits (its Timeout is at most 43200 s).
MAX_WAIT = cdk.Duration.hours(12)
DEFAULT_BACKSTOP_INTERVAL = cdk.Duration.hours(1)


@dataclass(frozen=True)
class Completion:
    """How ``cdk deploy`` waits for a customization job. Create one with a static method."""

    mode: CompletionMode
    timeout: cdk.Duration | None = None

    @staticmethod
    def event_driven(timeout: cdk.Duration = MAX_WAIT) -> Completion:
        """Wait up to ``timeout`` (at most 12 hours) for the job, without polling it: a wait condition is
        signalled when Bedrock reports the job's end. The default."""
        seconds = timeout.to_seconds()
        if not 1 <= seconds <= MAX_WAIT.to_seconds():
            raise ValueError(
                f"completion timeout: {timeout.to_human_string()} is not between 1 second and 12 hours, the "
                "longest a CloudFormation wait condition waits"
            )
        return Completion(CompletionMode.EVENT_DRIVEN, timeout)

    @staticmethod
    def polling() -> Completion:
        """Poll the job from the provider, up to its total_timeout (at most 1 hour). For short jobs."""
        return Completion(CompletionMode.POLLING)

    @staticmethod
    def no_wait() -> Completion:
        """Finish the deployment once Bedrock has validated the job; the model is not available to the stack."""
        return Completion(CompletionMode.NO_WAIT)

    @functools.cached_property
    def timeout_seconds(self) -> int | None:
        """The wait's timeout in seconds, read from aws-cdk-lib once per Completion (models share the default)."""
        return None if self.timeout is None else int(self.timeout.to_seconds())

    @property
    def wait_until(self) -> str | None:
        """The job resource's waitUntil property (None: the default, until the job completes)."""
        return _requests.wait_until(self.mode)


DEFAULT_COMPLETION = Completion.event_driven()


class JobCompletionNotifier(Construct):
    """Signals the wait conditions of the stack's event-driven jobs; one per stack (see ``of``).

    A rule on Bedrock's job state change events and a schedule (the backstop, for events that are
    lost) invoke one function. It finds the jobs the stack waits for from the stack's own resources (each
    wait condition's Metadata names its job), so nothing about it grows with the number of models; and it
    may read only the jobs that carry this stack's tag (STACK_TAG, which the handler puts on every job).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        backstop_interval: cdk.Duration | None = None,
        log_retention: logs.RetentionDays | None = None,
    ) -> None:
        """
        :param backstop_interval: how often the backstop checks the jobs still waited for. @default 1 hour
        :param log_retention: @default one month
        """
        super().__init__(scope, construct_id)
        stack = self._stack = cdk.Stack.of(self)
        self.role = self._role(stack)
        log_group = logs.LogGroup(
            self, "Logs", retention=log_retention or DEFAULT_LOG_RETENTION, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        log_group.grant_write(self.role)
        self.function = handler_function(
            self,
            "Function",
            "notifier.handle",
            self.role,
            log_group,
            description="cdk-bedrock-customization job completion notifier",
            environment={STACK_ID_VARIABLE: stack.stack_id},
        )
        events.Rule(
            self,
            "JobStateChanges",
            description="Bedrock model customization job state changes, for the job completion notifier",
            event_pattern=events.EventPattern(
                source=["aws.bedrock"], detail_type=["Model Customization Job State Change"]
            ),
            targets=[targets.LambdaFunction(self.function)],
        )
        events.Rule(
            self,
            "Backstop",
            description="Settles job wait conditions whose state change event was lost",
            schedule=events.Schedule.rate(backstop_interval or DEFAULT_BACKSTOP_INTERVAL),
            targets=[
                targets.LambdaFunction(self.function, event=events.RuleTargetInput.from_object({"backstop": True}))
            ],
        )
        # Exists once everything above does: a wait condition that depends on it starts only when the notifier, its
        # rules and its grants are in place. One resource to depend on, rather than all of them for each model.
        self.ready = cdk.CfnWaitConditionHandle(self, "Ready")
        self.ready.node.add_dependency(*(child for child in self.node.children if child is not self.ready))

    def _role(self, stack: cdk.Stack) -> iam.Role:
        """The notifier's role: it may list this stack's resources and read the jobs that carry its tag."""
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Lets the cdk-bedrock-customization notifier signal this stack's job wait conditions",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudformation:ListStackResources", "cloudformation:DescribeStackResource"],
                resources=[stack.stack_id],
            )
        )
        jobs = stack.format_arn(service="bedrock", resource="model-customization-job", resource_name="*")
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["bedrock:GetModelCustomizationJob"],
                resources=[jobs],
                conditions={"StringEquals": {f"aws:ResourceTag/{STACK_TAG}": stack.stack_id}},
            )
        )
        acknowledge(
            role,
            (
                "IAM5",
                "Bedrock generates job ids at deploy time: the notifier may read only the jobs tagged with this "
                "stack's id.",
                wildcard_resources(self, [jobs]),
            ),
        )
        return role

    @classmethod
    def of(cls, scope: Construct, **settings: Any) -> JobCompletionNotifier:
        """The stack's notifier, created with these settings when it does not exist yet."""
        return one_per_stack(cls, scope, NOTIFIER_ID, settings)

    def wait_for(
        self, scope: Construct, job: cdk.CfnResource, job_id: str, timeout_seconds: int, key: str
    ) -> cdk.CfnResource:
        """A wait condition, in scope, that holds the deployment until the job (logical id job_id) ends.

        key changes whenever the job is replaced: a wait condition waits only when it is created, so a
        new job needs a new one (its logical id includes key).
        """
        handle = cdk.CfnWaitConditionHandle(scope, f"JobWaitHandle{key}")
        handle_id = self._stack.get_logical_id(handle)
        # Its properties as Python values (Ref by logical id, which CloudFormation orders by): fewer jsii round trips.
        condition = cdk.CfnResource(
            scope,
            f"WaitingForJob{key}",
            type=WAIT_CONDITION,
            properties={"Count": 1, "Handle": {"Ref": handle_id}, "Timeout": str(timeout_seconds)},
        )
        condition.add_metadata(WAIT_METADATA_KEY, {"job": job_id, "handle": handle_id})
        # After the job; and the wait starts once the notifier, its rules and its grants exist (self.ready).
        condition.node.add_dependency(job, self.ready)
        return condition
