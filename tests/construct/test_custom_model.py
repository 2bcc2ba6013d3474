"""Synth-time behaviour of CustomModel and the shared CustomizationProvider."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import aws_cdk as cdk
import jsii
import pytest
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template
from bedrock_custom_resource import aws
from bedrock_custom_resource.contract import InvalidProperties
from bedrock_custom_resource.lifecycle import STACK_TAG
from botocore.retries.standard import ExponentialBackoff
from cdk_bedrock_customization import (
    Completion,
    CopiedCustomModel,
    Customization,
    CustomizationProvider,
    CustomModel,
    InvocationLogs,
    RequestMetadataFilter,
    S3Data,
)
from cdk_bedrock_customization import provider as provider_module
from cdk_bedrock_customization.inputs import iam_literal
from cdk_bedrock_customization.provider import HANDLER_RUNTIME, POLLING_WARNING_ID, ProviderKind
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_sentry.querying.actions import get_action_data

from .conftest import ENV, custom_model, inline_policies, key_statements, resources_of_type, role_statements

JOB = "Custom::BedrockModelCustomizationJob"
HANDLER_ROLE = "BedrockCustomizationProviderHandlerRole"
DESCRIBE_STACKS = "cloudformation:DescribeStacks"
DESCRIBE_STACK_EVENTS = "cloudformation:DescribeStackEvents"
GET_TEMPLATE = "cloudformation:GetTemplate"
LIST_STACK_RESOURCES = "cloudformation:ListStackResources"
STACK_READS = [DESCRIBE_STACKS, DESCRIBE_STACK_EVENTS, GET_TEMPLATE, LIST_STACK_RESOURCES]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def model(scope: cdk.Stack, bucket: s3.IBucket, construct_id: str = "Model", **overrides: Any) -> CustomModel:
    """The conftest's model, its training data in a folder of its own: train/data.jsonl."""
    training_data = S3Data.from_bucket(bucket, "train/data.jsonl")
    return custom_model(scope, bucket, construct_id, **({"training_data": training_data} | overrides))


def job_properties(template: Template) -> dict[str, Any]:
    (job,) = resources_of_type(template, JOB).values()
    properties: dict[str, Any] = job["Properties"]
    return properties


