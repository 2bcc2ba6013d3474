"""Lambda drops a retry whose function is gone. A stack deleted and created again under its name has new functions
in AWS (CloudFormation draws new random name suffixes); the rehearsal names them alike, so the deleted stack's late
retry must not reach the new stack's function."""

from __future__ import annotations

import pytest
from cdk_bedrock_customization.rehearsal.bedrock_world import Timings

from .rehearsal_support import cloud
from .test_late_requests import STACK, FirstRequestRetried, late_retries

pytestmark = pytest.mark.slow


def test_a_retry_to_a_deleted_stacks_own_function_is_dropped(assemblies):
    lines: list[str] = []
    retried = FirstRequestRetried("Create", delays=(3600.0,))
    with cloud(lines, timings=Timings(job_minutes=1, validation_minutes=0), late_retries=retried) as local:
        (first,) = local.deploy(assemblies["polling"]).values()
        assert first.succeeded, first.reason
        assert local.delete([STACK])[STACK].succeeded
        (again,) = local.deploy(assemblies["polling"], [STACK]).values()
        assert again.succeeded, again.reason
        creates = len(local.bedrock.calls_to("CreateModelCustomizationJob"))

        local.clock.sleep(3600)

        assert late_retries(lines) == ["DELETE_COMPLETE"]
        assert any("Lambda drops the retry" in line and "the function is gone" in line for line in lines)
        assert len(local.bedrock.calls_to("CreateModelCustomizationJob")) == creates
