"""A model moved to a new construct id, rehearsed with the real handler: CloudFormation sees a resource added and one
removed, creates the new logical id's job during the update, and would delete the old one's model in the cleanup
(DESTROY). The new job would train again what the old one made: its Create is refused, with nothing created, and the
rollback leaves the stack as it was. Keeping the job's old logical id (override_logical_id), the renamed construct
deploys with the model it had."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cdk_bedrock_customization.rehearsal.__main__ import EXAMPLE_TEMPLATE, EXAMPLE_TEMPLATE_PARAMETERS
from cdk_bedrock_customization.rehearsal.bedrock_world import Timings

from .rehearsal_support import REPO, cloud

pytestmark = pytest.mark.slow


def job_logical_ids(assembly) -> list[str]:
    """The logical ids of the template's jobs, as the CDK wrote them."""
    template = json.loads((assembly / "RehearsalUnderTest.template.json").read_text())
    return [lid for lid, r in template["Resources"].items() if r["Type"] == "Custom::BedrockModelCustomizationJob"]


def test_a_model_moved_to_a_new_construct_id_trains_nothing_again(assemblies):
    (old_id,) = job_logical_ids(assemblies["event-driven"])
    (new_id,) = job_logical_ids(assemblies["event-driven-renamed"])
    assert new_id != old_id and job_logical_ids(assemblies["event-driven-renamed-kept"]) == [old_id]
    lines: list[str] = []
    with cloud(lines) as local:
        (first,) = local.deploy(assemblies["event-driven"]).values()
        assert first.succeeded, first.reason
        (model,) = local.bedrock.models()

        (renamed,) = local.deploy(assemblies["event-driven-renamed"]).values()
        assert (renamed.succeeded, renamed.status) == (False, "UPDATE_ROLLBACK_COMPLETE")
        assert "If moved or renamed, keep the old logical id (override_logical_id" in renamed.reason
        assert f"The old logical id: {old_id}. " in renamed.reason and new_id in renamed.reason
        assert len(local.bedrock.calls_to("CreateModelCustomizationJob")) == 1
        assert local.bedrock.models() == [model]

        (kept,) = local.deploy(assemblies["event-driven-renamed-kept"]).values()
        assert kept.succeeded, kept.reason
        assert kept.outputs["Model0Arn"] == first.outputs["Model0Arn"] == model["modelArn"]
        assert len(local.bedrock.calls_to("CreateModelCustomizationJob")) == 1
        assert local.bedrock.models() == [model]


def test_models_moved_on_the_single_function_provider_train_nothing_again(assemblies):
    """The same through crhelper, which keeps the first 200 characters of a reason: the way out survives. Polled
    jobs of a few minutes, within the provider's hour."""
    lines: list[str] = []
    with cloud(lines, timings=Timings(job_minutes=5)) as local:
        (first,) = local.deploy(assemblies["single-function"]).values()
        assert first.succeeded, first.reason
        models = local.bedrock.models()
        assert len(models) == 2

        (moved,) = local.deploy(assemblies["single-function-moved"]).values()
        assert (moved.succeeded, moved.status) == (False, "UPDATE_ROLLBACK_COMPLETE")
        assert "If moved or renamed, keep the old logical id (override_logical_id" in moved.reason
        assert len(local.bedrock.calls_to("CreateModelCustomizationJob")) == 2
        assert local.bedrock.models() == models


def test_weights_under_a_renamed_models_file_key_are_not_imported_again(assemblies):
    """A models file uploads an open-weight model's local folder under its key: renamed, the upload moves to a new
    prefix, and the import to a new logical id with a role of its own. The same weights are not imported again."""
    lines: list[str] = []
    with cloud(lines) as local:
        (first,) = local.deploy(assemblies["models-file-weights"]).values()
        assert first.succeeded, first.reason
        (job,) = local.bedrock.import_jobs()
        (model,) = local.bedrock.import_job_models()

        (renamed,) = local.deploy(assemblies["models-file-weights-renamed"]).values()
        assert (renamed.succeeded, renamed.status) == (False, "UPDATE_ROLLBACK_COMPLETE")
        assert "If moved or renamed, keep the old logical id (override_logical_id" in renamed.reason
        assert len(local.bedrock.calls_to("CreateModelImportJob")) == 1
        assert [j["jobArn"] for j in local.bedrock.import_jobs()] == [job["jobArn"]]
        assert local.bedrock.import_job_models() == [model]


def test_a_job_renamed_in_a_plain_yaml_template_trains_nothing_again(assemblies, tmp_path: Path):
    """Plain CloudFormation in YAML, which GetTemplate answers as its text: the job's logical id renamed (its outputs'
    references too). A job of 15 minutes, within the single-function provider's hour."""
    example = (REPO / EXAMPLE_TEMPLATE).read_text()
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(example.replace("SupportAssistant", "SupportAssistantV2"))
    with cloud([], timings=Timings(job_minutes=15)) as local:
        (provider,) = local.deploy(assemblies["example"], stacks=["BedrockCustomizationProvider"]).values()
        assert provider.succeeded, provider.reason
        first = local.deploy_template(REPO / EXAMPLE_TEMPLATE, "fine-tuning-job", EXAMPLE_TEMPLATE_PARAMETERS)
        assert first.succeeded, first.reason
        (model,) = local.bedrock.models()

        moved = local.deploy_template(renamed, "fine-tuning-job", EXAMPLE_TEMPLATE_PARAMETERS)
        assert (moved.succeeded, moved.status) == (False, "UPDATE_ROLLBACK_COMPLETE")
        assert "If moved or renamed, keep the old logical id (override_logical_id" in moved.reason
        assert len(local.bedrock.calls_to("CreateModelCustomizationJob")) == 1
        assert local.bedrock.models() == [model]