def rendered(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


class TestProperties:
    def test_properties_are_named_as_the_api_and_default_to_fine_tuning(self, stack, bucket):
        model(stack, bucket, hyper_parameters={"epochCount": 2, "learningRate": "0.00001"})
        properties = job_properties(Template.from_stack(stack))
        assert properties["baseModelIdentifier"] == "amazon.nova-micro-v1:0:128k"
        assert properties["customizationType"] == "FINE_TUNING"
        assert properties["hyperParameters"] == {"epochCount": "2", "learningRate": "0.00001"}
        assert "s3://" in rendered(properties["trainingDataConfig"]["s3Uri"])
        assert "/train/data.jsonl" in rendered(properties["trainingDataConfig"]["s3Uri"])
        assert "/output/" in rendered(properties["outputDataConfig"]["s3Uri"])
        for absent in ("jobName", "customModelName", "customizationConfig", "vpcConfig", "customModelKmsKeyId"):
            assert absent not in properties

    def test_removal_policy_defaults_to_retain(self, stack, bucket):
        model(stack, bucket)
        (job,) = resources_of_type(Template.from_stack(stack), JOB).values()
        assert job["DeletionPolicy"] == "Retain"
        assert job["UpdateReplacePolicy"] == "Retain"

    def test_removal_policy_snapshot_is_refused_leaving_nothing(self, stack, bucket):
        """CloudFormation's DeletionPolicy attribute: Snapshot is for resources that support snapshots (cfn-lint E3035
        refuses it on a custom resource), and nothing would keep a snapshot of a model."""
        with pytest.raises(ValueError, match=r"removal_policy: RemovalPolicy\.SNAPSHOT .*RemovalPolicy\.RETAIN"):
            model(stack, bucket, removal_policy=cdk.RemovalPolicy.SNAPSHOT)
        assert stack.node.try_find_child("Model") is None
        made = model(stack, bucket)
        with pytest.raises(ValueError, match=r"removal_policy: RemovalPolicy\.SNAPSHOT"):
            made.apply_removal_policy(cdk.RemovalPolicy.SNAPSHOT)
        (job,) = resources_of_type(Template.from_stack(stack), JOB).values()
        assert (job["DeletionPolicy"], job["UpdateReplacePolicy"]) == ("Retain", "Retain")

    def test_removal_policy_destroy_lets_cloudformation_delete_the_model(self, stack, bucket):
        model(stack, bucket, removal_policy=cdk.RemovalPolicy.DESTROY)
        (job,) = resources_of_type(Template.from_stack(stack), JOB).values()
        assert job["DeletionPolicy"] == "Delete"
        assert job["Properties"]["updateReplacePolicy"] == "Delete"  # told to the handler

    @pytest.mark.parametrize(
        "policy", [cdk.RemovalPolicy.RETAIN, cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE], ids=["retain", "retain-on"]
    )
    def test_a_retained_job_leaves_the_handler_its_default_replace_policy(self, stack, bucket, policy):
        model(stack, bucket, removal_policy=policy)
        (job,) = resources_of_type(Template.from_stack(stack), JOB).values()
        assert job["UpdateReplacePolicy"] == "Retain"
        assert "updateReplacePolicy" not in job["Properties"]

    @pytest.mark.parametrize(
        ("policy", "told"),
        [
            (cdk.RemovalPolicy.RETAIN, None),
            (cdk.RemovalPolicy.DESTROY, None),
            (cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE, "RetainExceptOnCreate"),
        ],
        ids=["retain", "destroy", "retain-on"],
    )
    def test_the_handler_is_told_only_a_deletion_policy_of_retain_except_on_create(self, stack, bucket, policy, told):
        """What a failed operation made goes with RetainExceptOnCreate; CloudFormation does not tell the handler."""
        model(stack, bucket, removal_policy=policy)
        (job,) = resources_of_type(Template.from_stack(stack), JOB).values()
        assert job["Properties"].get("deletionPolicy") == told
        if told is not None:
            assert job["DeletionPolicy"] == told

    def test_a_removal_policy_applied_later_takes_back_what_the_handler_was_told(self, stack, bucket):
        built = model(stack, bucket, removal_policy=cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
        built.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        (job,) = resources_of_type(Template.from_stack(stack), JOB).values()
        assert (job["DeletionPolicy"], job["Properties"]["updateReplacePolicy"]) == ("Retain", "Retain")
        assert "deletionPolicy" not in job["Properties"]

    @pytest.mark.parametrize(
        ("apply", "expected"),
        [
            (cdk.RemovalPolicies.destroy, ("Delete", "Delete", "Delete", None)),
            (
                cdk.RemovalPolicies.retain_on_update_or_delete,
                ("RetainExceptOnCreate", "Retain", "Retain", "RetainExceptOnCreate"),
            ),
        ],
        ids=["destroy", "retain-on"],
    )
    def test_removal_policies_of_the_stack_are_told_to_the_handler(self, stack, bucket, apply, expected):
        """RemovalPolicies.of(...) applies its policy to each L1 resource in an aspect, past the construct: the
        handler must still know it (what a cancelled update made goes with Delete or RetainExceptOnCreate)."""
        model(stack, bucket)
        apply(cdk.RemovalPolicies.of(stack))
        (job,) = resources_of_type(Template.from_stack(stack), JOB).values()
        properties = job["Properties"]
        told = (job["DeletionPolicy"], job["UpdateReplacePolicy"], properties.get("updateReplacePolicy"))
        assert (*told, properties.get("deletionPolicy")) == expected

    def test_removal_policies_snapshot_is_refused_at_synth(self, stack, bucket):
        model(stack, bucket)
        cdk.RemovalPolicies.of(stack).snapshot(apply_to_resource_types=[JOB])
        with pytest.raises(RuntimeError, match=r"removal_policy: RemovalPolicy\.SNAPSHOT .*RemovalPolicy\.RETAIN"):
            Template.from_stack(stack)

    def test_a_policy_applied_to_the_job_alone_keeps_what_the_handler_is_told_of_its_replace_policy(
        self, stack, bucket
    ):
        """CfnResource.apply_removal_policy(apply_to_update_replace_policy=False) leaves the UpdateReplacePolicy: so
        does what the handler is told."""
        built = model(stack, bucket, removal_policy=cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
        job_resource = cast(cdk.CfnResource, built.node.default_child)
        job_resource.apply_removal_policy(cdk.RemovalPolicy.DESTROY, apply_to_update_replace_policy=False)
        (job,) = resources_of_type(Template.from_stack(stack), JOB).values()
        assert (job["DeletionPolicy"], job["UpdateReplacePolicy"]) == ("Delete", "Retain")
        assert "deletionPolicy" not in job["Properties"]
        assert job["Properties"].get("updateReplacePolicy", "Retain") == "Retain"

    def test_the_removal_policy_keys_neither_the_wait_nor_what_references_the_job(self, stack, bucket):
        """A change of the removal policy changes no wait condition: the job is not replaced."""
        ids = {}
        for policy in (cdk.RemovalPolicy.RETAIN, cdk.RemovalPolicy.DESTROY):
            app_stack = cdk.Stack(cdk.App(), "Keyed")
            data = s3.Bucket(app_stack, "Data")
            model(app_stack, data, removal_policy=policy)
            template = Template.from_stack(app_stack).to_json()["Resources"]
            ids[policy] = sorted(
                lid for lid, r in template.items() if r["Type"] == "AWS::CloudFormation::WaitCondition"
            )
        assert ids[cdk.RemovalPolicy.RETAIN] == ids[cdk.RemovalPolicy.DESTROY]

    def test_explicit_names_are_passed_through(self, stack, bucket):
        model(stack, bucket, job_name="support-v1", custom_model_name="support-model-v1")
        properties = job_properties(Template.from_stack(stack))
        assert (properties["jobName"], properties["customModelName"]) == ("support-v1", "support-model-v1")

    def test_distillation_renders_its_teacher_and_invocation_logs(self, stack, bucket):
        teacher = "us.amazon.nova-premier-v1:0"
        model(
            stack,
            bucket,
            customization=Customization.distillation(teacher, max_response_length_for_inference=1000),
            training_data=InvocationLogs(
                source=S3Data.from_uri("s3://logs-bucket/invocations/"),
                use_prompt_response=True,
                request_metadata_filters=RequestMetadataFilter.and_all(
                    RequestMetadataFilter.equals("project", "router"),
                    RequestMetadataFilter.not_equals("stage", "dev"),
                ),
            ),
        )
        properties = job_properties(Template.from_stack(stack))
        assert properties["customizationType"] == "DISTILLATION"
        assert properties["customizationConfig"] == {
            "distillationConfig": {
                "teacherModelConfig": {"teacherModelIdentifier": teacher, "maxResponseLengthForInference": 1000}
            }
        }
        assert properties["trainingDataConfig"] == {
            "invocationLogsConfig": {
                "usePromptResponse": True,
                "invocationLogSource": {"s3Uri": "s3://logs-bucket/invocations/"},
                "requestMetadataFilters": {
                    "andAll": [{"equals": {"project": "router"}}, {"notEquals": {"stage": "dev"}}]
                },
            }
        }

    def test_continued_pre_training(self, stack, bucket):
        model(stack, bucket, customization=Customization.continued_pre_training())
        assert job_properties(Template.from_stack(stack))["customizationType"] == "CONTINUED_PRE_TRAINING"

    def test_base_model_may_be_a_foundation_model_object(self, stack, bucket):
        nova = bedrock.FoundationModel.from_foundation_model_id(
            stack, "Nova", bedrock.FoundationModelIdentifier("amazon.nova-micro-v1:0:128k")
        )
        model(stack, bucket, base_model=nova)
        template = Template.from_stack(stack)
        assert "foundation-model/amazon.nova-micro-v1:0:128k" in rendered(
            job_properties(template)["baseModelIdentifier"]
        )

    def test_unresolved_tokens_are_not_validated_at_synth(self, stack, bucket):
        base = cdk.CfnParameter(stack, "BaseModel").value_as_string
        model(stack, bucket, base_model=base, job_name=cdk.CfnParameter(stack, "JobName").value_as_string)
        assert job_properties(Template.from_stack(stack))["baseModelIdentifier"] == {"Ref": "BaseModel"}

    @pytest.mark.parametrize("source", ["parameter", "import", "mapping", "condition"])
    def test_a_base_model_known_only_at_deploy_is_granted_as_any_foundation_or_custom_model(
        self, stack, bucket, source
    ):
        """The value may be a foundation model's id or ARN, or a custom model's ARN: CreateModelCustomizationJob
        acts on either (Service Authorization Reference), so the handler may create a job from any of them. A
        mapping's or a condition's value is such a value too: granted as it is, a model id, IAM refuses it (a
        policy's Resource is an ARN or *)."""
        if source == "parameter":
            base = cdk.CfnParameter(stack, "BaseModel", default="amazon.nova-micro-v1:0:128k").value_as_string
        elif source == "import":
            base = cdk.Fn.import_value("SharedBaseModel")
        elif source == "mapping":
            mapping = {"us-east-1": {"id": "amazon.nova-micro-v1:0:128k"}, "us-west-2": {"id": "amazon.nova-lite-v1:0"}}
            base = cdk.CfnMapping(stack, "BaseModels", mapping=mapping).find_in_map(cdk.Aws.REGION, "id")
        else:
            production = cdk.CfnCondition(stack, "Production", expression=cdk.Fn.condition_equals(cdk.Aws.REGION, "x"))
            base = cdk.Token.as_string(cdk.Fn.condition_if(production.logical_id, "amazon.nova-pro-v1:0", "other"))
        model(stack, bucket, base_model=base)
        statements = role_statements(Template.from_stack(stack), "BedrockCustomizationProviderHandlerRole")
        creating = [s for s in statements if "bedrock:CreateModelCustomizationJob" in s["Action"]]
        granted = rendered([statement["Resource"] for statement in creating])
        # arn:<partition>:bedrock:<Region>::foundation-model/*, and this account's custom models
        assert '":bedrock:us-east-1::foundation-model/*"' in granted
        assert '":bedrock:us-east-1:123456789012:custom-model/*"' in granted

    @pytest.mark.parametrize(
        ("value", "why"),
        [
            (None, "None is not a string or a finite number"),
            (True, "True is not a string or a finite number"),
            (float("nan"), "nan is not a string or a finite number"),
            (float("inf"), "inf is not a string or a finite number"),
            ([1], r"\[1\] is not a string or a finite number"),
            (10**5000, r"Exceeds the limit \(4300 digits\) for integer string conversion"),
        ],
        ids=["none", "bool", "nan", "inf", "list", "digits"],
    )
    def test_a_hyperparameter_that_is_not_a_string_or_a_number_is_refused(self, stack, bucket, value, why):
        """Rather than written to the template as its Python name ("None", "True", "nan")."""
        with pytest.raises(ValueError, match=f"hyper_parameters\\['epochCount'\\]: {why}"):
            model(stack, bucket, hyper_parameters={"epochCount": value})

    @pytest.mark.parametrize(
        ("parameter", "value", "expected"),
        [
            ("training_data", "s3://my-bucket/train.jsonl", "S3Data or InvocationLogs, got str 's3://my-bucket/"),
            ("output_data", "s3://my-bucket/output/", "S3Data, got str"),
            ("validation_data", S3Data.from_uri("s3://my-bucket/validation.jsonl"), "list or tuple, got S3Data"),
            ("validation_data", ["s3://my-bucket/validation.jsonl"], "S3Data, got str"),
            ("customization", "fine_tuning", "Customization, got str"),
            ("completion", "polling", "Completion, got str"),
            ("hyper_parameters", "epochCount=2", "Mapping, got str"),
            ("job_tags", "team=ml", "Mapping, got str"),
        ],
        ids=["training", "output", "one-validation", "validation-uri", "customization", "completion", "hp", "tags"],
    )
    def test_a_value_of_another_type_is_a_type_error_naming_the_parameter(
        self, stack, bucket, parameter, value, expected
    ):
        with pytest.raises(TypeError, match=rf"^{parameter}(\[0\])?: expected {re.escape(expected)}"):
            model(stack, bucket, **{parameter: value})
        assert stack.node.try_find_child("Model") is None  # nothing was made


class TestReinforcementFineTuning:
    def test_grader_is_rendered_and_the_service_role_may_invoke_it(self, stack, bucket):
        grader = lambda_.Function(
            stack,
            "Grader",
            runtime=HANDLER_RUNTIME,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(event, context): return 1"),
        )
        model(
            stack,
            bucket,
            customization=Customization.reinforcement_fine_tuning(grader, hyper_parameters={"epochCount": 2}),
        )
        template = Template.from_stack(stack)
        config = job_properties(template)["customizationConfig"]["rftConfig"]
        assert config["hyperParameters"] == {"epochCount": 2}
        assert "Grader" in rendered(config["graderConfig"]["lambdaGrader"]["lambdaArn"])
        invokes = [s for s in role_statements(template, "ModelServiceRole") if s["Action"] == "lambda:InvokeFunction"]
        assert invokes and all("Grader" in rendered(s["Resource"]) for s in invokes)


def teacher_grants(template: Template) -> list[dict[str, Any]]:
    return [s for s in role_statements(template, "ModelServiceRole") if s["Action"] == "bedrock:InvokeModel"]


class TestDistillationTeacher:
    """The service role may invoke the teacher: Bedrock user guide, "Prerequisites for model distillation"
    (prequisites-model-distillation.html) and "Model customization access and security"
    (custom-model-job-access-security.html#custom-models-cross-region-inference-profile-permissions), which name
    bedrock:InvokeModel on the profile in the job's Region and on the model in each Region of the profile."""

    def distil(self, stack: cdk.Stack, bucket: s3.IBucket, teacher: Any, **overrides: Any) -> Template:
        logs = InvocationLogs(source=S3Data.from_uri("s3://logs-bucket/invocations/"))
        model(stack, bucket, customization=Customization.distillation(teacher), training_data=logs, **overrides)
        return Template.from_stack(stack)

    @pytest.mark.parametrize(
        "teacher",
        [
            "amazon.nova-premier-v1:0",
            bedrock.FoundationModelIdentifier.AMAZON_NOVA_PREMIER_V1_0,
        ],
    )
    def test_a_foundation_model_id_is_granted_in_the_jobs_region(self, stack, bucket, teacher):
        template = self.distil(stack, bucket, teacher)
        teacher_config = job_properties(template)["customizationConfig"]["distillationConfig"]["teacherModelConfig"]
        assert teacher_config == {"teacherModelIdentifier": "amazon.nova-premier-v1:0"}
        (grant,) = teacher_grants(template)
        assert "Condition" not in grant
        assert rendered(grant["Resource"]) == rendered(
            {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":bedrock:us-east-1::foundation-model/amazon.nova-premier-v1:0",
                    ],
                ]
            }
        )

    def test_a_foundation_model_object_is_granted_by_its_arn(self, stack, bucket):
        nova = bedrock.FoundationModel.from_foundation_model_id(
            stack, "Nova", bedrock.FoundationModelIdentifier.AMAZON_NOVA_PRO_V1_0
        )
        template = self.distil(stack, bucket, nova)
        identifier = job_properties(template)["customizationConfig"]["distillationConfig"]["teacherModelConfig"]
        (grant,) = teacher_grants(template)
        assert grant["Resource"] == identifier["teacherModelIdentifier"] == stack.resolve(nova.model_arn)

    def test_a_foundation_model_arn_is_granted_exactly(self, stack, bucket):
        arn = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-premier-v1:0"
        (grant,) = teacher_grants(self.distil(stack, bucket, arn))
        assert grant["Resource"] == arn

    def test_a_profile_id_grants_the_profile_here_and_its_model_in_every_region_through_it(self, stack, bucket):
        profile, through = teacher_grants(self.distil(stack, bucket, "us.amazon.nova-premier-v1:0"))
        expected_profile = {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-premier-v1:0",
                ],
            ]
        }
        assert profile == {"Action": "bedrock:InvokeModel", "Effect": "Allow", "Resource": expected_profile}
        # The Regions a geographic profile routes to depend on its model ("Supported Regions and models for
        # inference profiles"): the model in every Region, only through this profile.
        assert through["Resource"] == {
            "Fn::Join": [
                "",
                ["arn:", {"Ref": "AWS::Partition"}, ":bedrock:*::foundation-model/amazon.nova-premier-v1:0"],
            ]
        }
        assert through["Condition"] == {"ArnEquals": {"bedrock:InferenceProfileArn": expected_profile}}

    @pytest.mark.parametrize(
        ("profile_arn", "model_arn"),
        [
            (
                "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.amazon.nova-pro-v1:0",
                "arn:aws:bedrock:*::foundation-model/amazon.nova-pro-v1:0",
            ),
            (  # a global profile routes to every commercial Region; its model's ARN has no Region, which * matches
                "arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:inference-profile/us-gov.anthropic.claude-3-haiku-v1:0",
                "arn:aws-us-gov:bedrock:*::foundation-model/anthropic.claude-3-haiku-v1:0",
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.amazon.nova-2-lite-v1:0",
                "arn:aws:bedrock:*::foundation-model/amazon.nova-2-lite-v1:0",
            ),
        ],
    )
    def test_a_profile_arn_keeps_its_partition_and_region(self, profile_arn, model_arn):
        # The job's stack is in the profile's Region: a job invokes its teacher in its own Region.
        region = profile_arn.split(":")[3]
        stack = cdk.Stack(cdk.App(), "TestStack", env=cdk.Environment(account=ENV.account, region=region))
        bucket = s3.Bucket(stack, "Data")
        profile, through = teacher_grants(self.distil(stack, bucket, profile_arn))
        assert profile["Resource"] == profile_arn
        assert through["Resource"] == model_arn
        assert through["Condition"] == {"ArnEquals": {"bedrock:InferenceProfileArn": profile_arn}}

    def test_the_models_wildcard_region_is_acknowledged_for_cdk_nag(self, stack, bucket):
        self.distil(stack, bucket, "us.amazon.nova-premier-v1:0")
        role = stack.node.find_child("Model").node.find_child("ServiceRole")
        acknowledged = json.dumps([entry.data for entry in role.node.metadata])
        assert "bedrock:*::foundation-model/amazon.nova-premier-v1:0" in acknowledged

    def test_a_given_role_gets_no_grant(self, stack, bucket):
        role = iam.Role.from_role_arn(stack, "Given", "arn:aws:iam::123456789012:role/my-bedrock-role", mutable=False)
        template = self.distil(stack, bucket, "us.amazon.nova-premier-v1:0", role=role)
        assert "bedrock:InvokeModel" not in rendered(template.to_json())

    def test_other_customizations_grant_no_teacher(self, stack, bucket):
        model(stack, bucket)
        assert teacher_grants(Template.from_stack(stack)) == []

    def test_a_teacher_of_another_type_is_an_error_naming_it(self):
        with pytest.raises(ValueError, match="teacher_model: 42 is not a model id or ARN"):
            Customization.distillation(42)  # type: ignore[arg-type]


