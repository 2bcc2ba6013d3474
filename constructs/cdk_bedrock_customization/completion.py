"""How a deployment waits for a job (a customization, import, copy or evaluation job): polling, a wait condition, or
not at all."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from bedrock_custom_resource import contract
from bedrock_custom_resource.environment import STACK_ID_VARIABLE
from bedrock_custom_resource.lifecycle import STACK_TAG
from bedrock_custom_resource.notifier import (
    EVENT_DETAIL_TYPE,
    EVENT_SOURCE,
    FINAL_STATUSES,
    STACK_EVENT_DETAIL_TYPE,
    STACK_EVENT_SOURCE,
    WAIT_CONDITION,
    WAIT_METADATA_KEY,
)

from constructs import Construct, IConstruct

from . import _identity, _requests
from ._nag import acknowledge, wildcard_resources
from ._packaging import handler_function
from ._prop_types import check_types
from ._requests import CompletionMode as CompletionMode
from ._resource import one_per_stack, refusal_leaves_nothing
from .provider import DEFAULT_LOG_RETENTION

if TYPE_CHECKING:
    from .provider import CustomizationProvider, StackUse

NOTIFIER_ID = "BedrockJobCompletionNotifier"
# The longest a CloudFormation wait condition waits (its Timeout is at most 43200 s).
MAX_WAIT_SECONDS = 12 * 60 * 60
MAX_WAIT = cdk.Duration.hours(12)
# Read once: each read of an aws-cdk-lib constant is a jsii round trip, and every job adds the aspect.
_WAITS_PRIORITY = cdk.AspectPriority.DEFAULT
DEFAULT_BACKSTOP_INTERVAL = cdk.Duration.hours(1)
BACKSTOP_WARNING_ID = "cdk-bedrock-customization:waitNotLongerThanBackstop"
# How often the jobs that emit no events (imports, copies, evaluations) are checked while the stack waits for one.
DEFAULT_CHECK_INTERVAL = cdk.Duration.minutes(5)
# The resource type that reads each awaited job type's outcome once its wait condition is signalled.
RESULT_READERS = {
    contract.CUSTOMIZATION_JOB: contract.JOB_RESULT,
    contract.MODEL_IMPORT: contract.IMPORT_RESULT,
    contract.MODEL_COPY: contract.COPY_RESULT,
}
# How far from a whole number of seconds a timeout may be and count as it: far above float error, far below a second.
WHOLE_SECOND_TOLERANCE = 1e-6
# Only customization jobs emit state change events (DESIGN.md, fact 14).
EMITS_EVENTS = frozenset({contract.CUSTOMIZATION_JOB})


@dataclass(frozen=True)
class Completion:
    """How ``cdk deploy`` waits for a customization job. Create one with a static method."""

    mode: CompletionMode
    timeout: cdk.Duration | None = None

    @staticmethod
    def event_driven(timeout: cdk.Duration = MAX_WAIT) -> Completion:
        """Wait up to ``timeout`` (at most 12 hours) for the job, without polling it from the provider: a wait
        condition is signalled when the job ends. The default. A customization job's end is reported by Bedrock's
        events; import, copy and evaluation jobs emit none, so the stack's notifier checks them every few minutes
        (``JobCompletionNotifier.of(stack, check_interval=...)``)."""
        check_types(timeout=(timeout, cdk.Duration))
        if timeout.is_unresolved():
            raise ValueError(
                "completion timeout: a value known only at deploy (a token) cannot be the timeout of a wait condition "
                "here, whose logical id it is part of; give one"
            )
        seconds = timeout.to_seconds(integral=False)
        whole = round(seconds)
        # Fractional hours or minutes carry float error (Duration.hours(1.1) is 3960.0000000000005 seconds).
        given = f"completion timeout: {timeout.to_human_string()} ({seconds:g} seconds)"
        if abs(seconds - whole) > WHOLE_SECOND_TOLERANCE:
            raise ValueError(f"{given} is not a whole number of seconds, as a CloudFormation wait condition's is")
        if not 1 <= whole <= MAX_WAIT_SECONDS:
            raise ValueError(
                f"{given} must be between 1 second and 12 hours, the longest a CloudFormation wait condition waits"
            )
        return Completion(CompletionMode.EVENT_DRIVEN, timeout if whole == seconds else cdk.Duration.seconds(whole))

    @staticmethod
    def polling() -> Completion:
        """Poll the job from the provider, up to its total_timeout (at most 1 hour). For short jobs."""
        return Completion(CompletionMode.POLLING)

    @staticmethod
    def no_wait() -> Completion:
        """Finish the deployment once Bedrock has validated the job (an import or copy job: accepted it); the model
        is not available to the stack."""
        return Completion(CompletionMode.NO_WAIT)

    @functools.cached_property
    def timeout_seconds(self) -> int | None:
        """The wait's timeout in seconds, read from aws-cdk-lib once per Completion (models share the default)."""
        return None if self.timeout is None else int(self.timeout.to_seconds())

    def wait_until(self, resource_type: str = contract.CUSTOMIZATION_JOB) -> str | None:
        """For the library's constructs: the job resource's waitUntil property (None: the default, until the job
        completes), for a job of ``resource_type`` (a custom resource type, the customization job's by default)."""
        return _requests.wait_until(self.mode, resource_type)


