"""Local deployments of synthesized apps: the real Provider framework runtime, our handlers, wait conditions
and the notifier, against the in-process Bedrock stand-in (cdk_bedrock_customization.rehearsal)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pytest
from cdk_bedrock_customization.rehearsal.__main__ import (
    EXAMPLE_TEMPLATE,
    EXAMPLE_TEMPLATE_PARAMETERS,
    TEMPLATE_JOB_MINUTES,
    report,
)
from cdk_bedrock_customization.rehearsal.bedrock_world import BedrockWorld, Timings
from cdk_bedrock_customization.rehearsal.cloud import LocalCloud
from cdk_bedrock_customization.rehearsal.engine import LocalStack

from .rehearsal_support import (
    REPO,
    assert_retried_creates_found_their_jobs,
    assert_the_failing_job_fails_the_deploy,
    crhelper_leftovers,
)

pytestmark = pytest.mark.slow


def cloud(lines: list[str], **settings: Any) -> LocalCloud:
    return LocalCloud(write=lines.append, **settings)


EXAMPLE_STACK = "BedrockCustomizationExample"
TEMPLATE_STACK = "fine-tuning-job"


def of_stack(items: list[dict[str, Any]], name_key: str, stack: str = EXAMPLE_STACK) -> list[dict[str, Any]]:
    """The items one stack made: their generated names start with the stack's name."""
    return [item for item in items if str(item[name_key]).startswith(f"{stack}-")]


def by_name(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in of_stack(items, key)}


