"""Local deployments of synthesized apps: the real Provider framework runtime, our handlers, wait conditions
and the notifier, against the in-process Bedrock stand-in (cdk_bedrock_customization.rehearsal)."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

import boto3
import pytest
from bedrock_custom_resource import index
from cdk_bedrock_customization.rehearsal.__main__ import (
    EXAMPLE_EVALUATION_SCORES,
    EXAMPLE_TEMPLATE,
    EXAMPLE_TEMPLATE_PARAMETERS,
    TEMPLATE_JOB_MINUTES,
    rehearse,
    report,
)
from cdk_bedrock_customization.rehearsal.bedrock_world import BedrockWorld, Timings
from cdk_bedrock_customization.rehearsal.cloud import REGION, LocalCloud
from cdk_bedrock_customization.rehearsal.engine import Deployed, LocalStack, Outcome

from .rehearsal_support import (
    REPO,
    assert_retried_creates_found_their_jobs,
    assert_the_failing_job_fails_the_deploy,
    cloud,
    crhelper_leftovers,
)

pytestmark = pytest.mark.slow


EXAMPLE_STACK = "BedrockCustomizationExample"
TEMPLATE_STACK = "fine-tuning-job"


def of_stack(items: list[dict[str, Any]], name_key: str, stack: str = EXAMPLE_STACK) -> list[dict[str, Any]]:
    """The items one stack made: their generated names start with the stack's name."""
    return [item for item in items if str(item[name_key]).startswith(f"{stack}-")]


def by_name(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in of_stack(items, key)}


# --- the example's evaluation gate ---------------------------------------------------------------------------

EVALUATION_JOB = "Custom::BedrockModelEvaluationJob"
THROUGHPUT = "Custom::BedrockProvisionedModelThroughput"
BASELINE_MODEL = "amazon.nova-micro-v1:0"
# The evaluated model's Correctness, as the rehearse command scores it for the example app (its gate passes).
CORRECTNESS = EXAMPLE_EVALUATION_SCORES[None]["Builtin.Correctness"]
# A gate that fails: the evaluated model's Correctness under the example's 0.7 (--evaluation-score).
LOW_SCORES = {**EXAMPLE_EVALUATION_SCORES, None: {**EXAMPLE_EVALUATION_SCORES[None], "Builtin.Correctness": 0.4}}


def example_resource(local: LocalCloud, resource_type: str, prefix: str) -> Deployed:
    """The example stack's one resource of that type whose logical id starts with prefix."""
    (found,) = [
        deployed
        for deployed in local.stacks[EXAMPLE_STACK].resources.of_type(resource_type)
        if deployed.logical_id.startswith(prefix)
    ]
    return found


def evaluation_job_resources(local: LocalCloud) -> tuple[Deployed, Deployed]:
    """The example stack's evaluation job resources: the support assistant's, and the base model's."""
    (candidate,), (baseline,) = (
        [
            deployed
            for deployed in local.stacks[EXAMPLE_STACK].resources.of_type(EVALUATION_JOB)
            if ("Baseline" in deployed.logical_id) is of_baseline
        ]
        for of_baseline in (False, True)
    )
    return candidate, baseline


def evaluation_jobs_of(local: LocalCloud) -> dict[str, dict[str, Any]]:
    """The evaluation jobs, by ARN."""
    return {job["jobArn"]: job for job in local.bedrock.evaluation_jobs()}


def evaluated_model(job: Mapping[str, Any]) -> str:
    return str(job["inferenceConfig"]["models"][0]["bedrockModel"]["modelIdentifier"])


