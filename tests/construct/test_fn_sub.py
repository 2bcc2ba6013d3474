"""Fn::Sub's references, read as cfn-lint reads them (cfnlint.helpers.REGEX_SUB_PARAMETERS, which strips the spaces
around a name and leaves out ${!Literal}), and in linear time however many "${" are left unclosed."""

from __future__ import annotations

from cdk_bedrock_customization._fn_sub import referenced_names
from cfnlint.helpers import REGEX_SUB_PARAMETERS
from hypothesis import given
from hypothesis import strategies as st

# What CloudFormation takes as a name: "variable names in Fn::Sub syntax must contain only alphanumeric characters,
# underscores, periods, and colons" (its template error).
NAMES = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.:]{0,20}", fullmatch=True)
SPACES = st.sampled_from(["", " ", "  "])
PLAIN_TEXT = st.from_regex(r"[^${}]{0,10}", fullmatch=True)
REFERENCES = st.builds(lambda before, name, after: f"${{{before}{name}{after}}}", SPACES, NAMES, SPACES)
# A literal's text may hold "$", as a shell's ${!HOME:-$USER} does.
LITERAL_TEXTS = st.from_regex(r"[A-Za-z0-9_.:$ -]{0,20}", fullmatch=True)
LITERALS = st.builds(lambda before, text: f"${{{before}!{text}}}", SPACES, LITERAL_TEXTS)
TEXTS = st.lists(st.one_of(PLAIN_TEXT, REFERENCES, LITERALS), max_size=8).map("".join)


@given(TEXTS)
def test_the_names_are_those_cfn_lint_reads(text):
    expected = {name.split(".", 1)[0] for name in REGEX_SUB_PARAMETERS.findall(text)}
    assert referenced_names(text) == expected


def test_the_documented_forms():
    # The Fn::Sub page: a parameter, a pseudo parameter, a resource's attribute; a literal.
    text = "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc/${vpc}-${MyInstance.PublicIp}-${!Literal}"
    assert referenced_names(text) == {"AWS::Partition", "AWS::Region", "AWS::AccountId", "vpc", "MyInstance"}


def test_a_literal_may_hold_a_dollar_sign():
    assert referenced_names("echo ${!HOME:-$USER} ${Db}") == {"Db"}


def test_a_reference_after_any_number_of_unclosed_ones_is_found():
    """Each "${" without its "}" is passed over, not read up to the next "}" (which made the whole text's reading
    quadratic in its length, and could join two references into one name)."""
    assert referenced_names("${a " * 100_000 + "${Bucket}-${ Key }") == {"Bucket", "Key"}
    assert referenced_names("${!a " * 100_000 + "${Bucket}") == {"Bucket"}
    assert referenced_names("${a${b}") == {"b"}
