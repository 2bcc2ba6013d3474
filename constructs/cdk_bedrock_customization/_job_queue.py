"""The order of a stack's jobs: at most max_concurrent_jobs of a kind run at once (Bedrock's quota), by
dependencies between their resources."""

from __future__ import annotations

import weakref

import aws_cdk as cdk

from constructs import Construct

UNWAITED_JOBS_WARNING_ID = "cdk-bedrock-customization:unwaitedJobsBeyondConcurrencyLimit"
POLLING_WARNING_ID = "cdk-bedrock-customization:jobLongerThanTotalTimeout"


class JobQueue:
    """The jobs (and imports) of one stack, in declaration order. Warnings go on anchor.

    One per stack (``of``), whichever providers run its models: Bedrock's quota is the account's, so jobs of two
    providers in one stack (its own and another stack's, or a second one) wait for one another too.
    """

    @classmethod
    def of(cls, stack: cdk.Stack, anchor: Construct, max_concurrent_jobs: int, total_timeout: cdk.Duration) -> JobQueue:
        """The stack's queue; a provider with a lower limit (or a shorter total timeout) lowers it from now on."""
        queue = _QUEUES.get(stack)
        if queue is None:
            queue = _QUEUES[stack] = cls(anchor, max_concurrent_jobs, total_timeout)
        else:
            queue.max_concurrent_jobs = min(queue.max_concurrent_jobs, max_concurrent_jobs)
            if total_timeout.to_seconds(integral=False) < queue.total_timeout.to_seconds(integral=False):
                queue.total_timeout = total_timeout
        return queue

    def __init__(self, anchor: Construct, max_concurrent_jobs: int, total_timeout: cdk.Duration) -> None:
        self.anchor = anchor
        self.max_concurrent_jobs = max_concurrent_jobs
        self.total_timeout = total_timeout
        # What marks the end of each ordered job of the stack, by kind, in declaration order.
        self._ends: dict[str, list[cdk.CfnResource]] = {}
        self._unwaited_jobs = 0
        self._warned_of_polling_limit = False

    def order(self, kind: str, start: cdk.CfnResource, end: cdk.CfnResource | None, limit: int | None = None) -> None:
        """Start a job (or import) of this kind only once an earlier one of the stack has ended, so that at
        most limit (by default max_concurrent_jobs) run at once: each takes the place of the one declared limit
        before it. start is its resource; end marks its end (None: a job that is not waited for).

        Dependencies, not logical ids: adding a model changes no other resource's id.
        """
        limit = limit or self.max_concurrent_jobs
        ends = self._ends.setdefault(kind, [])
        if end is None:
            self._unwaited_jobs += 1
        else:
            if len(ends) >= limit:
                start.add_resource_dependency(ends[-limit])
            ends.append(end)
        waited = min(len(self._ends.get("job", [])), limit)
        if self._unwaited_jobs and self._unwaited_jobs + waited == limit + 1:
            cdk.Annotations.of(self.anchor).add_warning_v2(
                UNWAITED_JOBS_WARNING_ID,
                f"This stack's jobs may run more than {limit} at once: a job with "
                "Completion.no_wait() keeps training after its deployment ends, so no later job can wait for "
                "it. Bedrock refuses jobs beyond the account's quota (ServiceQuotaExceededException).",
            )

    def warn_of_polling_limit(self) -> None:
        """Warn, once per stack, that polled jobs must end within total_timeout."""
        if not self._warned_of_polling_limit:
            # Once per stack rather than per model: fifty identical warnings would bury the others.
            self._warned_of_polling_limit = True
            cdk.Annotations.of(self.anchor).add_warning_v2(
                POLLING_WARNING_ID,
                f"Deployments wait at most {self.total_timeout.to_human_string()} for each polled "
                "customization job in this stack; a job that runs longer fails the deployment, and its rollback "
                "stops the job only with RemovalPolicy.DESTROY or RETAIN_ON_UPDATE_OR_DELETE (with RETAIN, the "
                "default, it goes on running outside the stack). Completion.event_driven() waits up to 12 hours.",
            )


_QUEUES: weakref.WeakKeyDictionary[cdk.Stack, JobQueue] = weakref.WeakKeyDictionary()