class TestBadInput:
    """Errors name the property path and the value, and stop the synth."""

    def test_bad_job_name(self, stack, bucket):
        with pytest.raises(InvalidProperties, match=r"jobName: '-bad-name' does not match"):
            model(stack, bucket, job_name="-bad-name")

    @pytest.mark.parametrize(
        ("hyper_parameters", "expected"),
        [
            ({"batchSize": 4}, r"rftConfig\.hyperParameters\.batchSize: 4 must be at least 16"),
            ({"epochs": 2}, r"rftConfig\.hyperParameters\.epochs: unknown property"),
        ],
    )
    def test_bad_rft_hyperparameter(self, stack, bucket, hyper_parameters, expected):
        grader = lambda_.Function.from_function_arn(
            stack, "Grader", "arn:aws:lambda:us-east-1:123456789012:function:grader"
        )
        with pytest.raises(InvalidProperties, match=expected):
            model(
                stack,
                bucket,
                customization=Customization.reinforcement_fine_tuning(grader, hyper_parameters=hyper_parameters),
            )

    @pytest.mark.parametrize("reinforcement", [False, True], ids=["fine-tuning", "reinforcement fine-tuning"])
    @pytest.mark.parametrize("name", ["token", 1], ids=["a token", "an integer"])
    def test_a_hyperparameter_name_not_written_out_is_refused_naming_the_prop(self, stack, bucket, reinforcement, name):
        """A map key that is a token resolving to no string fails at synth with the CDK's KeyMustResolveToString,
        naming neither the prop nor the key; an integer key failed with a TypeError from the hyperparameter
        warnings."""
        why = "is not a string written out"
        if name == "token":
            name, why = cdk.CfnParameter(stack, "Name").value_as_string, "resolves to {'Ref': 'Name'}, not to a string"
        grader = lambda_.Function.from_function_arn(stack, "Grader", "arn:aws:lambda:us-east-1:123456789012:function:g")
        with pytest.raises(ValueError, match=rf"^hyper_parameters: the name {re.escape(repr(name))} {re.escape(why)}"):
            if reinforcement:
                rft = Customization.reinforcement_fine_tuning(grader, hyper_parameters={name: 16})
                model(stack, bucket, base_model="amazon.nova-2-lite-v1:0:256k", customization=rft)
            else:
                model(stack, bucket, hyper_parameters={name: "2"})
        assert stack.node.try_find_child("Model") is None

    @pytest.mark.parametrize("reinforcement", [False, True], ids=["fine-tuning", "reinforcement fine-tuning"])
    def test_a_hyperparameter_name_given_as_a_lazy_string_is_sent_as_it_resolves(self, stack, bucket, reinforcement):
        """The CDK takes a map key that resolves to a string."""

        @jsii.implements(cdk.IStableStringProducer)
        class EpochCount:
            def produce(self, context: Any = None) -> str:
                return "epochCount"

        name = cdk.Lazy.string(EpochCount())
        grader = lambda_.Function.from_function_arn(stack, "Grader", "arn:aws:lambda:us-east-1:123456789012:function:g")
        if reinforcement:
            rft = Customization.reinforcement_fine_tuning(grader, hyper_parameters={name: 2})
            model(stack, bucket, base_model="amazon.nova-2-lite-v1:0:256k", customization=rft)
            path, expected = ["customizationConfig", "rftConfig", "hyperParameters"], {"epochCount": 2}
        else:
            model(stack, bucket, hyper_parameters={name: "2"})
            path, expected = ["hyperParameters"], {"epochCount": "2"}
        (job,) = resources_of_type(Template.from_stack(stack), "Custom::BedrockModelCustomizationJob").values()
        sent = job["Properties"]
        for member in path:
            sent = sent[member]
        assert sent == expected

    @pytest.mark.parametrize("combined", [False, True], ids=["alone", "in-and_all"])
    def test_a_metadata_filter_key_that_resolves_to_no_string_is_refused_naming_the_prop(self, stack, bucket, combined):
        """The CDK's KeyMustResolveToString named neither the prop nor the filter (an outside review's fuzzing)."""
        key = cdk.CfnParameter(stack, "MetadataKey").value_as_string
        filters = RequestMetadataFilter.equals(key, "router")
        if combined:
            filters = RequestMetadataFilter.and_all(RequestMetadataFilter.not_equals("stage", "dev"), filters)
        logs = InvocationLogs(source=S3Data.from_uri("s3://logs/invocations/"), request_metadata_filters=filters)
        why = f"the name {key!r} resolves to {{'Ref': 'MetadataKey'}}, not to a string"
        with pytest.raises(ValueError, match=rf"^request_metadata_filters: {re.escape(why)}"):
            model(stack, bucket, customization=Customization.distillation("amazon.nova-pro-v1:0"), training_data=logs)
        assert stack.node.try_find_child("Model") is None

    def test_a_metadata_filter_key_given_as_a_lazy_string_is_sent_as_it_resolves(self, stack, bucket):
        @jsii.implements(cdk.IStableStringProducer)
        class Project:
            def produce(self, context: Any = None) -> str:
                return "project"

        filters = RequestMetadataFilter.or_all(RequestMetadataFilter.equals(cdk.Lazy.string(Project()), "router"))
        logs = InvocationLogs(source=S3Data.from_uri("s3://logs/invocations/"), request_metadata_filters=filters)
        model(stack, bucket, customization=Customization.distillation("amazon.nova-pro-v1:0"), training_data=logs)
        (job,) = resources_of_type(Template.from_stack(stack), "Custom::BedrockModelCustomizationJob").values()
        sent = job["Properties"]["trainingDataConfig"]["invocationLogsConfig"]["requestMetadataFilters"]
        assert sent == {"orAll": [{"equals": {"project": "router"}}]}

    def test_rft_hyperparameters_nested_too_deep_are_refused_naming_them(self, stack, bucket):
        """The kernel resolved them first: a "circular reference" from about 200 levels, a RecursionError beyond (an
        outside review's fuzzing); the handler's contract refuses the same."""
        grader = lambda_.Function.from_function_arn(
            stack, "Grader", "arn:aws:lambda:us-east-1:123456789012:function:grader"
        )
        deep: list[Any] = []
        for _ in range(900):
            deep = [deep]
        refused = r"^customizationConfig\.rftConfig\.hyperParameters\.epochCount\[0\].*: nested more than 100 levels"
        with pytest.raises(ValueError, match=refused):
            model(
                stack,
                bucket,
                customization=Customization.reinforcement_fine_tuning(grader, hyper_parameters={"epochCount": deep}),
            )
        assert stack.node.try_find_child("Model") is None

    def test_bad_teacher(self, stack, bucket):
        with pytest.raises(InvalidProperties, match=r"teacherModelIdentifier: 'gpt' does not match"):
            model(stack, bucket, customization=Customization.distillation("gpt"))

    def test_an_application_inference_profile_is_no_teacher(self, stack, bucket):
        # Bedrock API reference, TeacherModelConfig: teacherModelIdentifier's pattern takes a foundation model or an
        # inference-profile/ ARN (or an id), not an application-inference-profile/ ARN. A guard: synth refused it
        # already, where the README had said it was granted.
        profile = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"
        with pytest.raises(InvalidProperties, match=rf"teacherModelIdentifier: '{profile}' does not match"):
            model(stack, bucket, customization=Customization.distillation(profile))

    def test_bad_s3_uri(self):
        with pytest.raises(ValueError, match=r"S3 URI 'https://bucket/key' is not of the form s3://bucket/key"):
            S3Data.from_uri("https://bucket/key")

    def test_a_bucket_name_s3_refuses_is_an_error_naming_the_uri(self, stack, bucket):
        with pytest.raises(ValueError, match=r"^S3 URI 's3://ab/out/': .*[Bb]ucket name"):
            model(stack, bucket, output_data=S3Data.from_uri("s3://ab/out/"))

    def test_uppercase_bucket_in_uri_breaks_the_s3_uri_pattern(self, stack, bucket):
        with pytest.raises(InvalidProperties, match=r"outputDataConfig\.s3Uri: 's3://Bad_Bucket/out/'"):
            model(stack, bucket, output_data=S3Data.from_uri("s3://Bad_Bucket/out/"))

    def test_nested_combinators_are_refused(self):
        with pytest.raises(ValueError, match="and_all: takes equals and not_equals filters only"):
            RequestMetadataFilter.and_all(RequestMetadataFilter.or_all(RequestMetadataFilter.equals("a", "b")))

    def test_subnets_without_a_vpc(self, stack, bucket):
        with pytest.raises(ValueError, match="vpc_subnets and security_groups need vpc"):
            model(stack, bucket, vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED))

    def test_a_subnet_selection_that_selects_nothing_is_refused(self, stack, bucket):
        # Without subnets the request has no vpcConfig: the job would run outside the VPC asked for.
        vpc = ec2.Vpc(stack, "Vpc", max_azs=2)
        with pytest.raises(ValueError, match=r"^vpc_subnets: selects no subnet of the VPC; choose the job's subnets"):
            model(stack, bucket, vpc=vpc, vpc_subnets=ec2.SubnetSelection(subnets=[]))

    def test_the_default_selection_in_a_vpc_without_private_subnets_names_vpc_subnets(self, stack, bucket):
        isolated = ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0, subnet_configuration=[isolated])
        with pytest.raises(
            ValueError, match=r"^vpc_subnets: There are no 'Private'.*; choose the job's subnets, e\.g\."
        ):
            model(stack, bucket, vpc=vpc)

    @pytest.mark.parametrize(
        ("overrides", "expected"),
        [
            (
                {"base_model": "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-micro-v1:0:128k"},
                r"^base_model: 'arn:aws:bedrock:us-west-2::foundation-model/amazon\.nova-micro-v1:0:128k' is a model "
                r"of us-west-2, and this stack deploys to us-east-1: ",
            ),
            (
                {"base_model": "arn:aws:bedrock:eu-west-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/abc"},
                r"^base_model: .* is a model of eu-west-1, and this stack deploys to us-east-1: .*CopiedCustomModel",
            ),
            (
                {"customization": Customization.distillation("arn:aws:bedrock:us-west-2::foundation-model/a.b-v1:0")},
                r"^teacher_model: .* is a model of us-west-2, and this stack deploys to us-east-1",
            ),
            (
                {"kms_key": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
                r"^kms_key: .* is a key of eu-west-1, and this stack deploys to us-east-1",
            ),
        ],
    )
    def test_what_belongs_to_another_region_is_refused_naming_it(self, stack, bucket, overrides, expected):
        if "kms_key" in overrides:
            overrides = {"kms_key": kms.Key.from_key_arn(stack, "Elsewhere", overrides["kms_key"])}
        with pytest.raises(ValueError, match=expected):
            model(stack, bucket, **overrides)
        assert stack.node.try_find_child("Model") is None  # refused before anything was made

    def test_what_belongs_to_the_stacks_region_is_taken(self, stack, bucket):
        key = kms.Key.from_key_arn(
            stack, "Here", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        )
        model(stack, bucket, base_model="arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k")
        model(stack, bucket, "Encrypted", kms_key=key)
        assert len(resources_of_type(Template.from_stack(stack), JOB)) == 2

    def test_the_literal_parts_of_a_key_with_a_token_are_granted_as_themselves(self, stack, bucket):
        team = cdk.CfnParameter(stack, "Team").value_as_string
        model(stack, bucket, training_data=S3Data.from_bucket(bucket, f"{team}/train*.jsonl"))
        grants = role_statements(Template.from_stack(stack), "Model")
        (read,) = [s for s in grants if s["Action"] == "s3:GetObject"]
        assert stack.resolve(read["Resource"])["Fn::Join"][1][-2:] == [{"Ref": "Team"}, "/train${*}.jsonl"]

    def test_nothing_is_added_to_the_stack_by_a_rejected_model(self, stack, bucket):
        with pytest.raises(InvalidProperties):
            model(stack, bucket, job_name="-bad-name")
        assert not resources_of_type(Template.from_stack(stack), JOB)


class TestServiceRole:
    def test_trusts_bedrock_for_this_accounts_jobs_only(self, stack, bucket):
        model(stack, bucket)
        roles = resources_of_type(Template.from_stack(stack), "AWS::IAM::Role")
        (trust,) = [
            statement
            for logical_id, role in roles.items()
            if logical_id.startswith("ModelServiceRole")
            for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        ]
        assert trust["Principal"] == {"Service": "bedrock.amazonaws.com"}
        assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
        assert trust["Condition"]["ArnLike"] == {
            "aws:SourceArn": {
                "Fn::Join": [
                    "",
                    ["arn:", {"Ref": "AWS::Partition"}, ":bedrock:us-east-1:123456789012:model-customization-job/*"],
                ]
            }
        }

    def test_reads_exactly_the_data_and_writes_exactly_the_output_prefix(self, stack, bucket):
        model(stack, bucket, validation_data=[S3Data.from_bucket(bucket, "validation/data.jsonl")])
        object_grants = {}
        for statement in role_statements(Template.from_stack(stack), "ModelServiceRole"):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for resource in (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            ):
                key = re.search(r'"/([^"]*)"', rendered(resource))
                if key:
                    object_grants.setdefault(key.group(1), set()).update(actions)
        assert set(object_grants) == {"train/data.jsonl", "validation/data.jsonl", "output/*"}
        assert "s3:PutObject" in object_grants["output/*"]
        assert not any(a.startswith("s3:Put") for a in object_grants["train/data.jsonl"])
        assert not any(a.startswith("s3:Delete") for actions in object_grants.values() for a in actions)

    def test_given_role_is_used_as_is_and_passed(self, stack, bucket):
        role = iam.Role.from_role_arn(stack, "Given", "arn:aws:iam::123456789012:role/my-bedrock-role", mutable=False)
        model(stack, bucket, role=role)
        template = Template.from_stack(stack)
        assert job_properties(template)["roleArn"] == "arn:aws:iam::123456789012:role/my-bedrock-role"
        assert not [r for r in resources_of_type(template, "AWS::IAM::Role") if r.startswith("Model")]
        (pass_role,) = [s for s in role_statements(template, HANDLER_ROLE) if s["Action"] == "iam:PassRole"]
        assert pass_role["Resource"] == "arn:aws:iam::123456789012:role/my-bedrock-role"
        # A given role carries no tag of the stack: it is passed by its ARN, to Bedrock only.
        assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}}

    def test_job_waits_for_the_role_that_carries_its_grants(self, stack, bucket):
        model(stack, bucket)
        template = Template.from_stack(stack)
        (job,) = resources_of_type(template, JOB).values()
        (role_id,) = [k for k in resources_of_type(template, "AWS::IAM::Role") if k.startswith("ModelServiceRole")]
        # CloudFormation creates what a resource's properties reference (Fn::GetAtt) before the resource.
        assert job["Properties"]["roleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
        # The grants are part of the role, so waiting for the role waits for every grant: no policy resource
        # is attached to it that the job would also have to wait for.
        assert "Grants" in inline_policies(template, role_id)
        assert not [k for k in resources_of_type(template, "AWS::IAM::Policy") if k.startswith("Model")]

    def test_a_grant_added_to_the_role_is_a_policy_the_job_waits_for(self, stack, bucket):
        trained = model(stack, bucket)
        trained.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::reference-data/*"])
        )
        template = Template.from_stack(stack)
        (job,) = resources_of_type(template, JOB).values()
        (role_id,) = [k for k in resources_of_type(template, "AWS::IAM::Role") if k.startswith("ModelServiceRole")]
        ((policy_id, policy),) = [
            (logical_id, policy)
            for logical_id, policy in resources_of_type(template, "AWS::IAM::Policy").items()
            if logical_id.startswith("Model")
        ]
        assert policy["Properties"]["PolicyDocument"]["Statement"] == [
            {"Action": "s3:GetObject", "Effect": "Allow", "Resource": "arn:aws:s3:::reference-data/*"}
        ]
        assert "arn:aws:s3:::reference-data/*" not in json.dumps(inline_policies(template, role_id))
        assert policy_id in job["DependsOn"]
        # Attached to the model's role: its name, read from the role's ARN.
        (attached,) = policy["Properties"]["Roles"]
        assert role_id in json.dumps(attached)

    def test_grants_are_one_inline_policy_of_the_role_which_carries_its_stacks_tag(self, stack, bucket):
        model(stack, bucket, "First")
        model(stack, bucket, "Second")
        template = Template.from_stack(stack)
        models = ("FirstServiceRole", "SecondServiceRole")
        roles = {k: r for k, r in resources_of_type(template, "AWS::IAM::Role").items() if k.startswith(models)}
        assert len(roles) == 2
        for role_id, role in roles.items():
            assert [p["PolicyName"] for p in role["Properties"]["Policies"]] == ["Grants"]
            assert inline_policies(template, role_id)["Grants"]
            # The tag by which the stack's handler may pass it (TestProvider), and no other stack's.
            assert {"Key": STACK_TAG, "Value": {"Ref": "AWS::StackId"}} in role["Properties"]["Tags"]
        assert not [k for k in resources_of_type(template, "AWS::IAM::Policy") if k.startswith(models)]

    def test_a_given_role_granted_a_key_is_also_waited_for(self, stack, bucket):
        role = iam.Role(stack, "Given", assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com"))
        model(stack, bucket, role=role, kms_key=kms.Key(stack, "ModelKey"))
        (job,) = resources_of_type(Template.from_stack(stack), JOB).values()
        assert any(d.startswith("GivenDefaultPolicy") for d in job["DependsOn"])

    def test_a_given_role_may_read_the_local_datasets_shipped_and_the_job_waits_for_it(self, stack, bucket):
        """A local dataset's object is a file asset keyed by the file's hash (issue 7: "The Bedrock service role gets
        read on exactly those objects"): its owner could not name it ahead, so a role given is granted it as a role
        made here is, and the job waits for the grant."""
        role = iam.Role(stack, "Given", assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com"))
        model(stack, bucket, role=role, training_data=S3Data.from_local_file(EXAMPLES / "support-train.jsonl"))
        template = Template.from_stack(stack).to_json()
        (job_id,) = resources_of_type(Template.from_stack(stack), JOB)
        job = template["Resources"][job_id]
        bucket_name, _, key = job["Properties"]["trainingDataConfig"]["s3Uri"].removeprefix("s3://").partition("/")
        assert key.endswith(".jsonl") and bucket_name.startswith("cdk-")  # the file asset's object
        (policy_id,) = [k for k in resources_of_type(Template.from_stack(stack), "AWS::IAM::Policy") if "Given" in k]
        statements = template["Resources"][policy_id]["Properties"]["PolicyDocument"]["Statement"]
        (read,) = [s for s in statements if s["Action"] == "s3:GetObject"]
        assert stack.resolve(read["Resource"]) == {
            "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":s3:::{bucket_name}/{key}"]]
        }
        (listing,) = [s for s in statements if s["Action"] == "s3:ListBucket"]
        assert listing["Condition"] == {"StringLike": {"s3:prefix": key}}
        assert policy_id in job["DependsOn"]

    def test_a_role_the_stack_may_not_change_is_left_as_it_is(self, stack, bucket):
        """aws-cdk-lib's convention for a role imported as immutable: yours to grant. (One of another account, which
        aws-cdk-lib imports as immutable too, is refused: test_library_roles_given.)"""
        role = iam.Role.from_role_arn(
            stack, "Given", "arn:aws:iam::123456789012:role/imported-immutable", mutable=False
        )
        model(stack, bucket, role=role, training_data=S3Data.from_local_file(EXAMPLES / "support-train.jsonl"))
        assert [k for k in resources_of_type(Template.from_stack(stack), "AWS::IAM::Policy") if "Given" in k] == []

    def test_a_given_role_gets_nothing_for_data_in_a_bucket(self, stack, bucket):
        role = iam.Role(stack, "Given", assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com"))
        model(stack, bucket, role=role)
        assert [k for k in resources_of_type(Template.from_stack(stack), "AWS::IAM::Policy") if "Given" in k] == []

    def test_an_output_location_without_a_final_slash_is_still_the_folder_written(self, stack, bucket):
        # Bedrock writes under s3://my-bucket/output/ for either form (model-customization-analyze.html's layout,
        # <outputDataConfig.s3Uri>/model-customization-job-<id>/): a grant on the object "output" denies every write.
        model(stack, bucket, output_data=S3Data.from_uri("s3://my-bucket/output"))
        grants = role_statements(Template.from_stack(stack), "Model")
        written = [statement for statement in grants if "s3:PutObject" in statement["Action"]]
        assert [stack.resolve(statement["Resource"]) for statement in written] == [
            {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::my-bucket/output/*"]]}
        ]
        conditions = [statement.get("Condition") for statement in grants]
        assert {"StringLike": {"s3:prefix": ["output", "output/*"]}} in conditions  # listed with or without its /

    def test_wildcard_characters_of_a_key_are_granted_as_themselves(self, stack, bucket):
        # Bedrock's S3Uri allows * in a key; IAM reads * and ? as wildcards and ${ as a variable, and spells the
        # characters themselves ${*}, ${?} and ${$} (IAM user guide, "IAM policy elements: Variables and tags").
        model(
            stack,
            bucket,
            training_data=S3Data.from_uri("s3://my-bucket/*"),
            output_data=S3Data.from_uri("s3://my-bucket/runs/*/out"),
        )
        grants = role_statements(Template.from_stack(stack), "Model")
        objects = {
            stack.resolve(statement["Resource"])["Fn::Join"][1][2]
            for statement in grants
            if "s3:GetObject" in statement["Action"]
        }
        assert objects == {":s3:::my-bucket/${*}", ":s3:::my-bucket/runs/${*}/out/*"}
        prefixes = [
            statement["Condition"]["StringLike"]["s3:prefix"] for statement in grants if "Condition" in statement
        ]
        assert "${*}" in prefixes
        assert ["runs/${*}/out", "runs/${*}/out/*"] in prefixes

    def test_vpc_jobs_get_network_interface_permissions_scoped_to_their_subnets(self, stack, bucket):
        vpc = ec2.Vpc(
            stack,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
            ],
        )
        model(stack, bucket, vpc=vpc, vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED))
        template = Template.from_stack(stack)
        vpc_config = job_properties(template)["vpcConfig"]
        assert len(vpc_config["subnetIds"]) == 2
        assert len(vpc_config["securityGroupIds"]) == 1
        template.resource_count_is("AWS::EC2::SecurityGroup", 1)
        granted = role_statements(template, "ModelServiceRole")
        creates = [s for s in granted if s["Action"] == "ec2:CreateNetworkInterface"]
        assert any(
            s.get("Condition", {}).get("StringEquals") == {"aws:RequestTag/BedrockManaged": "true"} for s in creates
        )
        deletes = [s for s in granted if "ec2:DeleteNetworkInterface" in s["Action"]]
        assert len(deletes[0]["Condition"]["ArnEquals"]["ec2:Subnet"]) == 2
        # IAM authorizes CreateNetworkInterface on each resource the Service Authorization Reference lists for it:
        # the interface, the subnet and the security group.
        listed = {x["resource_arn_format"] for x in get_action_data("ec2", "CreateNetworkInterface")["ec2"]}
        kinds = {arn.split(":")[5].split("/")[0] for arn in listed if arn != "*"}
        assert kinds == {"network-interface", "subnet", "security-group"}
        resources = json.dumps(stack.resolve([s["Resource"] for s in creates]))
        for kind in kinds:
            assert f":{kind}/" in resources, kind

    def test_kms_key_encrypts_the_model_and_both_roles_may_use_it(self, stack, bucket):
        key = kms.Key(stack, "ModelKey")
        model(stack, bucket, kms_key=key)
        template = Template.from_stack(stack)
        assert job_properties(template)["customModelKmsKeyId"] == {
            "Fn::GetAtt": [Match.string_like_regexp("ModelKey"), "Arn"]
        } or ("ModelKey" in rendered(job_properties(template)["customModelKmsKeyId"]))
        for prefix in ("ModelServiceRole", HANDLER_ROLE):
            kms_actions = {a for actions, _resource in key_statements(template, prefix) for a in actions}
            assert {"kms:CreateGrant", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"} <= kms_actions

    @pytest.mark.parametrize("stack_env", [None, ENV], ids=["environment-agnostic", "in-an-environment"])
    def test_a_key_imported_by_arn_in_another_stack_is_granted_by_its_arn_not_star(self, stack_env):
        """aws-cdk-lib's IKey.grant gives a principal of another stack, of another or unknown environment, the key's
        actions on every key (``*``); the library names the ARN the key was imported by."""
        app = cdk.App()
        key = kms.Key.from_key_arn(cdk.Stack(app, "Keys", env=ENV), "ModelKey", KEY_ARN)
        stack = cdk.Stack(app, "Models", env=stack_env)
        model(stack, s3.Bucket(stack, "Data"), kms_key=key)
        template = Template.from_stack(stack)
        for prefix in ("ModelServiceRole", HANDLER_ROLE):  # its use, and its grant by Bedrock (test_model_keys.py)
            assert [resource for _actions, resource in key_statements(template, prefix)] == [KEY_ARN] * 2, prefix

    def test_an_alias_is_granted_and_sent_as_its_key(self, stack, bucket):
        """IAM names a key by its key ARN, never by an alias (cmks-in-iam-policies.html: "You cannot use a key id,
        alias name, or alias ARN to identify a KMS key in an IAM policy statement")."""
        key = kms.Key(stack, "ModelKey")
        model(stack, bucket, kms_key=kms.Alias(stack, "ModelAlias", alias_name="alias/models", target_key=key))
        template = Template.from_stack(stack)
        key_arn = {"Fn::GetAtt": [stack.get_logical_id(key.node.default_child), "Arn"]}
        assert job_properties(template)["customModelKmsKeyId"] == key_arn
        for prefix in ("ModelServiceRole", HANDLER_ROLE):  # its use, and its grant by Bedrock (test_model_keys.py)
            assert [resource for _actions, resource in key_statements(template, prefix)] == [key_arn] * 2, prefix

    def test_an_alias_imported_by_name_alone_is_refused_naming_it(self, stack, bucket):
        alias = kms.Alias.from_alias_name(stack, "Shared", "alias/shared-models")
        with pytest.raises(ValueError, match=re.escape("kms_key: the alias 'alias/shared-models' names no key")):
            model(stack, bucket, kms_key=alias)
        assert stack.node.try_find_child("Model") is None


class TestProvider:
    def test_one_provider_serves_every_model_in_the_stack(self, stack, bucket):
        model(stack, bucket, "First")
        model(stack, bucket, "Second")
        template = Template.from_stack(stack)
        template.resource_count_is("AWS::StepFunctions::StateMachine", 1)
        # on_event, is_complete, the framework's three, and the notifier of event-driven completion
        template.resource_count_is("AWS::Lambda::Function", 6)
        tokens = {rendered(job["Properties"]["ServiceToken"]) for job in resources_of_type(template, JOB).values()}
        assert len(tokens) == 1

    def test_a_nested_stacks_handler_may_read_its_ancestors_status(self, stack):
        """A nested stack that its parent deletes is DELETE_IN_PROGRESS whatever the parent does (its rollback too):
        the handler reads its ancestors' status. Named as CloudFormation names nested stacks (the root's name, a
        dash...): their ids, referenced through the nesting, would make a cycle from two levels deep."""
        leaf = cdk.NestedStack(cdk.NestedStack(stack, "Middle"), "Leaf")
        model(leaf, s3.Bucket(leaf, "Data"))
        Template.from_stack(stack)  # deployable: it raises on a dependency cycle
        statements = role_statements(Template.from_stack(leaf), HANDLER_ROLE)
        (own,) = [s for s in statements if s["Action"] == STACK_READS]
        assert own["Resource"] == {"Ref": "AWS::StackId"}  # its own events: when its operation began
        (status,) = [s for s in statements if s["Action"] == DESCRIBE_STACKS]
        stacks_named = [
            {
                "Fn::Join": [
                    "",
                    ["arn:", {"Ref": "AWS::Partition"}, f":cloudformation:us-east-1:123456789012:stack/{name}"],
                ]
            }
            for name in ("TestStack/*", "TestStack-*/*")
        ]
        assert status["Resource"] == stacks_named

    def test_a_stack_of_copies_may_read_its_status(self, stack):
        """An adopted copy's Delete reads the stack's status too (its model carries the origin)."""
        source = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6"
        CopiedCustomModel(stack, "Copy", source_model=source)
        (status,) = [s for s in role_statements(Template.from_stack(stack), HANDLER_ROLE) if s["Action"] == STACK_READS]
        assert status["Resource"] == {"Ref": "AWS::StackId"}

    def test_handler_role_is_least_privilege(self, stack, bucket):
        model(stack, bucket)
        template = Template.from_stack(stack)
        handler_statements = role_statements(template, HANDLER_ROLE)
        actions = {
            a for s in handler_statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        }
        # What deletes a resource of any kind the library makes, whatever the stack declares (a resource removed
        # from the template is deleted after the handler's policy was updated to it), and listing them.
        deleting = {
            "bedrock:GetCustomModelDeployment",
            "bedrock:UpdateCustomModelDeployment",
            "bedrock:DeleteCustomModelDeployment",
            "bedrock:GetProvisionedModelThroughput",
            "bedrock:UpdateProvisionedModelThroughput",
            "bedrock:DeleteProvisionedModelThroughput",
            "bedrock:GetModelImportJob",
            "bedrock:GetImportedModel",
            "bedrock:DeleteImportedModel",
            "bedrock:GetModelCopyJob",
            "bedrock:GetEvaluationJob",
            "bedrock:StopEvaluationJob",
        }
        listing = {
            "bedrock:ListModelCustomizationJobs",
            "bedrock:ListCustomModels",
            "bedrock:ListCustomModelDeployments",
            "bedrock:ListProvisionedModelThroughputs",
            "bedrock:ListModelImportJobs",
            "bedrock:ListModelCopyJobs",
            "bedrock:ListEvaluationJobs",
        }
        assert actions == {
            "bedrock:CreateModelCustomizationJob",  # the only create: the stack declares a job alone
            "bedrock:GetModelCustomizationJob",
            "bedrock:StopModelCustomizationJob",
            "bedrock:ListTagsForResource",  # the configuration tag, and tags corrected from what they are
            "bedrock:TagResource",
            "bedrock:UntagResource",
            "bedrock:GetCustomModel",
            "bedrock:DeleteCustomModel",
            *deleting,
            *listing,
            "iam:PassRole",
            DESCRIBE_STACKS,  # a rollback's Delete leaves what the operation adopted
            DESCRIBE_STACK_EVENTS,  # ... and what was made before the operation began
            GET_TEMPLATE,  # a Create under a new logical id: what the update removes
            LIST_STACK_RESOURCES,
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        }
        (status,) = [s for s in handler_statements if s["Action"] == STACK_READS]
        assert status["Resource"] == {"Ref": "AWS::StackId"}  # its own stack only
        # Only the listings, which take no resource scope, are on "*".
        (on_any,) = [s["Action"] for s in handler_statements if s["Resource"] == "*"]
        assert set(on_any) == listing
        # The job's create on its base model and on its output model, whose name is generated: the Step Functions
        # guide's IAM example for CreateModelCustomizationJob grants "custom-model/*" beside the foundation model
        # (a request names no output ARN, so no call check can ask for it).
        (create,) = [s for s in handler_statements if s["Action"] == "bedrock:CreateModelCustomizationJob"]
        partition = {"Ref": "AWS::Partition"}
        assert create["Resource"] == [
            {"Fn::Join": ["", ["arn:", partition, ":bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k"]]},
            {"Fn::Join": ["", ["arn:", partition, ":bedrock:us-east-1:123456789012:custom-model/*"]]},
        ]
        # The roles the library made are passed by their stack's tag, to Bedrock only: this account's roles
        # that carry this stack's id, and no others.
        (pass_role,) = [s for s in handler_statements if s["Action"] == "iam:PassRole"]
        assert pass_role["Condition"] == {
            "StringEquals": {
                "iam:PassedToService": "bedrock.amazonaws.com",
                f"aws:ResourceTag/{STACK_TAG}": {"Ref": "AWS::StackId"},
            }
        }
        assert pass_role["Resource"] == {
            "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::123456789012:role/*"]]
        }
        # ... which the model's service role carries, so the handler may pass it.
        (service_role,) = [
            r for k, r in resources_of_type(template, "AWS::IAM::Role").items() if k.startswith("ModelServiceRole")
        ]
        assert {"Key": STACK_TAG, "Value": {"Ref": "AWS::StackId"}} in service_role["Properties"]["Tags"]
        (base_models,) = [s for s in handler_statements if s["Action"] == "bedrock:CreateModelCustomizationJob"]
        assert "foundation-model/amazon.nova-micro-v1:0:128k" in rendered(base_models["Resource"])

    def test_one_statement_passes_every_role_the_library_made_and_a_given_role_is_passed_by_its_arn(
        self, stack, bucket
    ):
        for number in range(3):
            model(stack, bucket, f"Made{number}")
        given = "arn:aws:iam::123456789012:role/my-bedrock-role"
        model(stack, bucket, "Given", role=iam.Role.from_role_arn(stack, "GivenRole", given, mutable=False))
        passes = [s for s in role_statements(Template.from_stack(stack), HANDLER_ROLE) if s["Action"] == "iam:PassRole"]
        by_tag = [s for s in passes if f"aws:ResourceTag/{STACK_TAG}" in s["Condition"]["StringEquals"]]
        assert len(by_tag) == 1  # however many models
        assert "ServiceRole" not in rendered(passes)  # no made role is named
        (by_arn,) = [s for s in passes if s not in by_tag]
        assert by_arn == {
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
            "Effect": "Allow",
            "Resource": given,
        }

    def test_handlers_run_on_the_newest_python_with_json_logs_kept_a_month(self, stack, bucket):
        model(stack, bucket)
        template = Template.from_stack(stack)
        ours = {
            logical_id: function
            for logical_id, function in resources_of_type(template, "AWS::Lambda::Function").items()
            if function["Properties"]["Handler"].startswith("bedrock_custom_resource.index.")
        }
        assert {f["Properties"]["Handler"] for f in ours.values()} == {
            "bedrock_custom_resource.index.on_event",
            "bedrock_custom_resource.index.is_complete",
        }
        for function in ours.values():
            assert function["Properties"]["Runtime"] == HANDLER_RUNTIME.name
            assert function["Properties"]["LoggingConfig"]["LogFormat"] == "JSON"
        retentions = {
            g["Properties"]["RetentionInDays"] for g in resources_of_type(template, "AWS::Logs::LogGroup").values()
        }
        assert retentions == {30}

    def test_the_framework_handlers_outlast_one_bedrock_call_with_all_its_retries(self, stack, bucket, monkeypatch):
        """A framework on_event that times out fails its create, and the framework answers the rollback's Delete of a
        failed create without calling the handler (aws-cdk-lib, provider-framework/runtime/cfn-response.js): what the
        create made would run on. So each handler outlasts one call with all its retries, timed as botocore's standard
        mode times them (total_max_attempts attempts of at most connect_timeout + read_timeout each; before each
        retry, a backoff of at most ExponentialBackoff's cap plus its retry-after allowance), and ends within the
        framework's own functions' 15 minutes."""
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        config = aws.bedrock_client().meta.config
        attempts = config.retries["total_max_attempts"]
        backoff = ExponentialBackoff._MAX_BACKOFF + ExponentialBackoff._RETRY_AFTER_MAX_ADDITIONAL
        one_call = attempts * (config.connect_timeout + config.read_timeout) + (attempts - 1) * backoff
        model(stack, bucket)
        functions = resources_of_type(Template.from_stack(stack), "AWS::Lambda::Function").values()
        timeouts = [
            f["Properties"].get("Timeout", 3)
            for f in functions
            if f["Properties"]["Handler"].startswith("bedrock_custom_resource.index.")
        ]
        assert len(timeouts) == 2
        assert all(one_call < timeout < 15 * 60 for timeout in timeouts), (one_call, timeouts)

    def test_handler_runtime_is_the_newest_python_that_aws_cdk_lib_offers(self):
        versions = [
            tuple(int(part) for part in match.groups())
            for name in dir(lambda_.Runtime)
            if (match := re.fullmatch(r"PYTHON_(\d+)_(\d+)", name))
        ]
        assert HANDLER_RUNTIME.name == "python{}.{}".format(*max(versions))

    def test_query_interval_and_total_timeout_are_configurable(self, stack, bucket):
        CustomizationProvider.of(stack, query_interval=cdk.Duration.seconds(30), total_timeout=cdk.Duration.minutes(45))
        model(stack, bucket)
        template = Template.from_stack(stack)
        (machine,) = resources_of_type(template, "AWS::StepFunctions::StateMachine").values()
        definition = rendered(machine["Properties"]["DefinitionString"])
        assert '\\"IntervalSeconds\\":30' in definition
        assert '\\"MaxAttempts\\":90' in definition  # 45 minutes / 30 seconds

    @pytest.mark.parametrize(
        ("interval", "total", "attempts"),
        # Polls of interval + 1 second (each poll's own time) within 3600 - interval - 120 seconds; 50 minutes fit.
        [(60, 60, 56), (30, 60, 111), (300, 60, 10), (60, 50, 50)],
        ids=["default", "30-seconds", "5-minutes", "within"],
    )
    def test_polling_stops_in_time_to_answer_within_cloudformations_hour(
        self, stack, bucket, interval, total, attempts
    ):
        """CloudFormation stops waiting an hour after its request: the provider polls at most an hour less its query
        interval and 2 minutes, so that its answer (its reason, the physical id a rollback deletes) comes first."""
        CustomizationProvider.of(
            stack, query_interval=cdk.Duration.seconds(interval), total_timeout=cdk.Duration.minutes(total)
        )
        model(stack, bucket, completion=Completion.polling())
        (machine,) = resources_of_type(Template.from_stack(stack), "AWS::StepFunctions::StateMachine").values()
        assert f'\\"MaxAttempts\\":{attempts}' in rendered(machine["Properties"]["DefinitionString"])

    @settings(max_examples=300, deadline=None)
    @given(interval=st.integers(1, 7200), total=st.integers(1, 3600))
    def test_any_whole_second_settings_poll_within_the_hour_or_are_refused_naming_them(self, interval, total):
        """Fuzzed (an outside review found totals aws-cdk-lib's Provider refuses, and intervals that crashed jsii):
        either a clear refusal, or whole polls (the framework counts them) that each take the interval and a second,
        answered 2 minutes before CloudFormation's hour; and never more than total_timeout."""
        query_interval, total_timeout = cdk.Duration.seconds(interval), cdk.Duration.seconds(total)
        try:
            provider_module._check_settings(query_interval, total_timeout, 2, ProviderKind.FRAMEWORK)
        except ValueError as refused:
            assert str(refused).startswith(("query_interval: ", "total_timeout: "))
            return
        polled = provider_module.answered_within_the_hour(query_interval, total_timeout).to_seconds()
        polls = polled // interval
        assert polls >= 1 and polls * interval == polled <= total
        assert polls * (interval + 1) + interval + 120 <= 3600

    def test_a_query_interval_that_leaves_no_time_to_poll_within_the_hour_is_refused(self, stack):
        refused = r"query_interval: 30 minutes leaves no poll: .* within the 1680 seconds that CloudFormation's hour"
        with pytest.raises(ValueError, match=refused):
            CustomizationProvider.of(stack, query_interval=cdk.Duration.minutes(30))

    @pytest.mark.parametrize("setting", ["total_timeout", "query_interval"])
    def test_a_setting_that_is_not_a_whole_number_of_seconds_is_refused_naming_it(self, stack, setting):
        with pytest.raises(ValueError, match=f"^{setting}: 1 second 500 millis is not a whole number of seconds"):
            CustomizationProvider.of(stack, **{setting: cdk.Duration.millis(1500)})

    def test_total_timeout_may_not_exceed_one_hour(self, stack):
        with pytest.raises(ValueError, match="total_timeout: 1 hour 1 minute is longer than 1 hour"):
            CustomizationProvider.of(stack, total_timeout=cdk.Duration.minutes(61))

    def test_settings_after_the_provider_exists_are_refused(self, stack, bucket):
        model(stack, bucket)
        with pytest.raises(ValueError, match="already has its CustomizationProvider"):
            CustomizationProvider.of(stack, query_interval=cdk.Duration.seconds(30))

    def test_warns_once_per_stack_that_long_polled_jobs_fail_the_deployment(self, stack, bucket):
        model(stack, bucket, "First", completion=Completion.polling())
        model(stack, bucket, "Second", completion=Completion.polling())
        model(stack, bucket, "Third")  # event-driven: not limited to an hour
        warnings = Annotations.from_stack(stack).find_warning(
            # 1 hour less the query interval and 2 minutes: polling stops in time to answer within the hour.
            "*",
            Match.string_like_regexp("wait at most 56 minutes for each polled customization job"),
        )
        assert [w.id for w in warnings] == ["/TestStack/BedrockCustomizationProvider"]

    def test_the_warning_says_which_polled_jobs_cannot_be_stopped(self, stack, bucket):
        """Import and copy jobs cannot be stopped (README: "An import or copy job cannot be stopped"): the rollback of
        a polled one that outlasts the wait does not stop it, whatever the removal policy."""
        source = "arn:aws:bedrock:us-west-2:123456789012:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6"
        CopiedCustomModel(stack, "Copy", source_model=source, completion=Completion.polling())
        (warning,) = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("wait at most"))
        text = warning.entry.data
        assert "for each polled copy job" in text and "Copy jobs cannot be stopped" in text
        assert "stops" not in text  # no job of this stack is stopped by its rollback

        both = cdk.Stack(stack.node.root, "Both", env=ENV)
        CopiedCustomModel(both, "Copy", source_model=source, completion=Completion.polling())
        model(both, s3.Bucket.from_bucket_name(both, "Data", "data"), "Trained", completion=Completion.polling())
        (warning,) = Annotations.from_stack(both).find_warning("*", Match.string_like_regexp("wait at most"))
        assert "for each polled customization or copy job" in warning.entry.data
        assert "Its rollback stops customization jobs only with RemovalPolicy.DESTROY" in warning.entry.data

    def test_the_warning_gives_the_stacks_shortest_wait_of_all_its_providers(self, stack, bucket):
        """A model on another stack's provider of a shorter total_timeout, added after the first polled model: the
        stack's jobs are held to the shorter wait, which the warning gives."""
        model(stack, bucket, "First", completion=Completion.polling())
        shared = CustomizationProvider.of(
            cdk.Stack(stack.node.root, "Providers", env=ENV), total_timeout=cdk.Duration.minutes(20)
        )
        model(stack, bucket, "Second", completion=Completion.polling(), provider=shared)
        (warning,) = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("wait at most"))
        assert warning.entry.data.startswith("Deployments wait at most 20 minutes for each polled customization job")

    def test_no_warning_for_event_driven_or_no_wait_jobs(self, stack, bucket):
        model(stack, bucket, "First")
        model(stack, bucket, "Second", completion=Completion.no_wait())
        assert not Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("wait at most"))

    def test_the_warning_can_be_acknowledged_for_the_stack(self, stack, bucket):
        cdk.Annotations.of(stack).acknowledge_warning(POLLING_WARNING_ID, "Our jobs take 20 minutes")
        model(stack, bucket, completion=Completion.polling())
        assert not Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("wait at most"))

    def test_an_app_synthesized_again_warns_once(self, stack, bucket):
        """assertions synthesize the app each time (force): the warning, added at synth, is not added again."""
        model(stack, bucket, completion=Completion.polling())
        Template.from_stack(stack)
        (warning,) = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("wait at most"))
        assert warning.id == f"/{stack.node.path}/BedrockCustomizationProvider"

    def test_a_warning_removed_by_an_acknowledgement_between_synths_stays_removed(self, stack, bucket):
        """aws-cdk-lib's acknowledge_warning removes the warnings already added under its scope (the app's too), but
        an acknowledgement on the app does not hold for one added later: it is added once."""
        model(stack, bucket, completion=Completion.polling())
        assert Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("wait at most"))
        cdk.Annotations.of(stack.node.root).acknowledge_warning(POLLING_WARNING_ID, "Our jobs take 20 minutes")
        assert not Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("wait at most"))

    def test_the_retry_of_a_refused_first_model_is_warned_of(self, stack, bucket):
        """The refused model's provider leaves the tree with it; the retry's new provider carries the warning."""
        china = iam.Role.from_role_arn(stack, "China", "arn:aws-cn:iam::123456789012:role/Training")
        with pytest.raises(ValueError, match=r"^role: .* of partition aws-cn"):
            model(stack, bucket, role=china, completion=Completion.polling())
        model(stack, bucket, completion=Completion.polling())
        (warning,) = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("wait at most"))
        assert warning.id == f"/{stack.node.path}/BedrockCustomizationProvider"

    def test_no_warning_without_a_model(self, stack):
        CustomizationProvider.of(stack)
        assert not Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("wait at most"))


