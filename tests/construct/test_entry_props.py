"""A models file entry is translated once (entry_props.construct_props): what `validate` checks is what the
constructs built from the file send. Each entry below is written in full, with nothing the construct makes
itself (a role, an asset, another entry's model), so the request that validation checks must equal, member for
member, the properties of the custom resource that ModelsFromFile synthesizes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
import yaml
from aws_cdk.assertions import Template
from bedrock_custom_resource import contract
from cdk_bedrock_customization import ModelsFromFile
from cdk_bedrock_customization._entry_checks import EntryChecks
from cdk_bedrock_customization.models_file import RESOURCE_TYPES, ModelsFile

ROLE = "arn:aws:iam::111122223333:role/bedrock-jobs"
KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CUSTOM_MODEL = "arn:aws:bedrock:us-east-1:111122223333:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6"
# A model of another Region, which a copy brings into the stack's.
OTHER_REGIONS_MODEL = "arn:aws:bedrock:us-west-2:111122223333:custom-model/amazon.nova-micro-v1:0:128k/0f1e2d3c4b5a"
FILE = {
    "version": 1,
    "models": {
        "tuned": {
            "customization": "fine_tuning",
            "base_model": "amazon.nova-micro-v1:0:128k",
            "training_data": "s3://data-bucket/train.jsonl",
            "validation_data": ["s3://data-bucket/validation.jsonl"],
            "output_data": "s3://data-bucket/output/",
            "hyper_parameters": {"epochCount": 2, "learningRate": 0.00001},
            "job_name": "tuned-job",
            "custom_model_name": "tuned-model",
            "role": ROLE,
            "kms_key": KEY,
            "job_tags": {"team": "ml"},
            "custom_model_tags": {"use": "support"},
            "completion": "polling",
        },
        "distilled": {
            "customization": "distillation",
            "base_model": "amazon.nova-micro-v1:0:128k",
            "teacher_model": "us.amazon.nova-premier-v1:0",
            "max_response_length_for_inference": 1000,
            "invocation_logs": {"source": "s3://data-bucket/logs/", "use_prompt_response": True},
            "output_data": "s3://data-bucket/distilled/",
            "role": ROLE,
            "completion": "no_wait",
        },
        "rewarded": {
            "customization": "reinforcement_fine_tuning",
            "base_model": "amazon.nova-2-lite-v1:0:256k",
            "grader": "arn:aws:lambda:us-east-1:111122223333:function:grader",
            "rft_hyper_parameters": {"epochCount": 1},
            "training_data": "s3://data-bucket/rft.jsonl",
            "output_data": "s3://data-bucket/rft/",
            "role": ROLE,
            "completion": "polling",
        },
    },
    "imported_models": {
        "imported": {
            "model_package_arn": "arn:aws:sagemaker:us-east-1:111122223333:model-package/nova/1",
            "model_name": "imported-nova",
            "model_tags": {"team": "ml"},
        },
    },
    "open_weight_models": {
        "llama": {
            "model_data": "s3://weights-bucket/llama-3-8b/",
            "job_name": "llama-import",
            "imported_model_name": "llama-support",
            "role": ROLE,
            "kms_key": KEY,
            "job_tags": {"team": "ml"},
            "imported_model_tags": {"use": "support"},
            "completion": "no_wait",
        },
    },
    "copied_models": {
        "copied": {
            "source_model": OTHER_REGIONS_MODEL,
            "target_model_name": "support-copy",
            "kms_key": KEY,
            "target_model_tags": {"use": "support"},
            "completion_timeout_hours": 6,
            "removal_policy": "destroy",
        },
    },
    "deployments": {
        "on-demand": {"model": CUSTOM_MODEL, "model_deployment_name": "on-demand", "description": "Support"},
    },
    "provisioned_throughput": {
        "provisioned": {
            "model": CUSTOM_MODEL,
            "model_units": 1,
            "provisioned_model_name": "provisioned",
            "commitment": "one_month",
            "tags": {"team": "ml"},
        },
    },
    "evaluations": {
        "evaluated": {
            "model": "amazon.nova-lite-v1:0",
            "baseline_model": "amazon.nova-micro-v1:0",
            "evaluator_model": "us.amazon.nova-pro-v1:0",
            "datasets": [
                {
                    "name": "support",
                    "task_type": "Generation",
                    "metric_names": ["Builtin.Correctness"],
                    "data": "s3://data-bucket/prompts.jsonl",
                },
                {"name": "Builtin.BoolQ", "task_type": "QuestionAndAnswer", "metric_names": ["Builtin.Helpfulness"]},
            ],
            "output_data": "s3://data-bucket/evaluations/",
            "inference_params": '{"temperature": 0}',
            "job_name": "support-evaluation",
            "job_description": "Support assistant",
            "role": ROLE,
            "kms_key": KEY,
            "job_tags": {"team": "ml"},
            "completion": "polling",
            "require": [{"metric": "Builtin.Correctness", "at_least": 0.5}],
        },
    },
}


@pytest.fixture(scope="module")
def models_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("entry-props") / "models.yaml"
    path.write_text(yaml.safe_dump(FILE))
    return path


@pytest.fixture(scope="module")
def synthesized(models_file: Path) -> dict[str, dict[str, Any]]:
    """Each custom resource's properties, by the key of its entry (ServiceToken aside; the member that tells the
    handler the removal policy's UpdateReplacePolicy: validation checks the entry's removal_policy itself; and the
    key of a job's wait condition, a digest of the other properties)."""
    stack = cdk.Stack(cdk.App(), "EntryProps")
    built = ModelsFromFile(stack, "Models", path=models_file)
    constructs = {
        **built.models,
        **built.open_weight_models,
        **built.deployments,
        **built.provisioned_throughput,
        **built.evaluations,
    }
    template = Template.from_stack(stack).to_json()["Resources"]
    properties = {}
    for key, construct in constructs.items():
        logical_id = stack.get_logical_id(construct.resource)  # type: ignore[attr-defined]
        properties[key] = {
            k: v
            for k, v in template[logical_id]["Properties"].items()
            if k not in ("ServiceToken", contract.REPLACE_POLICY, contract.WAIT_CONDITION_KEY)
        }
    return properties


