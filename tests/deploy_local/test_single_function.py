"""Local deployments on the single-function provider (crhelper): the function is the ServiceToken, polls
through EventBridge rules that it makes in moto and the rehearsal plays, and answers on a local HTTPS
ResponseURL. Plain CloudFormation templates use it through the provider stack's exported ServiceToken."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from bedrock_custom_resource.environment import INTERVAL_VARIABLE, RULE_PREFIX_VARIABLE, TOTAL_TIMEOUT_VARIABLE
from cdk_bedrock_customization.rehearsal.__main__ import EXAMPLE_TEMPLATE, EXAMPLE_TEMPLATE_PARAMETERS, report
from cdk_bedrock_customization.rehearsal.bedrock_world import Timings
from cdk_bedrock_customization.rehearsal.cloud import REGION, LocalCloud
from cdk_bedrock_customization.rehearsal.lambda_environment import invocation_environment
from cdk_bedrock_customization.rehearsal.single_function import Function, SingleFunctionRuntime, rate_seconds
from cdk_bedrock_customization.rehearsal.template import TemplateError

from .rehearsal_support import (
    REPO,
    assert_retried_creates_found_their_jobs,
    assert_the_failing_job_fails_the_deploy,
    crhelper_leftovers,
)

pytestmark = pytest.mark.slow

STACK = "RehearsalUnderTest"
PROVIDER_STACK = "BedrockCustomizationProvider"
SERVICE_TOKEN_EXPORT = f"{PROVIDER_STACK}-ServiceToken"
# Jobs end well within the hour of the provider's deadline (on the virtual clock).
JOB_MINUTES = 15


class Invocations:
    """Every invocation of a function, as LocalCloud's retry hook sees them; retries the chosen ones."""

    def __init__(self, retried: str | None = None) -> None:
        self.payloads: list[Mapping[str, Any]] = []
        self.retried = retried

    def __call__(self, _function_arn: str, payload: Mapping[str, Any]) -> bool:
        self.payloads.append(payload)
        return payload.get("RequestType") == self.retried and "CrHelperPoll" not in payload

    def polls(self, request_type: str) -> int:
        return sum(1 for p in self.payloads if p.get("RequestType") == request_type and p.get("CrHelperPoll"))


def cloud(lines: list[str], invocations: Invocations | None = None, **settings: Any) -> LocalCloud:
    return LocalCloud(
        write=lines.append,
        retry_first_user_invocation=invocations or Invocations(),
        **settings,
    )


def model_of(job_name: str) -> str:
    return next(model for model in ("Model0", "Model1") if model in job_name)


def statuses(local: LocalCloud) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for job in local.bedrock.jobs():
        found.setdefault(model_of(job["jobName"]), []).append(job["status"])
    return found


@pytest.fixture
def log_levels() -> Iterator[dict[str, int]]:
    """The levels of the loggers crhelper sets on each invocation (its log_helper.setup), set here to others, and
    restored afterwards."""
    names = ("", "boto", "boto3", "botocore", "urllib3")
    before = {name: logging.getLogger(name).level for name in names}
    chosen = {name: logging.WARNING if name == "" else logging.NOTSET for name in names}
    for name, level in chosen.items():
        logging.getLogger(name).setLevel(level)
    yield chosen
    for name, level in before.items():
        logging.getLogger(name).setLevel(level)


