"""Synth-time behaviour of ImportedCustomModel, deployments, provisioned throughput and existing models."""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template
from bedrock_custom_resource import lifecycle
from bedrock_custom_resource.contract import InvalidProperties
from cdk_bedrock_customization import (
    Commitment,
    CustomModel,
    CustomModelDeployment,
    ImportedCustomModel,
    ModelSource,
    ProvisionedThroughput,
    S3Data,
)
from cdk_bedrock_customization.serving import COMMITMENT_WARNING_ID

from .conftest import (
    BASE_MODEL,
    ENV,
    custom_model,
    inline_policies,
    key_statements,
    resources_of_type,
    role_statements,
    statements,
)

IMPORTED = "Custom::BedrockCustomModel"
DEPLOYMENT = "Custom::BedrockCustomModelDeployment"
THROUGHPUT = "Custom::BedrockProvisionedModelThroughput"
ESCROW_URI = "s3://customer-escrow-123456789012-smtj-a1b2c3/nova-support/model/"
PACKAGE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/nova-support/1"
EXISTING_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6"


def only(template: Template, resource_type: str) -> dict[str, Any]:
    (resource,) = resources_of_type(template, resource_type).values()
    return dict(resource)


def logical_id(stack: cdk.Stack, construct: Any) -> str:
    return str(stack.get_logical_id(construct.resource))


def handler_statements(template: Template) -> list[dict[str, Any]]:
    return role_statements(template, "BedrockCustomizationProviderHandlerRole")


def statement_with(template: Template, action: str) -> list[dict[str, Any]]:
    found = []
    for statement in handler_statements(template):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if action in actions:
            found.append(statement)
    return found