def test_a_base_model_that_is_neither_a_foundation_model_id_nor_an_arn_is_refused_as_the_models_file_does(
    stack, bucket
):
    with pytest.raises(
        ValueError, match=r"^base_model: 'nova-micro' is neither a foundation model id .* nor a model ARN"
    ):
        model(stack, bucket, base_model="nova-micro")


class TestTags:
    def test_tags_of_reach_the_job_and_the_model(self, stack, bucket):
        model(stack, bucket, job_tags={"run": "7"}, custom_model_tags={"use-case": "support"})
        cdk.Tags.of(stack).add("team", "ml")
        properties = job_properties(Template.from_stack(stack))
        assert properties["jobTags"] == [{"key": "run", "value": "7"}, {"key": "team", "value": "ml"}]
        assert properties["customModelTags"] == [
            {"key": "team", "value": "ml"},
            {"key": "use-case", "value": "support"},
        ]

    def test_tags_can_target_the_resource_type(self, stack, bucket):
        model(stack, bucket)
        cdk.Tags.of(stack).add("only-jobs", "yes", include_resource_types=[JOB])
        cdk.Tags.of(stack).add("not-jobs", "yes", exclude_resource_types=[JOB])
        properties = job_properties(Template.from_stack(stack))
        assert properties["jobTags"] == [{"key": "only-jobs", "value": "yes"}]

    @pytest.mark.parametrize(
        ("tags", "why"),
        [
            ({"job_tags": {"": "v"}}, "jobTags\\[0\\].key: ''"),
            ({"job_tags": {"k" * 129: "v"}}, "jobTags\\[0\\].key: 'kkk"),
            ({"job_tags": {"cdk-bedrock-customization:stack": "x"}}, "jobTags: the tag key .* is reserved"),
            ({"custom_model_tags": {"cdk-bedrock-customization:logical-id": "x"}}, "customModelTags: the tag key"),
            # Bedrock keeps 50 on a resource; the job's own tags leave room for the handler's five.
            ({"job_tags": {f"tag-{i:03d}": "v" for i in range(46)}}, "jobTags: 46 tags; at most 45"),
            ({"custom_model_tags": {f"tag-{i:03d}": "v" for i in range(51)}}, "customModelTags: 51 tags; at most 50"),
            # "Tagging your AWS resources": the aws: prefix, in any case, is reserved for AWS's own tags.
            ({"job_tags": {"aws:team": "ml"}}, "jobTags: the tag key 'aws:team' starts with 'aws:', which AWS"),
            ({"custom_model_tags": {"AWS:team": "ml"}}, "customModelTags: the tag key 'AWS:team' starts with 'AWS:'"),
        ],
        ids=[
            "empty-key",
            "long-key",
            "reserved",
            "reserved-on-model",
            "too-many",
            "too-many-on-model",
            "aws-prefix",
            "aws-prefix-upper",
        ],
    )
    def test_tags_bedrock_or_the_handler_would_refuse_are_refused_at_synth(self, stack, bucket, tags, why):
        with pytest.raises(InvalidProperties, match=why):
            model(stack, bucket, **tags)

    @pytest.mark.parametrize(
        ("add", "why"),
        [
            # TagValue's pattern, [a-zA-Z0-9\s._:/=+@-]*: Bedrock refuses an accented letter.
            ({"Owner": "José"}, r"jobTags\[0\]\.value: 'José' does not match"),
            ({"cdk-bedrock-customization:stack": "x"}, "jobTags: the tag key .* is reserved"),
            ({f"tag-{i:03d}": "v" for i in range(38)}, "jobTags: 46 tags; at most 45"),
            ({"Aws:owner": "ml"}, "jobTags: the tag key 'Aws:owner' starts with 'Aws:', which AWS reserves"),
        ],
        ids=["pattern", "reserved", "too-many-with-own", "aws-prefix"],
    )
    def test_tags_of_are_checked_as_own_tags_are_at_synth(self, stack, bucket, add, why):
        model(stack, bucket, job_tags={f"own-{i}": "v" for i in range(8)})
        for key, value in add.items():
            cdk.Tags.of(stack).add(key, value)
        hint = re.escape("Tags.of(...) (exclude_resource_types=['Custom::BedrockModelCustomizationJob'] leaves it out)")
        with pytest.raises(RuntimeError, match=f"TestStack/Model/Resource: {hint}: .*{why}"):
            Template.from_stack(stack)

    def test_the_models_own_tags_may_be_as_many_as_bedrock_keeps(self, stack, bucket):
        model(stack, bucket, custom_model_tags={f"tag-{i:03d}": "v" for i in range(50)})
        assert len(job_properties(Template.from_stack(stack))["customModelTags"]) == 50

    def test_no_tags_renders_no_tag_properties(self, stack, bucket):
        model(stack, bucket)
        properties = job_properties(Template.from_stack(stack))
        assert "jobTags" not in properties and "customModelTags" not in properties