def test_an_app_on_the_single_function_is_created_updated_and_deleted(assemblies, capsys, log_levels):
    lines: list[str] = []
    invocations = Invocations()
    with cloud(lines, invocations, timings=Timings(job_minutes=JOB_MINUTES)) as local:
        (created,) = local.deploy(assemblies["single-function"]).values()
        assert created.succeeded, created.reason
        # Issue 16: no process-wide state changes per invocation (crhelper sets the root and boto loggers' levels).
        assert {name: logging.getLogger(name).level for name in log_levels} == log_levels
        assert statuses(local) == {"Model0": ["Completed"], "Model1": ["Completed"]}
        models = {model["modelArn"] for model in local.bedrock.models()}
        assert {created.outputs["Model0Arn"], created.outputs["Model1Arn"]} == models
        report("create", {STACK: created}, local)
        assert f"output Model0Arn = {created.outputs['Model0Arn']}" in capsys.readouterr().out
        assert invocations.polls("Create") >= 2  # crhelper's rules were played, for both jobs
        assert crhelper_leftovers(local) == []

        # Another epoch replaces both jobs; the old models go (RemovalPolicy.DESTROY).
        (updated,) = local.deploy(assemblies["single-function-updated"]).values()
        assert updated.succeeded, updated.reason
        assert sorted(lid[:6] for lid in updated.replaced) == ["Model0", "Model1"]
        assert statuses(local) == {"Model0": ["Completed"] * 2, "Model1": ["Completed"] * 2}
        assert {model["modelArn"] for model in local.bedrock.models()} == {
            updated.outputs["Model0Arn"],
            updated.outputs["Model1Arn"],
        }
        assert not models & {updated.outputs["Model0Arn"], updated.outputs["Model1Arn"]}
        assert crhelper_leftovers(local) == []

        (deleted,) = local.delete().values()
        assert deleted.succeeded, deleted.reason
        assert local.bedrock.models() == []
        assert boto3.client("lambda", region_name=REGION).list_functions()["Functions"] == []
        assert crhelper_leftovers(local) == []


def test_a_failed_job_rolls_back_and_leaves_nothing_behind(assemblies):
    lines: list[str] = []
    # Model0 completes first (well within the hour), then Model1 fails: the rollback deletes Model0's model.
    timings = Timings(job_minutes=10, job_minutes_for={"Model1": 20}, failing_jobs=("Model1",))
    with cloud(lines, timings=timings) as local:
        assert_the_failing_job_fails_the_deploy(local, assemblies["single-function"])
        assert any("ROLLBACK_COMPLETE" in line for line in lines)
        assert statuses(local) == {"Model0": ["Completed"], "Model1": ["Failed"]}
        assert local.bedrock.models() == []  # the rollback deleted Model0's
        assert crhelper_leftovers(local) == []


def test_a_job_longer_than_the_total_timeout_fails_at_the_deadline_in_simulated_time(assemblies):
    invocations = Invocations()
    with cloud([], invocations, timings=Timings(job_minutes=360)) as local:
        (outcome,) = local.deploy(assemblies["single-function"]).values()
        assert not outcome.succeeded
        # The provider's reason, not CloudFormation's "did not receive a response": it stops polling in time to
        # answer within CloudFormation's hour (56 one-minute polls of a minute and a second each, and 2 minutes).
        assert "did not complete within the provider's total timeout of 56 minutes" in outcome.reason
        assert local.clock.now() > 56 * 60
        # The rollback stopped both jobs, polling their deletes until they were stopped.
        assert statuses(local) == {"Model0": ["Stopped"], "Model1": ["Stopped"]}
        assert invocations.polls("Delete") >= 2
        assert crhelper_leftovers(local) == []


def test_a_retried_create_starts_one_job_and_sets_up_one_polling_rule(assemblies):
    invocations = Invocations(retried="Create")
    with cloud([], invocations, timings=Timings(job_minutes=JOB_MINUTES)) as local:
        (outcome,) = local.deploy(assemblies["single-function"]).values()
        assert outcome.succeeded, outcome.reason
        # Each job's Create ran twice: the retry found the job by its name, and created nothing.
        assert_retried_creates_found_their_jobs(local, jobs=2)
        assert crhelper_leftovers(local) == []