def assert_the_gate_passed(local: LocalCloud, created: Outcome, lines: list[str]) -> None:
    """The example stack's create: the support assistant's evaluation throughput and the base model evaluated on
    the published dataset, both jobs Completed with their results in the TrainingData bucket, the gate passed
    with the evaluated model's score, and the committed production throughput made behind it."""
    evaluated = example_resource(local, THROUGHPUT, "SupportAssistantEvaluationThroughput")
    production = example_resource(local, THROUGHPUT, "SupportAssistantProductionThroughput")
    candidate, baseline = evaluation_job_resources(local)
    jobs = evaluation_jobs_of(local)
    assert sorted(jobs) == sorted([candidate.physical_id, baseline.physical_id])
    assert {job["status"] for job in jobs.values()} == {"Completed"}
    assert evaluated_model(jobs[candidate.physical_id]) == evaluated.physical_id
    assert evaluated_model(jobs[baseline.physical_id]) == BASELINE_MODEL
    assert candidate.properties["evaluatedModelArn"] == created.outputs["SupportAssistantModelArn"]
    assert created.outputs["SupportAssistantCorrectness"] == str(CORRECTNESS)
    assert any("CREATE_COMPLETE" in line and "SupportEvaluationGate" in line for line in lines)
    assert any("] Bedrock: evaluation job " in line and line.endswith(" is Completed") for line in lines)
    throughputs = {item["provisionedModelArn"]: item for item in local.bedrock.throughputs()}
    assert created.outputs["SupportAssistantProductionArn"] == production.physical_id
    assert throughputs[production.physical_id]["status"] == "InService"
    assert throughputs[production.physical_id]["commitmentDuration"] == "OneMonth"
    for throughput in (production, evaluated):
        assert throughputs[throughput.physical_id]["modelArn"] == created.outputs["SupportAssistantModelArn"]
    # The dataset is the file asset `cdk deploy` published; the results are under the output prefix.
    s3 = boto3.client("s3", region_name=REGION)
    job = jobs[candidate.physical_id]
    dataset = job["evaluationConfig"]["automated"]["datasetMetricConfigs"][0]["dataset"]["datasetLocation"]["s3Uri"]
    bucket, _, key = dataset.removeprefix("s3://").partition("/")
    assert bucket == f"cdk-hnb659fds-assets-{local.bedrock.account_id}-{REGION}"
    with local.world.lock:  # as every in-process function's calls to moto hold it
        assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] > 0
        output = example_resource(local, "AWS::S3::Bucket", "TrainingData").physical_id
        assert job["outputDataConfig"]["s3Uri"] == f"s3://{output}/support/evaluations/"
        results = s3.list_objects_v2(Bucket=output, Prefix=f"support/evaluations/{job['jobName']}/")["Contents"]
    assert any(item["Key"].endswith("_output.jsonl") for item in results)


def delete_all_but_the_committed_throughput(local: LocalCloud) -> tuple[dict[str, Outcome], Outcome]:
    """Delete every stack. The example stack's delete fails on its production throughput, whose one-month
    commitment Bedrock cannot end (its DeletionPolicy is Delete, the default), so it is deleted again retaining
    that (DeleteStack's RetainResources): the delete's outcomes, and the retry's."""
    delete = local.delete()
    failed = delete[EXAMPLE_STACK]
    assert (failed.succeeded, failed.status) == (False, "DELETE_FAILED")
    (production,) = failed.delete_failed
    assert production.startswith("SupportAssistantProductionThroughput")
    assert "commitment that ends at" in failed.reason and "--retain-resources" in failed.reason
    assert all(outcome.succeeded for name, outcome in delete.items() if name != EXAMPLE_STACK), delete
    (retried,) = local.delete([EXAMPLE_STACK], {EXAMPLE_STACK: [production]}).values()
    assert retried.succeeded, retried.reason
    assert production in retried.retained
    return delete, retried


def assert_nothing_runs_but_the_committed_throughput(local: LocalCloud, production_arn: str) -> None:
    assert not [job for job in local.bedrock.evaluation_jobs() if job["status"] in ("InProgress", "Stopping")]
    assert [(t["provisionedModelArn"], t["status"]) for t in local.bedrock.throughputs()] == [
        (production_arn, "InService")
    ]
    assert local.bedrock.deployments() == []


