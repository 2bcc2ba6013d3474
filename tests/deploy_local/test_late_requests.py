"""Late custom resource requests, rehearsed with the real handler. CloudFormation invokes a ServiceToken
asynchronously, and Lambda retries an invocation that failed or timed out: a minute later, then two minutes after that
(lambda_service.LAMBDA_RETRY_DELAYS), and a throttled one for up to 6 hours. The event is delivered as it was, though
CloudFormation may have cancelled that request, rolled it back, or completed or deleted the stack since. Such a late
Create or Update must start no job that no stack holds, and change nothing that a stack holds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from cdk_bedrock_customization.rehearsal.bedrock_world import Timings
from cdk_bedrock_customization.rehearsal.cloud import LocalCloud
from cdk_bedrock_customization.rehearsal.lambda_service import LAMBDA_RETRY_DELAYS, Throttled

from .rehearsal_support import cloud, crhelper_leftovers

pytestmark = pytest.mark.slow

STACK = "RehearsalUnderTest"
# One-minute jobs: a create or retrain completes before Lambda's second retry, three minutes after the first attempt.
QUICK = Timings(job_minutes=1, validation_minutes=0)
# Half an hour: a polled job is still training when the deployment fails, two minutes in.
SLOW = Timings(job_minutes=30)


class FirstRequestRetried:
    """late_retries: the first request of this type to Model0's job fails (times out) on each attempt but the last,
    and is retried after these delays; no other invocation is. throttled: its first attempt does not run the function
    either (lambda_service.Throttled). Until armed is set, no request is taken."""

    def __init__(
        self, request_type: str, delays: Sequence[float] = LAMBDA_RETRY_DELAYS, *, throttled: bool = False
    ) -> None:
        self.request_type, self.delays, self.throttled = request_type, tuple(delays), throttled
        self.request_id: str | None = None
        self.armed = True

    def __call__(self, _function_arn: str, payload: Mapping[str, Any]) -> Sequence[float]:
        ours = (
            self.armed
            and payload.get("RequestType") == self.request_type
            and payload.get("ResourceType") == "Custom::BedrockModelCustomizationJob"
            and payload.get("LogicalResourceId", "").startswith("Model0")
            and "CrHelperPoll" not in payload  # CloudFormation's invocation, not crhelper's polls of that request
        )
        if ours and self.request_id is None:
            self.request_id = payload["RequestId"]
        if not ours or payload["RequestId"] != self.request_id:
            return ()
        return Throttled(self.delays) if self.throttled else self.delays


def late_retries(lines: list[str]) -> list[str]:
    """The statuses of the stack that Lambda's retries found, in their order."""
    return [line.rsplit("(the stack is ", 1)[1].rstrip(")") for line in lines if "Lambda retries" in line]


def job_creates(local: LocalCloud) -> int:
    return len(local.bedrock.calls_to("CreateModelCustomizationJob"))


def assert_no_job_trains_that_no_stack_holds(local: LocalCloud) -> None:
    held = {deployed.physical_id for stack in local.stacks.values() for deployed in stack.state.values()}
    training = [job["jobArn"] for job in local.bedrock.jobs() if job["status"] == "InProgress"]
    assert [arn for arn in training if arn not in held] == []


def what_is_held(local: LocalCloud) -> list[Any]:
    """The stack's resources, and Bedrock's models and jobs with their tags: what a late request must not change."""
    stack = local.stacks[STACK]
    return [
        {lid: (d.physical_id, d.attributes) for lid, d in stack.state.items()},
        stack.outputs(),
        [(model, local.bedrock.all_tags(model["modelArn"])) for model in local.bedrock.models()],
        [(job["jobArn"], job["status"], local.bedrock.all_tags(job["jobArn"])) for job in local.bedrock.jobs()],
    ]


def test_a_late_create_while_the_stack_rolls_back_makes_nothing(assemblies):
    """The deployment fails two minutes in, and cancels the job's Create; its rollback stops the job the first attempt
    started (the Delete waits for it to stop). Lambda's second retry comes three minutes in, during that rollback."""
    lines: list[str] = []
    with cloud(lines, timings=SLOW, late_retries=FirstRequestRetried("Create")) as local:
        (outcome,) = local.deploy(assemblies["polling-failing"]).values()
        local.clock.sleep(600)

        assert late_retries(lines) == ["CREATE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS"]
        assert (outcome.succeeded, outcome.status) == (False, "ROLLBACK_COMPLETE")
        assert job_creates(local) == 1
        assert [job["status"] for job in local.bedrock.jobs()] == ["Stopped"]
        assert local.bedrock.models() == []
        assert local.stacks[STACK].state == {}
        assert_no_job_trains_that_no_stack_holds(local)