class TestImportedCustomModel:
    def test_from_an_s3_uri_a_role_reads_exactly_the_model_prefix(self, stack):
        model = ImportedCustomModel(stack, "Imported", source=ModelSource.from_uri(ESCROW_URI))
        template = Template.from_stack(stack)
        resource = only(template, IMPORTED)
        properties = resource["Properties"]
        assert properties["modelSourceConfig"] == {"s3DataSource": {"s3Uri": ESCROW_URI}}
        assert "customModelDataSource" not in properties and "modelName" not in properties
        role_id = properties["roleArn"]["Fn::GetAtt"][0]
        trust = template.to_json()["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
        assert trust["Principal"] == {"Service": "bedrock.amazonaws.com"}
        assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
        assert "bedrock:us-east-1:123456789012:*" in json.dumps(trust["Condition"]["ArnLike"])
        # Its grants are inline in the role (one policy, "Grants"), and nothing else is attached to it.
        grants = role_statements(template, role_id)
        assert inline_policies(template, role_id) == {"Grants": grants}
        rendered = json.dumps(grants)
        assert "customer-escrow-123456789012-smtj-a1b2c3/nova-support/model/*" in rendered
        assert {"StringLike": {"s3:prefix": "nova-support/model/*"}} in [s.get("Condition") for s in grants]
        # Created before the import: its ARN is one of the import's properties.
        assert properties["roleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
        assert resource["DeletionPolicy"] == "Retain"
        assert stack.resolve(model.model_arn) == {"Fn::GetAtt": [logical_id(stack, model), "modelArn"]}
        # The handler passes the roles that carry its stack's tag, as this one does, to Bedrock only.
        (pass_role,) = statement_with(template, "iam:PassRole")
        assert pass_role["Resource"] == {
            "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::123456789012:role/*"]]
        }
        assert pass_role["Condition"] == {
            "StringEquals": {
                "iam:PassedToService": "bedrock.amazonaws.com",
                f"aws:ResourceTag/{lifecycle.STACK_TAG}": {"Ref": "AWS::StackId"},
            }
        }
        role_tags = template.to_json()["Resources"][role_id]["Properties"]["Tags"]
        assert {"Key": lifecycle.STACK_TAG, "Value": {"Ref": "AWS::StackId"}} in role_tags
        (imports,) = statement_with(template, "bedrock:CreateCustomModel")
        # CreateCustomModel has no resource type (Service Authorization Reference): *, for requests that put
        # the configuration tag on the new model, as the handler always does.
        assert imports["Action"] == "bedrock:CreateCustomModel"
        assert imports["Resource"] == "*"
        assert imports["Condition"] == {"StringLike": {f"aws:RequestTag/{lifecycle.FINGERPRINT_TAG}": "*"}}
        (reads,) = statement_with(template, "bedrock:DeleteCustomModel")
        assert "bedrock:GetCustomModel" in reads["Action"]
        assert json.dumps(reads["Resource"]).endswith(':custom-model/*"]]}')

    def test_from_a_model_package_no_role_is_made_or_passed(self, stack):
        ImportedCustomModel(stack, "Imported", source=ModelSource.from_model_package_arn(PACKAGE_ARN))
        template = Template.from_stack(stack)
        properties = only(template, IMPORTED)["Properties"]
        assert properties["customModelDataSource"] == {"modelPackageArnDataSource": {"modelPackageArn": PACKAGE_ARN}}
        assert "roleArn" not in properties
        roles = resources_of_type(template, "AWS::IAM::Role")
        assert [k for k in roles if not k.startswith("BedrockCustomizationProvider")] == []
        assert statement_with(template, "iam:PassRole") == []

    def test_a_key_encrypts_the_model_and_both_roles_may_use_it(self, stack):
        key = kms.Key(stack, "Key")
        ImportedCustomModel(stack, "Imported", source=ModelSource.from_model_package_arn(PACKAGE_ARN), kms_key=key)
        template = Template.from_stack(stack)
        properties = only(template, IMPORTED)["Properties"]
        key_id = stack.get_logical_id(key.node.default_child)
        assert properties["modelKmsKeyArn"] == {"Fn::GetAtt": [key_id, "Arn"]}
        assert "roleArn" in properties  # Bedrock needs a role to use a customer managed key
        for prefix in ("ImportedServiceRole", "BedrockCustomizationProviderHandlerRole"):
            granted = [s for s in role_statements(template, prefix) if "kms:Decrypt" in s["Action"]]
            assert granted and granted[0]["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}

    @pytest.mark.parametrize(
        ("source", "path"),
        [
            (ModelSource.from_model_package_arn("arn:aws:s3:::not-a-package"), "modelPackageArn"),
            (ModelSource.from_uri("s3://Bad_Bucket/model/"), "modelSourceConfig.s3DataSource.s3Uri"),
        ],
    )
    def test_a_malformed_source_is_an_error_naming_it(self, stack, source, path):
        with pytest.raises(InvalidProperties, match=path) as raised:
            ImportedCustomModel(stack, "Imported", source=source)
        assert "does not match" in str(raised.value)
        assert not resources_of_type(Template.from_stack(stack), IMPORTED)

    def test_no_source_or_two_sources_is_an_error(self, stack):
        both = ModelSource(
            {
                **ModelSource.from_uri(ESCROW_URI).properties,
                **ModelSource.from_model_package_arn(PACKAGE_ARN).properties,
            }
        )
        for source, got in ((ModelSource({}), "none"), (both, "customModelDataSource")):
            with pytest.raises(InvalidProperties, match="exactly one model source") as raised:
                ImportedCustomModel(stack, f"Imported{got}", source=source)
            assert got in str(raised.value)

    def test_a_bucket_this_app_makes_or_uploads_to_is_refused_naming_the_source(self, stack, tmp_path):
        """botocore's CreateCustomModel.modelSourceConfig: "The Amazon S3 URI in the model source must be for the
        Amazon-managed Amazon S3 bucket containing your model artifacts", which SageMaker AI made: not the app's."""
        bucket = s3.Bucket(stack, "Models")
        (tmp_path / "model.safetensors").write_bytes(b"weights")
        uploaded = S3Data.from_local_folder(stack, "Upload", str(tmp_path), bucket=bucket, key="nova/")
        from_l1 = s3.Bucket.from_cfn_bucket(s3.CfnBucket(stack, "L1Models"))
        for number, data in enumerate((S3Data.from_bucket(bucket, "nova/"), uploaded, S3Data.from_bucket(from_l1))):
            refused = r"^source: bucket TestStack/[\w/@]+ \(key '(nova/)?'\) is one this app makes or uploads to; "
            with pytest.raises(ValueError, match=refused):
                ImportedCustomModel(stack, f"Imported{number}", source=ModelSource.from_s3(data))
            assert stack.node.try_find_child(f"Imported{number}") is None
        escrow = s3.Bucket.from_bucket_name(stack, "Escrow", "customer-escrow-123456789012-smtj-a1b2c3")
        ImportedCustomModel(stack, "Imported", source=ModelSource.from_s3(S3Data.from_bucket(escrow, "nova/")))

    def test_tags_of_reach_the_model(self, stack):
        ImportedCustomModel(
            stack, "Imported", source=ModelSource.from_model_package_arn(PACKAGE_ARN), model_tags={"own": "1"}
        )
        cdk.Tags.of(stack).add("team", "ml")
        properties = only(Template.from_stack(stack), IMPORTED)["Properties"]
        assert properties["modelTags"] == [{"key": "own", "value": "1"}, {"key": "team", "value": "ml"}]


class TestDeployments:
    def test_a_trained_model_deploys_with_its_output_model_arn(self, stack, bucket):
        model = custom_model(stack, bucket, "Trained")
        deployment = model.add_deployment("OnDemand", description="support bot", tags={"tier": "gold"})
        template = Template.from_stack(stack)
        resource = only(template, DEPLOYMENT)
        assert resource["Properties"]["modelArn"] == stack.resolve(model.output_model_arn)
        assert resource["Properties"]["description"] == "support bot"
        assert resource["Properties"]["tags"] == [{"key": "tier", "value": "gold"}]
        assert resource["DeletionPolicy"] == "Delete"
        assert stack.resolve(deployment.custom_model_deployment_arn) == {
            "Fn::GetAtt": [logical_id(stack, deployment), "customModelDeploymentArn"]
        }

    def test_the_handler_may_manage_deployments_without_depending_on_the_model(self, stack, bucket):
        custom_model(stack, bucket, "Trained").add_deployment("OnDemand")
        template = Template.from_stack(stack)
        lifecycle = [s for s in statement_with(template, "bedrock:DeleteCustomModelDeployment")]
        assert len(lifecycle) == 1
        assert "custom-model-deployment/*" in json.dumps(lifecycle[0]["Resource"])
        assert "bedrock:GetCustomModelDeployment" in lifecycle[0]["Action"]
        # Naming the model's attribute would make the handler's policy wait for the model: a cycle.
        policy = json.dumps(handler_statements(template))
        assert "outputModelArn" not in policy
        (on_model,) = [s for s in statement_with(template, "bedrock:CreateCustomModelDeployment") if s not in lifecycle]
        assert "custom-model/*" in json.dumps(on_model["Resource"])

    def test_an_existing_model_by_arn_is_granted_exactly(self, stack):
        CustomModel.from_custom_model_arn(stack, "Existing", EXISTING_ARN).add_deployment("OnDemand")
        template = Template.from_stack(stack)
        assert only(template, DEPLOYMENT)["Properties"]["modelArn"] == EXISTING_ARN
        on_models = [
            s for s in statement_with(template, "bedrock:UpdateCustomModelDeployment") if s["Resource"] == EXISTING_ARN
        ]
        assert len(on_models) == 1

    @pytest.mark.parametrize("serve", ["deployment", "throughput"])
    def test_a_model_of_another_region_is_refused_naming_it(self, stack, serve):
        # Bedrock serves a model in its own Region, as the models file already checks (a copy brings it here).
        elsewhere = EXISTING_ARN.replace("us-east-1", "us-west-2")
        existing = CustomModel.from_custom_model_arn(stack, "Existing", elsewhere)
        with pytest.raises(ValueError, match=f"^model: '{elsewhere}' is a model of us-west-2, and this stack deploys"):
            if serve == "deployment":
                existing.add_deployment("OnDemand")
            else:
                existing.add_provisioned_throughput("Throughput", model_units=1)
        assert not resources_of_type(Template.from_stack(stack), DEPLOYMENT)

    def test_a_model_arn_of_another_region_whose_account_is_a_token_is_refused(self, stack):
        elsewhere = f"arn:aws:bedrock:us-west-2:{cdk.Aws.ACCOUNT_ID}:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3"
        existing = CustomModel.from_custom_model_arn(stack, "Existing", elsewhere)
        refused = r"^model: .* is a model of us-west-2, and this stack deploys to us-east-1"
        with pytest.raises(ValueError, match=refused):
            existing.add_deployment("OnDemand")

    @pytest.mark.parametrize("use", ["deployment", "throughput", "base_model"])
    def test_a_model_of_a_stack_in_another_region_is_refused_naming_it(self, use):
        """Given as the construct, its ARN is a token (a cross-Region reference): its stack's Region tells. Else the
        deployment fails in AWS once the first stack's job has trained."""
        app = cdk.App()
        east, west = (
            cdk.Stack(app, name, env=cdk.Environment(region=region), cross_region_references=True)
            for name, region in (("East", "us-east-1"), ("West", "us-west-2"))
        )
        trained = custom_model(east, s3.Bucket(east, "Data"), "Trained")
        refused = "'East/Trained' is a model of us-east-1, and this stack deploys to us-west-2"
        with pytest.raises(ValueError, match=refused):
            if use == "deployment":
                CustomModelDeployment(west, "OnDemand", model=trained)
            elif use == "throughput":
                ProvisionedThroughput(west, "Throughput", model=trained, model_units=1)
            else:
                custom_model(west, s3.Bucket(west, "Data"), "Again", base_model=trained)
        assert west.node.try_find_child("OnDemand") is None and west.node.try_find_child("Throughput") is None

    def test_a_malformed_existing_arn_is_an_error_naming_it(self, stack):
        with pytest.raises(ValueError, match="model_arn: 'arn:aws:bedrock:us-east-1:123456789012:model/x'"):
            CustomModel.from_custom_model_arn(stack, "Existing", "arn:aws:bedrock:us-east-1:123456789012:model/x")

    @pytest.mark.parametrize("name", ["a b!", "", "m" * 64])
    def test_a_malformed_existing_name_is_an_error_naming_it_before_any_lookup(self, stack, name):
        with pytest.raises(ValueError, match=f"model_name: {re.escape(repr(name))}"):
            CustomModel.from_custom_model_name(stack, "Existing", name)
        assert stack.node.try_find_child("Existing") is None

    def test_an_existing_model_by_name_is_looked_up_at_deploy_time(self, stack):
        CustomModel.from_custom_model_name(stack, "Existing", "support-model").add_deployment("OnDemand")
        template = Template.from_stack(stack)
        (lookup_id, lookup), *_ = [
            (k, v) for k, v in template.to_json()["Resources"].items() if v["Type"] == "Custom::AWS"
        ]
        assert json.loads(lookup["Properties"]["Create"]) == {
            "action": "GetCustomModel",
            "service": "bedrock",
            "outputPaths": ["modelArn"],
            "parameters": {"modelIdentifier": "support-model"},
            "physicalResourceId": {"responsePath": "modelArn"},
        }
        assert only(template, DEPLOYMENT)["Properties"]["modelArn"] == {"Fn::GetAtt": [lookup_id, "modelArn"]}

    def test_grant_invoke_covers_exactly_the_deployment(self, stack, bucket):
        deployment = custom_model(stack, bucket, "Trained").add_deployment("OnDemand")
        role = iam.Role(stack, "App", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        deployment.grant_invoke(role)
        (statement,) = statements(Template.from_stack(stack), "AppDefaultPolicy")
        assert statement["Action"] == ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
        assert statement["Resource"] == {"Fn::GetAtt": [logical_id(stack, deployment), "customModelDeploymentArn"]}

    def test_a_bad_name_is_an_error_naming_it(self, stack):
        model = CustomModel.from_custom_model_arn(stack, "Existing", EXISTING_ARN)
        with pytest.raises(InvalidProperties, match="modelDeploymentName: 'has space'"):
            CustomModelDeployment(stack, "OnDemand", model=model, model_deployment_name="has space")

    def test_tags_of_reach_the_deployment(self, stack):
        CustomModel.from_custom_model_arn(stack, "Existing", EXISTING_ARN).add_deployment("OnDemand")
        cdk.Tags.of(stack).add("team", "ml")
        assert only(Template.from_stack(stack), DEPLOYMENT)["Properties"]["tags"] == [{"key": "team", "value": "ml"}]


class TestProvisionedThroughput:
    def test_properties_and_no_commitment_by_default(self, stack):
        model = ImportedCustomModel(stack, "Imported", source=ModelSource.from_model_package_arn(PACKAGE_ARN))
        throughput = model.add_provisioned_throughput("Provisioned", model_units=2)
        template = Template.from_stack(stack)
        resource = only(template, THROUGHPUT)
        assert resource["Properties"]["modelId"] == {"Fn::GetAtt": [logical_id(stack, model), "modelArn"]}
        assert resource["Properties"]["modelUnits"] == 2
        assert "commitmentDuration" not in resource["Properties"]
        assert resource["DeletionPolicy"] == "Delete"
        assert not Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("commitment"))
        assert stack.resolve(throughput.provisioned_model_arn) == {
            "Fn::GetAtt": [logical_id(stack, throughput), "provisionedModelArn"]
        }
        lifecycle = statement_with(template, "bedrock:DeleteProvisionedModelThroughput")
        assert len(lifecycle) == 1 and "provisioned-model/*" in json.dumps(lifecycle[0]["Resource"])

    def test_a_commitment_warns_at_synth(self, stack):
        model = CustomModel.from_custom_model_arn(stack, "Existing", EXISTING_ARN)
        model.add_provisioned_throughput("Provisioned", model_units=1, commitment=Commitment.SIX_MONTHS)
        assert only(Template.from_stack(stack), THROUGHPUT)["Properties"]["commitmentDuration"] == "SixMonths"
        warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("SixMonths commitment"))
        assert [w.id for w in warnings] == ["/TestStack/Existing/Provisioned"]
        assert COMMITMENT_WARNING_ID in json.dumps([w.entry.data for w in warnings])

    def test_a_foundation_model_is_granted_by_its_arn(self, stack):
        foundation = bedrock.FoundationModel.from_foundation_model_id(
            stack, "Base", bedrock.FoundationModelIdentifier.AMAZON_NOVA_MICRO_V1_0_128_K
        )
        ProvisionedThroughput(stack, "Provisioned", model=foundation, model_units=1)
        template = Template.from_stack(stack)
        on_model = [
            s
            for s in statement_with(template, "bedrock:UpdateProvisionedModelThroughput")
            if "foundation-model/amazon.nova-micro-v1:0:128k" in json.dumps(s["Resource"])
        ]
        assert len(on_model) == 1

    def test_model_units_below_one_is_an_error_naming_them(self, stack):
        model = CustomModel.from_custom_model_arn(stack, "Existing", EXISTING_ARN)
        with pytest.raises(InvalidProperties, match="modelUnits: 0 must be at least 1"):
            model.add_provisioned_throughput("Provisioned", model_units=0)

    @pytest.mark.parametrize("units", [float("nan"), float("inf")], ids=str)
    def test_model_units_that_are_not_a_number_are_an_error_naming_them(self, stack, units):
        """Not sent to the jsii kernel to ask whether they are a token: JSON has no NaN or Infinity, and the
        kernel would crash, failing every later call of the app."""
        model = CustomModel.from_custom_model_arn(stack, "Existing", EXISTING_ARN)
        with pytest.raises(InvalidProperties, match=f"modelUnits: expected an integer, got {units}"):
            model.add_provisioned_throughput("Provisioned", model_units=units)
        model.add_provisioned_throughput("Fine", model_units=1)  # the kernel still answers

    def test_model_units_beyond_a_32_bit_integer_are_an_error_naming_them(self, stack):
        model = CustomModel.from_custom_model_arn(stack, "Existing", EXISTING_ARN)
        with pytest.raises(InvalidProperties, match="modelUnits: 2147483648 is out of range for a 32-bit integer"):
            model.add_provisioned_throughput("Provisioned", model_units=2**31)

    def test_grant_invoke_covers_exactly_the_throughput(self, stack):
        throughput = CustomModel.from_custom_model_arn(stack, "Existing", EXISTING_ARN).add_provisioned_throughput(
            "Provisioned", model_units=1
        )
        role = iam.Role(stack, "App", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        throughput.grant_invoke(role)
        (statement,) = statements(Template.from_stack(stack), "AppDefaultPolicy")
        assert statement["Resource"] == {"Fn::GetAtt": [logical_id(stack, throughput), "provisionedModelArn"]}
        assert statement["Action"] == ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]


