"""A resource that an earlier deploy retained stays when a later one, which adds it back, rolls back: rehearsed with
the real handler, on the simulated clock that both Bedrock's creation times and CloudFormation's events keep.

With RETAIN_ON_UPDATE_OR_DELETE a model removed from the app is retained: CloudFormation forgets its job, which keeps
the tags naming this stack, the construct and its configuration. Added back, and the deployment failing while Lambda
still holds the job's Create (throttled: the handler has not run), the rollback deletes an id CloudFormation made up
for it. The handler looks for what that Create made by name and tags, and finds the retained job; made before the
failed update began, it is not that Create's, and its model stays."""

from __future__ import annotations

import pytest

from .rehearsal_support import cloud
from .test_late_requests import QUICK, FirstRequestRetried

pytestmark = pytest.mark.slow

# Lambda holds the first Create of Model0's job for ten minutes: the deployment fails two minutes in.
HELD = 600.0


def test_a_rollback_leaves_the_model_an_earlier_deploy_retained(assemblies):
    lines: list[str] = []
    throttled = FirstRequestRetried("Create", (HELD,), throttled=True)
    throttled.armed = False  # the first deploy's Create runs at once
    with cloud(lines, timings=QUICK, late_retries=throttled) as local:
        (deployed,) = local.deploy(assemblies["polling-retain-on"]).values()
        assert deployed.succeeded, deployed.reason
        (model,) = local.bedrock.models()
        (removed,) = local.deploy(assemblies["polling-retain-removed"]).values()
        assert removed.succeeded, removed.reason
        assert local.bedrock.models() == [model]  # retained

        throttled.armed = True
        (outcome,) = local.deploy(assemblies["polling-retain-on-failing"]).values()
        local.clock.sleep(HELD + 60)  # the throttled Create is delivered, late, and makes nothing

        assert (outcome.succeeded, outcome.status) == (False, "UPDATE_ROLLBACK_COMPLETE")
        assert any("Lambda throttles" in line for line in lines)
        assert any("DELETE_COMPLETE" in line and "Model0" in line for line in lines)  # the made-up id's Delete
        assert local.bedrock.models() == [model]
        (job,) = local.bedrock.jobs()
        assert job["status"] == "Completed"
        assert len(local.bedrock.calls_to("CreateModelCustomizationJob")) == 1
