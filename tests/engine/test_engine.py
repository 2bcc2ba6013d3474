"""End to end on an engine nobody here wrote: the real CDK CLI deploys engine_app.py into ministack, whose Lambda
runs the library's functions against the Bedrock emulator (`cdk-bedrock-customization emulate-bedrock`).

One scenario, in steps, because each step needs the last one's stacks: bootstrap; create every stack (both provider
kinds, the provider stack and the plain template through it; a failing job and an event-driven job roll back); an
update (the jobs of the framework stack and of the single function replaced, a tag changed everywhere); destroy.
Statuses come from ministack's CloudFormation, Bedrock's state from the emulator's API.

What ministack cannot do, and so what this does not check:
- An event-driven job never completes a deployment: ministack's PutEvents refuses the emulator's state change
  events (aws.* sources, as AWS refuses them), and its ListStackResources omits resources in progress, so the
  notifier finds no wait condition to signal. The stack waits until its wait condition times out; both gaps are
  checked as such (_check_event_gap).
- It sends no Delete after a failed create, enforces no 4096-byte response limit and creates resources one at a
  time: deploy_local stays the stricter rehearsal.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cdk_bedrock_customization.rehearsal.bedrock_world import state_change_event

from tests.engine.conftest import DOOMED
from tests.engine.engine import ACCOUNT, REGION, REPOSITORY, Engine, stop, wait_for

pytestmark = pytest.mark.engine

APP = Path(__file__).with_name("engine_app.py")
TEMPLATE = REPOSITORY / "examples" / "cloudformation" / "fine-tuning-job.yaml"
SINGLE = ["EngineSingleJob", "EngineSingleImport", "EngineSingleDeployment", "EngineSingleThroughput"]
MODELS = ["EngineFramework", *SINGLE]
SERVING = [*MODELS, "EngineProvider"]
ROLLING_BACK = ["EngineRollback", "EngineEvents"]
PLAIN = "EnginePlain"
UPDATED_TEAM = "ml-platform-2"
# Bounded waits: each CLI run, and a stack or the emulator reaching a state when no CLI waits for it.
CLI_DEADLINE = 240.0
STACK_DEADLINE = 120.0


def test_create_update_destroy(running_engine: Engine) -> None:
    engine = running_engine
    cloudformation, bedrock = engine.client("cloudformation"), engine.client("bedrock")
    # The model that the single function deploys and provisions, made beforehand: one polled step per stack.
    served = bedrock.create_custom_model(
        modelName="engine-served",
        modelSourceConfig={"s3DataSource": {"s3Uri": "s3://engine-weights/served/"}},
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/engine-served",
    )["modelArn"]

    app = f"{sys.executable} {APP}"
    create, update = ("-c", f"served_model={served}"), ("-c", f"served_model={served}", "-c", "epochs=2")
    update += ("-c", f"team={UPDATED_TEAM}")
    for process in (
        engine.cdk("bootstrap", f"aws://{ACCOUNT}/{REGION}", log="bootstrap.log"),
        engine.cdk("synth", "--app", app, "--output", "create.out", "--quiet", *create, log="synth.log"),
    ):
        assert _finished(process) == 0, f"{process.args} failed: see {engine.workdir}"
    active = lambda: bedrock.get_custom_model(modelIdentifier=served)["modelStatus"] == "Active"  # noqa: E731
    wait_for("the served model", active, STACK_DEADLINE)

    # --- create -------------------------------------------------------------------------------------------
    deploy = _deploy(engine, "create.out", SERVING, log="create.log")
    doomed = _deploy(engine, "create.out", ROLLING_BACK, log="rollback.log")
    # The update's synth, meanwhile: the deployments mostly wait for polls.
    update_synth = engine.cdk("synth", "--app", app, "--output", "update.out", "--quiet", *update, log="synth2.log")
    _check_event_gap(engine)  # while the event-driven stack waits
    wait_for("EngineProvider", lambda: _status(cloudformation, "EngineProvider") == "CREATE_COMPLETE", CLI_DEADLINE)
    cloudformation.create_stack(
        StackName=PLAIN,
        TemplateBody=TEMPLATE.read_text(),
        Parameters=[
            {"ParameterKey": "ProviderStackName", "ParameterValue": "EngineProvider"},
            {"ParameterKey": "DataBucketName", "ParameterValue": "engine-plain-data"},
        ],
        Capabilities=["CAPABILITY_IAM"],
    )
    _settle(cloudformation, PLAIN, "CREATE_COMPLETE")
    assert _finished(deploy) == 0, f"create failed: see {engine.workdir / 'create.log'}"
    assert _finished(doomed) != 0, "the failing job's stack deployed"

    created = {name: _outputs(cloudformation, name) for name in MODELS}
    assert {name: _status(cloudformation, name) for name in MODELS} == dict.fromkeys(MODELS, "CREATE_COMPLETE")
    plain_model = _outputs(cloudformation, PLAIN)["outputModelArn"]
    _check_serving(bedrock, created, served, team="ml-platform")
    assert bedrock.get_custom_model(modelIdentifier=plain_model)["modelArn"] == plain_model
    _check_rolled_back(cloudformation, bedrock)

    # --- update: both jobs are replaced (epochs), every stack's team tag changes ----------------------------
    assert _finished(update_synth) == 0, f"synth failed: see {engine.workdir / 'synth2.log'}"
    deploy = _deploy(engine, "update.out", SERVING, log="update.log")
    cloudformation.delete_stack(StackName=PLAIN)  # meanwhile; its DeletionPolicy keeps the model
    _settle(cloudformation, PLAIN, "DELETE_COMPLETE")
    assert _finished(deploy) == 0, f"update failed: see {engine.workdir / 'update.log'}"
    updated = {name: _outputs(cloudformation, name) for name in MODELS}
    assert {name: _status(cloudformation, name) for name in MODELS} == dict.fromkeys(MODELS, "UPDATE_COMPLETE")
    framework, before = updated["EngineFramework"], created["EngineFramework"]
    assert framework["TunedModelArn"] != before["TunedModelArn"], "the job was not replaced"
    job = bedrock.get_model_customization_job(jobIdentifier=framework["TunedJobArn"])
    assert job["hyperParameters"]["epochCount"] == "2"
    # The replacing change on the single function too: its job is replaced, its old model deleted.
    single, single_before = updated["EngineSingleJob"], created["EngineSingleJob"]
    assert single["TunedModelArn"] != single_before["TunedModelArn"], "the single function's job was not replaced"
    single_job = bedrock.get_model_customization_job(jobIdentifier=single["TunedJobArn"])
    assert single_job["hyperParameters"]["epochCount"] == "2"
    assert _gone(bedrock, single_before["TunedModelArn"])
    others = [name for name in SINGLE if name != "EngineSingleJob"]
    assert {name: updated[name] for name in others} == {name: created[name] for name in others}, "a tag replaced"
    _check_serving(bedrock, updated, served, team=UPDATED_TEAM)
    # The replaced job's model is gone (RemovalPolicy.DESTROY), the one kept by the plain template is not.
    assert _gone(bedrock, before["TunedModelArn"])
    assert bedrock.get_custom_model(modelIdentifier=plain_model)["modelArn"] == plain_model

    # --- destroy ---------------------------------------------------------------------------------------------
    destroy = engine.cdk("destroy", "--app", "update.out", "--all", "--force", "--concurrency", "8", log="destroy.log")
    assert _finished(destroy) == 0, f"destroy failed: see {engine.workdir / 'destroy.log'}"
    for name in SERVING + ROLLING_BACK:
        assert _status(cloudformation, name) in (None, "DELETE_COMPLETE"), name
    assert _running(bedrock) == []
    listed = {model["modelArn"] for model in bedrock.list_custom_models()["modelSummaries"]}
    assert listed - {served} == {plain_model}
    assert bedrock.list_custom_model_deployments()["modelDeploymentSummaries"] == []
    assert bedrock.list_provisioned_model_throughputs()["provisionedModelSummaries"] == []
    # And each model, deployment and throughput the stacks output, by its ARN.
    for outputs in (*created.values(), *updated.values()):
        for key, arn in outputs.items():
            assert key.endswith("JobArn") or _gone(bedrock, arn), f"{key} {arn} is left"


# --- steps ------------------------------------------------------------------------------------------------


def _deploy(engine: Engine, assembly: str, stacks: list[str], log: str) -> subprocess.Popen[Any]:
    return engine.cdk(
        "deploy", "--app", assembly, *stacks,
        *("--concurrency", str(len(stacks)), "--require-approval", "never", "--outputs-file", f"{log}.json"),
        log=log,
    )  # fmt: skip


def _check_serving(bedrock: Any, outputs: dict[str, dict[str, str]], served: str, team: str) -> None:
    """Every model, deployment and throughput of the stacks is ready in the emulator, serving its model, and carries
    the stack's team tag."""
    framework, job, imported, deployment, throughput = (outputs[name] for name in MODELS)
    for stack in (framework, job):
        record = bedrock.get_model_customization_job(jobIdentifier=stack["TunedJobArn"])
        assert (record["status"], record["outputModelArn"]) == ("Completed", stack["TunedModelArn"])
        assert _team(bedrock, stack["TunedModelArn"]) == team
    for stack, model in ((framework, framework["TunedModelArn"]), (deployment, served)):
        read = bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=stack["DeploymentArn"])
        assert (read["status"], read["modelArn"]) == ("Active", model)
        assert _team(bedrock, stack["DeploymentArn"]) == team
    for stack, model in ((framework, framework["TunedModelArn"]), (throughput, served)):
        read = bedrock.get_provisioned_model_throughput(provisionedModelId=stack["ThroughputArn"])
        assert (read["status"], read["modelArn"]) == ("InService", model)
        assert _team(bedrock, stack["ThroughputArn"]) == team
    for stack in (framework, imported):
        assert bedrock.get_custom_model(modelIdentifier=stack["ImportedModelArn"])["modelStatus"] == "Active"
        assert _team(bedrock, stack["ImportedModelArn"]) == team