def test_the_example_app_is_created_updated_and_deleted(assemblies, capsys):
    lines: list[str] = []
    # The plain template's job ends within the hour its (single-function) provider waits, as the CLI has it; the
    # evaluated model scores so that the gate passes, as the CLI scores it.
    timings = Timings(
        job_minutes_for={f"{TEMPLATE_STACK}-": TEMPLATE_JOB_MINUTES}, evaluation_scores=EXAMPLE_EVALUATION_SCORES
    )
    with cloud(lines, timings=timings) as local:
        create = local.deploy(assemblies["example"])
        created, from_file = create["BedrockCustomizationExample"], create["BedrockModelsFromFile"]
        assert created.succeeded, created.reason
        assert from_file.succeeded, from_file.reason
        provider = create["BedrockCustomizationProvider"]
        assert provider.succeeded, provider.reason
        assert local.stacks["BedrockCustomizationProvider"].exports() == {
            "BedrockCustomizationProvider-ServiceToken": provider.outputs["ServiceToken"]
        }
        assert_the_gate_passed(local, created, lines)
        report("create", create, local)
        printed = capsys.readouterr().out
        assert f"output SupportAssistantModelArn = {created.outputs['SupportAssistantModelArn']}" in printed
        assert f"output SupportAssistantCorrectness = {CORRECTNESS}" in printed
        assert "  evaluation jobs: bedrockcustomizationexample-supportevaluation" in printed
        assert "  provisioned throughput: BedrockCustomizationExample-SupportAssistant" in printed
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
        evaluations = evaluation_jobs_of(local)
        for arn in [*jobs_arns(jobs), *models, deployment["customModelDeploymentArn"], imported["modelArn"]]:
            assert local.bedrock.tags(arn)["team"] == "ml-platform"
        for arn in evaluations:
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
        # Neither an import nor a copy is a customization job, nor an open-weight model a custom model: the report
        # lists them on lines of their own (it left them out, an outside review found).
        (weights_model,) = local.bedrock.import_job_models()
        assert f"  import jobs: {weights_job['jobName']} Completed\n" in printed
        assert f"  imported models: {weights_model['modelName']}\n" in printed
        assert f"  copy jobs: {copy_job['targetModelName']} Completed\n" in printed

        # One more epoch replaces the fine-tuned model's job; the team tag changes in place everywhere.
        evaluation_throughput = example_resource(local, THROUGHPUT, "SupportAssistantEvaluationThroughput")
        production = example_resource(local, THROUGHPUT, "SupportAssistantProductionThroughput")
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
        # Both throughputs serve the new model, updated in place; the evaluation throughput's new model is evaluated
        # by a new job (its configuration names the served model), the base model's job is kept, and the gate
        # passes again before the production throughput moves to the new model.
        for throughput in (evaluation_throughput, production):
            assert throughput.logical_id in updated.updated_in_place
        throughputs = {t["provisionedModelArn"]: t for t in local.bedrock.throughputs()}
        assert sorted(throughputs) == sorted([evaluation_throughput.physical_id, production.physical_id])
        assert {t["modelArn"] for t in throughputs.values()} == {new_model}
        assert updated.outputs["SupportAssistantProductionArn"] == production.physical_id
        candidate, baseline = evaluation_job_resources(local)
        assert candidate.logical_id in updated.replaced
        assert candidate.properties["evaluatedModelArn"] == new_model
        (new_evaluation,) = [job for arn, job in evaluation_jobs_of(local).items() if arn not in evaluations]
        assert new_evaluation["jobArn"] == candidate.physical_id and new_evaluation["status"] == "Completed"
        assert evaluated_model(new_evaluation) == evaluation_throughput.physical_id
        assert baseline.physical_id in evaluations and baseline.logical_id in updated.updated_in_place
        assert local.bedrock.tags(new_evaluation["jobArn"])["team"] == "ml-platform-v2"
        assert updated.outputs["SupportAssistantCorrectness"] == str(CORRECTNESS)
        assert [arn for arn, job in evaluation_jobs_of(local).items() if job["status"] != "Completed"] == []

        # The plain template, through the provider stack's exported ServiceToken, as `make deploy-local` does.
        template = local.deploy_template(REPO / EXAMPLE_TEMPLATE, TEMPLATE_STACK, EXAMPLE_TEMPLATE_PARAMETERS)
        assert template.succeeded, template.reason
        report(f"template {EXAMPLE_TEMPLATE}", {TEMPLATE_STACK: template}, local)
        printed = capsys.readouterr().out
        (template_model,) = of_stack(local.bedrock.models(), "modelName", TEMPLATE_STACK)
        assert f"output outputModelArn = {template_model['modelArn']}" in printed
        assert crhelper_leftovers(local) == []

        delete, retried = delete_all_but_the_committed_throughput(local)
        assert list(delete)[:2] == [TEMPLATE_STACK, "BedrockCustomizationProvider"]  # the importer first
        assert delete[TEMPLATE_STACK].retained == ["SupportAssistant"]  # its DeletionPolicy
        report("delete", delete, local)
        report("delete again", {EXAMPLE_STACK: retried}, local)
        printed = capsys.readouterr().out
        assert "  retained: DistilledRouter" in printed and "deployments: none" in printed
        production_name = throughputs[production.physical_id]["provisionedModelName"]
        assert f"  provisioned throughput: {production_name} InService\n" in printed
        assert local.bedrock.deployments() == []  # of both stacks
        assert_nothing_runs_but_the_committed_throughput(local, production.physical_id)
        assert evaluation_throughput.logical_id in retried.deleted  # billed by the hour: deleted with the stack
        # What the example stack's two deletes deleted and retained.
        deleted_ids = delete[EXAMPLE_STACK].deleted + retried.deleted
        retained_ids = delete[EXAMPLE_STACK].retained + retried.retained
        assert {job["status"] for job in local.bedrock.jobs()} == {"Completed"}
        assert len(of_stack(local.bedrock.models(), "modelName")) == 3  # trained models are retained
        assert len(local.bedrock.imported_models()) == 1
        assert any(logical_id.startswith("SupportAssistantOnDemand") for logical_id in deleted_ids)
        assert any(logical_id.startswith("ImportedNova") for logical_id in retained_ids)
        # Copies and imported open-weight models are retained, like every model (RemovalPolicy.RETAIN).
        serving_delete = delete["BedrockCustomizationExampleServing"]
        assert any(logical_id.startswith("DistilledRouterCopy") for logical_id in serving_delete.retained)
        # The serving Region's stack, which imports from the training stack, is deleted first.
        assert list(delete).index("BedrockCustomizationExampleServing") < list(delete).index(
            "BedrockCustomizationExample"
        )
        assert any(logical_id.startswith("OpenWeightsLlama") for logical_id in retained_ids)
        assert len(local.bedrock.import_job_models()) == 1