DEFAULT_COMPLETION = Completion.event_driven()


class JobCompletionNotifier(Construct):
    """Signals the wait conditions of the stack's event-driven jobs; one per stack (see ``of``).

    A rule on Bedrock's job state change events and a schedule (the backstop, for events that are
    lost) invoke one function. It finds the jobs the stack waits for from the stack's own resources (each
    wait condition's Metadata names its job), so nothing about it grows with the number of models; and it
    may read only the jobs that carry this stack's tag (STACK_TAG, which the handler puts on every job).

    Example::

        # Before the stack's first model, to change its settings.
        JobCompletionNotifier.of(self, backstop_interval=Duration.minutes(30), check_interval=Duration.minutes(2))
    """

    @refusal_leaves_nothing
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        backstop_interval: cdk.Duration | None = None,
        check_interval: cdk.Duration | None = None,
        log_retention: logs.RetentionDays | None = None,
    ) -> None:
        """
        :param backstop_interval: how often the backstop checks the jobs still waited for. @default 1 hour
        :param check_interval: how often the jobs that emit no events (imports, copies, evaluations) are checked,
            when the stack waits for one. @default 5 minutes
        :param log_retention: @default one month
        """
        _check_schedules(backstop_interval=backstop_interval, check_interval=check_interval)  # before anything is made
        check_types(log_retention=(log_retention, (logs.RetentionDays, type(None))))
        super().__init__(scope, construct_id)
        stack = self._stack = cdk.Stack.of(self)
        self.check_interval = check_interval or DEFAULT_CHECK_INTERVAL
        self.backstop_interval = backstop_interval or DEFAULT_BACKSTOP_INTERVAL
        self._readable: set[str] = set()  # the job types the notifier may read so far
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
        self._hear_jobs_and_waits(stack)
        # Exists once everything above does: a wait condition that depends on it starts only when the notifier, its
        # rules and its grants are in place. One resource to depend on, rather than all of them for each model.
        self.ready = cdk.CfnWaitConditionHandle(self, "Ready")
        self.ready.node.add_dependency(*(child for child in self.node.children if child is not self.ready))
        self._waits_follow = _WaitsFollowTheirJobs(stack)

    def _hear_jobs_and_waits(self, stack: cdk.Stack) -> None:
        """The rules that invoke the notifier: jobs' state changes, its stack's waits as they start, the backstop."""
        events.Rule(
            self,
            "JobStateChanges",
            description="Bedrock model customization job state changes, for the job completion notifier",
            # This account's and Region's jobs only (a bus that receives forwarded events keeps their own account and
            # region), and only the statuses that end a job: the notifier ignores every other event.
            event_pattern=events.EventPattern(
                source=[EVENT_SOURCE],
                detail_type=[EVENT_DETAIL_TYPE],
                account=[stack.account],
                region=[stack.region],
                detail={"jobStatus": sorted(FINAL_STATUSES)},
            ),
            targets=[targets.LambdaFunction(self.function)],
        )
        events.Rule(
            self,
            "WaitStarts",
            description="This stack's job wait conditions as they start waiting: one whose job ended first (a job "
            "adopted after it completed) is signalled at once, not by the backstop",
            event_pattern=events.EventPattern(
                source=[STACK_EVENT_SOURCE],
                detail_type=[STACK_EVENT_DETAIL_TYPE],
                detail={
                    "stack-id": [stack.stack_id],
                    "resource-type": [WAIT_CONDITION],
                    "status-details": {"status": ["CREATE_IN_PROGRESS"]},
                },
            ),
            targets=[targets.LambdaFunction(self.function)],
        )
        events.Rule(
            self,
            "Backstop",
            description="Settles job wait conditions whose state change event was lost",
            schedule=events.Schedule.rate(self.backstop_interval),
            targets=[
                targets.LambdaFunction(self.function, event=events.RuleTargetInput.from_object({"backstop": True}))
            ],
        )

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
        return role

    def _allow_reading(self, resource_type: str) -> None:
        """Let the notifier read the jobs of this type: only those tagged with this stack's id, for a type whose
        jobs carry tags (a copy job has none: any of the account's, in the stack's Region)."""
        if resource_type in self._readable:
            return
        self._readable.add(resource_type)
        declared = contract.CONTRACTS[resource_type]
        jobs = self._stack.format_arn(service="bedrock", resource=declared.managed.arn_type, resource_name="*")
        tagged = declared.managed.tag_member is not None
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=[f"bedrock:{declared.managed.read}"],
                resources=[jobs],
                conditions={"StringEquals": {f"aws:ResourceTag/{STACK_TAG}": self._stack.stack_id}} if tagged else None,
            )
        )
        self._acknowledge_reading()

    def _acknowledge_reading(self) -> None:
        """cdk-nag's acknowledgement of every job type the notifier reads (the last one given wins)."""
        readable = [contract.CONTRACTS[resource_type].managed for resource_type in sorted(self._readable)]
        arns = [self._stack.format_arn(service="bedrock", resource=job.arn_type, resource_name="*") for job in readable]
        acknowledge(
            self.role,
            (
                "IAM5",
                "Bedrock generates job ids at deploy time: the notifier may read only the jobs tagged with this "
                "stack's id (copy jobs cannot be tagged: it may read this account's, in this Region).",
                wildcard_resources(self, arns),
            ),
        )

    def _check_jobs_without_events(self) -> None:
        """A schedule that checks the waited-for jobs every check_interval: import, copy and evaluation jobs emit no
        events."""
        if self.node.try_find_child("Checks") is not None:
            return
        checks = events.Rule(
            self,
            "Checks",
            description="Settles the wait conditions of jobs that emit no events (model import, copy, evaluation jobs)",
            schedule=events.Schedule.rate(self.check_interval),
            targets=[
                targets.LambdaFunction(self.function, event=events.RuleTargetInput.from_object({"backstop": True}))
            ],
        )
        self.ready.node.add_dependency(checks)

    @classmethod
    def of(cls, scope: Construct, **settings: Any) -> JobCompletionNotifier:
        """The stack's notifier, created with these settings when it does not exist yet. The stack's first model
        that waits event-driven (the default) makes it with the defaults: to give settings, call this before it."""
        return one_per_stack(cls, scope, NOTIFIER_ID, settings)

    def wait_for(
        self,
        scope: Construct,
        job: cdk.CfnResource,
        job_id: str,
        timeout_seconds: int,
        key: str,
        resource_type: str = contract.CUSTOMIZATION_JOB,
    ) -> cdk.CfnResource:
        """For the library's constructs: a wait condition, in scope, that holds the deployment until the job (logical
        id job_id, a token, of resource_type) ends, or timeout_seconds (the Completion's timeout) have passed.

        key changes whenever the job is replaced: a wait condition waits only when it is created, so a
        new job needs a new one (its logical id includes key, and the timeout unless it is the default).
        """
        self._allow_reading(resource_type)
        if resource_type in EMITS_EVENTS:
            self._warn_of_a_wait_the_backstop_may_miss(scope, timeout_seconds)
        else:
            self._check_jobs_without_events()
        wait_id = _wait_id(key, timeout_seconds)
        handle = cdk.CfnWaitConditionHandle(scope, f"JobWaitHandle{wait_id}")
        # Made once the job is: its URL is presigned for 24 hours from then, and a queued job starts only when an
        # earlier one's wait ends, which may be days after the deployment started.
        handle.add_resource_dependency(job)
        handle_id = handle.logical_id  # a token: it follows override_logical_id and rename_logical_id
        # Its properties as Python values (Ref by logical id, which CloudFormation orders by): fewer jsii round trips.
        condition = cdk.CfnResource(
            scope,
            f"WaitingForJob{wait_id}",
            type=WAIT_CONDITION,
            properties={"Count": 1, "Handle": {"Ref": handle_id}, "Timeout": str(timeout_seconds)},
        )
        condition.add_metadata(WAIT_METADATA_KEY, {"job": job_id, "handle": handle_id})
        # After the job; and the wait starts once the notifier, its rules and its grants exist (self.ready).
        condition.node.add_dependency(job, self.ready)
        # aws-cdk-lib's own allocation, before any rename: read now, outside the aspect's callback, where it costs less.
        self._waits_follow.waits.append((job_id, self._stack._allocate_logical_id(job), handle, condition))
        # After the stack's and the app's mutating aspects and their defaults on the job (inherited ones come first at
        # one priority); not later, or an aspect of default priority that one of them adds would fail the synth.
        cdk.Aspects.of(job).add(self._waits_follow, priority=_WAITS_PRIORITY)
        return condition

    @functools.cached_property
    def _backstop_seconds(self) -> float | None:
        """None: a token, known only at deploy. Read once, not per wait: each read is a jsii round trip."""
        return None if self.backstop_interval.is_unresolved() else self.backstop_interval.to_seconds()

    def _warn_of_a_wait_the_backstop_may_miss(self, scope: Construct, timeout_seconds: int) -> None:
        """Bedrock sends job events on a best-effort basis; only the backstop makes up for a lost one, and a wait no
        longer than its interval may time out before it runs, failing the deployment of a job that completed."""
        if self._backstop_seconds is None or timeout_seconds > self._backstop_seconds:
            return
        cdk.Annotations.of(scope).add_warning_v2(
            BACKSTOP_WARNING_ID,
            f"completion: a wait of {cdk.Duration.seconds(timeout_seconds).to_human_string()} is not longer than the "
            f"notifier's backstop_interval ({self.backstop_interval.to_human_string()}): Bedrock sends job events on "
            "a best-effort basis, and if this job's event is lost the backstop may not check it before the wait times "
            "out, failing the deployment of a job that completed. Give a longer timeout, or "
            "JobCompletionNotifier.of(stack, backstop_interval=...) a shorter interval",
        )


