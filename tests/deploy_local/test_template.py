"""What plain CloudFormation templates need of the rehearsal: YAML short forms, parameters, Fn::ImportValue,
exports, role ARNs with a path, and a ResponseURL that crhelper can reach over HTTPS."""

from __future__ import annotations

import http.client
import ssl
from pathlib import Path
from typing import Any

import cfnlint.template
import pytest
from cdk_bedrock_customization.rehearsal.dependency_walk import dependencies_among, dependents_among
from cdk_bedrock_customization.rehearsal.resources import plausible
from cdk_bedrock_customization.rehearsal.response_endpoint import ResponseEndpoint
from cdk_bedrock_customization.rehearsal.template import Environment, Resolver, Template, TemplateError, load_template
from crhelper.utils import _send_response

from .rehearsal_support import REPO

EXAMPLE = REPO / "examples" / "cloudformation" / "fine-tuning-job.yaml"
ENV = Environment("111122223333", "us-east-1", "Plain", "arn:aws:cloudformation:us-east-1:111122223333:stack/Plain/1")


def resolver(template: Template, exports: dict[str, Any] | None = None) -> Resolver:
    def import_value(name: str) -> Any:
        if name not in (exports or {}):
            raise TemplateError(f"No export named {name} found")
        return (exports or {})[name]

    return Resolver(template, ENV, lambda _id: {"Arn": "arn:role"}, lambda lid: f"{lid}-id", import_value)


def test_yaml_short_forms_are_read_as_their_long_forms() -> None:
    template = load_template(EXAMPLE, {"DataBucketName": "data"})
    properties = template.resources["SupportAssistant"]["Properties"]
    assert properties["ServiceToken"] == {"Fn::ImportValue": {"Fn::Sub": "${ProviderStackName}-ServiceToken"}}
    assert properties["roleArn"] == {"Fn::GetAtt": ["ServiceRole", "Arn"]}
    assert template.dependencies("SupportAssistant") == {"ServiceRole"}

    resolved = resolver(template, {"BedrockCustomizationProvider-ServiceToken": "arn:token"}).resolve(properties)
    assert resolved["ServiceToken"] == "arn:token"
    assert resolved["baseModelIdentifier"] == "amazon.nova-micro-v1:0:128k"  # a Default
    assert resolved["trainingDataConfig"] == {"s3Uri": "s3://data/support/train.jsonl"}  # a given value
    assert resolved["roleArn"] == "arn:role"


def test_a_plain_template_is_its_files_bytes_as_uploaded(tmp_path: Path) -> None:
    """Its size counts the file's bytes, as CloudFormation counts what is uploaded (CRLF line endings too), and
    GetTemplate answers the text as written, UTF-8. Found by an outside review (h273): read as text, a Windows file
    was measured smaller than it is."""
    text = "Description: Modèle affiné\r\nResources:\r\n  Handle:\r\n"
    text += "    Type: AWS::CloudFormation::WaitConditionHandle\r\n"
    path = tmp_path / "windows.yaml"
    path.write_bytes(text.encode("utf-8"))
    template = load_template(path)
    assert template.size_bytes == path.stat().st_size == len(text.encode("utf-8"))
    assert template.text == text


def test_given_parameters_override_defaults_and_are_checked() -> None:
    template = load_template(EXAMPLE, {"DataBucketName": "data", "ProviderStackName": "Other"})
    with pytest.raises(TemplateError, match="No export named Other-ServiceToken found"):
        resolver(template).resolve(template.resources["SupportAssistant"]["Properties"]["ServiceToken"])
    with pytest.raises(TemplateError, match=r"Parameters: \[DataBucketName\] must have values"):
        load_template(EXAMPLE)
    with pytest.raises(TemplateError, match=r"Parameters: \[Unknown\] do not exist in the template"):
        load_template(EXAMPLE, {"DataBucketName": "data", "Unknown": "x"})


def test_parameter_types_allowed_values_and_lists() -> None:
    body = {
        "Parameters": {
            "Stage": {"Type": "String", "AllowedValues": ["dev", "prod"], "Default": "dev"},
            "Epochs": {"Type": "Number", "Default": 2},
            "Subnets": {"Type": "CommaDelimitedList", "Default": "a, b"},
            "Enabled": {"Type": "String", "Default": True},
        },
        "Resources": {},
    }
    template = Template(body, {"Stage": "prod"})
    refs = resolver(template).resolve([{"Ref": name} for name in ("Stage", "Epochs", "Subnets", "Enabled")])
    assert refs == ["prod", "2", ["a", "b"], "true"]  # values are text, as CloudFormation holds them
    with pytest.raises(TemplateError, match="'Stage' must be one of AllowedValues"):
        Template(body, {"Stage": "test"})
    with pytest.raises(TemplateError, match="'Epochs' must be a number"):
        Template(body, {"Epochs": "many"})


