"""The constructs as aws-cdk-lib's own L2s behave: aws_bedrock.IModel where a model is invoked, cdk.Resource, from_*
lookups, typed options, and local datasets from Python."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import botocore.session
import pytest
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from aws_cdk.assertions import Annotations, Match, Template
from cdk_bedrock_customization import (
    Completion,
    CopiedCustomModel,
    CustomizationProvider,
    CustomModel,
    CustomModelBase,
    CustomModelDeployment,
    EvaluationDataset,
    ImportedCustomModel,
    ImportedModel,
    ModelEvaluation,
    ModelSource,
    ProviderKind,
    ProvisionedThroughput,
    S3Data,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import ENV, custom_model, resources_of_type

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"
DEPLOYMENT_ARN = "arn:aws:bedrock:eu-west-1:444455556666:custom-model-deployment/a1b2c3d4e5f6"
THROUGHPUT_ARN = "arn:aws:bedrock:eu-west-1:444455556666:provisioned-model/a1b2c3d4e5f6"
IMPORTED_ARN = "arn:aws:bedrock:eu-west-1:444455556666:imported-model/a1b2c3d4e5f6"
NOVA_CUSTOM_MODEL_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6"
WEIGHTS_URI = "s3://open-weights-bucket/llama-3-8b/"
# The service model as botocore ships it: the reference the lookups' ARN checks must agree with.
SERVICE_MODEL = botocore.session.get_session().get_service_model("bedrock")


def deployment(stack: cdk.Stack, bucket: s3.IBucket) -> Any:
    return custom_model(stack, bucket).add_deployment("OnDemand")


def throughput(stack: cdk.Stack, bucket: s3.IBucket) -> Any:
    return custom_model(stack, bucket).add_provisioned_throughput("Provisioned", model_units=1)


def imported_model(stack: cdk.Stack, bucket: s3.IBucket) -> Any:
    return ImportedModel(stack, "Llama", model_data=S3Data.from_uri(WEIGHTS_URI), completion=Completion.polling())


# What each serves, and the ARN that invokes it as the template writes it: (construct, expected rendering).
MADE_HERE: dict[str, tuple[Callable[..., Any], str]] = {
    "deployment": (deployment, "customModelDeploymentArn"),
    "throughput": (throughput, "provisionedModelArn"),
    "imported model": (imported_model, "importedModelArn"),
}
BY_ARN: dict[str, tuple[Callable[..., Any], str]] = {
    "deployment": (
        lambda s: CustomModelDeployment.from_custom_model_deployment_arn(s, "D", DEPLOYMENT_ARN),
        DEPLOYMENT_ARN,
    ),
    "throughput": (lambda s: ProvisionedThroughput.from_provisioned_model_arn(s, "T", THROUGHPUT_ARN), THROUGHPUT_ARN),
    "imported model": (lambda s: ImportedModel.from_imported_model_arn(s, "I", IMPORTED_ARN), IMPORTED_ARN),
}


def invoke_in_state_machine(stack: cdk.Stack, model: bedrock.IModel) -> sfn.StateMachine:
    task = tasks.BedrockInvokeModel(
        stack, "Ask", model=model, body=sfn.TaskInput.from_object({"messages": [{"role": "user", "content": "Hi"}]})
    )
    return sfn.StateMachine(stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(task))


def definition(template: Template) -> str:
    """The state machine's definition with each intrinsic written as its JSON."""
    (machine,) = [
        machine
        for logical_id, machine in resources_of_type(template, "AWS::StepFunctions::StateMachine").items()
        if logical_id.startswith("Machine")
    ]
    text = machine["Properties"]["DefinitionString"]
    if isinstance(text, str):
        return text
    _separator, parts = text["Fn::Join"]
    return "".join(part if isinstance(part, str) else json.dumps(part, sort_keys=True) for part in parts)


def invoke_grants(template: Template) -> list[Any]:
    """The resources of the state machine role's bedrock:InvokeModel statements."""
    return [
        statement["Resource"]
        for logical_id, policy in resources_of_type(template, "AWS::IAM::Policy").items()
        if logical_id.startswith("MachineRole")
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "bedrock:InvokeModel"
    ]


