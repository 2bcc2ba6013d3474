"""An S3 URI that the service model's pattern refuses is refused saying why: the scheme, the bucket name (the S3 user
guide's naming rules) or the key's character. The same reason reaches synth, the models file and the handler."""

from __future__ import annotations

import re

import pytest
from bedrock_custom_resource import contract
from hypothesis import given
from hypothesis import strategies as st

from .conftest import fine_tuning_properties
from .test_contract_robustness import only, problems_of

BUCKET_RULES = (
    "its bucket name is not valid (3 to 63 lowercase letters, digits, '.' and '-', beginning and ending with a "
    "letter or digit)"
)


def output_problem(uri: str) -> str:
    return only(problems_of(contract.CUSTOMIZATION_JOB, fine_tuning_properties(outputDataConfig={"s3Uri": uri})))


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("s3:/my-bucket/output/", "an S3 URI starts with s3://"),
        ("my-bucket/output/", "an S3 URI starts with s3://"),
        ("https://my-bucket.s3.amazonaws.com/output/", "an S3 URI starts with s3://"),
        ("s3://My_Bucket/output/", BUCKET_RULES),
        ("s3://ab/output/", BUCKET_RULES),
        ("s3://-bucket/output/", BUCKET_RULES),
        ("s3://my-bucket/model output/", "the key has ' ', which this field does not allow"),
        ("s3://my-bucket/output//run/", "the key has an empty part ('//')"),
        ("s3://my-bucket/ausgabe/ä/", "the key has 'ä', which this field does not allow"),
    ],
)
def test_the_problem_says_why_the_uri_is_refused(uri, reason):
    assert output_problem(uri) == f"outputDataConfig.s3Uri: {uri!r} does not match the pattern of S3Uri: {reason}"


def test_a_folder_uri_without_its_final_slash_is_refused_saying_so():
    """An import's source (S3UriFolder) is a folder."""
    shape = contract.service_model().shape_for("S3UriFolder")
    assert contract.pattern_mismatch(shape.metadata["pattern"], "s3://my-bucket/weights") == (
        "a folder's URI ends with '/'"
    )


def test_a_value_the_pattern_accepts_has_no_reason_and_other_patterns_none():
    s3_uri = contract.service_model().shape_for("S3Uri").metadata["pattern"]
    assert contract.pattern_mismatch(s3_uri, "s3://my-bucket/output/") is None
    role_arn = contract.service_model().shape_for("RoleArn").metadata["pattern"]
    assert contract.pattern_mismatch(role_arn, "not-a-role") is None


def breaks_bucket_naming_rules(name: str) -> bool:
    """The S3 user guide's general purpose bucket naming rules that the S3Uri pattern holds to: 3 to 63 characters;
    lowercase letters, digits, dots and hyphens; beginning and ending with a letter or digit."""
    return not (
        3 <= len(name) <= 63 and re.fullmatch(r"[a-z0-9.-]+", name) and name[0].isalnum() and name[-1].isalnum()
    )


@given(bucket=st.text(alphabet="abz09.-_A/ é", max_size=70))
def test_the_bucket_is_blamed_exactly_when_it_breaks_the_naming_rules(bucket):
    if "/" in bucket:
        return  # the bucket ends at the first /
    s3_uri = contract.service_model().shape_for("S3Uri").metadata["pattern"]
    reason = contract.pattern_mismatch(s3_uri, f"s3://{bucket}/output/")
    assert (reason == BUCKET_RULES) == breaks_bucket_naming_rules(bucket)


@given(value=st.text(max_size=300))
def test_any_value_gets_a_reason_or_none_and_never_an_error(value):
    for shape_name in ("S3Uri", "S3UriFolder", "kBS3Uri"):
        expression = contract.service_model().shape_for(shape_name).metadata["pattern"]
        reason = contract.pattern_mismatch(expression, value)
        assert reason is None or isinstance(reason, str)


def test_a_folder_uri_is_never_told_to_end_with_a_slash_it_has():
    """kBS3Uri takes a key after the bucket: s3://my-bucket/ lacks it, and ends with '/' already."""
    shape = contract.service_model().shape_for("kBS3Uri")
    assert contract.pattern_mismatch(shape.metadata["pattern"], "s3://my-bucket/") != "a folder's URI ends with '/'"