@jsii.implements(cdk.IAspect)
class _WaitsFollowTheirJobs:
    """A wait condition waits only when it is created, so a job resource of a new logical id (override_logical_id,
    Stack.rename_logical_id, an aspect: CloudFormation creates a new job) needs a new wait condition and handle, or the
    deployment would go on while that job trains. Their ids are allocated from their paths, as the job's is unless
    changed: a job whose logical id is not its allocated one gives its waits' ids a digest of it (an id you gave them
    stays). Visited on each job, after the aspects of the stack and the app; once every job has been in this synth
    (they are leaves, and aspects run node by node), their ids are read in one round trip."""

    def __init__(self, stack: cdk.Stack) -> None:
        self.stack = stack
        # Each job's logical id (a token), its allocated logical id, and its wait condition handle and wait condition.
        self.waits: list[tuple[str, str, cdk.CfnElement, cdk.CfnElement]] = []
        self._visited: set[int] = set()  # the jobs visited in this synth

    def visit(self, node: IConstruct) -> None:
        self._visited.add(id(node))
        if len(self._visited) < len(self.waits):
            return
        self._visited.clear()
        stack = self.stack
        job_ids = stack.resolve([job_id for job_id, _, _, _ in self.waits])
        for (_, allocated_job_id, *elements), job_id in zip(self.waits, job_ids, strict=True):
            if job_id == allocated_job_id:
                continue
            suffix = hashlib.sha256(job_id.encode()).hexdigest()[:8].upper()
            for element in elements:
                allocated = stack._allocate_logical_id(element)
                if stack.resolve(element.logical_id) == allocated:  # else you gave it an id (override or rename)
                    element.override_logical_id(allocated + suffix)