def test_a_plain_template_deploys_through_the_exported_service_token(assemblies, tmp_path):
    with cloud([], timings=Timings(job_minutes=JOB_MINUTES)) as local:
        (provider,) = local.deploy(assemblies["example"], stacks=[PROVIDER_STACK]).values()
        assert provider.succeeded, provider.reason
        with pytest.raises(TemplateError, match=r"Parameters: \[DataBucketName\] must have values"):
            local.deploy_template(REPO / EXAMPLE_TEMPLATE, "fine-tuning-job")

        outcome = local.deploy_template(REPO / EXAMPLE_TEMPLATE, "fine-tuning-job", EXAMPLE_TEMPLATE_PARAMETERS)
        assert outcome.succeeded, outcome.reason
        (job,) = local.bedrock.jobs()
        (model,) = local.bedrock.models()
        assert (job["status"], outcome.outputs) == (
            "Completed",
            {"outputModelArn": model["modelArn"], "jobArn": job["jobArn"]},
        )
        # The role's path is in its ARN, as the provider's passable roles (/bedrock-customization/) want it.
        assert ":role/bedrock-customization/fine-tuning-job-ServiceRole-" in job["roleArn"]
        assert local.bedrock.tags(model["modelArn"]) == {"use-case": "support"}
        assert local.stacks["fine-tuning-job"].imports == {SERVICE_TOKEN_EXPORT}

        # The same model deleted with its stack: the Delete goes through the other stack's function too.
        destroyable = tmp_path / "destroyable.yaml"
        example = (REPO / EXAMPLE_TEMPLATE).read_text()
        destroyable.write_text(
            re.sub(
                r"(?m)^(\s*(?:DeletionPolicy|UpdateReplacePolicy|deletionPolicy)): Retain\w*$", r"\1: Delete", example
            )
        )
        second = local.deploy_template(destroyable, "destroyable", {"DataBucketName": "other-data"})
        assert second.succeeded, second.reason
        assert second.outputs["outputModelArn"] != outcome.outputs["outputModelArn"]
        assert crhelper_leftovers(local) == []

        # CloudFormation keeps a stack whose export is imported.
        (refused,) = local.delete([PROVIDER_STACK]).values()
        assert not refused.succeeded
        assert refused.reason == f"Export {SERVICE_TOKEN_EXPORT} cannot be deleted as it is in use by fine-tuning-job"

        deleted = local.delete()
        assert list(deleted) == ["destroyable", "fine-tuning-job", PROVIDER_STACK]
        assert all(result.succeeded for result in deleted.values())
        assert deleted["destroyable"].deleted == ["SupportAssistant", "ServiceRole"]
        assert deleted["fine-tuning-job"].retained == ["SupportAssistant"]
        assert [m["modelArn"] for m in local.bedrock.models()] == [outcome.outputs["outputModelArn"]]
        assert crhelper_leftovers(local) == []


def test_a_template_importing_an_export_that_does_not_exist_fails_and_rolls_back(tmp_path: Path):
    with cloud([]) as local:
        outcome = local.deploy_template(REPO / EXAMPLE_TEMPLATE, "orphan", EXAMPLE_TEMPLATE_PARAMETERS)
        assert not outcome.succeeded
        assert outcome.reason == f"SupportAssistant: No export named {SERVICE_TOKEN_EXPORT} found"
        assert outcome.deleted == ["ServiceRole"]
        assert local.bedrock.jobs() == []


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60), ("rate(2 minutes)", 120), ("rate(1 hour)", 3600), ("rate(3 days)", 259200)],
)
def test_a_polling_rules_rate_is_played_in_its_unit(expression, seconds):
    """crhelper's polling rule is "rate(N minutes)"; EventBridge fires a rate expression every value times its unit."""
    assert rate_seconds(expression) == seconds


def test_a_changed_environment_gets_a_new_execution_environment(moto_aws):
    """Lambda runs a function whose configuration changed in new execution environments: the provider, which reads
    its polling interval and total timeout from the environment when it is made, is made again."""
    runtime = SingleFunctionRuntime(REGION, ca_file="")
    function = Function("fn", f"arn:aws:lambda:{REGION}:111122223333:function:fn", "python3.12", 900, 128)

    def provider(interval: int, total: int) -> Any:
        variables = {
            INTERVAL_VARIABLE: str(interval),
            TOTAL_TIMEOUT_VARIABLE: str(total),
            RULE_PREFIX_VARIABLE: "x",
            "AWS_REGION": REGION,
        }
        with invocation_environment(variables):
            return runtime._provider(function, variables)

    first = provider(1, 3600)
    assert provider(1, 3600) is first
    second = provider(2, 7200)
    assert second is not first and second.total_timeout == 7200.0