class TestAttributes:
    def test_attributes_are_getatts_named_as_the_api(self, stack, bucket):
        custom_model = model(stack, bucket)
        for name in ("output_model_arn", "output_model_name", "job_arn", "job_name"):
            cdk.CfnOutput(stack, name, value=getattr(custom_model, name))
        outputs = Template.from_stack(stack).to_json()["Outputs"]
        assert {o["Value"]["Fn::GetAtt"][1] for o in outputs.values()} == {
            "outputModelArn",
            "outputModelName",
            "jobArn",
            "jobName",
        }


def test_a_deprecated_aws_cdk_lib_api_fails_the_tests(stack):
    """What keeps the library off deprecated APIs (tests/conftest.py): such a call raises."""
    first = cdk.CfnResource(stack, "First", type="Custom::First")
    second = cdk.CfnResource(stack, "Second", type="Custom::Second")
    with pytest.raises(Exception, match="deprecated"):
        second.add_dependency(first)
    second.add_resource_dependency(first)


def _as_iam_reads_it(value: str) -> str | None:
    """value as IAM reads a Resource or StringLike value, per its user guide: ${*}, ${?} and ${$} are the characters
    themselves; any other * or ? is a wildcard and any other ${ starts a variable (None: not one literal string)."""
    literal = []
    index = 0
    while index < len(value):
        special = value[index : index + 4]
        if special in ("${*}", "${?}", "${$}"):
            literal.append(special[2])
            index += 4
        elif value[index] in "*?" or value.startswith("${", index):
            return None
        else:
            literal.append(value[index])
            index += 1
    return "".join(literal)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="-!_*'().aZ09/?${}", max_size=30))
