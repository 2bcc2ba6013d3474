"""A value that is a token when its construct is made, but that the CDK resolves at synth (a Lazy), or that an escape
hatch writes (add_property_override), is checked on the synthesized template as the handler will check it at deploy:
a value Bedrock refuses stops the synth, as the same literal given directly does. A value known only at deploy (a
CfnParameter's, a dynamic reference) is left to the deploy, and a number or a boolean is checked as the string
CloudFormation sends the handler (DESIGN.md, fact 3: every scalar property as a string).

The bounds are botocore's service model's (CreateModelCustomizationJob's jobName, CreateProvisionedModelThroughput's
modelUnits), read here, not the library's.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import botocore.session
import jsii
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from cdk_bedrock_customization import CustomModel, ProvisionedThroughput

from .conftest import ENV, custom_model

MODEL_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6"
BEDROCK = botocore.session.get_session().get_service_model("bedrock")
JOB_NAME_MAX = BEDROCK.operation_model("CreateModelCustomizationJob").input_shape.members["jobName"].metadata["max"]
MODEL_UNITS_MIN = (
    BEDROCK.operation_model("CreateProvisionedModelThroughput").input_shape.members["modelUnits"].metadata["min"]
)


def lazy_string(value: str) -> str:
    @jsii.implements(cdk.IStableStringProducer)
    class Producer:
        def produce(self, context: Any = None) -> str:
            return value

    return cdk.Lazy.string(Producer())


def lazy_number(value: int) -> float:
    @jsii.implements(cdk.IStableNumberProducer)
    class Producer:
        def produce(self, context: Any = None) -> int:
            return value

    return cdk.Lazy.number(Producer())


def new_stack() -> tuple[cdk.App, cdk.Stack, s3.IBucket]:
    app = cdk.App()
    stack = cdk.Stack(app, "Platform", env=ENV)
    return app, stack, s3.Bucket.from_bucket_name(stack, "Data", "training-data")


def test_a_lazy_job_name_too_long_for_bedrock_stops_the_synth_and_one_at_the_limit_synthesizes():
    app, stack, bucket = new_stack()
    custom_model(stack, bucket, job_name=lazy_string("a" * JOB_NAME_MAX))
    app.synth()

    app, stack, bucket = new_stack()
    custom_model(stack, bucket, job_name=lazy_string("a" * (JOB_NAME_MAX + 1)))
    refused = r"ERROR Model\w+: the handler would refuse it at deploy: .*jobName"
    with pytest.raises(RuntimeError, match=refused) as raised:
        app.synth()
    assert "a" * (JOB_NAME_MAX + 1) in str(raised.value)
    assert str(JOB_NAME_MAX) in str(raised.value)


def test_lazy_model_units_below_bedrocks_minimum_stop_the_synth():
    app, stack, _ = new_stack()
    model = CustomModel.from_custom_model_arn(stack, "Served", MODEL_ARN)
    ProvisionedThroughput(stack, "Throughput", model=model, model_units=lazy_number(MODEL_UNITS_MIN - 1))
    with pytest.raises(RuntimeError, match=r"ERROR Throughput\w+: the handler would refuse it at deploy: .*modelUnits"):
        app.synth()

    app, stack, _ = new_stack()
    model = CustomModel.from_custom_model_arn(stack, "Served", MODEL_ARN)
    ProvisionedThroughput(stack, "Throughput", model=model, model_units=lazy_number(MODEL_UNITS_MIN))
    app.synth()


def test_a_property_override_that_bedrock_would_refuse_stops_the_synth():
    app, stack, bucket = new_stack()
    model = custom_model(stack, bucket)
    model.resource.add_property_override("jobName", "b" * (JOB_NAME_MAX + 1))
    with pytest.raises(RuntimeError, match=r"ERROR Model\w+: the handler would refuse it at deploy: .*jobName"):
        app.synth()


def test_a_value_known_only_at_deploy_is_left_to_the_deploy():
    app, stack, bucket = new_stack()
    custom_model(stack, bucket, job_name=cdk.CfnParameter(stack, "JobName").value_as_string)
    template = app.synth().get_stack_by_name("Platform").template
    (job,) = (r for r in template["Resources"].values() if r["Type"] == "Custom::BedrockModelCustomizationJob")
    assert job["Properties"]["jobName"] == {"Ref": "JobName"}


@pytest.mark.parametrize("prop", ["job_name", "role", "model"])
def test_a_dynamic_reference_is_left_to_the_deploy(prop):
    """CloudFormation resolves {{resolve:ssm:...}} before it sends the request (an outside review: synth refused
    them as literals that match no pattern)."""
    app, stack, bucket = new_stack()
    reference = cdk.CfnDynamicReference(cdk.CfnDynamicReferenceService.SSM, f"/platform/{prop}").to_string()
    if prop == "model":
        served = CustomModel.from_custom_model_arn(stack, "Served", reference)
        ProvisionedThroughput(stack, "Throughput", model=served, model_units=1)
    elif prop == "role":
        custom_model(stack, bucket, role=iam.Role.from_role_arn(stack, "Role", reference))
    else:
        custom_model(stack, bucket, job_name=reference)
    app.synth()


def test_numbers_and_booleans_are_checked_as_the_strings_cloudformation_sends():
    """A string member written as a number passes, as the handler takes "3"; a number out of bounds is refused all
    the same."""
    app, stack, bucket = new_stack()
    model = custom_model(stack, bucket)
    model.resource.add_property_override("hyperParameters.epochCount", 3)
    tags = [{"key": "cost-center", "value": 1234}, {"key": "on-call", "value": True}]
    model.resource.add_property_override("jobTags", tags)
    app.synth()

    app, stack, _ = new_stack()
    served = CustomModel.from_custom_model_arn(stack, "Served", MODEL_ARN)
    throughput = ProvisionedThroughput(stack, "Throughput", model=served, model_units=1)
    throughput.resource.add_property_override("modelUnits", MODEL_UNITS_MIN - 1)
    with pytest.raises(RuntimeError, match=r"ERROR Throughput\w+: the handler would refuse it at deploy: .*modelUnits"):
        app.synth()


def test_a_dynamic_reference_written_as_a_string_is_left_to_the_deploy():
    """As a plain string, not the CDK's CfnDynamicReference token, it was refused when the construct was made."""
    app, stack, bucket = new_stack()
    custom_model(stack, bucket, job_name="{{resolve:ssm:/platform/job-name}}")
    app.synth()