def test_a_late_update_while_the_stack_rolls_back_makes_nothing(assemblies):
    """The retrain (which also adds Model1) fails two minutes in: the rollback Update returns Model0 to its first job
    and stops the new one, and the cleanup stops Model1's job, waiting for it. Lambda's second retry of the retrain's
    Update comes during that cleanup."""
    lines: list[str] = []
    with cloud(lines, timings=SLOW, late_retries=FirstRequestRetried("Update")) as local:
        (deployed,) = local.deploy(assemblies["polling"]).values()
        assert deployed.succeeded, deployed.reason
        (trained,) = local.bedrock.models()

        (outcome,) = local.deploy(assemblies["polling-two-retrained-failing"]).values()
        local.clock.sleep(600)

        assert late_retries(lines) == ["UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"]
        assert (outcome.succeeded, outcome.status) == (False, "UPDATE_ROLLBACK_COMPLETE")
        assert job_creates(local) == 3  # the first job; the retrain's and Model1's, both stopped
        assert sorted(job["status"] for job in local.bedrock.jobs()) == ["Completed", "Stopped", "Stopped"]
        assert local.bedrock.models() == [trained]
        assert local.stacks[STACK].outputs() == {"Model0Arn": trained["modelArn"]}
        assert_no_job_trains_that_no_stack_holds(local)


@pytest.mark.parametrize(("assembly", "jobs"), [("polling", 1), ("single-function", 2)])
def test_a_late_create_after_the_create_completed_changes_nothing(assemblies, assembly, jobs):
    """The second retry comes after CREATE_COMPLETE: it must not take the stack's job as one it made and then delete
    its model as a cancelled request's (DESTROY). On the single function (crhelper), the polling rule made for the
    late Create is removed once its poll answers (an answer CloudFormation ignores)."""
    lines: list[str] = []
    with cloud(lines, timings=QUICK, late_retries=FirstRequestRetried("Create")) as local:
        (outcome,) = local.deploy(assemblies[assembly]).values()
        assert outcome.succeeded, outcome.reason
        held = what_is_held(local)  # the stack's resources and outputs, Bedrock's models and jobs with their tags

        local.clock.sleep(600)

        assert late_retries(lines) == ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]
        assert what_is_held(local) == held
        assert job_creates(local) == jobs
        assert crhelper_leftovers(local) == []


def test_a_late_update_after_the_update_completed_changes_nothing(assemblies):
    """The retrain's second retry comes after UPDATE_COMPLETE: the job it made is the one the stack holds now."""
    lines: list[str] = []
    with cloud(lines, timings=QUICK, late_retries=FirstRequestRetried("Update")) as local:
        (deployed,) = local.deploy(assemblies["polling"]).values()
        assert deployed.succeeded, deployed.reason
        (outcome,) = local.deploy(assemblies["polling-retrained"]).values()
        assert outcome.succeeded, outcome.reason
        held = what_is_held(local)

        local.clock.sleep(600)

        assert late_retries(lines) == ["UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"]
        assert what_is_held(local) == held
        (model,) = local.bedrock.models()
        assert local.stacks[STACK].outputs() == {"Model0Arn": model["modelArn"]}
        assert outcome.status == "UPDATE_COMPLETE"
        assert job_creates(local) == 2


def test_a_late_create_to_a_stack_deleted_and_created_again_makes_nothing(assemblies):
    """The provider is another stack's, so its function outlives the models' stack. Lambda's retry of the first stack's
    Create comes an hour later (a throttled event), after that stack was deleted and a stack of its name created
    again: the handler reads the first stack's status by its id (DELETE_COMPLETE), and starts no job."""
    lines: list[str] = []
    retried = FirstRequestRetried("Create", delays=(3600.0,))
    with cloud(lines, timings=QUICK, late_retries=retried) as local:
        assert all(outcome.succeeded for outcome in local.deploy(assemblies["provider-of-another-stack"]).values())
        first_stack = local.stacks[STACK].env.stack_id
        assert local.delete([STACK])[STACK].succeeded
        (again,) = local.deploy(assemblies["provider-of-another-stack"], [STACK]).values()
        assert again.succeeded, again.reason
        assert local.stacks[STACK].env.stack_id != first_stack
        held = what_is_held(local)

        local.clock.sleep(3600)

        assert late_retries(lines) == ["DELETE_COMPLETE"]
        assert what_is_held(local) == held
        assert job_creates(local) == 6  # three for each stack of that name
        assert len(local.bedrock.models()) == 3
        assert_no_job_trains_that_no_stack_holds(local)


def test_a_retry_once_the_rollback_deleted_the_function_is_dropped(assemblies):
    """Lambda keeps a throttled event for up to 6 hours, but drops it once its function is gone: here the stack's own
    provider, which the rollback deleted."""
    lines: list[str] = []
    with cloud(lines, timings=SLOW, late_retries=FirstRequestRetried("Create", delays=(600.0,))) as local:
        (outcome,) = local.deploy(assemblies["polling-failing"]).values()
        local.clock.sleep(900)

        assert outcome.status == "ROLLBACK_COMPLETE"
        assert late_retries(lines) == ["ROLLBACK_COMPLETE"]
        assert any("Lambda drops the retry" in line and "the function is gone" in line for line in lines)
        assert job_creates(local) == 1
        assert_no_job_trains_that_no_stack_holds(local)