@pytest.mark.parametrize("kind", MADE_HERE)
def test_bedrock_invoke_model_invokes_and_grants_exactly_what_serves_a_model_of_this_stack(stack, bucket, kind):
    make, attribute = MADE_HERE[kind]
    served = make(stack, bucket)
    invoke_in_state_machine(stack, served)
    template = Template.from_stack(stack)
    expected = {"Fn::GetAtt": [stack.get_logical_id(served.resource), attribute]}
    assert f'"ModelId":"{json.dumps(expected, sort_keys=True)}"' in definition(template)
    assert '"Resource":"arn:' in definition(template) and ":states:::bedrock:invokeModel" in definition(template)
    assert invoke_grants(template) == [expected]


@pytest.mark.parametrize("kind", BY_ARN)
def test_bedrock_invoke_model_invokes_and_grants_a_model_referenced_by_arn(stack, kind):
    make, arn = BY_ARN[kind]
    invoke_in_state_machine(stack, make(stack))
    template = Template.from_stack(stack)
    assert f'"ModelId":"{arn}"' in definition(template)
    assert invoke_grants(template) == [arn]


@pytest.mark.parametrize("kind", BY_ARN)
def test_a_model_referenced_by_arn_is_a_resource_of_its_arn_environment_with_grant_invoke_and_metrics(stack, kind):
    make, arn = BY_ARN[kind]
    referenced = make(stack)
    assert isinstance(referenced, cdk.Resource)
    assert (referenced.env.account, referenced.env.region) == ("444455556666", "eu-west-1")
    assert referenced.stack is stack
    role = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    referenced.grant_invoke(role)
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                        "Effect": "Allow",
                        "Resource": arn,
                    }
                ]
            }
        },
    )
    assert stack.resolve(referenced.metric_invocations().dimensions) == {"ModelId": arn}


LOOKUPS = {
    "custom_model_deployment_arn": (CustomModelDeployment.from_custom_model_deployment_arn, "CustomModelDeploymentArn"),
    "provisioned_model_arn": (ProvisionedThroughput.from_provisioned_model_arn, "ProvisionedModelArn"),
    "imported_model_arn": (ImportedModel.from_imported_model_arn, "ImportedModelArn"),
    "imported_model_name": (ImportedModel.from_imported_model_name, "ImportedModelName"),
}


@pytest.mark.parametrize("parameter", LOOKUPS)
@settings(max_examples=40, deadline=None)
@given(value=st.one_of(st.text(max_size=80), st.sampled_from([DEPLOYMENT_ARN, THROUGHPUT_ARN, IMPORTED_ARN, "llama"])))
def test_a_lookup_takes_what_the_service_model_takes_and_refuses_the_rest_naming_the_parameter(parameter, value):
    lookup, shape_name = LOOKUPS[parameter]
    shape = SERVICE_MODEL.shape_for(shape_name)
    valid = re.fullmatch(shape.metadata["pattern"], value) is not None and shape.metadata.get("min", 0) <= len(
        value
    ) <= shape.metadata.get("max", 2048)
    stack = cdk.Stack(cdk.App(), "Lookups", env=ENV)
    if valid:
        lookup(stack, "Referenced", value)
    else:
        with pytest.raises(ValueError, match=re.escape(parameter)):
            lookup(stack, "Referenced", value)


