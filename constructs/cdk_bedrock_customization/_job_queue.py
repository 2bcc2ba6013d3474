"""The order of a stack's jobs: at most max_concurrent_jobs of a kind run at once (Bedrock's quota), by
dependencies between their resources."""

from __future__ import annotations

import weakref

import aws_cdk as cdk
import jsii
from bedrock_custom_resource import contract
from bedrock_custom_resource.lifecycle import DEFAULT_MAX_CONCURRENT_JOBS

import constructs
from constructs import Construct

UNWAITED_JOBS_WARNING_ID = "cdk-bedrock-customization:unwaitedJobsBeyondConcurrencyLimit"
NESTED_JOBS_WARNING_ID = "cdk-bedrock-customization:nestedStacksJobsBeyondConcurrencyLimit"
POLLING_WARNING_ID = "cdk-bedrock-customization:jobLongerThanTotalTimeout"
# The jobs a deployment can poll, by resource type, in the polling warning's order: whether Bedrock can stop them.
STOPPABLE = {contract.CUSTOMIZATION_JOB: "customization", contract.MODEL_EVALUATION: "evaluation"}
UNSTOPPABLE = {contract.MODEL_IMPORT: "import", contract.MODEL_COPY: "copy"}
# What the jobs of each kind that order() takes are, in its warning.
KIND_NOUNS = {"job": "customization jobs", "import": "custom model imports", "model-import": "model import jobs"}