def test_any_key_is_granted_as_exactly_itself(key):
    # What IAM matches, read back with the user guide's rules (not with the code under test).
    assert _as_iam_reads_it(iam_literal(key)) == key


@pytest.mark.parametrize("source", ["s3://logs-bucket/invocations", "s3://logs-bucket/invocations/"])
def test_the_role_reads_the_log_files_under_an_invocation_log_prefix_written_without_its_final_slash(
    stack, bucket, source
):
    """Bedrock writes invocation logs as many objects under the logging prefix (user guide, "Monitor model invocation
    using CloudWatch Logs and Amazon S3": <prefix>/AWSLogs/<account>/BedrockModelInvocationLogs/...), and the RFT
    access page grants s3:GetObject and s3:ListBucket on them: a prefix without its final / is still a prefix."""
    logs = InvocationLogs(source=S3Data.from_uri(source))
    model(stack, bucket, customization=Customization.distillation("amazon.nova-premier-v1:0"), training_data=logs)
    statements = role_statements(Template.from_stack(stack), "ModelServiceRole")
    reads = [s for s in statements if s["Action"] == "s3:GetObject"]
    assert [rendered(s["Resource"]) for s in reads if "logs-bucket" in rendered(s["Resource"])] == [
        rendered({"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::logs-bucket/invocations/*"]]})
    ]
    (listing,) = [s for s in statements if s["Action"] == "s3:ListBucket" and "logs-bucket" in rendered(s["Resource"])]
    assert "invocations/*" in json.dumps(listing["Condition"])