def test_an_imported_model_by_name_is_looked_up_at_deploy_time_with_get_imported_model(stack):
    referenced = ImportedModel.from_imported_model_name(stack, "ByName", "llama-support")
    template = Template.from_stack(stack)
    (lookup,) = resources_of_type(template, "Custom::AWS").values()
    call = json.loads(lookup["Properties"]["Create"])
    assert (call["service"], call["action"], call["parameters"]) == (
        "bedrock",
        "GetImportedModel",
        {"modelIdentifier": "llama-support"},
    )
    assert stack.resolve(referenced.model_arn) == {
        "Fn::GetAtt": [stack.get_logical_id(lookup_resource(referenced)), "modelArn"]
    }
    (statement,) = [
        s
        for policy in resources_of_type(template, "AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "bedrock:GetImportedModel"
    ]
    assert stack.resolve(statement["Resource"])["Fn::Join"][1][-1] == ":bedrock:us-east-1:123456789012:imported-model/*"


def lookup_resource(referenced: Any) -> cdk.CfnResource:
    custom = referenced.node.find_child("Lookup").node.find_child("Resource").node.default_child
    assert isinstance(custom, cdk.CfnResource)
    return custom


def every_construct(stack: cdk.Stack, bucket: s3.IBucket) -> dict[str, Any]:
    model = custom_model(stack, bucket)
    throughput_ = model.add_provisioned_throughput("Provisioned", model_units=1)
    return {
        "CustomModel": model,
        "CustomModelDeployment": model.add_deployment("OnDemand"),
        "ProvisionedThroughput": throughput_,
        "ImportedCustomModel": ImportedCustomModel(
            stack,
            "Nova",
            source=ModelSource.from_model_package_arn("arn:aws:sagemaker:us-east-1:123456789012:model-package/nova/1"),
        ),
        "CopiedCustomModel": CopiedCustomModel(
            stack,
            "Copy",
            source_model="arn:aws:bedrock:us-west-2:123456789012:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6",
        ),
        "ImportedModel": imported_model(stack, bucket),
        "ModelEvaluation": ModelEvaluation(
            stack,
            "Evaluation",
            model=throughput_,
            datasets=[
                EvaluationDataset.builtin(
                    "Builtin.BoolQ", task_type="QuestionAndAnswer", metric_names=["Builtin.Accuracy"]
                )
            ],
            output_data=S3Data.from_bucket(bucket, "evaluation/"),
            completion=Completion.polling(),
        ),
    }


def test_every_construct_is_a_resource_of_its_stack_and_takes_a_removal_policy(stack, bucket):
    constructs = every_construct(stack, bucket)
    for name, construct in constructs.items():
        assert isinstance(construct, cdk.Resource), name
        assert construct.stack is stack, name
        assert (construct.env.account, construct.env.region) == ("123456789012", "us-east-1"), name
        construct.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
    template = Template.from_stack(stack).to_json()["Resources"]
    for name, construct in constructs.items():
        for resource in construct._tagged_resources:
            rendered = template[stack.get_logical_id(resource)]
            assert (rendered["DeletionPolicy"], rendered["UpdateReplacePolicy"]) == ("Retain", "Retain"), name
            # The handler is told the UpdateReplacePolicy, which CloudFormation does not pass it.
            assert rendered["Properties"]["updateReplacePolicy"] == "Retain", name


# The custom resource types that make something in AWS, written out here rather than read from the library (the
# readers of a job's result and the evaluation gate make nothing).
MAKES_SOMETHING = frozenset(
    {
        "Custom::BedrockModelCustomizationJob",
        "Custom::BedrockCustomModel",
        "Custom::BedrockCopiedCustomModel",
        "Custom::BedrockImportedModel",
        "Custom::BedrockCustomModelDeployment",
        "Custom::BedrockProvisionedModelThroughput",
        "Custom::BedrockModelEvaluationJob",
    }
)


def test_apply_removal_policy_reaches_every_resource_that_makes_something(stack, bucket):
    """README, L2 behaviour: apply_removal_policy(policy) "reaches the construct's custom resources as the
    removal_policy option does". The test above checks the resources the constructs list themselves
    (_tagged_resources); here they are selected from the synthesized template by type, so one left off that list is
    caught too: an evaluation with a baseline runs two jobs, and both must carry the policy."""
    constructs = every_construct(stack, bucket)
    constructs["ComparedEvaluation"] = ModelEvaluation(
        stack,
        "Compared",
        model=constructs["ProvisionedThroughput"],
        baseline_model="amazon.nova-micro-v1:0",
        datasets=[
            EvaluationDataset.builtin("Builtin.BoolQ", task_type="QuestionAndAnswer", metric_names=["Builtin.Accuracy"])
        ],
        output_data=S3Data.from_bucket(bucket, "compared/"),
        completion=Completion.polling(),
    )
    for construct in constructs.values():
        construct.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
    resources = Template.from_stack(stack).to_json()["Resources"]
    making = {logical_id: r for logical_id, r in resources.items() if r["Type"] in MAKES_SOMETHING}
    assert {r["Type"] for r in making.values()} == MAKES_SOMETHING
    assert sum(r["Type"] == "Custom::BedrockModelEvaluationJob" for r in making.values()) == 3  # 1, and 2 compared
    policies = {logical_id: (r.get("DeletionPolicy"), r.get("UpdateReplacePolicy")) for logical_id, r in making.items()}
    assert {logical_id: kept for logical_id, kept in policies.items() if kept != ("Retain", "Retain")} == {}


@pytest.mark.parametrize(
    ("policy", "template_policies", "told"),
    [
        (cdk.RemovalPolicy.DESTROY, ("Delete", "Delete"), {"updateReplacePolicy": "Delete"}),
        (
            cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
            ("RetainExceptOnCreate", "Retain"),
            {"updateReplacePolicy": "Retain", "deletionPolicy": "RetainExceptOnCreate"},
        ),
    ],
    ids=["destroy", "retain-on-update-or-delete"],
)
def test_the_handler_is_told_the_policies_that_cloudformation_does_not_pass_it(
    stack, bucket, policy, template_policies, told
):
    """What a rollback after a cancelled update does with what that update made follows the UpdateReplacePolicy
    (Delete) or a DeletionPolicy of RetainExceptOnCreate, which remove it: the handler reads them from the
    updateReplacePolicy and deletionPolicy properties."""
    constructs = every_construct(stack, bucket)
    for construct in constructs.values():
        construct.apply_removal_policy(policy)
    template = Template.from_stack(stack).to_json()["Resources"]
    for name, construct in constructs.items():
        for resource in construct._tagged_resources:
            rendered = template[stack.get_logical_id(resource)]
            members = {
                m: rendered["Properties"][m] for m in told.keys() | {"deletionPolicy"} if m in rendered["Properties"]
            }
            assert (rendered["DeletionPolicy"], rendered["UpdateReplacePolicy"]) == template_policies, name
            assert members == told, name


@pytest.mark.parametrize("removal_policy", [cdk.RemovalPolicy.RETAIN, cdk.RemovalPolicy.DESTROY])
def test_a_serving_resource_always_tells_its_replace_policy(stack, bucket, removal_policy):
    """Told nothing, the handler takes a deployment's or throughput's UpdateReplacePolicy as Delete (CloudFormation's
    default), a model's as Retain: a serving construct's own removal_policy is always written, RETAIN too."""
    trained = custom_model(stack, bucket)
    served = [
        trained.add_deployment("OnDemand", removal_policy=removal_policy),
        trained.add_provisioned_throughput("Provisioned", model_units=1, removal_policy=removal_policy),
    ]
    template = Template.from_stack(stack).to_json()["Resources"]
    expected = "Retain" if removal_policy is cdk.RemovalPolicy.RETAIN else "Delete"
    for construct in served:
        rendered = template[stack.get_logical_id(construct.resource)]
        assert (rendered["UpdateReplacePolicy"], rendered["Properties"]["updateReplacePolicy"]) == (expected, expected)
    assert "updateReplacePolicy" not in template[stack.get_logical_id(trained.resource)]["Properties"]  # RETAIN


@pytest.mark.parametrize(
    "served",
    [
        lambda s, b: deployment(s, b),
        lambda s, b: throughput(s, b),
        lambda s, b: imported_model(s, b),
        lambda s, b: CustomModelDeployment.from_custom_model_deployment_arn(s, "D", DEPLOYMENT_ARN),
    ],
    ids=["deployment", "throughput", "imported model", "deployment by ARN"],
)
def test_a_provisioned_throughput_refuses_what_is_invoked_by_its_own_arn(stack, bucket, served):
    model = served(stack, bucket)
    with pytest.raises(ValueError, match=r"^model: \S+ \(\w+\) is invoked by its own ARN .*: invoke it directly$"):
        ProvisionedThroughput(stack, "OnTop", model=model, model_units=1)


def test_an_evaluation_takes_a_throughput_or_imported_model_by_arn_and_refuses_a_deployment():
    # In the models' Region: an evaluation job invokes models in its own.
    stack = cdk.Stack(cdk.App(), "Evaluations", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    bucket = s3.Bucket(stack, "Data")
    datasets = [
        EvaluationDataset.builtin("Builtin.BoolQ", task_type="QuestionAndAnswer", metric_names=["Builtin.Accuracy"])
    ]
    output = S3Data.from_bucket(bucket, "evaluation/")
    for construct_id, model, arn in [
        ("ByThroughput", ProvisionedThroughput.from_provisioned_model_arn(stack, "T", THROUGHPUT_ARN), THROUGHPUT_ARN),
        ("ByImport", ImportedModel.from_imported_model_arn(stack, "I", IMPORTED_ARN), IMPORTED_ARN),
    ]:
        evaluation = ModelEvaluation(stack, construct_id, model=model, datasets=datasets, output_data=output)
        assert evaluation.model_identifier == arn
    by_arn = CustomModelDeployment.from_custom_model_deployment_arn(stack, "D", DEPLOYMENT_ARN)
    with pytest.raises(ValueError, match=r"^model: .*only through a provisioned throughput"):
        ModelEvaluation(stack, "ByDeployment", model=by_arn, datasets=datasets, output_data=output)


# --- typed options -------------------------------------------------------------------------------------


def options(function: Callable[..., Any], leave_out: tuple[str, ...]) -> list[tuple[str, Any, Any]]:
    return [
        (p.name, p.default, p.annotation)
        for p in inspect.signature(function).parameters.values()
        if p.name not in ("self", "scope", "construct_id", *leave_out)
    ]


@pytest.mark.parametrize(
    ("method", "construct"),
    [
        (CustomModelBase.add_deployment, CustomModelDeployment),
        (CustomModelBase.add_provisioned_throughput, ProvisionedThroughput),
    ],
)
def test_add_methods_take_the_constructs_options_by_name_with_the_same_defaults(method, construct):
    assert options(method, ()) == options(construct.__init__, ("model",))
    assert all(p.kind is not inspect.Parameter.VAR_KEYWORD for p in inspect.signature(method).parameters.values())


def test_add_deployment_passes_every_option_on(stack, bucket):
    model = custom_model(stack, bucket)
    served = model.add_deployment(
        "OnDemand",
        model_deployment_name="support-on-demand",
        description="Support assistant",
        tags={"team": "support"},
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    rendered = Template.from_stack(stack).to_json()["Resources"][stack.get_logical_id(served.resource)]
    assert rendered["DeletionPolicy"] == "Retain"
    assert {k: rendered["Properties"][k] for k in ("modelDeploymentName", "description", "tags")} == {
        "modelDeploymentName": "support-on-demand",
        "description": "Support assistant",
        "tags": [{"key": "team", "value": "support"}],
    }


def test_add_provisioned_throughput_passes_every_option_on(stack, bucket):
    model = custom_model(stack, bucket)
    served = model.add_provisioned_throughput(
        "Provisioned",
        model_units=2,
        provisioned_model_name="support-provisioned",
        tags={"team": "support"},
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    rendered = Template.from_stack(stack).to_json()["Resources"][stack.get_logical_id(served.resource)]
    assert rendered["DeletionPolicy"] == "Retain"
    assert {k: rendered["Properties"][k] for k in ("modelUnits", "provisionedModelName", "tags")} == {
        "modelUnits": 2,
        "provisionedModelName": "support-provisioned",
        "tags": [{"key": "team", "value": "support"}],
    }


def test_provider_of_takes_the_constructors_settings_and_refuses_them_once_the_provider_exists(stack):
    assert options(CustomizationProvider.of, ("cls",)) == [
        (name, None, annotation if "None" in str(annotation) else f"{annotation} | None")
        for name, _default, annotation in options(CustomizationProvider.__init__, ())
    ]
    provider = CustomizationProvider.of(stack, kind=ProviderKind.SINGLE_FUNCTION, max_concurrent_jobs=3)
    assert (provider.kind, provider.max_concurrent_jobs) == (ProviderKind.SINGLE_FUNCTION, 3)
    assert CustomizationProvider.of(stack) is provider
    with pytest.raises(
        ValueError, match=r"already has its CustomizationProvider, .* settings \[.query_interval.\] given now differ"
    ):
        CustomizationProvider.of(stack, query_interval=cdk.Duration.minutes(2))
    with pytest.raises(TypeError, match="queryInterval"):
        CustomizationProvider.of(stack, queryInterval=cdk.Duration.minutes(2))  # type: ignore[call-arg]


# --- local datasets -----------------------------------------------------------------------------------


def test_a_local_training_file_is_validated_and_shipped_as_an_asset(stack, bucket):
    local = {"train": EXAMPLES / "support-train.jsonl", "validation": EXAMPLES / "support-validation.jsonl"}
    model = custom_model(
        stack,
        bucket,
        training_data=S3Data.from_local_file(local["train"]),
        validation_data=[S3Data.from_local_file(local["validation"])],
    )
    assembly = cdk.App.of(stack).synth()  # type: ignore[union-attr]
    properties = assembly.get_stack_by_name(stack.stack_name).template["Resources"][
        stack.get_logical_id(model.resource)
    ]["Properties"]
    manifest = json.loads((Path(assembly.directory) / f"{stack.artifact_id}.assets.json").read_text())
    placeholders = {"${AWS::AccountId}": "123456789012", "${AWS::Region}": "us-east-1"}
    shipped = {  # each file asset's S3 URI -> its content, as cdk deploy publishes it
        re.sub(r"\$\{AWS::\w+\}", lambda m: placeholders[m[0]], f"s3://{destination['bucketName']}")
        + f"/{destination['objectKey']}": (Path(assembly.directory) / asset["source"]["path"]).read_text()
        for asset in manifest["files"].values()
        if asset["source"].get("packaging") == "file"
        for destination in asset["destinations"].values()
    }
    assert shipped[properties["trainingDataConfig"]["s3Uri"]] == local["train"].read_text()
    (validator,) = properties["validationDataConfig"]["validators"]
    assert shipped[validator["s3Uri"]] == local["validation"].read_text()


def write(tmp_path: Path, name: str, lines: list[Any]) -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_a_local_dataset_that_its_model_would_refuse_fails_the_synth_naming_option_file_and_line(
    stack, bucket, tmp_path
):
    good = json.loads((EXAMPLES / "support-train.jsonl").read_text().splitlines()[0])
    bad = write(tmp_path, "train.jsonl", [good, {"prompt": "a Titan-style record", "completion": "wrong format"}])
    with pytest.raises(ValueError, match=rf"^training_data: {re.escape(str(bad))}:2"):
        custom_model(stack, bucket, training_data=S3Data.from_local_file(bad))
    assert resources_of_type(Template.from_stack(stack), "Custom::BedrockModelCustomizationJob") == {}


def test_a_local_dataset_s_bad_records_are_all_named_by_the_synth_error(stack, bucket, tmp_path):
    good = json.loads((EXAMPLES / "support-train.jsonl").read_text().splitlines()[0])
    titan_style = {"prompt": "a Titan-style record", "completion": "wrong format"}
    bad = write(tmp_path, "train.jsonl", [titan_style, good, titan_style])
    with pytest.raises(ValueError) as raised:
        custom_model(stack, bucket, training_data=S3Data.from_local_file(bad))
    first, second = str(raised.value).split("\n")
    assert first.startswith(f"training_data: {bad}:1: ")
    assert second.startswith(f"{bad}:3: ")


def test_a_local_nova_dataset_whose_images_are_in_s3_is_refused(stack, bucket, tmp_path):
    """A local dataset is uploaded to the CDK asset bucket, and Nova reads images and videos only from the dataset's
    own bucket (Nova user guide: "The images or videos must be in the same Amazon S3 bucket as your dataset")."""
    image = {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://my-media/images/cat.png"}}}}
    record = {
        "schemaVersion": "bedrock-conversation-2024",
        "messages": [
            {"role": "user", "content": [{"text": "What is this?"}, image]},
            {"role": "assistant", "content": [{"text": "A cat."}]},
        ],
    }
    local = write(tmp_path, "train.jsonl", [record] * 8)
    with pytest.raises(ValueError, match=rf"^training_data: {re.escape(str(local))}:1: .*is in bucket my-media, but"):
        custom_model(
            stack, bucket, base_model="amazon.nova-lite-v1:0:300k", training_data=S3Data.from_local_file(local)
        )
    assert resources_of_type(Template.from_stack(stack), "Custom::BedrockModelCustomizationJob") == {}


def test_a_local_validation_file_is_named_by_its_index(stack, bucket, tmp_path):
    bad = write(tmp_path, "validation.jsonl", [{"prompt": "x", "completion": "y"}])
    with pytest.raises(ValueError, match=r"^validation_data\[0\]: "):
        custom_model(stack, bucket, validation_data=[S3Data.from_local_file(bad)])


def test_a_model_trained_further_validates_local_data_against_its_foundation_model(stack, bucket):
    first = custom_model(stack, bucket)
    second = custom_model(
        stack,
        bucket,
        "Further",
        base_model=first,
        training_data=S3Data.from_local_file(EXAMPLES / "support-train.jsonl"),
    )
    assert second.foundation_model == "amazon.nova-micro-v1:0:128k"


@pytest.mark.parametrize(
    "base_model",
    [
        # aws_bedrock's ARN: its partition is a token, the model id is not.
        lambda stack: bedrock.FoundationModel.from_foundation_model_id(
            stack, "Base", bedrock.FoundationModelIdentifier("amazon.nova-micro-v1:0:128k")
        ),
        # Continued training of a custom model: CustomModelArn's pattern names its base model.
        lambda stack: CustomModel.from_custom_model_arn(stack, "Base", NOVA_CUSTOM_MODEL_ARN),
    ],
    ids=["foundation-model-construct", "custom-model-arn"],
)
def test_a_local_dataset_is_checked_against_the_model_its_base_model_arn_names(stack, bucket, tmp_path, base_model):
    given = base_model(stack)
    good = EXAMPLES / "support-train.jsonl"  # Nova's conversation format
    bad = write(tmp_path, "train.jsonl", [{"prompt": "a Titan-style record", "completion": "not Nova's format"}])
    with pytest.raises(ValueError, match=rf"^training_data: {re.escape(str(bad))}:1"):
        custom_model(stack, bucket, "Refused", base_model=given, training_data=S3Data.from_local_file(bad))
    custom_model(stack, bucket, base_model=given, training_data=S3Data.from_local_file(good))
    assert len(resources_of_type(Template.from_stack(stack), "Custom::BedrockModelCustomizationJob")) == 1


def test_a_local_dataset_with_a_base_model_known_only_at_deploy_time_is_refused(stack, bucket):
    with pytest.raises(ValueError, match=r"^training_data: a local dataset is checked against its base model"):
        custom_model(
            stack,
            bucket,
            base_model=cdk.Fn.import_value("BaseModelArn"),
            training_data=S3Data.from_local_file(EXAMPLES / "support-train.jsonl"),
        )
    identifier = bedrock.FoundationModelIdentifier(cdk.Fn.import_value("BaseModelId"))
    with pytest.raises(ValueError, match=r"^training_data: a local dataset is checked against its base model"):
        custom_model(
            stack,
            bucket,
            base_model=bedrock.FoundationModel.from_foundation_model_id(stack, "Base", identifier),
            training_data=S3Data.from_local_file(EXAMPLES / "support-train.jsonl"),
        )


def test_a_folder_or_missing_file_is_not_a_local_dataset(tmp_path):
    with pytest.raises(ValueError, match="is a folder"):
        S3Data.from_local_file(tmp_path)
    with pytest.raises(ValueError, match="is not a file"):
        S3Data.from_local_file(tmp_path / "missing.jsonl")


def test_a_local_dataset_is_refused_where_a_model_does_not_train_on_it(stack, bucket):
    local = S3Data.from_local_file(EXAMPLES / "support-train.jsonl")
    with pytest.raises(ValueError, match="shipped by the model that trains on it"):
        custom_model(stack, bucket, output_data=local)


def test_a_local_datasets_warnings_are_synth_warnings(stack, bucket, tmp_path):
    path = tmp_path / "train.txt"
    path.write_text((EXAMPLES / "support-train.jsonl").read_text())
    custom_model(stack, bucket, training_data=S3Data.from_local_file(path))
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("training_data: .*"))
    texts = [str(warning.entry.data) for warning in warnings]
    assert len(texts) == 1
    assert 'the file name does not end in ".jsonl"' in texts[0]
    assert "[ack: cdk-bedrock-customization:datasetWarning]" in texts[0]