ENTRIES = [(section, key) for section in RESOURCE_TYPES for key in FILE.get(section, {})]


def test_every_section_and_customization_is_covered() -> None:
    assert {section for section, _ in ENTRIES} == set(RESOURCE_TYPES)
    assert {entry["customization"] for entry in FILE["models"].values()} >= {
        "fine_tuning",
        "distillation",
        "reinforcement_fine_tuning",
    }


@pytest.mark.parametrize(("section", "key"), ENTRIES)
def test_what_validation_checks_is_what_the_construct_sends(
    section: str, key: str, models_file: Path, synthesized: dict[str, dict[str, Any]]
) -> None:
    checks = EntryChecks(ModelsFile.load(models_file))
    checked = checks.request_properties(section, key, FILE[section][key])
    assert checked == synthesized[key]
    # And it is a request the contract accepts.
    contract.create_request(RESOURCE_TYPES[section], checked)


def test_the_file_is_valid_as_written(models_file: Path) -> None:
    _, problems = ModelsFile.check(models_file)
    assert problems == []


def test_a_copy_sends_its_source_as_written_and_an_import_without_waiting_is_accepted(
    synthesized: dict[str, dict[str, Any]],
) -> None:
    assert synthesized["copied"] == {
        "sourceModelArn": OTHER_REGIONS_MODEL,
        "targetModelName": "support-copy",
        "modelKmsKeyId": KEY,
        "waitUntil": "Accepted",  # event-driven, the default
        "targetModelTags": [{"key": "use", "value": "support"}],
    }
    # An import job has no validation step to wait for: no_wait waits until Bedrock accepts it.
    assert synthesized["llama"]["waitUntil"] == "Accepted"