def jobs_arns(jobs: Mapping[str, dict[str, Any]]) -> list[str]:
    return [job["jobArn"] for job in jobs.values()]


def test_the_rehearse_command_reports_evaluation_jobs_throughput_and_what_its_delete_leaves(assemblies, capsys):
    """The command's report of a create and the delete that follows: the evaluation jobs and the provisioned
    throughput after each step, the delete that fails on the committed throughput, and the delete again that
    retains it."""
    local = LocalCloud(Timings(evaluation_scores=EXAMPLE_EVALUATION_SCORES), write=lambda _line: None)

    assert rehearse([("create", assemblies["example"])], local) == 0

    printed = capsys.readouterr().out
    create, delete, again = printed.split("\n== ")[1:]
    assert create.startswith("create ==\nBedrockCustomizationExample: CREATE succeeded")
    assert f"  output SupportAssistantCorrectness = {CORRECTNESS}\n" in create
    (evaluations,) = [line for line in create.splitlines() if line.startswith("  evaluation jobs: ")]
    assert evaluations.count(" Completed") == 2 and "supportevaluationbasel" in evaluations
    (throughput,) = [line for line in create.splitlines() if line.startswith("  provisioned throughput: ")]
    assert "SupportAssistantEvalua" in throughput and "SupportAssistantProduc" in throughput
    assert throughput.count(" InService") == 2
    assert "BedrockCustomizationExample: DELETE FAILED: SupportAssistantProductionThroughput" in delete
    assert "  delete failed: SupportAssistantProductionThroughput" in delete
    assert again.startswith(
        "delete again, retaining what could not be deleted (BedrockCustomizationExample: "
        "SupportAssistantProductionThroughput"
    )
    assert "BedrockCustomizationExample: DELETE succeeded" in again
    (left,) = [line for line in again.splitlines() if line.startswith("  provisioned throughput: ")]
    assert "SupportAssistantProduc" in left and "SupportAssistantEvalua" not in left
    assert "  deployments: none" in again