def _wait_id(key: str, timeout_seconds: int) -> str:
    """The logical id suffix of a job's wait condition and its handle. CloudFormation cannot update a wait condition,
    not even its Timeout, so a wait of another timeout must be another wait condition (whose handle is signalled at
    once when the job has ended already). A wait of the default timeout keeps the job's key, as deployed before the
    timeout was part of it; any other timeout's is a digest of both."""
    if timeout_seconds == MAX_WAIT_SECONDS:
        return key
    return hashlib.sha256(f"{key}:{timeout_seconds}".encode()).hexdigest()[:8].upper()


def _check_schedules(**intervals: cdk.Duration | None) -> None:
    """The notifier's schedules are EventBridge rates: a whole number of minutes, at least 1; and at most the longest
    wait, which a lost event would otherwise let time out before the schedule looks."""
    check_types(**{name: (interval, (cdk.Duration, type(None))) for name, interval in intervals.items()})
    for name, interval in intervals.items():
        if interval is None or interval.is_unresolved():
            continue
        minutes = interval.to_seconds(integral=False) / 60
        if minutes < 1 or minutes != int(minutes):
            raise ValueError(
                f"{name}: {interval.to_human_string()} is not a whole number of minutes, at least 1 (the notifier's "
                "schedule is an EventBridge rate)"
            )
        if minutes * 60 > MAX_WAIT_SECONDS:
            raise ValueError(
                f"{name}: {interval.to_human_string()} is longer than 12 hours, the longest a wait condition waits: "
                "a wait whose event is lost would time out before the notifier looks"
            )


