"""Every AWS call the handler makes is granted, for the variants test_handler_calls_granted.py does not drive.

The same machinery (synthesize, drive, not_granted), with cases declared through the public construct API: the
other customization types (distillation, reinforcement fine-tuning, continued pre-training), a job in a VPC, with a
customer-managed key, trained on invocation logs, a Nova import from a SageMaker model package, a copy from another
Region and a copy with a key, an evaluation with a baseline model and one with a judge.

drive() takes the stand-in's valid properties and overlays the template's for the members IAM looks at only; a
variant's own members (customizationConfig, vpcConfig, customModelKmsKeyId, customModelDataSource, evaluationConfig)
are not among them. So each case's resource kind here gives the template's properties (resolved to sample values,
every scalar a string as CloudFormation sends it) with the stand-in's tags, and each test checks that the variant's
member reached Bedrock's create request: a variant the handler dropped would otherwise pass unseen.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import boto3
import botocore.session
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from bedrock_custom_resource import contract
from cdk_bedrock_customization import (
    CopiedCustomModel,
    Customization,
    CustomModel,
    EvaluationDataset,
    ImportedCustomModel,
    InvocationLogs,
    ModelEvaluation,
    ModelSource,
    RequestMetadataFilter,
    S3Data,
)

from . import resource_kinds as kinds
from .conftest import ACCOUNT, REGION, completed_job
from .test_handler_calls_granted import (
    Case,
    Request,
    Synthesized,
    allowed,
    drive,
    evaluation_bucket,  # noqa: F401 (a fixture)
    not_granted,
    recorder,  # noqa: F401 (a fixture)
    synthesize,
)
from .test_model_evaluation import BUCKET as EVALUATION_BUCKET

OTHER_REGION = "us-west-2"
GRADER_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:reward-grader"
IMPORTED_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
MODEL_PACKAGE_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/nova-support/1"
TRAIN = S3Data.from_uri("s3://my-data-bucket/train/data.jsonl")
OUTPUT = S3Data.from_uri("s3://my-data-bucket/output/")


# --- the declarations ------------------------------------------------------------------------------------------------


def _job(**props: Any) -> Callable[[cdk.Stack, dict[str, str]], None]:
    def declare(stack: cdk.Stack, _: dict[str, str]) -> None:
        given = {"base_model": "amazon.nova-micro-v1:0:128k", "training_data": TRAIN, "output_data": OUTPUT, **props}
        CustomModel(stack, "Model", **{k: v(stack) if callable(v) else v for k, v in given.items()})

    return declare


def _rft(stack: cdk.Stack) -> Customization:
    grader = lambda_.Function.from_function_arn(stack, "Grader", GRADER_ARN)
    return Customization.reinforcement_fine_tuning(grader, hyper_parameters={"epochCount": 2})


def _vpc_job(stack: cdk.Stack, _: dict[str, str]) -> None:
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name="training", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
    )
    CustomModel(
        stack,
        "Model",
        base_model="amazon.nova-micro-v1:0:128k",
        training_data=TRAIN,
        output_data=OUTPUT,
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
    )


def _model_package_import(stack: cdk.Stack, _: dict[str, str]) -> None:
    ImportedCustomModel(stack, "Model", source=ModelSource.from_model_package_arn(MODEL_PACKAGE_ARN))


def _copy(**props: Any) -> Callable[[cdk.Stack, dict[str, str]], None]:
    def declare(stack: cdk.Stack, made: dict[str, str]) -> None:
        given = {k: v(stack) if callable(v) else v for k, v in props.items()}
        CopiedCustomModel(stack, "Model", source_model=made["model"], **given)

    return declare


def _evaluation(**props: Any) -> Callable[[cdk.Stack, dict[str, str]], None]:
    def declare(stack: cdk.Stack, _: dict[str, str]) -> None:
        given = {
            "model": "amazon.nova-lite-v1:0",
            "datasets": [
                EvaluationDataset.builtin(
                    "Builtin.BoolQ", task_type="QuestionAndAnswer", metric_names=["Builtin.Accuracy"]
                )
            ],
            "output_data": S3Data.from_uri(f"s3://{EVALUATION_BUCKET}/evaluations/"),
            **props,
        }
        metric = given["datasets"][0].metric_names[0]
        ModelEvaluation(stack, "Evaluation", **given).require(metric, at_least=0.1)

    return declare


JUDGED_KEY = "datasets/support.jsonl"
JUDGED = [
    EvaluationDataset.from_s3(
        "support-questions",
        S3Data.from_uri(f"s3://{EVALUATION_BUCKET}/{JUDGED_KEY}"),
        task_type="General",
        metric_names=["Builtin.Correctness", "Builtin.Helpfulness"],
    )
]


def _trained_in(region: str) -> Callable[[Any], dict[str, str]]:
    """A custom model trained outside any stack, in region: the copy's source."""

    def made(bedrock: Any) -> dict[str, str]:
        job = completed_job(bedrock, "granted-source-job", "granted-source", region=region)
        return {"model": str(bedrock.job(job)["outputModelArn"])}

    return made


