"""ModelsFromFile: a models file's entries as this library's constructs."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template
from cdk_bedrock_customization import (
    Commitment,
    Completion,
    Customization,
    CustomModel,
    CustomModelDeployment,
    ImportedCustomModel,
    InvocationLogs,
    ModelsFromFile,
    ModelSource,
    ProvisionedThroughput,
    S3Data,
)
from cdk_bedrock_customization.models_file import ModelsFileError

from constructs import Construct

from .conftest import ENV

EXAMPLE_DATA = Path(__file__).resolve().parents[2] / "examples" / "data"
FILE = """\
models:
  support:
    base_model: amazon.nova-micro-v1:0:128k
    training_data: data/support-train.jsonl
    output_data: s3://my-bucket/support/output/
    hyper_parameters: {epochCount: 2}
    completion: polling
    custom_model_tags: {use-case: support}
  router:
    customization: distillation
    base_model: amazon.nova-micro-v1:0:128k
    teacher_model: us.amazon.nova-premier-v1:0
    invocation_logs: {source: s3://my-bucket/logs/, use_prompt_response: true}
    output_data: s3://my-bucket/router/output/
    removal_policy: destroy
imported_models:
  nova:
    model_package_arn: arn:aws:sagemaker:us-east-1:123456789012:model-package/nova/1
deployments:
  support-on-demand:
    model: support
    description: support bot
provisioned_throughput:
  nova-pt:
    model: nova
    model_units: 1
    commitment: one_month
stages:
  prod:
    provisioned_throughput:
      nova-pt: {model_units: 3}
"""


@pytest.fixture
def models_file(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "support-train.jsonl").write_bytes((EXAMPLE_DATA / "support-train.jsonl").read_bytes())
    path = tmp_path / "models.yaml"
    path.write_text(FILE)
    return path


def new_stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Stack", env=ENV)


def resources(stack: cdk.Stack) -> dict[str, Any]:
    found: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"]
    return found


def test_a_file_synthesizes_the_same_template_as_the_equivalent_python(models_file):
    from_file = new_stack()
    ModelsFromFile(from_file, "Models", path=models_file)

    in_python = new_stack()
    scope = Construct(in_python, "Models")
    from aws_cdk import aws_s3_assets as s3_assets

    asset = s3_assets.Asset(scope, "supportTrainingData", path=str(models_file.parent / "data" / "support-train.jsonl"))
    support = CustomModel(
        scope,
        "support",
        base_model="amazon.nova-micro-v1:0:128k",
        training_data=S3Data.from_bucket(asset.bucket, asset.s3_object_key),
        output_data=S3Data.from_uri("s3://my-bucket/support/output/"),
        hyper_parameters={"epochCount": 2},
        completion=Completion.polling(),
        custom_model_tags={"use-case": "support"},
        customization=Customization.fine_tuning(),
        job_tags={},
    )
    CustomModel(
        scope,
        "router",
        base_model="amazon.nova-micro-v1:0:128k",
        customization=Customization.distillation("us.amazon.nova-premier-v1:0"),
        training_data=InvocationLogs(source=S3Data.from_uri("s3://my-bucket/logs/"), use_prompt_response=True),
        output_data=S3Data.from_uri("s3://my-bucket/router/output/"),
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    nova = ImportedCustomModel(
        scope,
        "nova",
        source=ModelSource.from_model_package_arn("arn:aws:sagemaker:us-east-1:123456789012:model-package/nova/1"),
    )
    CustomModelDeployment(scope, "support-on-demand", model=support, description="support bot")
    ProvisionedThroughput(scope, "nova-pt", model=nova, model_units=1, commitment=Commitment.ONE_MONTH)

    assert resources(from_file) == resources(in_python)


def test_entries_are_reachable_by_key_and_usable(models_file):
    stack = new_stack()
    models = ModelsFromFile(stack, "Models", path=models_file)
    assert set(models.models) == {"support", "router", "nova"}
    role = iam.Role(stack, "App", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    models.deployments["support-on-demand"].grant_invoke(role)
    models.provisioned_throughput["nova-pt"].grant_invoke(role)
    assert stack.resolve(models.models["support"].model_arn)["Fn::GetAtt"][1] == "outputModelArn"


def test_a_stage_applies_its_overrides(models_file):
    def units(stage: str | None) -> int:
        stack = new_stack()
        ModelsFromFile(stack, "Models", path=models_file, stage=stage)
        (throughput,) = [
            r for r in resources(stack).values() if r["Type"] == "Custom::BedrockProvisionedModelThroughput"
        ]
        return int(throughput["Properties"]["modelUnits"])

    assert (units(None), units("prod")) == (1, 3)


def test_the_local_dataset_asset_and_the_roles_grant_name_the_same_object(models_file):
    stack = new_stack()
    ModelsFromFile(stack, "Models", path=models_file)
    template = resources(stack)
    (job,) = [
        r
        for k, r in template.items()
        if r["Type"] == "Custom::BedrockModelCustomizationJob" and k.startswith("Modelssupport")
    ]
    uri = json.dumps(job["Properties"]["trainingDataConfig"]["s3Uri"])
    asset_key = next(part for part in uri.split('"') if part.endswith(".jsonl")).rsplit("/", 1)[-1]
    reads = [
        s
        for k, r in template.items()
        if r["Type"] == "AWS::IAM::Policy" and k.startswith("ModelssupportServiceRole")
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "s3:GetObject"
    ]
    (read,) = reads
    assert json.dumps(read["Resource"]).endswith(f'/{asset_key}"]]}}')  # exactly that object, no wildcard
    assert "*" not in json.dumps(read["Resource"])


def test_a_bad_file_stops_the_synth_with_its_lines(tmp_path):
    path = tmp_path / "models.yaml"
    path.write_text(
        textwrap.dedent("""\
        models:
          support:
            base_model: amazon.nova-micro-v1:0:128k
            training_data: missing.jsonl
            output_data: s3://my-bucket/output/
        """)
    )
    with pytest.raises(
        ModelsFileError, match=rf"{path}:4:20: models.support.training_data: 'missing.jsonl' is neither"
    ):
        ModelsFromFile(new_stack(), "Models", path=path)