@pytest.mark.parametrize(
    ("removal_policy", "key_in_the_stack", "warned"),
    [
        (cdk.RemovalPolicy.RETAIN, True, True),
        (cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE, True, True),
        (cdk.RemovalPolicy.DESTROY, True, False),  # nothing kept to take
        (cdk.RemovalPolicy.RETAIN, False, False),  # the key outlives the stack
    ],
)
def test_a_kept_model_whose_key_its_own_stack_makes_warns_that_a_stack_made_again_trains_again(
    stack, bucket, removal_policy, key_in_the_stack, warned
):
    """customModelKmsKeyId is part of what a job makes: a stack made again (its create rolled back after the 12-hour
    wait, say) makes a new key, so the kept job is not taken and a second one trains, on each try."""
    keys = stack if key_in_the_stack else cdk.Stack(stack.node.root, "Keys", env=ENV)
    model(stack, bucket, kms_key=kms.Key(keys, "ModelKey"), removal_policy=removal_policy)
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("keyMadeAnewWithItsStack"))
    assert [warning.id for warning in warnings] == (["/TestStack/Model"] if warned else [])
    if warned:
        assert "is made in this stack" in warnings[0].entry.data


# --- a base model that no dataset rule knows for its customization ------------------------------------------------
# Bedrock user guide, "Supported models and Regions for Amazon Bedrock model customization"
# (custom-model-supported.html): Amazon Nova Micro (amazon.nova-micro-v1:0:128k) takes fine-tuning and is a
# distillation student, as the README's examples train it; Amazon Titan Text Embeddings V2 is not listed; and
# amazon.nova-mirco-v1:0:128k (a typo) is no Bedrock model id at all.