MODEL_KEY_USE_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]


@pytest.mark.parametrize("kind", [CustomModelDeployment, ProvisionedThroughput])
def test_an_encrypted_model_of_another_stack_is_served_and_invoked_with_its_key(kind):
    """custom-model-inference-prerequisites.html: "If the model is encrypted with a AWS KMS key, you must have
    permission to use that key"; prov-thru-prereq.html: the role "must have permissions to decrypt the key";
    the Nova user guide's customize-fine-tune-encrypt.html, PermissionsModelInvocation: who invokes the custom model
    needs kms:Decrypt and kms:GenerateDataKey."""
    app = cdk.App()
    models = cdk.Stack(app, "Models", env=ENV)
    data, output = S3Data.from_uri("s3://training-bucket/train.jsonl"), S3Data.from_uri("s3://training-bucket/out/")
    key = kms.Key(models, "ModelKey")
    trained = CustomModel(models, "Trained", base_model=BASE_MODEL, training_data=data, output_data=output, kms_key=key)
    serving = cdk.Stack(app, "Serving", env=ENV)
    units = {"model_units": 1} if kind is ProvisionedThroughput else {}
    role = iam.Role(serving, "App", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    kind(serving, "Served", model=trained, **units).grant_invoke(role)
    template = Template.from_stack(serving)
    # As the model's own stack's handler has them: its use, and its grant by Bedrock (test_model_keys.py).
    [(use, key_arn), (grant, granted_arn)] = key_statements(template, "BedrockCustomizationProviderHandlerRole")
    assert (use, grant, granted_arn) == (MODEL_KEY_USE_ACTIONS, ["kms:CreateGrant"], key_arn)
    assert set(key_arn) == {"Fn::ImportValue"} and "ModelKey" in key_arn["Fn::ImportValue"]
    assert key_statements(template, "App") == [(["kms:Decrypt", "kms:GenerateDataKey"], key_arn)]
    (decrypt,) = [statement for statement in statements(template, "AppDefaultPolicy") if "Condition" in statement]
    # The Nova guide's statement: kms:ViaService bedrock.${region}.amazonaws.com, the key's Region (its ARN's fourth).
    region = {"Fn::Select": [3, {"Fn::Split": [":", key_arn]}]}
    via_bedrock = {"Fn::Join": ["", ["bedrock.", region, ".", {"Ref": "AWS::URLSuffix"}]]}
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": via_bedrock}}


# The Nova user guide's customize-fine-tune-encrypt.html, statement PermissionsNovaProvisionedThroughput (its Sid left
# out): Bedrock optimizes a custom Nova model for provisioned throughput with the model's key, as itself.
NOVA_THROUGHPUT_KEY_STATEMENT = {
    "Effect": "Allow",
    "Principal": {"Service": "bedrock.amazonaws.com"},
    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
    "Resource": "*",
    "Condition": {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "aws:bedrock:custom-model"}},
}


