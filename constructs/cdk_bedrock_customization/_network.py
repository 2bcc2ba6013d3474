"""Running a Bedrock job in a VPC: its subnets and security groups, its vpcConfig, and what its service role needs.

The role's permissions are the user guide's ("Protect model customization jobs using a VPC", "Protect custom
model import jobs using a VPC"): Bedrock creates the network interfaces, tagged BedrockManaged and with the job's
ARN under a tag key of its kind.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2

from constructs import Construct

from ._nag import Finding, wildcard_resources
from ._resource import Grants, stack_arn

# The tag key under which Bedrock names the job on the network interfaces it creates, by the job's ARN type.
ENI_JOB_TAGS = {
    "model-customization-job": "BedrockModelCustomizationJobArn",
    "model-import-job": "BedrockModelImportJobArn",
}


def vpc_config(subnets: Sequence[ec2.ISubnet], security_groups: Sequence[ec2.ISecurityGroup]) -> dict[str, Any] | None:
    """The request's vpcConfig (None without a VPC)."""
    if not subnets:
        return None
    return {
        "subnetIds": [subnet.subnet_id for subnet in subnets],
        "securityGroupIds": [group.security_group_id for group in security_groups],
    }


def allow_vpc_access(
    stack: cdk.Stack,
    subnets: Sequence[ec2.ISubnet],
    security_groups: Sequence[ec2.ISecurityGroup],
    grants: Grants,
    job_arn_type: str,
) -> Finding:
    """The network-interface permissions Bedrock documents for jobs of job_arn_type in a VPC; returns their
    finding."""
    job_tag = ENI_JOB_TAGS[job_arn_type]
    interfaces = stack_arn(stack, "ec2", "network-interface", "*")
    jobs = stack_arn(stack, "bedrock", job_arn_type, "*")
    subnet_arns = [stack.format_arn(service="ec2", resource="subnet", resource_name=s.subnet_id) for s in subnets]
    group_arns = [
        stack.format_arn(service="ec2", resource="security-group", resource_name=g.security_group_id)
        for g in security_groups
    ]
    grants.allow(
        [
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeVpcs",
            "ec2:DescribeDhcpOptions",
            "ec2:DescribeSubnets",
            "ec2:DescribeSecurityGroups",
        ],
        ["*"],  # these Describe actions support no resource-level permissions
    )
    grants.allow(
        ["ec2:CreateNetworkInterface"],
        [interfaces],
        {
            "StringEquals": {"aws:RequestTag/BedrockManaged": "true"},
            "ArnEquals": {f"aws:RequestTag/{job_tag}": jobs},
        },
    )
    grants.allow(["ec2:CreateNetworkInterface"], [*subnet_arns, *group_arns])
    grants.allow(
        [
            "ec2:CreateNetworkInterfacePermission",
            "ec2:DeleteNetworkInterface",
            "ec2:DeleteNetworkInterfacePermission",
        ],
        [interfaces],
        {
            "ArnEquals": {"ec2:Subnet": subnet_arns, f"ec2:ResourceTag/{job_tag}": jobs},
            "StringEquals": {"ec2:ResourceTag/BedrockManaged": "true"},
        },
    )
    grants.allow(
        ["ec2:CreateTags"],
        [interfaces],
        {
            "StringEquals": {"ec2:CreateAction": "CreateNetworkInterface"},
            "ForAllValues:StringEquals": {"aws:TagKeys": ["BedrockManaged", job_tag]},
        },
    )
    return (
        "IAM5",
        "EC2 Describe actions allow no resource scope, and Bedrock names the network interfaces it "
        "creates; conditions tie them to Bedrock-managed interfaces of this account's jobs and subnets.",
        wildcard_resources(stack, ["*", interfaces]),
    )


def network(
    scope: Construct,
    vpc: ec2.IVpc | None,
    vpc_subnets: ec2.SubnetSelection | None,
    security_groups: Sequence[ec2.ISecurityGroup] | None,
) -> tuple[list[ec2.ISubnet], list[ec2.ISecurityGroup]]:
    """The subnets and security groups the job runs in (none without a VPC)."""
    if vpc is None:
        if vpc_subnets or security_groups:
            raise ValueError("vpc_subnets and security_groups need vpc")
        return [], []
    try:
        subnets = list(vpc.select_subnets(**_selection(vpc_subnets)).subnets)
    except RuntimeError as error:  # aws-cdk-lib's: no subnet group of the type asked for (an isolated-only VPC, say)
        message = re.sub(r"^[A-Za-z]+: ", "", str(error))  # without aws-cdk-lib's error id (ThereSubnetGroups: ...)
        raise ValueError(f"vpc_subnets: {message}; {_CHOOSE}") from None
    if not subnets:  # without subnets the job would have no vpcConfig: it would run outside the VPC
        raise ValueError(f"vpc_subnets: selects no subnet of the VPC; {_CHOOSE}")
    groups = list(security_groups or []) or [
        ec2.SecurityGroup(scope, "SecurityGroup", vpc=vpc, description="Bedrock job", allow_all_outbound=True)
    ]
    return subnets, groups


_CHOOSE = "choose the job's subnets, e.g. ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)"


def _selection(vpc_subnets: ec2.SubnetSelection | None) -> dict[str, Any]:
    if vpc_subnets is None:
        return {"subnet_type": ec2.SubnetType.PRIVATE_WITH_EGRESS}
    return {
        "availability_zones": vpc_subnets.availability_zones,
        "one_per_az": vpc_subnets.one_per_az,
        "subnet_filters": vpc_subnets.subnet_filters,
        "subnet_group_name": vpc_subnets.subnet_group_name,
        "subnets": vpc_subnets.subnets,
        "subnet_type": vpc_subnets.subnet_type,
    }