def _nothing(bedrock: Any) -> dict[str, str]:
    return {}


def _judged_dataset(bedrock: Any) -> dict[str, str]:
    """The judged prompts, in the bucket (the stand-in refuses a dataset that is not there); the evaluation_bucket
    fixture made it."""
    record = {"prompt": "How do I reset my password?", "referenceResponse": "Use the sign-in page's link."}
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=EVALUATION_BUCKET, Key=JUDGED_KEY, Body=(json.dumps(record) + "\n").encode()
    )
    return {}


def _with(member: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda properties: {**properties, member: value}


def _hyper_parameters(properties: dict[str, Any]) -> dict[str, Any]:
    return {**properties, "hyperParameters": {"epochCount": "3"}}


def _teacher_length(properties: dict[str, Any]) -> dict[str, Any]:
    config = properties["customizationConfig"]["distillationConfig"]["teacherModelConfig"]
    changed = {**config, "maxResponseLengthForInference": "2000"}
    return {**properties, "customizationConfig": {"distillationConfig": {"teacherModelConfig": changed}}}


def _rft_epochs(properties: dict[str, Any]) -> dict[str, Any]:
    rft = properties["customizationConfig"]["rftConfig"]
    changed = {**rft, "hyperParameters": {**rft.get("hyperParameters", {}), "epochCount": "3"}}
    return {**properties, "customizationConfig": {"rftConfig": changed}}


def _evaluated_model(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        **properties,
        "inferenceConfig": {"models": [{"bedrockModel": {"modelIdentifier": "amazon.nova-pro-v1:0"}}]},
    }


@dataclasses.dataclass(frozen=True)
class Variant:
    case: Case
    # The path, in the create request Bedrock gets, of what makes this variant (checked to be there, with this value
    # when given).
    reached: tuple[str, ...]
    value: Any = None
    # Of several resources of the case's type (an evaluation and its baseline), the one whose properties hold this.
    which: str | None = None
    # What Bedrock does with the caller's own permissions on what a create names (not a call the recorder sees):
    # (action, ARN) for each create request.
    on_callers_behalf: Callable[[dict[str, Any]], list[tuple[str, str]]] | None = None


def _model_package_access(params: dict[str, Any]) -> list[tuple[str, str]]:
    """botocore's ModelPackageArnDataSource: "you must have the sagemaker:... permissions on the model package"."""
    package = _at(params, ("customModelDataSource", "modelPackageArnDataSource", "modelPackageArn"))
    documented = botocore.session.get_session().get_service_model("bedrock").shape_for("ModelPackageArnDataSource")
    actions = re.findall(r"sagemaker:\w+", documented.members["modelPackageArn"].documentation)
    assert actions, documented.members["modelPackageArn"].documentation
    return [(action, package) for action in actions] if package else []


# The user guide, "Encryption of model customization jobs and artifacts" (and Amazon Nova's "Permissions and key
# policies for custom Amazon Nova models"): the PermissionsModelCustomization statement lets the role that creates
# the job use the key so.
CUSTOMIZATION_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant")


def _customization_key_use(params: dict[str, Any]) -> list[tuple[str, str]]:
    key = params.get("customModelKmsKeyId")
    return [(action, key) for action in CUSTOMIZATION_KEY_ACTIONS] if key else []


def _with_a_baseline(job_of: str) -> Variant:
    """An evaluation of nova-lite with a nova-micro baseline: the job of job_of (each its own resource)."""
    return Variant(
        Case(
            kinds.EVALUATION_JOB,
            _evaluation(baseline_model="amazon.nova-micro-v1:0"),
            _nothing,
            _evaluated_model,
            reader=contract.EVALUATION_GATE,
        ),
        ("inferenceConfig", "models", "0", "bedrockModel", "modelIdentifier"),
        job_of,
        which=job_of,
    )


VARIANTS = {
    "distillation": Variant(
        Case(
            kinds.JOB,
            _job(
                customization=Customization.distillation("amazon.nova-pro-v1:0", max_response_length_for_inference=1000)
            ),
            _nothing,
            _teacher_length,
            reader=contract.JOB_RESULT,
        ),
        ("customizationConfig", "distillationConfig", "teacherModelConfig", "teacherModelIdentifier"),
        "amazon.nova-pro-v1:0",
    ),
    "reinforcement fine-tuning": Variant(
        Case(
            kinds.JOB,
            _job(base_model="amazon.nova-2-lite-v1:0:256k", customization=_rft),
            _nothing,
            _rft_epochs,
            reader=contract.JOB_RESULT,
        ),
        ("customizationConfig", "rftConfig", "graderConfig", "lambdaGrader", "lambdaArn"),
        GRADER_ARN,
    ),
    "continued pre-training": Variant(
        Case(
            kinds.JOB,
            _job(base_model="amazon.titan-text-express-v1:0:8k", customization=Customization.continued_pre_training()),
            _nothing,
            _hyper_parameters,
            reader=contract.JOB_RESULT,
        ),
        ("customizationType",),
        "CONTINUED_PRE_TRAINING",
    ),
    "job in a VPC": Variant(
        Case(kinds.JOB, _vpc_job, _nothing, _hyper_parameters, reader=contract.JOB_RESULT),
        ("vpcConfig", "subnetIds"),
    ),
    "job with a key of the stack": Variant(
        Case(
            kinds.JOB,
            _job(kms_key=lambda stack: kms.Key(stack, "Key")),
            _nothing,
            _hyper_parameters,
            reader=contract.JOB_RESULT,
        ),
        ("customModelKmsKeyId",),
        on_callers_behalf=_customization_key_use,
    ),
    "job with an imported key": Variant(
        Case(
            kinds.JOB,
            _job(kms_key=lambda stack: kms.Key.from_key_arn(stack, "Key", IMPORTED_KEY_ARN)),
            _nothing,
            _hyper_parameters,
            reader=contract.JOB_RESULT,
        ),
        ("customModelKmsKeyId",),
        IMPORTED_KEY_ARN,
        on_callers_behalf=_customization_key_use,
    ),
    "distillation from invocation logs": Variant(
        Case(
            kinds.JOB,
            _job(
                customization=Customization.distillation("amazon.nova-pro-v1:0"),
                training_data=InvocationLogs(
                    source=S3Data.from_uri("s3://my-invocation-logs/bedrock/"),
                    request_metadata_filters=RequestMetadataFilter.equals("project", "router"),
                ),
            ),
            _nothing,
            _teacher_length,
            reader=contract.JOB_RESULT,
        ),
        ("trainingDataConfig", "invocationLogsConfig", "invocationLogSource", "s3Uri"),
        "s3://my-invocation-logs/bedrock/",
    ),
    "Nova import from a model package": Variant(
        Case(
            kinds.IMPORT,
            _model_package_import,
            _nothing,
            _with(
                "customModelDataSource",
                {"modelPackageArnDataSource": {"modelPackageArn": MODEL_PACKAGE_ARN.replace("/1", "/2")}},
            ),
        ),
        ("customModelDataSource", "modelPackageArnDataSource", "modelPackageArn"),
        MODEL_PACKAGE_ARN,
        on_callers_behalf=_model_package_access,
    ),
    "copy from another Region": Variant(
        Case(
            kinds.COPY_JOB,
            _copy(),
            _trained_in(OTHER_REGION),
            _with("targetModelName", "granted-copy-2"),
            reader=contract.COPY_RESULT,
        ),
        ("sourceModelArn",),
    ),
    "copy with a key": Variant(
        Case(
            kinds.COPY_JOB,
            _copy(kms_key=lambda stack: kms.Key(stack, "Key")),
            _trained_in(REGION),
            _with("targetModelName", "granted-copy-2"),
            reader=contract.COPY_RESULT,
        ),
        ("modelKmsKeyId",),
    ),
    "evaluation with a baseline: the evaluated model's job": _with_a_baseline("amazon.nova-lite-v1:0"),
    "evaluation with a baseline: the baseline's job": _with_a_baseline("amazon.nova-micro-v1:0"),
    "evaluation with a judge": Variant(
        Case(
            kinds.EVALUATION_JOB,
            _evaluation(datasets=JUDGED, evaluator_model="us.amazon.nova-pro-v1:0"),
            _judged_dataset,
            _evaluated_model,
            reader=contract.EVALUATION_GATE,
        ),
        (
            "evaluationConfig",
            "automated",
            "evaluatorModelConfig",
            "bedrockEvaluatorModels",
            "0",
            "modelIdentifier",
        ),
        "us.amazon.nova-pro-v1:0",
    ),
}


# --- the template's properties, as CloudFormation sends them ---------------------------------------------------------


def _as_sent(value: Any) -> Any:
    """Every scalar a string (DESIGN.md fact 3); a value the sample resolver could not resolve stays None."""
    if isinstance(value, dict):
        return {k: _as_sent(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_sent(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _mentions(value: Any, text: str) -> bool:
    return text in repr(value)


def _only(synthesized: Synthesized, resource_type: str, which: str | None) -> Synthesized:
    """The template with, of the resources of this type, only the one whose properties mention which."""
    if which is None:
        return synthesized
    resources = synthesized.template["Resources"]
    dropped = {
        logical_id
        for logical_id, resource in resources.items()
        if resource["Type"] == resource_type and not _mentions(resource.get("Properties"), which)
    }
    kept = {k: v for k, v in resources.items() if k not in dropped}
    assert len([r for r in kept.values() if r["Type"] == resource_type]) == 1, which
    return dataclasses.replace(synthesized, template={**synthesized.template, "Resources": kept})


def _from_template(kind: kinds.ResourceKind, synthesized: Synthesized) -> kinds.ResourceKind:
    """The kind, its properties the template's (not the handler's own members: how long to wait, the policies), with
    the stand-in's tags so that the tag-only update has tags to change."""
    (declared,) = synthesized.custom_resources(kind.resource_type)
    own = {
        member: _as_sent(value)
        for member, value in declared.items()
        if member != "ServiceToken" and member not in contract.NOT_IDENTIFYING and value is not None
    }
    unresolved = [member for member, value in own.items() if "None" in repr(value)]
    assert not unresolved, f"the sample resolver left these members unresolved: {unresolved} ({own})"

    def properties(bedrock: Any) -> dict[str, Any]:
        valid = kind.properties(bedrock)
        return {**{member: valid[member] for member in kind.tag_members if member in valid}, **own}

    return dataclasses.replace(kind, properties=properties)


def _at(value: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        if isinstance(value, list):
            value = value[int(step)] if int(step) < len(value) else None
        elif isinstance(value, dict):
            value = value.get(step)
        else:
            return None
    return value


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_call_the_handler_makes_for_a_variant_is_granted(name, bedrock, recorder, evaluation_bucket):  # noqa: F811
    variant = VARIANTS[name]
    made = variant.case.prerequisites(bedrock)
    synthesized = _only(
        synthesize(lambda stack: variant.case.declare(stack, made)), variant.case.kind.resource_type, variant.which
    )
    case = dataclasses.replace(variant.case, kind=_from_template(variant.case.kind, synthesized))
    failures = drive(case, bedrock, recorder, synthesized, made)
    creates = [c for c in recorder.calls if c.operation == case.kind.create_operation and c.step == "create"]
    assert creates, f"no {case.kind.create_operation} at the create: {failures}"
    reached = _at(creates[0].params, variant.reached)
    assert reached is not None, f"{'.'.join(variant.reached)} did not reach Bedrock: {creates[0].params}"
    if variant.value is not None:
        assert reached == variant.value, creates[0].params
    denied, granted, unevaluated = not_granted(synthesized, recorder.calls, bedrock)
    if variant.on_callers_behalf is not None:
        for call in creates:
            behalf = variant.on_callers_behalf(call.params)
            assert behalf, call.params
            for action, arn in behalf:
                line = f"{action} on {arn}"
                if allowed(
                    synthesized.statements,
                    Request(action, arn, {}, call, via_service=f"bedrock.{REGION}.amazonaws.com"),
                    unevaluated,
                ):
                    granted.append(line)
                else:
                    denied.append(f"[{call.step}] {line} (Bedrock's use of the caller's permissions)")
    assert granted, "no call was checked"
    assert not unevaluated, f"conditions this test cannot evaluate: {sorted(unevaluated)}"
    assert not denied, "calls not granted by the handler role's policy:\n" + "\n".join(denied)
    assert not failures, "lifecycle steps failed:\n" + "\n".join(failures)