def bedrock_key_statements(template: Template) -> list[dict[str, Any]]:
    (key,) = resources_of_type(template, "AWS::KMS::Key").values()
    found = key["Properties"]["KeyPolicy"]["Statement"]
    return [statement for statement in found if statement["Principal"] == {"Service": "bedrock.amazonaws.com"}]


@pytest.mark.parametrize("throughputs", [1, 2])
def test_a_nova_models_key_lets_bedrock_optimize_it_for_provisioned_throughput(stack, bucket, throughputs):
    model = custom_model(stack, bucket, kms_key=kms.Key(stack, "ModelKey"))
    for index in range(throughputs):
        model.add_provisioned_throughput(f"Provisioned{index}", model_units=1)
    assert bedrock_key_statements(Template.from_stack(stack)) == [NOVA_THROUGHPUT_KEY_STATEMENT]


def test_an_imported_nova_models_key_lets_bedrock_optimize_it_for_provisioned_throughput(stack):
    source = ModelSource.from_model_package_arn(PACKAGE_ARN)
    imported = ImportedCustomModel(stack, "Imported", source=source, kms_key=kms.Key(stack, "ModelKey"))
    imported.add_provisioned_throughput("Provisioned", model_units=1)
    assert bedrock_key_statements(Template.from_stack(stack)) == [NOVA_THROUGHPUT_KEY_STATEMENT]