def test_two_rehearsals_of_the_example_print_the_same_report_byte_for_byte(assemblies, capsys):
    """Issue 16: a rehearsal's printed report is the same on any machine and any run: the ARNs the emulated Bedrock
    makes included (a deployment's, a throughput's, a copy's, and the evaluation jobs named from them)."""
    reports = []
    for _run in range(2):
        lines: list[str] = []
        local = LocalCloud(Timings(evaluation_scores=EXAMPLE_EVALUATION_SCORES), write=lines.append)
        assert rehearse([("create", assemblies["example"])], local) == 0
        reports.append("\n".join(lines) + capsys.readouterr().out)
    assert "custom-model-deployment/" in reports[0] and "provisioned-model/" in reports[0]
    assert reports[0] == reports[1]


def test_the_example_apps_gate_fails_on_low_scores_and_the_stack_rolls_back_leaving_nothing_running(assemblies):
    """Correctness 0.4 misses the example's 0.7: the gate fails the create, naming each metric, its score and its
    threshold; the production throughput behind it is never created, and the rollback deletes the evaluation
    throughput (the jobs have completed: nothing is left to stop)."""
    lines: list[str] = []
    with cloud(lines, timings=Timings(evaluation_scores=LOW_SCORES)) as local:
        (failed,) = local.deploy(assemblies["example"], [EXAMPLE_STACK]).values()

        assert (failed.succeeded, failed.status) == (False, "ROLLBACK_COMPLETE")
        assert failed.reason.startswith("SupportEvaluationGate")
        assert "missed 1 of 2 requirement(s); nothing behind the gate is created" in failed.reason
        assert "Builtin.Correctness on support-questions: 0.4000, required >= 0.7000" in failed.reason
        assert "Builtin.Helpfulness on support-questions: 0.8300, required >= 0.7600" in failed.reason
        assert local.stacks[EXAMPLE_STACK].state == {}
        # The production throughput was never created; the evaluation throughput was, and the rollback deleted it.
        (created_throughput,) = local.bedrock.calls_to("CreateProvisionedModelThroughput")
        assert "SupportAssistantEvalua" in created_throughput["provisionedModelName"]
        assert not any("SupportAssistantProductionThroughput" in line for line in lines)
        assert not any(lid.startswith("SupportAssistantProductionThroughput") for lid in failed.created)
        assert any(lid.startswith("SupportAssistantEvaluationThroughput") for lid in failed.deleted)
        assert local.bedrock.throughputs() == []
        jobs = local.bedrock.evaluation_jobs()
        assert len(jobs) == 2 and {job["status"] for job in jobs} == {"Completed"}
        assert local.bedrock.deployments() == []
        assert {job["status"] for job in local.bedrock.jobs()} == {"Completed"}


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


def test_removing_every_model_deletes_them_through_the_provider_the_update_removes(assemblies):
    """CloudFormation deletes what an update removed in its clean-up, a custom resource before the functions its
    ServiceToken names, and Lambda runs the code a function was created with: the new cloud assembly no longer has
    the provider's code, which still deletes the models."""
    lines: list[str] = []
    with cloud(lines, timings=Timings(job_minutes=30)) as local:
        (created,) = local.deploy(assemblies["polling"]).values()
        assert created.succeeded, created.reason
        assert len(local.bedrock.models()) == 1
        (removed,) = local.deploy(assemblies["polling-removed"]).values()
        assert (removed.succeeded, removed.delete_failed) == (True, []), lines
        assert local.bedrock.models() == []
        assert not any("Cannot find module" in line for line in lines)


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


PROGRESS_BAR = re.compile(r"Model0\w* waiting for its job \[([#.]{20})\] (\d+)h(\d\d)m of up to 12h00m")


