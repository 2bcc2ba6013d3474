"""The CDK's cross-Region references (a stack's ``cross_region_references``), played in moto's SSM.

aws-cdk-lib's Custom::CrossRegionExportWriter puts each value that a stack of another Region imports into that
Region's SSM Parameter Store (WriterProps: region, exports by parameter name), and Custom::CrossRegionExportReader
tags the parameters it imports (ReaderProps: region, prefix: the importing stack, imports by parameter name, each a
``{{resolve:ssm:...}}`` that CloudFormation resolves), answering each as an attribute named by its parameter. The
rehearsal does what the handlers that aws-cdk-lib writes into the cloud assembly do (tests/deploy_local runs them to
compare), with boto3 against moto, instead of running them. As they do since aws-cdk-lib 2.253: the writer's update
puts only the parameters that are new and deletes those no longer exported, whether another stack imports them or
not, so a value that changes under a parameter already written (an exported model that is replaced) is not written:
the importing stack keeps the first value.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import boto3

WRITER = "Custom::CrossRegionExportWriter"
READER = "Custom::CrossRegionExportReader"
STRONG_REF = "aws-cdk:strong-ref:"
DELETE_BATCH = 10  # the writer's deleteParameters batch (SSM takes at most 10 names)


def handles(resource_type: str) -> bool:
    return resource_type in (WRITER, READER)


def apply(
    request_type: str, resource_type: str, properties: Mapping[str, Any], old_properties: Mapping[str, Any] | None
) -> tuple[str, dict[str, str]]:
    """Carry out a request; return the physical id and the attributes. Raises botocore's ClientError as the
    handlers fail."""
    if resource_type == WRITER:
        return _write(request_type, properties["WriterProps"], (old_properties or {}).get("WriterProps"))
    return _read(request_type, properties["ReaderProps"], (old_properties or {}).get("ReaderProps"))


def _write(request_type: str, props: Mapping[str, Any], old: Mapping[str, Any] | None) -> tuple[str, dict[str, str]]:
    ssm = boto3.client("ssm", region_name=props["region"])
    exports: Mapping[str, Any] = props["exports"]
    previous: Mapping[str, Any] = (old or {}).get("exports", {}) if request_type == "Update" else {}
    if request_type == "Delete":
        _delete(ssm, list(exports))
    else:
        _delete(ssm, [name for name in previous if name not in exports])
        for name in [name for name in exports if name not in previous]:
            ssm.put_parameter(Name=name, Value=str(exports[name]), Type="String", Overwrite=True)
    digest = hashlib.sha256(json.dumps(sorted(exports)).encode()).hexdigest()[:12]
    return f"cross-region-exports-{props['region']}-{digest}", {}


def _delete(ssm: Any, names: list[str]) -> None:
    names = sorted(names)
    for start in range(0, len(names), DELETE_BATCH):
        ssm.delete_parameters(Names=names[start : start + DELETE_BATCH])  # a name already gone is left out


def _read(request_type: str, props: Mapping[str, Any], old: Mapping[str, Any] | None) -> tuple[str, dict[str, str]]:
    ssm = boto3.client("ssm", region_name=props["region"])
    tag = STRONG_REF + props["prefix"]
    names = list(props["imports"])
    before = list((old or {}).get("imports", {})) if request_type == "Update" else []
    released = names if request_type == "Delete" else [name for name in before if name not in names]
    for name in released:
        with contextlib.suppress(ssm.exceptions.InvalidResourceId):  # gone, as the handler allows
            ssm.remove_tags_from_resource(ResourceType="Parameter", ResourceId=name, TagKeys=[tag])
    if request_type == "Delete":
        return f"cross-region-imports-{props['prefix']}", {}
    for name in [name for name in names if name not in before]:
        ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=name, Tags=[{"Key": tag, "Value": "true"}])
    # Each import is a {{resolve:ssm:...}}, which CloudFormation resolves as it sends the request: the value now.
    values = {name: str(ssm.get_parameter(Name=name)["Parameter"]["Value"]) for name in sorted(names)}
    return f"cross-region-imports-{props['prefix']}", values