class JobQueue:
    """The jobs (and imports) of one stack, in declaration order. Warnings go on anchor.

    One per stack (``of``), whichever providers run its models: Bedrock's quota is the account's, so jobs of two
    providers in one stack (its own and another stack's, or a second one) wait for one another too.
    """

    @classmethod
    def of(cls, stack: cdk.Stack, anchor: Construct, max_concurrent_jobs: int, total_timeout: cdk.Duration) -> JobQueue:
        """The stack's queue; a provider with a lower limit (or a shorter total timeout) lowers it."""
        queue = _QUEUES.get(stack)
        # A queue whose anchor left the tree was made for a refused construct (the provider it made went with it),
        # and holds nothing but what that construct ordered.
        if queue is None or not _in_the_tree(queue.anchor):
            queue = _QUEUES[stack] = cls(anchor, max_concurrent_jobs, total_timeout)
            _join_its_family(stack, queue)
        else:
            queue._lower_limit(max_concurrent_jobs)
            if total_timeout.to_seconds(integral=False) < queue.total_timeout.to_seconds(integral=False):
                queue.total_timeout = total_timeout
        return queue

    def __init__(self, anchor: Construct, max_concurrent_jobs: int, total_timeout: cdk.Duration) -> None:
        self.anchor = anchor
        self.max_concurrent_jobs = max_concurrent_jobs
        self.total_timeout = total_timeout
        # Each waited-for job of the stack, by kind, in declaration order: its start, what marks its end, and the
        # limit it was ordered under.
        self._waited: dict[str, list[tuple[cdk.CfnResource, cdk.CfnResource, int]]] = {}
        self._unwaited: dict[str, int] = {}  # the jobs of each kind not waited for
        self._own_limits: dict[str, int] = {}  # the kinds with a limit of their own
        self._polled: set[str] = set()  # the resource types of the stack's polled jobs

    def order(self, kind: str, start: cdk.CfnResource, end: cdk.CfnResource | None, limit: int | None = None) -> None:
        """Start a job (or import) of this kind only once an earlier one of the stack has ended, so that at
        most limit (by default max_concurrent_jobs) run at once: each takes the place of the one declared limit
        before it. start is its resource; end marks its end (None: a job that is not waited for).

        Dependencies, not logical ids: adding a model changes no other resource's id.
        """
        if limit is not None:
            self._own_limits[kind] = limit
        limit = limit or self.max_concurrent_jobs
        ordered = self._waited.setdefault(kind, [])
        if end is None:
            self._unwaited[kind] = self._unwaited.get(kind, 0) + 1
        else:
            if len(ordered) >= limit:
                start.add_resource_dependency(ordered[-limit][1])
            ordered.append((start, end, limit))
        # Of this kind only: each kind has a quota of its own (imports one at a time).
        unwaited = self._unwaited.get(kind, 0)
        if unwaited and unwaited + min(len(ordered), limit) == limit + 1:
            cdk.Annotations.of(self.anchor).add_warning_v2(
                UNWAITED_JOBS_WARNING_ID,
                f"This stack's {KIND_NOUNS[kind]} may run more than {limit} at once: one with Completion.no_wait() "
                "goes on after its deployment ends, so no later one can wait for it. Bedrock refuses jobs beyond the "
                "account's quota (ServiceQuotaExceededException).",
            )

    def kinds(self) -> set[str]:
        return {*self._waited, *self._unwaited}

    def limit_of(self, kind: str) -> int:
        """The limit of a kind: its own (imports: one at a time), or the stack's max_concurrent_jobs."""
        return self._own_limits.get(kind, self.max_concurrent_jobs)

    def has_own_limit(self, kind: str) -> bool:
        """Whether the kind has a limit of its own (imports: one at a time), rather than max_concurrent_jobs."""
        return kind in self._own_limits

    def all_waited_for_by(self, resource: cdk.CfnResource, kind: str) -> bool:
        """Whether resource depends (DependsOn) on the end of each job of a kind of this stack, so that it starts
        only once they have all ended. Node dependencies are resource dependencies once the app is prepared."""
        if self._unwaited.get(kind):  # nothing marks their end
            return False
        dependencies = resource.obtain_dependencies()
        return all(end in dependencies for _, end, _ in self._waited.get(kind, []))

    def at_most_at_once(self, kind: str) -> int:
        """How many jobs of a kind this stack may run at once: its waited ones up to its limit, and every one not
        waited for."""
        return min(len(self._waited.get(kind, [])), self.limit_of(kind)) + self._unwaited.get(kind, 0)

    def _lower_limit(self, limit: int) -> None:
        """Hold the stack to a lower limit (another provider's): the jobs ordered under a higher one wait as if
        ordered under this one (a dependency more for each; those it had stay, and only constrain more)."""
        if limit >= self.max_concurrent_jobs:
            return
        self.max_concurrent_jobs = limit
        for ordered in self._waited.values():
            for index, (start, end, ordered_under) in enumerate(ordered):
                if ordered_under > limit:
                    if index >= limit:
                        start.add_resource_dependency(ordered[index - limit][1])
                    ordered[index] = (start, end, limit)

    def warn_of_polling_limit(self, resource_type: str) -> None:
        """Warn, once per stack, that polled jobs must end within total_timeout: at synth, once the stack's lowest
        total_timeout (of all its providers) and the kinds of its polled jobs are known."""
        if not self._polled:  # once per stack rather than per job: fifty identical warnings would bury the others
            self.anchor.node.add_validation(_PollingLimitWarning(self))
        self._polled.add(resource_type)

    def polling_warning(self) -> str:
        stoppable = [noun for kind, noun in STOPPABLE.items() if kind in self._polled]
        unstoppable = [noun for kind, noun in UNSTOPPABLE.items() if kind in self._polled]
        kinds = [*stoppable, *unstoppable]
        named = kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " or " + kinds[-1]
        warning = (
            f"Deployments wait at most {self.total_timeout.to_human_string()} for each polled {named} job in this "
            "stack; a job that runs longer fails the deployment."
        )
        if stoppable:
            warning += (
                f" Its rollback stops {' and '.join(stoppable)} jobs only with RemovalPolicy.DESTROY or "
                "RETAIN_ON_UPDATE_OR_DELETE (with RETAIN, the default, it goes on running outside the stack)."
            )
        if unstoppable:
            warning += (
                f" {' and '.join(unstoppable).capitalize()} jobs cannot be stopped: with RETAIN one goes on outside "
                "the stack; with DESTROY the rollback's delete waits for it, and fails (ROLLBACK_FAILED) if it "
                "outlasts that wait."
            )
        return warning + " Completion.event_driven() waits up to 12 hours."


@jsii.implements(constructs.IValidation)
class _PollingLimitWarning:
    """The polling warning, added at synth to the queue's anchor. A validation rather than an aspect: the kernel
    calls it once, where it would call an aspect back for every construct under the anchor."""

    def __init__(self, queue: JobQueue) -> None:
        self._queue = queue
        self._warned = False

    def validate(self) -> list[str]:
        # Once: an app synthesized again validates again, and a warning acknowledged since (removed) stays so.
        if not self._warned:
            self._warned = True
            cdk.Annotations.of(self._queue.anchor).add_warning_v2(POLLING_WARNING_ID, self._queue.polling_warning())
        return []