@pytest.mark.parametrize(
    ("base_model", "serve"),
    [
        (BASE_MODEL, lambda model: model.add_deployment("OnDemand")),
        (BASE_MODEL, lambda model: None),
        ("meta.llama3-1-8b-instruct-v1:0:128k", lambda model: model.add_provisioned_throughput("P", model_units=1)),
    ],
    ids=["nova-on-demand", "nova-not-served", "llama-provisioned"],
)
def test_the_key_gains_no_bedrock_statement_without_a_throughput_of_a_nova_model(stack, bucket, base_model, serve):
    serve(custom_model(stack, bucket, base_model=base_model, kms_key=kms.Key(stack, "ModelKey")))
    assert bedrock_key_statements(Template.from_stack(stack)) == []


def test_a_model_given_by_arn_or_unencrypted_adds_no_key_grant(stack, bucket):
    role = iam.Role(stack, "App", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    CustomModel.from_custom_model_arn(stack, "Existing", EXISTING_ARN).add_deployment("ByArn").grant_invoke(role)
    custom_model(stack, bucket, "Plain").add_deployment("Plain").grant_invoke(role)
    template = Template.from_stack(stack)
    assert key_statements(template, "BedrockCustomizationProviderHandlerRole") == []
    assert key_statements(template, "App") == []


def test_the_handler_role_creates_nothing_of_kinds_a_stack_does_not_use(stack, bucket):
    """What deletes a resource of any kind is the provider's own grant (a resource removed from the template is
    deleted after the handler's policy was updated to it); what creates one is granted for the kinds declared."""
    custom_model(stack, bucket, "Trained")
    actions = json.dumps(handler_statements(Template.from_stack(stack)))
    for action in ('CreateCustomModel"', "CreateCustomModelDeployment", "CreateProvisionedModelThroughput"):
        assert action not in actions
    for action in ("DeleteCustomModelDeployment", "DeleteProvisionedModelThroughput"):
        assert action in actions


# --- where on-demand deployments are documented ----------------------------------------------------------------
# Bedrock user guide, "Deploy a custom model for on-demand inference": "You can set up on-demand inference for the
# following base models: Amazon Nova Lite - Supported Region: US East (N. Virginia); Amazon Nova 2 Lite - [...] US East
# (N. Virginia); Amazon Nova Micro - [...] US East (N. Virginia); Amazon Nova Pro - [...] US East (N. Virginia); Meta
# Llama 3.3 70B Instruct - Supported Region: US West (Oregon)"; "You must use the US East (N. Virginia) or US West
# (Oregon) region". The Nova user guide: for SageMaker AI-trained models, PEFT ones only.


def on_demand_warnings(stack: cdk.Stack) -> list[str]:
    found = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("On-demand deployments are"))
    return [str(warning.entry.data) for warning in found]


