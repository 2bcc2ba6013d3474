"""Plausible physical ids and attributes for the resources that the local deployment does not emulate.

IAM, S3, Lambda, Step Functions, Logs and EventBridge resources are only recorded as created; their Ref and
Fn::GetAtt values are shaped as AWS shapes them, so that the custom resources receive realistic properties. (A bucket
is also made in moto's S3 under its name: buckets.py.)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from .template import Environment


def _suffix(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12].upper()


def generated_name(env: Environment, logical_id: str, generation: int, limit: int = 64, salt: str = "") -> str:
    """A name as CloudFormation generates one: stack name, logical id and a random-looking suffix, drawn anew for a
    stack of the same name made again (salt: another suffix, as another create would draw: see bucket_name)."""
    again = [f"incarnation {env.incarnation}"] if env.incarnation else []
    suffix = _suffix(env.stack_name, logical_id, str(generation), *again, *([salt] if salt else []))
    return f"{env.stack_name}-{logical_id}"[: limit - len(suffix) - 1] + f"-{suffix}"


def bucket_name(env: Environment, logical_id: str, generation: int, salt: str = "") -> str:
    """A bucket's generated name: lowercase, at most 63 characters. CloudFormation draws its suffix at random, so
    that a bucket created again (after a rollback or a delete that retained the first) gets another name: give
    each such attempt its own salt."""
    return re.sub(r"[^a-z0-9-]", "", generated_name(env, logical_id, generation, salt=salt).lower())[:63]


def plausible(
    resource_type: str, logical_id: str, properties: Mapping[str, Any], env: Environment, generation: int
) -> tuple[str, dict[str, Any]]:
    """(physical id, attributes) of a recorded resource."""
    account, region = env.account, env.region
    name = generated_name(env, logical_id, generation)
    if resource_type == "AWS::IAM::Role":
        role = properties.get("RoleName") or name
        # As IAM does, the role's path is part of its ARN (not of its name, which Ref gives).
        path = properties.get("Path") or "/"
        return role, {"Arn": f"arn:aws:iam::{account}:role{path}{role}", "RoleId": "AROA" + _suffix(role)}
    if resource_type == "AWS::Lambda::Function":
        function = properties.get("FunctionName") or name
        return function, {"Arn": f"arn:aws:lambda:{region}:{account}:function:{function}"}
    if resource_type == "AWS::Logs::LogGroup":
        group = properties.get("LogGroupName") or name
        return group, {"Arn": f"arn:aws:logs:{region}:{account}:log-group:{group}:*"}
    if resource_type == "AWS::StepFunctions::StateMachine":
        machine = properties.get("StateMachineName") or name
        arn = f"arn:aws:states:{region}:{account}:stateMachine:{machine}"
        return arn, {"Arn": arn, "Name": machine}
    if resource_type == "AWS::Events::Rule":
        rule = properties.get("Name") or name
        return rule, {"Arn": f"arn:aws:events:{region}:{account}:rule/{rule}"}
    if resource_type == "AWS::S3::Bucket":
        bucket = properties.get("BucketName") or bucket_name(env, logical_id, generation)
        return bucket, {
            "Arn": f"arn:aws:s3:::{bucket}",
            "DomainName": f"{bucket}.s3.amazonaws.com",
            "RegionalDomainName": f"{bucket}.s3.{region}.amazonaws.com",
        }
    if resource_type == "AWS::KMS::Key":
        key_id = "-".join((_suffix(name)[:8], _suffix(name, "a")[:4], _suffix(name, "b")[:4], "4000", _suffix(name)))
        key_id = key_id.lower()
        return key_id, {"Arn": f"arn:aws:kms:{region}:{account}:key/{key_id}", "KeyId": key_id}
    if resource_type == "AWS::EC2::SecurityGroup":
        group_id = "sg-" + _suffix(name).lower()[:17]
        return group_id, {"GroupId": group_id}
    service = resource_type.split("::")[1].lower() if resource_type.count("::") == 2 else "unknown"
    kind = resource_type.split("::")[-1].lower()
    return name, {"Arn": f"arn:aws:{service}:{region}:{account}:{kind}/{name}"}
