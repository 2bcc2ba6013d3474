"""A deployment that fails while a polled job's create or update is in flight, rehearsed with the real handler.

CloudFormation cancels the custom resource requests still waiting (CREATE_FAILED "Resource creation cancelled",
UPDATE_FAILED "Resource update cancelled") and ignores their answers: it never learns the id of the job they started.
A cancelled create is rolled back with a Delete of an id CloudFormation made up
(aws-cloudformation/cloudformation-coverage-roadmap#1814); a cancelled update with an Update back to the previous
properties, sent with the previous id. Either way, the job they started must not be left running.
"""

from __future__ import annotations

import pytest
from cdk_bedrock_customization.rehearsal.bedrock_world import Timings
from cdk_bedrock_customization.rehearsal.cloud import LocalCloud

from .rehearsal_support import cloud

pytestmark = pytest.mark.slow

# Half an hour: a polled job is still training when the deployment fails, two minutes in.
TIMINGS = Timings(job_minutes=30)


def test_a_job_whose_create_is_cancelled_is_stopped_by_the_rollback(assemblies):
    lines: list[str] = []
    with cloud(lines, timings=TIMINGS) as local:
        (outcome,) = local.deploy(assemblies["polling-failing"]).values()

        assert (outcome.succeeded, outcome.status) == (False, "ROLLBACK_COMPLETE")
        assert outcome.reason.startswith("NeverSignalled:")
        assert any("CREATE_FAILED" in line and "Resource creation cancelled" in line for line in lines)
        assert [job["status"] for job in local.bedrock.jobs()] == ["Stopped"]
        assert local.bedrock.models() == []


@pytest.mark.parametrize("deployed_as", ["polling", "polling-retain-on"], ids=["destroy", "retain-on-update-or-delete"])
def test_a_job_whose_update_is_cancelled_is_stopped_by_the_rollback_when_its_policy_deletes_it(assemblies, deployed_as):
    """DESTROY, and RETAIN_ON_UPDATE_OR_DELETE, whose DeletionPolicy RetainExceptOnCreate removes what a failed
    operation made."""
    lines: list[str] = []
    with cloud(lines, timings=TIMINGS) as local:
        (deployed,) = local.deploy(assemblies[deployed_as]).values()
        assert deployed.succeeded, deployed.reason
        (trained,) = local.bedrock.models()

        (outcome,) = local.deploy(assemblies[f"{deployed_as}-retrained-failing"]).values()

        assert (outcome.succeeded, outcome.status) == (False, "UPDATE_ROLLBACK_COMPLETE")
        assert any("UPDATE_FAILED" in line and "Resource update cancelled" in line for line in lines)
        first, started = sorted(local.bedrock.jobs(), key=lambda job: job["creationTime"])
        assert first["status"] == "Completed"
        assert started["status"] in ("Stopping", "Stopped")  # asked to stop: the rollback does not wait for it
        assert local.bedrock.models() == [trained]
        assert local.stacks["RehearsalUnderTest"].outputs()["Model0Arn"] == trained["modelArn"]


@pytest.mark.parametrize("then", ["continue", "delete"])
def test_a_rollback_that_bedrock_refused_leaves_no_job_training(assemblies, then):
    """The rollback Update of the cancelled update fails (Bedrock throttles its read of the first job's tags past
    botocore's retries): UPDATE_ROLLBACK_FAILED, the stack holding the first job under the update's properties.
    ContinueUpdateRollback (`cdk rollback`) sends it again: it adopts the first job, stops the one the cancelled
    update started, and starts none. Deleting the stack instead (DESTROY) deletes the first model and stops that
    job too, which CloudFormation never learned of."""
    lines: list[str] = []
    rolling_back: list[LocalCloud] = []

    def write(line: str) -> None:
        lines.append(line)
        if "UPDATE_ROLLBACK_IN_PROGRESS" in line and len(rolling_back) == 1:
            bedrock = rolling_back.pop().bedrock
            # Every attempt of one call, as the handler's client makes them (botocore's retries included).
            bedrock.throttle(bedrock.client().meta.config.retries["total_max_attempts"], "ListTagsForResource")

    with LocalCloud(write=write, timings=TIMINGS) as local:
        (deployed,) = local.deploy(assemblies["polling"]).values()
        assert deployed.succeeded, deployed.reason
        (trained,) = local.bedrock.models()
        rolling_back.append(local)

        (failed,) = local.deploy(assemblies["polling-retrained-failing"]).values()

        assert failed.status == "UPDATE_ROLLBACK_FAILED"
        assert "ThrottlingException" in failed.rollback_reason
        stack = local.stacks["RehearsalUnderTest"]
        ended = stack.continue_update_rollback() if then == "continue" else stack.delete()

        assert ended.succeeded, ended.reason
        assert len(local.bedrock.calls_to("CreateModelCustomizationJob")) == 2
        first, started = sorted(local.bedrock.jobs(), key=lambda job: job["creationTime"])
        assert first["status"] == "Completed"
        assert started["status"] in ("Stopping", "Stopped")
        if then == "continue":
            assert ended.status == "UPDATE_ROLLBACK_COMPLETE"
            assert local.bedrock.models() == [trained]
            assert stack.outputs()["Model0Arn"] == trained["modelArn"]
        else:
            assert ended.status == "DELETE_COMPLETE"
            assert local.bedrock.models() == []


@pytest.mark.parametrize(
    ("throughput_minutes", "left"), [(15, False), (120, True)], ids=["created-in-time", "created-too-late"]
)
def test_a_throughput_whose_replacement_is_cancelled_is_deleted_by_the_rollback_once_bedrock_lets_it(
    assemblies, throughput_minutes, left
):
    """An update that replaces a throughput billed by the hour (more units) fails two minutes in, while Bedrock still
    creates the replacement: the rollback's polls ask Bedrock to delete it until it can, on the rehearsal's clock.
    One that Bedrock creates only after the provider's total timeout less two intervals is left, logged, and the
    rollback completes rather than fail."""
    lines: list[str] = []
    timings = Timings(job_minutes=30)
    with cloud(lines, timings=timings) as local:
        (deployed,) = local.deploy(assemblies["hourly"]).values()
        assert deployed.succeeded, deployed.reason
        (first,) = [throughput["provisionedModelArn"] for throughput in local.bedrock.throughputs()]
        timings.throughput_minutes = throughput_minutes  # the replacement's (read as the rehearsal goes)

        (outcome,) = local.deploy(assemblies["hourly-more-units-failing"]).values()

        assert (outcome.succeeded, outcome.status) == (False, "UPDATE_ROLLBACK_COMPLETE")
        assert any("UPDATE_FAILED" in line and "Resource update cancelled" in line for line in lines)
        throughputs = {t["provisionedModelArn"]: t["modelUnits"] for t in local.bedrock.throughputs()}
        assert throughputs.pop(first) == 1
        assert list(throughputs.values()) == ([2] if left else [])