def test_the_example_app_is_created_updated_and_deleted(assemblies, capsys):
    lines: list[str] = []
    # The plain template's job ends within the hour its (single-function) provider waits, as the CLI has it.
    with cloud(lines, timings=Timings(job_minutes_for={f"{TEMPLATE_STACK}-": TEMPLATE_JOB_MINUTES})) as local:
        create = local.deploy(assemblies["example"])
        created, from_file = create["BedrockCustomizationExample"], create["BedrockModelsFromFile"]
        assert created.succeeded, created.reason
        assert from_file.succeeded, from_file.reason
        provider = create["BedrockCustomizationProvider"]
        assert provider.succeeded, provider.reason
        assert local.stacks["BedrockCustomizationProvider"].exports() == {
            "BedrockCustomizationProvider-ServiceToken": provider.outputs["ServiceToken"]
        }
        report("create", create, local)
        printed = capsys.readouterr().out
        assert f"output SupportAssistantModelArn = {created.outputs['SupportAssistantModelArn']}" in printed
        # The models file's stack: its fine-tuned model's local dataset shipped, its deployment serving it.
        (file_deployment,) = of_stack(local.bedrock.deployments(), "modelDeploymentName", "BedrockModelsFromFile")
        assert file_deployment["modelArn"] == from_file.outputs["SupportAssistantModelArn"]
        jobs = by_name(local.bedrock.jobs(), "jobName")
        assert len(jobs) == 2 and all(job["status"] == "Completed" for job in jobs.values())
        models = {model["modelArn"]: model for model in of_stack(local.bedrock.models(), "modelName")}
        assert created.outputs["SupportAssistantModelArn"] in models
        assert created.outputs["DistilledRouterModelArn"] in models
        (deployment,) = of_stack(local.bedrock.deployments(), "modelDeploymentName")
        assert deployment["modelArn"] == created.outputs["SupportAssistantModelArn"]
        assert created.outputs["SupportAssistantDeploymentArn"] == deployment["customModelDeploymentArn"]
        (imported,) = local.bedrock.imported_models()
        assert created.outputs["ImportedNovaModelArn"] == imported["modelArn"]
        for arn in [*jobs_arns(jobs), *models, deployment["customModelDeploymentArn"], imported["modelArn"]]:
            assert local.bedrock.tags(arn)["team"] == "ml-platform"
        assert any("WaitingForJob" in line and "CREATE_IN_PROGRESS" in line for line in lines)
        assert any("training InProgress" in line for line in lines)
        # The open-weight import, awaited by a wait condition that the notifier's check settles.
        (weights_job,) = local.bedrock.import_jobs()
        assert weights_job["status"] == "Completed"
        assert created.outputs["OpenWeightsLlamaModelArn"] == weights_job["importedModelArn"]
        assert any("OpenWeightsLlamaWaitingForJob" in line and "CREATE_COMPLETE" in line for line in lines)
        # The distilled router, copied into the serving Region's stack (a cross-Region reference) and served there.
        serving = create["BedrockCustomizationExampleServing"]
        assert serving.succeeded, serving.reason
        (copy_job,) = local.bedrock.copy_jobs()
        assert copy_job["sourceModelArn"] == created.outputs["DistilledRouterModelArn"]
        assert serving.outputs["DistilledRouterCopyArn"] == copy_job["targetModelArn"]
        (serving_deployment,) = of_stack(
            local.bedrock.deployments(), "modelDeploymentName", "BedrockCustomizationExampleServing"
        )
        assert serving_deployment["modelArn"] == copy_job["targetModelArn"]

        # One more epoch replaces the fine-tuned model's job; the team tag changes in place everywhere.
        update = local.deploy(assemblies["example-updated"])
        updated = update["BedrockCustomizationExample"]
        assert all(outcome.succeeded for outcome in update.values()), updated.reason
        report("update", update, local)
        printed = capsys.readouterr().out
        assert "  replaced: SupportAssistant" in printed and "  retained: SupportAssistant" in printed
        assert any(logical_id.startswith("SupportAssistant") for logical_id in updated.replaced)
        assert any(logical_id.startswith("DistilledRouter") for logical_id in updated.updated_in_place)
        jobs = by_name(local.bedrock.jobs(), "jobName")
        assert len(jobs) == 3  # the replaced job's record stays: Bedrock never deletes job records
        new_model = updated.outputs["SupportAssistantModelArn"]
        assert new_model != created.outputs["SupportAssistantModelArn"]
        assert local.bedrock.job(next(n for n, j in jobs.items() if j.get("outputModelArn") == new_model))
        (deployment,) = of_stack(local.bedrock.deployments(), "modelDeploymentName")
        assert deployment["customModelDeploymentArn"] == created.outputs["SupportAssistantDeploymentArn"]
        assert deployment["modelArn"] == new_model  # pointed at the new model in place
        # The distilled router is updated in place: its copy, imported by ARN, is left as it is.
        serving_update = update["BedrockCustomizationExampleServing"]
        assert serving_update.outputs == serving.outputs
        assert [job["jobArn"] for job in local.bedrock.copy_jobs()] == [copy_job["jobArn"]]
        old_model = created.outputs["SupportAssistantModelArn"]
        (old_job,) = [job["jobArn"] for job in jobs.values() if job.get("outputModelArn") == old_model]
        for arn in [*jobs_arns(jobs), new_model, deployment["customModelDeploymentArn"], imported["modelArn"]]:
            if arn != old_job:
                assert local.bedrock.tags(arn)["team"] == "ml-platform-v2", arn
        # The replaced job and its model are retained (RemovalPolicy.RETAIN, the default), with their old tags.
        assert local.bedrock.tags(old_job)["team"] == "ml-platform"
        assert local.bedrock.tags(old_model)["team"] == "ml-platform"

        # The plain template, through the provider stack's exported ServiceToken, as `make deploy-local` does.
        template = local.deploy_template(REPO / EXAMPLE_TEMPLATE, TEMPLATE_STACK, EXAMPLE_TEMPLATE_PARAMETERS)
        assert template.succeeded, template.reason
        report(f"template {EXAMPLE_TEMPLATE}", {TEMPLATE_STACK: template}, local)
        printed = capsys.readouterr().out
        (template_model,) = of_stack(local.bedrock.models(), "modelName", TEMPLATE_STACK)
        assert f"output outputModelArn = {template_model['modelArn']}" in printed
        assert crhelper_leftovers(local) == []

        delete = local.delete()
        deleted = delete["BedrockCustomizationExample"]
        assert all(outcome.succeeded for outcome in delete.values()), deleted.reason
        assert list(delete)[:2] == [TEMPLATE_STACK, "BedrockCustomizationProvider"]  # the importer first
        assert delete[TEMPLATE_STACK].retained == ["SupportAssistant"]  # its DeletionPolicy
        report("delete", delete, local)
        printed = capsys.readouterr().out
        assert "  retained: DistilledRouter" in printed and "deployments: none" in printed
        assert local.bedrock.deployments() == []  # of both stacks
        assert {job["status"] for job in local.bedrock.jobs()} == {"Completed"}
        assert len(of_stack(local.bedrock.models(), "modelName")) == 3  # trained models are retained
        assert len(local.bedrock.imported_models()) == 1
        assert any(logical_id.startswith("SupportAssistantOnDemand") for logical_id in deleted.deleted)
        assert any(logical_id.startswith("ImportedNova") for logical_id in deleted.retained)
        # Copies and imported open-weight models are retained, like every model (RemovalPolicy.RETAIN).
        serving_delete = delete["BedrockCustomizationExampleServing"]
        assert any(logical_id.startswith("DistilledRouterCopy") for logical_id in serving_delete.retained)
        # The serving Region's stack, which imports from the training stack, is deleted first.
        assert list(delete).index("BedrockCustomizationExampleServing") < list(delete).index(
            "BedrockCustomizationExample"
        )
        assert any(logical_id.startswith("OpenWeightsLlama") for logical_id in deleted.retained)
        assert len(local.bedrock.import_job_models()) == 1


def jobs_arns(jobs: Mapping[str, dict[str, Any]]) -> list[str]:
    return [job["jobArn"] for job in jobs.values()]