def deployed(region: str, base_model: str) -> cdk.Stack:
    stack = cdk.Stack(cdk.App(), "Deployed", env=cdk.Environment(account="123456789012", region=region))
    bucket = s3.Bucket(stack, "Data")
    custom_model(stack, bucket, base_model=base_model).add_deployment("OnDemand")
    return stack


@pytest.mark.parametrize(
    ("region", "base_model"),
    [
        ("us-east-1", "amazon.nova-micro-v1:0:128k"),
        ("us-east-1", "amazon.nova-pro-v1:0:300k"),
        ("us-east-1", "amazon.nova-2-lite-v1:0:256k"),
        ("us-west-2", "meta.llama3-3-70b-instruct-v1:0"),
    ],
)
def test_a_documented_base_model_deployed_in_its_region_gets_no_warning(region, base_model):
    assert on_demand_warnings(deployed(region, base_model)) == []


@pytest.mark.parametrize(
    ("region", "base_model"),
    [("us-west-2", "amazon.nova-pro-v1:0:300k"), ("us-east-1", "meta.llama3-3-70b-instruct-v1:0")],
)
def test_a_documented_base_model_deployed_in_another_of_the_regions_is_warned_of(region, base_model):
    (warning,) = on_demand_warnings(deployed(region, base_model))
    assert f"not {region}" in warning