def _check_rolled_back(cloudformation: Any, bedrock: Any) -> None:
    """The failing job's stack and the event-driven one rolled back, leaving nothing running in the emulator."""
    for name in ROLLING_BACK:
        assert _status(cloudformation, name) == "ROLLBACK_COMPLETE", name
    reasons = _failure_reasons(cloudformation, "EngineRollback")
    assert any(DOOMED in reason for reason in reasons), reasons
    reasons = _failure_reasons(cloudformation, "EngineEvents")
    assert any("WaitCondition timed out" in reason for reason in reasons), reasons
    assert [job["jobName"] for job in _running(bedrock)] == []
    jobs = _jobs(bedrock, "EngineRollback")
    assert sorted(job["status"] for job in jobs) == ["Completed", "Failed"], jobs
    # The model made before the failure, and its throughput, were deleted by the rollback.
    assert _names(bedrock.list_custom_models()["modelSummaries"], "modelName", "EngineRollback") == []
    throughputs = _created(cloudformation, "EngineRollback", "Custom::BedrockProvisionedModelThroughput")
    assert len(throughputs) == 1, throughputs
    assert all(_gone(bedrock, arn) for arn in throughputs)


def _check_event_gap(engine: Engine) -> None:
    """What ministack lets of an event-driven job, checked while its stack waits; once ministack closes a gap, this
    fails, and the job should then deploy.
    1. ministack's PutEvents refuses the emulator's state change event: aws.* sources are AWS's own (as in AWS).
    2. Delivered as EventBridge would (invoked here), the notifier finds no wait to signal: ministack's
       ListStackResources omits the wait condition in progress (finding 4).
    """
    cloudformation, bedrock, functions = (engine.client(name) for name in ("cloudformation", "bedrock", "lambda"))
    completed = lambda: [job["status"] for job in _jobs(bedrock, "EngineEvents")] == ["Completed"]  # noqa: E731
    wait_for("the event-driven job", completed, STACK_DEADLINE)
    refused = "refused the Model Customization Job State Change event: Not authorized for the source"
    wait_for("the event's refusal", lambda: refused in (engine.workdir / "emulator.log").read_text(), STACK_DEADLINE)

    waits = lambda: _in_progress(cloudformation, "EngineEvents", "AWS::CloudFormation::WaitCondition")  # noqa: E731
    wait_for("the wait condition", lambda: bool(waits()), STACK_DEADLINE)
    waiting = waits()
    listed = cloudformation.list_stack_resources(StackName="EngineEvents")["StackResourceSummaries"]
    assert not {summary["LogicalResourceId"] for summary in listed} & waiting, "ministack lists the waits now"
    notifier = next(
        summary["PhysicalResourceId"]
        for summary in listed
        if summary["ResourceType"] == "AWS::Lambda::Function"
        and summary["LogicalResourceId"].startswith("BedrockJobCompletionNotifierFunction")
    )
    job = bedrock.get_model_customization_job(jobIdentifier=_jobs(bedrock, "EngineEvents")[0]["jobArn"])
    answer = functions.invoke(FunctionName=notifier, Payload=json.dumps(state_change_event(job, ACCOUNT, REGION)))
    assert (answer.get("FunctionError"), json.load(answer["Payload"])) == (None, {"signalled": []})


