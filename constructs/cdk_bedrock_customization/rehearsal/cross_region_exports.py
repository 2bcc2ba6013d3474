"""The CDK's cross-Region references (a stack's ``cross_region_references``), played in moto's SSM.

aws-cdk-lib's Custom::CrossRegionExportWriter puts each value that a stack of another Region imports into that
Region's SSM Parameter Store (WriterProps: region, exports by parameter name), and Custom::CrossRegionExportReader
reads them there (ReaderProps: region, prefix: the importing stack, imports by parameter name), answering each as
an attribute named by its parameter. The rehearsal does what their Node.js handlers do (aws-cdk-lib's
cross-region-ssm-writer-handler and -reader-handler), with boto3 against moto, instead of running them. As they do:
the reader tags each parameter it imports ``aws-cdk:strong-ref:<stack>``, and the writer refuses to change or
delete a parameter so tagged ("Exports cannot be updated"): an exported model that is replaced fails its stack's
update while another Region's stack imports it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import boto3

WRITER = "Custom::CrossRegionExportWriter"
READER = "Custom::CrossRegionExportReader"
STRONG_REF = "aws-cdk:strong-ref:"


class ExportInUse(RuntimeError):
    pass


def handles(resource_type: str) -> bool:
    return resource_type in (WRITER, READER)


def apply(
    request_type: str, resource_type: str, properties: Mapping[str, Any], old_properties: Mapping[str, Any] | None
) -> tuple[str, dict[str, str]]:
    """Carry out a request; return the physical id and the attributes."""
    if resource_type == WRITER:
        return _write(request_type, properties["WriterProps"], (old_properties or {}).get("WriterProps"))
    props = properties["ReaderProps"]
    ssm = boto3.client("ssm", region_name=props["region"])
    tag = {"Key": STRONG_REF + props["prefix"], "Value": "true"}
    names = sorted(props["imports"])
    values = {}
    for name in names:
        if request_type == "Delete":
            ssm.remove_tags_from_resource(ResourceType="Parameter", ResourceId=name, TagKeys=[tag["Key"]])
        else:
            ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=name, Tags=[tag])
            values[name] = str(ssm.get_parameter(Name=name)["Parameter"]["Value"])
    return f"cross-region-imports-{props['prefix']}", values


def _write(request_type: str, props: Mapping[str, Any], old: Mapping[str, Any] | None) -> tuple[str, dict[str, str]]:
    ssm = boto3.client("ssm", region_name=props["region"])
    exports: Mapping[str, Any] = props["exports"]
    previous: Mapping[str, Any] = (old or {}).get("exports", {}) if request_type == "Update" else {}
    if request_type == "Delete":
        _refuse_in_use(ssm, list(exports))
        for name in exports:
            ssm.delete_parameter(Name=name)
    else:
        changed = [name for name in exports if previous.get(name) != exports[name]]
        removed = [name for name in previous if name not in exports]
        _refuse_in_use(ssm, changed + removed)
        for name in changed:
            ssm.put_parameter(Name=name, Value=str(exports[name]), Type="String", Overwrite=True)
        for name in removed:
            ssm.delete_parameter(Name=name)
    digest = hashlib.sha256(json.dumps(sorted(exports)).encode()).hexdigest()[:12]
    return f"cross-region-exports-{props['region']}-{digest}", {}


def _refuse_in_use(ssm: Any, names: list[str]) -> None:
    in_use = {}
    for name in names:
        try:
            tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
        except ssm.exceptions.InvalidResourceId:  # no such parameter: not in use
            continue
        stacks = [tag["Key"].removeprefix(STRONG_REF) for tag in tags if tag["Key"].startswith(STRONG_REF)]
        if stacks:
            in_use[name] = stacks
    if in_use:
        message = "\n".join(f"{name} is in use by stack(s) {' '.join(stacks)}" for name, stacks in in_use.items())
        raise ExportInUse(f"Exports cannot be updated: \n{message}")