def test_another_base_model_or_region_is_warned_of_and_still_synthesized():
    (titan,) = on_demand_warnings(deployed("us-east-1", "amazon.titan-text-express-v1:0:8k"))
    assert "not of amazon.titan-text-express-v1:0:8k" in titan
    assert "add_provisioned_throughput" in titan
    (frankfurt,) = on_demand_warnings(deployed("eu-central-1", "amazon.nova-micro-v1:0:128k"))
    assert "not eu-central-1" in frankfurt


def test_a_sagemaker_trained_model_deployed_on_demand_is_warned_of_peft_only(stack):
    ImportedCustomModel(stack, "Imported", source=ModelSource.from_uri(ESCROW_URI)).add_deployment("OnDemand")
    (warning,) = on_demand_warnings(stack)
    assert "PEFT only" in warning


def variant_warnings(stack: cdk.Stack) -> list[str]:
    found = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("names no contextual variant"))
    return [str(warning.entry.data) for warning in found]


def test_a_throughput_of_a_foundation_model_without_its_contextual_variant_is_warned_of(stack):
    """prov-thru-supported.html: "you must specify a contextual variant of Amazon Bedrock FMs for the model ID"; its
    table gives amazon.nova-micro-v1:0:128k, and also ids with none (amazon.nova-canvas-v1:0): a warning, no refusal,
    so that neither is blocked, nor a deployed throughput's later update."""
    plain = bedrock.FoundationModel.from_foundation_model_id(
        stack, "Plain", bedrock.FoundationModelIdentifier("amazon.nova-micro-v1:0")
    )
    ProvisionedThroughput(stack, "PlainThroughput", model=plain, model_units=1)
    variant = bedrock.FoundationModel.from_foundation_model_id(
        stack, "Variant", bedrock.FoundationModelIdentifier("amazon.nova-micro-v1:0:128k")
    )
    ProvisionedThroughput(stack, "Bought", model=variant, model_units=1)
    (warning,) = variant_warnings(stack)  # the plain id's only
    assert warning.startswith("amazon.nova-micro-v1:0 names no contextual variant")