# --- reading ----------------------------------------------------------------------------------------------


def _finished(process: subprocess.Popen[Any]) -> int:
    try:
        return process.wait(CLI_DEADLINE)
    except subprocess.TimeoutExpired:
        stop(process)
        raise AssertionError(f"{process.args} did not finish within {CLI_DEADLINE:.0f} s") from None


def _status(cloudformation: Any, name: str) -> str | None:
    try:
        return str(cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])
    except cloudformation.exceptions.ClientError as error:
        if "does not exist" in str(error):
            return None
        raise


def _settle(cloudformation: Any, name: str, status: str) -> None:
    ends = ("_COMPLETE", "_FAILED")
    wait_for(name, lambda: (_status(cloudformation, name) or "DELETE_COMPLETE").endswith(ends), STACK_DEADLINE)
    actual = _status(cloudformation, name) or "DELETE_COMPLETE"
    assert actual == status, f"{name}: {actual}: {_failure_reasons(cloudformation, name)}"


def _outputs(cloudformation: Any, name: str) -> dict[str, str]:
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def _failure_reasons(cloudformation: Any, name: str) -> list[str]:
    events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    return [str(event.get("ResourceStatusReason")) for event in events if event["ResourceStatus"].endswith("FAILED")]


def _in_progress(cloudformation: Any, name: str, resource_type: str) -> set[str]:
    """The resources of the type whose latest event is CREATE_IN_PROGRESS (events come newest first)."""
    latest: dict[str, str] = {}
    for event in cloudformation.describe_stack_events(StackName=name)["StackEvents"]:
        if event["ResourceType"] == resource_type:
            latest.setdefault(event["LogicalResourceId"], event["ResourceStatus"])
    return {logical_id for logical_id, status in latest.items() if status == "CREATE_IN_PROGRESS"}