def base_model_warnings(stack: cdk.Stack) -> list[str]:
    found = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("baseModelUnknown"))
    return [str(warning.entry.data) for warning in found]


@pytest.mark.parametrize("base_model", ["amazon.nova-mirco-v1:0:128k", "amazon.titan-embed-text-v2:0"])
def test_a_base_model_bedrock_does_not_customize_is_warned_of_and_still_synthesized(stack, bucket, base_model):
    custom_model(stack, bucket, base_model=base_model)
    (warning,) = base_model_warnings(stack)
    assert warning.startswith(f"base_model: {base_model!r} is not a model this library knows")
    assert "FINE_TUNING" in warning
    assert "may be wrong, or newer than this library" in warning


def test_a_model_known_for_another_customization_is_warned_of(stack, bucket):
    # custom-model-supported.html: continued pre-training is for the Titan Text models, not Amazon Nova.
    custom_model(
        stack, bucket, base_model="amazon.nova-micro-v1:0:128k", customization=Customization.continued_pre_training()
    )
    (warning,) = base_model_warnings(stack)
    assert "CONTINUED_PRE_TRAINING" in warning


@pytest.mark.parametrize(
    "customization",
    [Customization.fine_tuning(), Customization.distillation("us.amazon.nova-premier-v1:0")],
    ids=["fine-tuning", "distillation"],
)
def test_the_readmes_base_model_is_not_warned_of(stack, bucket, customization):
    custom_model(stack, bucket, base_model="amazon.nova-micro-v1:0:128k", customization=customization)
    assert base_model_warnings(stack) == []


@pytest.mark.parametrize(
    "base_model",
    [
        "amazon.nova-canvas-v1:0",
        "amazon.titan-image-generator-v1:0",
        "amazon.titan-image-generator-v2:0",
        "amazon.titan-embed-image-v1:0",
    ],
)
def test_an_image_or_embedding_model_the_user_guide_lists_for_fine_tuning_is_not_warned_of(stack, bucket, base_model):
    # custom-model-supported.html lists Nova Canvas, Titan Image Generator G1 (v1, v2) and Titan Multimodal
    # Embeddings G1 for fine-tuning, with these model ids.
    custom_model(stack, bucket, base_model=base_model)
    assert base_model_warnings(stack) == []


def test_a_custom_model_arn_or_a_token_is_not_warned_of(stack, bucket):
    arn = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/abcdefghijkl"
    custom_model(stack, bucket, "ByArn", base_model=arn)
    parameter = cdk.CfnParameter(stack, "BaseModel").value_as_string
    custom_model(stack, bucket, "ByToken", data_prefix="token/", base_model=parameter)
    assert base_model_warnings(stack) == []


def test_the_default_security_group_of_a_vpc_job_allows_all_outbound_traffic(stack, bucket):
    """The security_groups default, "one new group, outbound only": the job reaches S3 and Bedrock through the VPC's
    endpoints (aws-cdk-lib renders a group that allows none as a "Disallow all traffic" rule)."""
    isolated = ec2.SubnetConfiguration(name="iso", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0, subnet_configuration=[isolated])
    model(stack, bucket, vpc=vpc, vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED))
    (group,) = resources_of_type(Template.from_stack(stack), "AWS::EC2::SecurityGroup").values()
    assert group["Properties"]["SecurityGroupEgress"] == [
        {"CidrIp": "0.0.0.0/0", "Description": "Allow all outbound traffic by default", "IpProtocol": "-1"}
    ]


# --- the distillation pairs the user guide documents ------------------------------------------------------------
# prequisites-model-distillation.html, "Supported models and Regions for Amazon Bedrock Model Distillation": Nova Pro
# teaches Nova Lite and Micro, Nova Premier (inference profile only) Nova Lite, Micro and Pro, in US East (N.
# Virginia); Llama 3.1 405B teaches Llama 3.1 8B and 70B, 3.2 1B and 3.3 70B, Llama 3.1 70B and 3.3 70B teach Llama 3.1
# 8B, 3.2 1B and 3.2 3B, in US West (Oregon). "Distillation is not currently available for Anthropic models". Its
# "Inference profile support": Nova Pro and Llama 3.1 70B "Both", Nova Premier and Llama 3.3 70B "Inference profile
# only", Llama 3.1 405B "On demand".
Teacher = str | bedrock.FoundationModelIdentifier | Callable[[cdk.Stack], bedrock.IModel]


def distillation_warnings(region: str, student: str, teacher: Teacher) -> list[str]:
    stack = cdk.Stack(cdk.App(), "Distilled", env=cdk.Environment(account="123456789012", region=region))
    given = teacher(stack) if callable(teacher) else teacher
    model(stack, s3.Bucket(stack, "Data"), base_model=student, customization=Customization.distillation(given))
    found = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("distillation"))
    return [str(warning.entry.data) for warning in found]


@pytest.mark.parametrize(
    ("region", "student", "teacher"),
    [
        ("us-east-1", "amazon.nova-micro-v1:0:128k", "amazon.nova-pro-v1:0"),
        ("us-east-1", "amazon.nova-pro-v1:0:300k", "us.amazon.nova-premier-v1:0"),
        (
            "us-east-1",
            "amazon.nova-lite-v1:0:300k",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-premier-v1:0",
        ),
        ("us-east-1", "amazon.nova-lite-v1:0:300k", bedrock.FoundationModelIdentifier.AMAZON_NOVA_PRO_V1_0),
        ("us-east-1", "amazon.nova-lite-v1:0:300k", "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0"),
        ("us-west-2", "meta.llama3-3-70b-instruct-v1:0:128k", "meta.llama3-1-405b-instruct-v1:0"),
        ("us-west-2", "meta.llama3-2-3b-instruct-v1:0:128k", "us.meta.llama3-3-70b-instruct-v1:0"),
        ("us-west-2", "meta.llama3-2-3b-instruct-v1:0:128k", "us.meta.llama3-1-70b-instruct-v1:0"),
    ],
)
def test_a_documented_distillation_pair_in_its_region_gets_no_warning(region, student, teacher):
    assert distillation_warnings(region, student, teacher) == []


@pytest.mark.parametrize(
    ("region", "student", "teacher", "problem"),
    [
        (
            "us-east-1",
            "amazon.nova-pro-v1:0:300k",
            "amazon.nova-micro-v1:0",
            "teacher_model: amazon.nova-micro-v1:0 is no teacher",
        ),
        (
            "us-west-2",
            "anthropic.claude-3-haiku-20240307-v1:0:200k",
            "anthropic.claude-3-5-sonnet-20241022-v2:0",
            "teacher_model: anthropic.claude-3-5-sonnet-20241022-v2:0 is no teacher",
        ),
        (
            "us-east-1",
            "amazon.nova-pro-v1:0:300k",
            "amazon.nova-pro-v1:0",
            "base_model: amazon.nova-pro-v1:0:300k is not among the students",
        ),
        (
            "us-west-2",
            "meta.llama3-2-3b-instruct-v1:0:128k",
            "meta.llama3-1-405b-instruct-v1:0",
            "base_model: meta.llama3-2-3b-instruct-v1:0:128k is not among the students",
        ),
        (
            "us-west-2",
            "amazon.nova-micro-v1:0:128k",
            "us.amazon.nova-premier-v1:0",
            "runs distillation from amazon.nova-premier-v1:0 in us-east-1, not us-west-2",
        ),
        (
            "us-east-1",
            "amazon.nova-pro-v1:0:300k",
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0",
            "base_model: amazon.nova-pro-v1:0:300k is not among the students",
        ),
        (
            "us-east-1",
            "amazon.nova-pro-v1:0:300k",
            lambda stack: bedrock.FoundationModel.from_foundation_model_id(
                stack, "Teacher", bedrock.FoundationModelIdentifier.AMAZON_NOVA_PRO_V1_0
            ),
            "base_model: amazon.nova-pro-v1:0:300k is not among the students",
        ),
        (
            "us-east-1",
            "amazon.nova-lite-v1:0:300k",
            "amazon.nova-premier-v1:0",
            "by its model id; the user guide's table has it 'Inference profile only'",
        ),
        (
            "us-west-2",
            "meta.llama3-1-8b-instruct-v1:0:128k",
            "us.meta.llama3-1-405b-instruct-v1:0",
            "by a cross-Region inference profile; the user guide's table has it 'On demand'",
        ),
    ],
)
def test_an_undocumented_distillation_is_warned_of_and_still_synthesized(region, student, teacher, problem):
    (warning,) = distillation_warnings(region, student, teacher)
    assert problem in warning
    assert "distillationPairUndocumented" in warning