def _in_the_tree(construct: Construct) -> bool:
    scope = construct.node.scope
    return scope is None or scope.node.try_find_child(construct.node.id) is construct


_QUEUES: weakref.WeakKeyDictionary[cdk.Stack, JobQueue] = weakref.WeakKeyDictionary()
# The queues of a top-level stack and of its nested stacks, which one stack operation deploys side by side.
_FAMILIES: weakref.WeakKeyDictionary[cdk.Stack, dict[cdk.Stack, JobQueue]] = weakref.WeakKeyDictionary()


def _join_its_family(stack: cdk.Stack, queue: JobQueue) -> None:
    top = stack
    while top.nested:
        parent = top.nested_stack_parent
        assert parent is not None  # a nested stack has one
        top = parent
    family = _FAMILIES.setdefault(top, {})
    if not family:
        top.node.add_validation(_NestedStacksJobs(top, family))
    family[stack] = queue


@jsii.implements(constructs.IValidation)
class _NestedStacksJobs:
    """At synth: a warning when the jobs of a stack and of its nested stacks, each ordered in its own stack up to its
    own limit, may run more of a kind at once than the account's quota (a nested stack deploys within its parent's
    operation, beside its jobs). The quota: a kind's own limit (imports: one at a time), else Bedrock's default, or
    the highest max_concurrent_jobs given (a raised quota). So shares given to each stack (1 and 1 of 2) warn of
    nothing, while limits that add up past it do. A nested stack whose resource depends on the end of each of its
    parent's jobs of the kind runs its own after them."""

    def __init__(self, top: cdk.Stack, family: dict[cdk.Stack, JobQueue]) -> None:
        self._top, self._family = top, family

    def validate(self) -> list[str]:
        nested_in: dict[cdk.Stack, dict[cdk.Stack, None]] = {}  # each stack's nested stacks on the way to a queue's
        for stack in self._family:
            while stack.nested_stack_parent is not None:
                nested_in.setdefault(stack.nested_stack_parent, {})[stack] = None
                stack = stack.nested_stack_parent
        for kind in sorted({kind for queue in self._family.values() for kind in queue.kinds()}):
            queues = [queue for queue in self._family.values() if kind in queue.kinds()]
            own_limits = [queue.limit_of(kind) for queue in queues if queue.has_own_limit(kind)]
            quota = (
                min(own_limits) if own_limits else max(DEFAULT_MAX_CONCURRENT_JOBS, *(q.limit_of(kind) for q in queues))
            )
            at_once = self._at_once(self._top, kind, nested_in)
            # Beyond what one stack runs alone: its own warning (UNWAITED_JOBS_WARNING_ID) tells of that.
            if at_once > quota and at_once > max(queue.at_most_at_once(kind) for queue in queues):
                cdk.Annotations.of(self._top).add_warning_v2(
                    NESTED_JOBS_WARNING_ID,
                    f"This stack's {KIND_NOUNS[kind]} and its nested stacks' may run {at_once} at once, above the "
                    f"quota of {quota}: each stack orders its own, and a nested stack deploys beside its parent's. "
                    "Give each stack its share (CustomizationProvider.of(stack, max_concurrent_jobs=...)), or make "
                    "the nested stack depend on its parent's jobs (nested_stack.node.add_dependency(model)); with a "
                    "raised quota that holds them all, acknowledge this warning.",
                )
        return []

    def _at_once(self, stack: cdk.Stack, kind: str, nested_in: dict[cdk.Stack, dict[cdk.Stack, None]]) -> int:
        """The most jobs of a kind that stack and its nested stacks may run at once, each stack up to its own limit:
        those of a nested stack that waits for the end of each of stack's jobs run after stack's; the others, beside
        them."""
        queue = self._family.get(stack)
        own = queue.at_most_at_once(kind) if queue is not None else 0
        after = beside = 0
        for nested in nested_in.get(stack, {}):
            at_once = self._at_once(nested, kind, nested_in)
            resource = nested.nested_stack_resource
            if queue is None or (resource is not None and queue.all_waited_for_by(resource, kind)):
                after += at_once
            else:
                beside += at_once
        return beside + max(own, after)