@pytest.mark.parametrize(
    ("parameter", "value", "refusal"),
    [
        ({"Type": "Number", "MinValue": 1, "MaxValue": 5}, "0", "must be a number not less than 1"),
        ({"Type": "Number", "MinValue": 1, "MaxValue": 5}, "5.5", "must be a number not greater than 5"),
        ({"Type": "String", "MinLength": 2, "MaxLength": 3}, "a", "must contain at least 2 characters"),
        ({"Type": "String", "MinLength": 2, "MaxLength": 3}, "abcd", "must contain at most 3 characters"),
    ],
)
def test_a_parameter_out_of_its_min_and_max_is_refused_naming_it(parameter, value, refusal) -> None:
    """The template's Parameters: MinValue and MaxValue bound a Number, MinLength and MaxLength a String's
    characters, both ends included; CloudFormation refuses the operation otherwise."""
    body = {"Parameters": {"Knob": parameter}, "Resources": {}}
    with pytest.raises(TemplateError, match=f"^Parameter 'Knob' {refusal}$"):
        Template(body, {"Knob": value})
    for within in ("1", "5") if parameter["Type"] == "Number" else ("ab", "abc"):
        assert resolver(Template(body, {"Knob": within})).resolve({"Ref": "Knob"}) == within


def test_each_item_of_a_list_of_numbers_is_a_number() -> None:
    """The user guide's List<Number>: "CloudFormation validates the parameter value as numbers"."""
    body = {"Parameters": {"Sizes": {"Type": "List<Number>"}}, "Resources": {}}
    with pytest.raises(TemplateError, match=r"^Parameter 'Sizes' must be a list of numbers$"):
        Template(body, {"Sizes": "1,abc"})
    assert resolver(Template(body, {"Sizes": "1, 2.5"})).resolve({"Ref": "Sizes"}) == ["1", "2.5"]
    assert resolver(Template(body, {"Sizes": ""})).resolve({"Ref": "Sizes"}) == []  # no item, none to refuse


INTRINSICS = {
    "Parameters": {
        "Stage": {"Type": "String", "AllowedValues": ["dev", "prod"], "Default": "prod"},
        "Names": {"Type": "CommaDelimitedList", "Default": "a, b ,c"},
    },
    "Conditions": {
        "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
        "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]},
    },
    "Resources": {"Db": {"Type": "AWS::RDS::DBInstance"}, "Gated": {"Type": "AWS::SNS::Topic", "Condition": "IsDev"}},
    "Outputs": {"OnlyDev": {"Value": "x", "Condition": "IsDev", "Export": {"Name": "only-dev"}}},
}


def resolved(value: Any, parameters: dict[str, str] | None = None) -> Any:
    attributes = {"Arn": "arn:db", "Endpoint.Address": "db.example.com"}
    return Resolver(Template(INTRINSICS, parameters), ENV, lambda _id: attributes, lambda lid: f"{lid}-id").resolve(
        value
    )


@pytest.mark.parametrize(
    ("value", "stage", "expected"),
    [
        # Fn::If: one value if the condition is true, the other if false; Fn::Not negates.
        ({"Fn::If": ["IsProd", "yes", "no"]}, "prod", "yes"),
        ({"Fn::If": ["IsProd", "yes", "no"]}, "dev", "no"),
        ({"Fn::If": ["IsDev", "yes", "no"]}, "prod", "no"),
        ({"Fn::Not": [{"Fn::Equals": ["a", "b"]}]}, "prod", True),
        # Fn::Sub: a variable map's values may be intrinsics; ${Resource.Attribute} is Fn::GetAtt, ${Resource} Ref;
        # "${!Literal}" is written as ${Literal}.
        ({"Fn::Sub": ["${R}-x", {"R": {"Ref": "AWS::Region"}}]}, "prod", "us-east-1-x"),
        ({"Fn::Sub": "${Db.Arn}|${Db}"}, "prod", "arn:db|Db-id"),
        ({"Fn::Sub": "${!Literal}-${AWS::Region}"}, "prod", "${Literal}-us-east-1"),
        # Spaces around a name or a literal are not part of it (cfn-lint#236, cdklabs/decdk#358).
        ({"Fn::Sub": "${ Db.Arn }|${ !Literal}"}, "prod", "arn:db|${Literal}"),
        # A literal may hold "$": a shell's default value in UserData, say.
        ({"Fn::Sub": "echo ${!HOME:-$USER} ${Db}"}, "prod", "echo ${HOME:-$USER} Db-id"),
        # Fn::GetAtt's short form splits at the first dot: attribute names may have dots.
        ({"Fn::GetAtt": "Db.Endpoint.Address"}, "prod", "db.example.com"),
        # Fn::Select is zero-based; a CommaDelimitedList's members are trimmed.
        ({"Fn::Select": ["1", ["a", "b", "c"]]}, "prod", "b"),
        ({"Fn::Split": ["|", "a|b|c"]}, "prod", ["a", "b", "c"]),
        ({"Ref": "Names"}, "prod", ["a", "b", "c"]),
        # AWS::NoValue removes the property, or the list item, Fn::If returns it for.
        ({"Gone": {"Fn::If": ["IsProd", {"Ref": "AWS::NoValue"}, "x"]}, "Kept": "1"}, "prod", {"Kept": "1"}),
        (["a", {"Fn::If": ["IsProd", {"Ref": "AWS::NoValue"}, "x"]}], "prod", ["a"]),
    ],
)
def test_intrinsic_functions_give_what_the_reference_says(value, stage, expected) -> None:
    assert resolved(value, {"Stage": stage}) == expected


