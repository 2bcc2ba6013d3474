"""An export another stack imports cannot change: CloudFormation fails the exporting stack's update (and rolls it
back) when it would remove that export or change its value, and deletes no stack whose export is in use
(CloudFormation user guide, "Exporting stack output values": "You can't modify or remove an output value that is
referenced by another stack")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cdk_bedrock_customization.rehearsal.cloud import LocalCloud


def exporter(value: str | None, other_output: str = "kept") -> dict[str, Any]:
    outputs: dict[str, Any] = {"Other": {"Value": other_output}}
    if value is not None:
        outputs["Shared"] = {"Value": value, "Export": {"Name": "SharedName"}}
    return {"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}, "Outputs": outputs}


IMPORTER = {
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::ImportValue": "SharedName"}}}}
}


def written(path: Path, template: dict[str, Any]) -> Path:
    path.write_text(json.dumps(template))
    return path


@pytest.mark.parametrize(
    ("changed", "reason"),
    [
        (exporter("v2"), "Export SharedName cannot be updated as it is in use by Importer"),
        (exporter(None), "Export SharedName cannot be deleted as it is in use by Importer"),
    ],
    ids=["value", "removed"],
)
def test_an_update_that_changes_an_export_in_use_fails_and_rolls_back(tmp_path, changed, reason):
    with LocalCloud(write=lambda _line: None) as local:
        assert local.deploy_template(written(tmp_path / "v1.json", exporter("v1")), "Exporter").succeeded
        assert local.deploy_template(written(tmp_path / "importer.json", IMPORTER), "Importer").succeeded

        outcome = local.deploy_template(written(tmp_path / "changed.json", changed), "Exporter")

        assert (outcome.succeeded, outcome.status, outcome.reason) == (False, "UPDATE_ROLLBACK_COMPLETE", reason)
        assert local.stacks["Exporter"].exports() == {"SharedName": "v1"}
        # Another output may change; and once nothing imports it, the export may too.
        kept = local.deploy_template(written(tmp_path / "other.json", exporter("v1", "changed")), "Exporter")
        assert kept.succeeded, kept.reason
        assert local.delete(["Importer"])["Importer"].succeeded
        freed = local.deploy_template(written(tmp_path / "freed.json", changed), "Exporter")
        assert freed.succeeded, freed.reason