def keyed_for_waiting(
    completion: Completion, stack: cdk.Stack, properties: dict[str, Any], resource_type: str
) -> dict[str, Any]:
    """A job's properties, with the key of the wait condition that waits for it when completion is event-driven
    (contract.WAIT_CONDITION_KEY): a digest of what the job is made of as the template gives it. A new job (a
    replacement) needs a new wait condition, whose logical id includes the key; the handler refuses to replace a
    job under the same key (a value known only at deploy changed). Refused before anything is made: a wait that
    no check of the notifier is sure to settle."""
    if completion.mode is not CompletionMode.EVENT_DRIVEN:
        return properties
    _refuse_a_wait_shorter_than_the_checks(completion, stack, resource_type)
    replacing = {name: value for name, value in properties.items() if name not in contract.NOT_IDENTIFYING}
    return {**properties, contract.WAIT_CONDITION_KEY: _identity.key(stack, replacing)[:8].upper()}


def _refuse_a_wait_shorter_than_the_checks(completion: Completion, stack: cdk.Stack, resource_type: str) -> None:
    assert completion.timeout is not None  # an event-driven completion has one
    problem = wait_shorter_than_the_checks(stack, resource_type, completion.timeout)
    if problem is not None:
        raise ValueError(f"completion: {problem}")


def wait_shorter_than_the_checks(stack: cdk.Stack, resource_type: str, timeout: cdk.Duration) -> str | None:
    """What is wrong with an event-driven wait of timeout for a job of resource_type in stack: a job that emits no
    events is seen ended only when the notifier checks it, every check_interval, so a wait no longer than that may
    time out (and roll the stack back) after the job has ended."""
    if resource_type in EMITS_EVENTS:
        return None  # its events settle it; the backstop only makes up for a lost one
    notifier = stack.node.try_find_child(NOTIFIER_ID)
    interval = notifier.check_interval if isinstance(notifier, JobCompletionNotifier) else DEFAULT_CHECK_INTERVAL
    if interval.is_unresolved() or timeout.to_seconds() > interval.to_seconds():
        return None
    return (
        f"a timeout of {timeout.to_human_string()} is not longer than the notifier's check_interval "
        f"({interval.to_human_string()}): import, copy and evaluation jobs emit no events, so the notifier sees one "
        "ended only when it checks; give a longer timeout, or JobCompletionNotifier.of(stack, check_interval=...) a "
        "shorter interval"
    )


def await_job(
    scope: Construct,
    completion: Completion,
    job: cdk.CfnResource,
    resource_type: str,
    properties: Mapping[str, Any],
    provider: CustomizationProvider,
    use: StackUse,
) -> tuple[cdk.CfnResource | None, cdk.CfnResource | None]:
    """How the deployment waits for a job resource: where the completed job's attributes come from, and what marks
    the job's end for the stack's job order (both None: the deployment does not wait).

    Polling: the job resource itself. Event-driven: a wait condition that the stack's notifier signals when the job
    ends, and a resource (of RESULT_READERS) that then reads the completed job (None for a type that has no reader:
    an evaluation job, whose gate reads it).
    """
    if completion.mode is CompletionMode.POLLING:
        use.jobs.warn_of_polling_limit(resource_type)
        return job, job
    if completion.mode is not CompletionMode.EVENT_DRIVEN:
        return None, None
    # A token, not the logical id allocated now: what refers to the job follows override_logical_id (or the stack's
    # rename_logical_id) as CloudFormation's own Ref does.
    job_id = job.logical_id
    seconds = completion.timeout_seconds
    assert seconds is not None  # an event-driven completion has a timeout
    key = properties[contract.WAIT_CONDITION_KEY]  # keyed_for_waiting
    condition = use.notifier.wait_for(scope, job, job_id, seconds, key, resource_type)
    reader = RESULT_READERS.get(resource_type)
    if reader is None:  # an evaluation job: its gate reads it
        return None, condition
    request = contract.service_model().operation_model(contract.CONTRACTS[reader].operation).input_shape
    assert request is not None
    (identifier,) = request.required_members  # the job's ARN
    result = provider.custom_resource(scope, "CompletedJob", reader, {identifier: {"Ref": job_id}}, use=use)
    result.add_resource_dependency(condition)
    return result, condition
