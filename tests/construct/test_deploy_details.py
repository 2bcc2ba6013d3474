"""Details of a synthesized deployment that only AWS would otherwise reveal: what an import waits for, the size of
the weights upload function, what the handler's asset hash covers, and Regions botocore knows only by pattern."""

from __future__ import annotations

import re
from pathlib import Path

import aws_cdk as cdk
import botocore.session
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template
from cdk_bedrock_customization import (
    CopiedCustomModel,
    ImportedCustomModel,
    ImportedModel,
    ModelSource,
    S3Data,
    _packaging,
)

from .conftest import custom_model
from .test_weights import make_model

ESCROW_URI = "s3://customer-escrow-123456789012-smtj-a1b2c3/nova-support/model/"


def test_an_imported_nova_model_with_a_given_role_starts_after_the_roles_key_grant(stack) -> None:
    """CreateCustomModel's modelKmsKeyArn (botocore): "your Amazon Bedrock service role must have permissions to use
    it" when the request runs, so the request comes after the policy granting it (CloudFormation creates in parallel
    what DependsOn does not order)."""
    key = kms.Key(stack, "Key")
    role = iam.Role(stack, "Given", assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com"))
    ImportedCustomModel(stack, "Nova", source=ModelSource.from_uri(ESCROW_URI), kms_key=key, role=role)
    template = Template.from_stack(stack)
    (policy_id,) = [i for i in template.find_resources("AWS::IAM::Policy") if i.startswith("GivenDefaultPolicy")]
    (imported,) = template.find_resources("Custom::BedrockCustomModel").values()
    assert policy_id in imported.get("DependsOn", [])


def test_the_weights_upload_function_has_more_than_lambdas_default_memory(tmp_path: Path, stack, bucket) -> None:
    """aws/aws-cdk#4058: BucketDeployment's function at Lambda's default 128 MB runs out of memory on large assets;
    model weights are gigabytes."""
    weights = S3Data.from_local_folder(stack, "Weights", str(make_model(tmp_path / "llama")), bucket=bucket, key="w/")
    ImportedModel(stack, "Llama", model_data=weights)
    functions = Template.from_stack(stack).find_resources("AWS::Lambda::Function").values()
    (upload,) = [function for function in functions if "EphemeralStorage" in function["Properties"]]
    assert upload["Properties"].get("MemorySize", 128) > 128


def test_the_single_function_code_is_hashed_by_what_is_bundled(monkeypatch) -> None:
    """AssetHashType.OUTPUT hashes the bundle, SOURCE only the source folder: the bundle holds the installed crhelper,
    so another crhelper must change the asset (else `cdk deploy` keeps the old code). Here the bundle gains a file."""
    bundled = _packaging._CopyPackages.try_bundle

    def asset_key(extra: bool) -> str:
        def bundle(self, output_dir, options):  # type: ignore[no-untyped-def]
            done = bundled(self, output_dir, options)
            if extra:
                (Path(output_dir) / "crhelper" / "EXTRA").write_text("another crhelper")
            return done

        monkeypatch.setattr(_packaging._CopyPackages, "try_bundle", bundle)
        stack = cdk.Stack(cdk.App(), "S")
        lambda_.Function(
            stack, "F", runtime=_packaging.HANDLER_RUNTIME, handler="x.y", code=_packaging.single_function_code()
        )
        (function,) = Template.from_stack(stack).find_resources("AWS::Lambda::Function").values()
        return str(function["Properties"]["Code"]["S3Key"])

    assert asset_key(False) != asset_key(True)


def test_a_copy_from_another_partition_is_refused_in_a_region_botocore_knows_only_by_pattern() -> None:
    """botocore's partitions data: a Region not listed is of the partition whose regionRegex matches it (cn-north-9:
    aws-cn). A copy crosses Regions, never partitions: an aws source is refused at synth there too."""
    source = "arn:aws:bedrock:us-west-2:123456789012:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6"
    stack = cdk.Stack(cdk.App(), "Copies", env=cdk.Environment(account="123456789012", region="cn-north-9"))
    with pytest.raises(ValueError, match=rf"^source_model: '{re.escape(source)}' is a model of partition aws"):
        CopiedCustomModel(stack, "Copy", source_model=source)


def test_a_base_model_arn_too_short_to_have_a_region_is_refused_by_the_service_models_pattern(stack, bucket) -> None:
    """'arn:aws:bedrock' fails baseModelIdentifier's pattern (botocore): the Region check must not crash first."""
    operation = (
        botocore.session.get_session().get_service_model("bedrock").operation_model("CreateModelCustomizationJob")
    )
    assert not re.fullmatch(operation.input_shape.members["baseModelIdentifier"].metadata["pattern"], "arn:aws:bedrock")
    with pytest.raises(ValueError, match=r"baseModelIdentifier: 'arn:aws:bedrock' does not match"):
        custom_model(stack, bucket, base_model="arn:aws:bedrock")