def _jobs(bedrock: Any, name_contains: str) -> list[dict[str, Any]]:
    return list(bedrock.list_model_customization_jobs(nameContains=name_contains)["modelCustomizationJobSummaries"])


def _running(bedrock: Any) -> list[dict[str, Any]]:
    summaries = bedrock.list_model_customization_jobs(statusEquals="InProgress")["modelCustomizationJobSummaries"]
    return list(summaries)


def _names(summaries: list[dict[str, Any]], key: str, contains: str) -> list[str]:
    return [str(summary[key]) for summary in summaries if contains in summary[key]]


def _team(bedrock: Any, arn: str) -> str | None:
    tags = bedrock.list_tags_for_resource(resourceARN=arn)["tags"]
    return next((tag["value"] for tag in tags if tag["key"] == "team"), None)


def _gone(bedrock: Any, arn: str) -> bool:
    """Whether the emulator no longer has the model, deployment or throughput."""
    read = {
        "custom-model": lambda: bedrock.get_custom_model(modelIdentifier=arn),
        "custom-model-deployment": lambda: bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=arn),
        "provisioned-model": lambda: bedrock.get_provisioned_model_throughput(provisionedModelId=arn),
    }[arn.split(":")[5].split("/")[0]]
    try:
        read()
    except bedrock.exceptions.ResourceNotFoundException:
        return True
    return False


def _created(cloudformation: Any, name: str, resource_type: str) -> set[str]:
    """The physical ids of the stack's resources of the type that were created (from its events)."""
    return {
        str(event["PhysicalResourceId"])
        for event in cloudformation.describe_stack_events(StackName=name)["StackEvents"]
        if event["ResourceType"] == resource_type and event["ResourceStatus"] == "CREATE_COMPLETE"
    }