def test_a_resource_and_an_output_whose_condition_is_false_are_left_out() -> None:
    template = Template(INTRINSICS)
    assert not template.included("Gated", ENV)
    assert not template.output_included("OnlyDev", ENV)
    assert template.export_names(resolver(template)) == {}


def test_dependencies_are_those_cfn_lint_finds() -> None:
    body = {
        "Resources": {
            "A": {"Type": "AWS::SNS::Topic"},
            "B": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::Sub": "${A}-${!C}"}}},
            "C": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::Sub": "${A.TopicName}"}}},
            "D": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::GetAtt": "C.TopicName"}}},
        }
    }
    graph = cfnlint.template.Template("t.json", body, ["us-east-1"]).graph.graph
    template = Template(body)
    for logical_id in body["Resources"]:
        assert template.dependencies(logical_id) == {target for _, target in graph.out_edges(logical_id)}, logical_id


def test_the_order_holds_through_a_resource_not_in_the_walk() -> None:
    """CloudFormation makes a resource after what it depends on (DependsOn, Ref, Fn::GetAtt) and deletes it before:
    C depends on A through B, so C waits for A though B is not worked on (an update rollback's untouched resource)."""
    body = {
        "Resources": {
            "A": {"Type": "AWS::SNS::Topic"},
            "B": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Ref": "A"}}},
            "C": {"Type": "AWS::SNS::Topic", "DependsOn": "B"},
        }
    }
    assert dependencies_among(Template(body), ["A", "C"])("C") == {"A"}
    assert dependents_among(Template(body), ["A", "C"])("A") == {"C"}


def test_exports_are_resolved_outputs_with_an_export_name() -> None:
    body = {
        "Resources": {"Function": {"Type": "AWS::Lambda::Function"}},
        "Outputs": {
            "Token": {"Value": {"Ref": "Function"}, "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-Token"}}},
            "NotExported": {"Value": "x"},
        },
    }
    template = Template(body)
    assert template.exports(resolver(template)) == {"Plain-Token": "Function-id"}


def test_a_role_path_is_in_the_role_arn_not_its_name() -> None:
    name, attributes = plausible("AWS::IAM::Role", "ServiceRole", {"Path": "/bedrock-customization/"}, ENV, 0)
    assert attributes["Arn"] == f"arn:aws:iam::111122223333:role/bedrock-customization/{name}"
    assert "/" not in name
    _, attributes = plausible("AWS::IAM::Role", "Other", {"RoleName": "named"}, ENV, 0)
    assert attributes["Arn"] == "arn:aws:iam::111122223333:role/named"


def test_the_response_endpoint_is_reached_over_https_with_its_ca_only() -> None:
    endpoint = ResponseEndpoint()
    try:
        pending = endpoint.expect("request-1")
        _send_response(endpoint.url("request-1"), {"Status": "SUCCESS"}, endpoint.ca_file)  # as crhelper sends it
        assert pending.wait(5) == b'{"Status": "SUCCESS"}'

        port = int(endpoint.url("x").split(":")[2].split("/")[0])
        trusted = ssl.create_default_context(cafile=endpoint.ca_file)
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=trusted, timeout=5)
        connection.request("PUT", "/unknown-request?X-Amz-Signature=local", body=b"{}")
        assert connection.getresponse().status == 404
        with pytest.raises(ssl.SSLCertVerificationError):  # the system's CAs do not know it
            untrusted = http.client.HTTPSConnection("127.0.0.1", port, context=ssl.create_default_context(), timeout=5)
            untrusted.request("PUT", "/request-1", body=b"{}")
    finally:
        endpoint.close()
    assert not Path(endpoint.ca_file).exists()