@pytest.mark.parametrize("service", ["SSM_SECURE", "SECRETS_MANAGER"])
def test_a_secure_dynamic_reference_which_custom_resources_do_not_get_resolved_stops_the_synth(service):
    """The CloudFormation user guide (dynamic references): "Dynamic references for secure values, such as ssm-secure
    and secretsmanager, are not currently supported in custom resources": the handler would get the reference as
    written, which is no job name."""
    app, stack, bucket = new_stack()
    service_of = getattr(cdk.CfnDynamicReferenceService, service)
    custom_model(stack, bucket, job_name=cdk.CfnDynamicReference(service_of, "platform-job-name").to_string())
    with pytest.raises(RuntimeError, match=r"ERROR Model\w+: the handler would refuse it at deploy: .*jobName"):
        app.synth()


def test_a_union_chosen_by_a_condition_is_left_to_the_deploy():
    """Each member of customizationConfig under an Fn::If whose other branch is AWS::NoValue: CloudFormation sends one
    member, whichever way the condition goes; counted as two, the synth refused it (an outside review)."""
    app, stack, bucket = new_stack()
    condition = cdk.CfnCondition(stack, "Distilled", expression=cdk.Fn.condition_equals(cdk.Aws.REGION, "us-east-1"))
    teacher = {"teacherModelConfig": {"teacherModelIdentifier": "amazon.nova-pro-v1:0"}}
    grader = {"graderConfig": {"lambdaGrader": {"lambdaArn": "arn:aws:lambda:us-east-1:123456789012:function:g"}}}
    model = custom_model(stack, bucket)
    chosen = condition.logical_id
    model.resource.add_property_override(
        "customizationType", cdk.Fn.condition_if(chosen, "DISTILLATION", "REINFORCEMENT_FINE_TUNING")
    )
    model.resource.add_property_override(
        "customizationConfig",
        {
            "distillationConfig": cdk.Fn.condition_if(chosen, teacher, cdk.Aws.NO_VALUE),
            "rftConfig": cdk.Fn.condition_if(chosen, cdk.Aws.NO_VALUE, grader),
        },
    )
    app.synth()