def test_a_long_wait_for_a_job_shows_a_progress_bar(assemblies):
    """Issue 5: a progress bar for long waits. The wait condition's Timeout is 12 hours (43200 s in the template);
    a job of two hours is a sixth of it: each bar's filled part is its share of the 20 marks, rounded down."""
    lines: list[str] = []
    with cloud(lines, timings=Timings(job_minutes=120)) as local:
        (waited,) = local.deploy(assemblies["event-driven"]).values()
        assert waited.succeeded, waited.reason
    bars = [(match[1], int(match[2]) * 60 + int(match[3])) for line in lines if (match := PROGRESS_BAR.search(line))]
    assert len(bars) >= 4, lines
    minutes = [elapsed for _bar, elapsed in bars]
    assert minutes == sorted(set(minutes)) and minutes[0] > 0 and minutes[-1] <= 120
    for bar, elapsed in bars:
        assert bar == "#" * (20 * elapsed // 720) + "." * (20 - 20 * elapsed // 720)


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


def test_a_stack_of_more_resources_than_a_page_lists_deploys_and_deletes(assemblies):
    """25 default models, 5 resources each: ListStackResources answers the stack's resources in pages of 100, as
    CloudFormation does, and the notifier finds the waits on every page (else a wait times out after 12 hours)."""
    with cloud([], job_quota=2) as local:
        (outcome,) = local.deploy(assemblies["twenty-five"]).values()
        assert outcome.succeeded, outcome.reason
        assert [job["status"] for job in local.bedrock.jobs()] == ["Completed"] * 25
        stack = local.stacks["RehearsalUnderTest"]
        client = index.cloudformation_client()
        first = client.list_stack_resources(StackName=stack.env.stack_id)
        assert len(first["StackResourceSummaries"]) == 100 and "NextToken" in first
        waits = [
            summary["ResourceStatus"]
            for page in client.get_paginator("list_stack_resources").paginate(StackName=stack.env.stack_id)
            for summary in page["StackResourceSummaries"]
            if summary["ResourceType"] == "AWS::CloudFormation::WaitCondition"
        ]
        assert waits == ["CREATE_COMPLETE"] * 25
        assert len(stack.outputs()) == 25
        (deleted,) = local.delete().values()
        assert deleted.succeeded, deleted.reason


def test_queued_jobs_signal_their_waits_within_the_life_of_a_handles_url(assemblies):
    """Five 10-hour jobs, two at a time: the last starts about 20 hours into the deployment and ends about 30
    hours in. A handle's URL lasts 24 hours from the handle's creation (the rehearsal refuses a later signal, as
    S3 does): each handle is made with its job, not when the deployment starts."""
    with cloud([], job_quota=2, timings=Timings(job_minutes=600)) as local:
        (outcome,) = local.deploy(assemblies["five"]).values()
        assert outcome.succeeded, outcome.reason
        assert [job["status"] for job in local.bedrock.jobs()] == ["Completed"] * 5


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


def test_a_changed_wait_timeout_makes_another_wait_condition_and_the_update_succeeds(assemblies):
    """CloudFormation cannot update a wait condition (its Timeout included): a model whose timeout changes gets a
    new wait condition and handle, signalled at once because its job has ended; the job itself is untouched."""
    lines: list[str] = []
    with cloud(lines) as local:
        (created,) = local.deploy(assemblies["event-driven-6-hours"]).values()
        assert created.succeeded, created.reason
        first_waits = {lid for lid in local.stacks["RehearsalUnderTest"].state if "WaitingForJob" in lid}

        (updated,) = local.deploy(assemblies["event-driven"]).values()

        assert updated.succeeded, updated.reason
        waits = {lid for lid in local.stacks["RehearsalUnderTest"].state if "WaitingForJob" in lid}
        assert len(waits) == 1 and waits.isdisjoint(first_waits)
        assert first_waits <= set(updated.deleted)
        assert len(local.bedrock.jobs()) == 1  # trained once
        assert not any("UPDATE_FAILED" in line for line in lines)