def test_a_failed_job_rolls_the_stack_back_and_leaves_nothing_running(assemblies):
    lines: list[str] = []
    timings = Timings(job_minutes=120, job_minutes_for={"Model1": 30}, failing_jobs=("Model1",))
    with cloud(lines, timings=timings) as local:
        assert_the_failing_job_fails_the_deploy(local, assemblies["two-destroyable"])
        statuses = {
            next(model for model in ("Model0", "Model1") if model in job["jobName"]): job["status"]
            for job in local.bedrock.jobs()
        }
        assert statuses == {"Model0": "Stopped", "Model1": "Failed"}
        assert local.bedrock.models() == []
        assert any("ROLLBACK_COMPLETE" in line for line in lines)


def test_a_job_longer_than_an_hour_fails_when_polled_and_deploys_when_event_driven(assemblies, capsys):
    # Six hours: far beyond the hour that polling waits, whatever the real time each poll takes here.
    timings = Timings(job_minutes=360)
    with cloud([], timings=timings) as local:
        (polled,) = local.deploy(assemblies["polling"]).values()
        assert not polled.succeeded
        assert "Operation timed out" in polled.reason
        assert [job["status"] for job in local.bedrock.jobs()] == ["Stopped"]  # the rollback stopped it
        report("create", {"RehearsalUnderTest": polled}, local)
        assert "stopped jobs: RehearsalUnderTest-Model0" in capsys.readouterr().out
    with cloud([], timings=timings) as local:
        (waited,) = local.deploy(assemblies["event-driven"]).values()
        assert waited.succeeded, waited.reason
        assert [job["status"] for job in local.bedrock.jobs()] == ["Completed"]
        assert waited.outputs["Model0Arn"] == local.bedrock.models()[0]["modelArn"]


def test_a_stalled_machine_changes_nothing_in_a_rehearsal(assemblies, monkeypatch):
    """The outcome and every printed line, simulated timestamp included, are the same when every in-process
    function and every move of Bedrock is held up in real time, as threads are on a loaded machine. (Lines
    printed at the same simulated second by actors running at once may come in either order: compared sorted.)"""

    def rehearse() -> tuple[list[tuple[str, bool, str, str, float]], list[str]]:
        lines: list[str] = []
        outcomes = []
        with cloud(lines, timings=Timings(job_minutes=360)) as local:
            for operation in (lambda: local.deploy(assemblies["polling"]), local.delete):
                (outcome,) = operation().values()
                outcomes.append(
                    (outcome.operation, outcome.succeeded, outcome.reason, outcome.status, local.clock.now())
                )
        return outcomes, sorted(lines)

    quick = rehearse()
    assert quick[0][0][1:3] == (False, "Model022E53DAE: Operation timed out")

    def stalled(original: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            time.sleep(0.02)
            return original(*args, **kwargs)

        return run

    monkeypatch.setattr(LocalStack, "_invoke_python", stalled(LocalStack._invoke_python))
    monkeypatch.setattr(BedrockWorld, "tick", stalled(BedrockWorld.tick))
    assert rehearse() == quick


def test_a_retried_on_event_starts_one_job(assemblies):
    def retry_job_creates(function_arn: str, payload: Mapping[str, Any]) -> bool:
        return (
            payload.get("ResourceType") == "Custom::BedrockModelCustomizationJob"
            and payload.get("RequestType") == "Create"
        )

    with cloud([], retry_first_user_invocation=retry_job_creates) as local:
        (outcome,) = local.deploy(assemblies["event-driven"]).values()
        assert outcome.succeeded, outcome.reason
        # The retried Create found the job by its name, and created nothing.
        assert_retried_creates_found_their_jobs(local, jobs=1)


def test_five_models_deploy_within_a_quota_of_two_concurrent_jobs(assemblies, capsys):
    lines: list[str] = []
    with cloud(lines, job_quota=2) as local:
        deployment = local.deploy(assemblies["five"])
        (outcome,) = deployment.values()
        assert outcome.succeeded, outcome.reason
        assert [job["status"] for job in local.bedrock.jobs()] == ["Completed"] * 5
        assert local.bedrock.peak_concurrent_jobs == 2
        report("create", deployment, local)
        assert "peak concurrent jobs: 2" in capsys.readouterr().out
        assert not any("ServiceQuotaExceeded" in line for line in lines)


def test_models_deploy_through_the_provider_of_another_stack(assemblies):
    """The provider stack deploys first; the models' stack holds their grants (a policy on the provider's handler
    role, which its jobs wait for) and orders its own jobs; the delete removes the models' stack first."""
    with cloud([], job_quota=2) as local:
        deployment = local.deploy(assemblies["provider-of-another-stack"])
        assert list(deployment) == ["RehearsalProviders", "RehearsalUnderTest"]
        assert all(outcome.succeeded for outcome in deployment.values()), deployment
        assert [job["status"] for job in local.bedrock.jobs()] == ["Completed"] * 3
        assert local.bedrock.peak_concurrent_jobs == 2
        models = local.stacks["RehearsalUnderTest"].outputs()
        assert sorted(models) == ["Model0Arn", "Model1Arn", "Model2Arn"]
        deleted = local.delete()
        assert list(deleted) == ["RehearsalUnderTest", "RehearsalProviders"]
        assert all(outcome.succeeded for outcome in deleted.values()), deleted
