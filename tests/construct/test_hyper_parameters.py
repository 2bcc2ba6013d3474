"""Hyperparameters checked against the Bedrock user guide's tables ("Custom model hyperparameters",
custom-models-hp.html and its pages): warnings at synth and in `validate`, never refusals.

Each case below is a row of a page, its numbers copied from the page, not from the library's table."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match
from cdk_bedrock_customization import Customization, cli
from cdk_bedrock_customization._hyper_parameters import hyper_parameter_warnings
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import custom_model

NOVA = "amazon.nova-micro-v1:0:128k"
PAGES = "https://docs.aws.amazon.com/bedrock/latest/userguide/"

# (base model, customization type, name, (values the page's range takes), (values it does not)):
# the ends of each documented range, and the nearest values beyond them.
DOCUMENTED = [
    # cm-hp-nova-mm.html: epochCount 1-5, learningRate 1.00E-6 to 1.00E-4, learningRateWarmupSteps 0-100 (the Nova
    # user guide says 20: the wider is kept, so only Bedrock refuses 21 to 100, if it does).
    (NOVA, "FINE_TUNING", "epochCount", ("1", "5", "3"), ("0", "6", "-1")),
    (
        "amazon.nova-pro-v1:0:300k",
        "FINE_TUNING",
        "learningRate",
        ("0.000001", "1.00E-4", "1e-05"),
        ("9.9e-7", "0.00011"),
    ),
    ("amazon.nova-lite-v1:0:300k", "FINE_TUNING", "learningRateWarmupSteps", ("0", "100", "21"), ("101", "-1")),
    # cm-hp-titan-text.html, Titan Text Premier: batchSize 1 to 1, learningRateWarmupSteps 0-20.
    ("amazon.titan-text-premier-v1:0:32k", "FINE_TUNING", "batchSize", ("1",), ("2", "0")),
    ("amazon.titan-text-premier-v1:0:32k", "FINE_TUNING", "learningRateWarmupSteps", ("20",), ("21",)),
    # The same page, Titan Text Lite and Express: epochCount 1-10, batchSize 1-64, learningRate 0.0-1, warmup 0-250.
    ("amazon.titan-text-express-v1:0:8k", "FINE_TUNING", "epochCount", ("10",), ("11",)),
    ("amazon.titan-text-lite-v1:0:4k", "CONTINUED_PRE_TRAINING", "batchSize", ("64",), ("65",)),
    ("amazon.titan-text-express-v1:0:8k", "CONTINUED_PRE_TRAINING", "learningRate", ("0.0", "1"), ("1.01",)),
    ("amazon.titan-text-lite-v1:0:4k", "FINE_TUNING", "learningRateWarmupSteps", ("250",), ("251",)),
    # cm-hp-titan-mm.html: epochCount 1-100 or "Auto", batchSize 256-9,216, learningRate 5.00E-8 to 1.
    ("amazon.titan-embed-image-v1:0", "FINE_TUNING", "epochCount", ("Auto", "100"), ("auto", "101")),
    ("amazon.titan-embed-image-v1:0", "FINE_TUNING", "batchSize", ("256", "9216"), ("255", "9217", "9,216")),
    # cm-hp-anth-claude-3.html: batchSize 4-256, learningRateMultiplier 0.1-2, earlyStoppingThreshold 0-0.1.
    ("anthropic.claude-3-haiku-20240307-v1:0:200k", "FINE_TUNING", "batchSize", ("4", "256"), ("3", "257")),
    ("anthropic.claude-3-haiku-20240307-v1:0:200k", "FINE_TUNING", "learningRateMultiplier", ("0.1", "2"), ("2.5",)),
    # cm-hp-cohere-command.html: batchSize "8 (Command) 32 (Light)", evalPercentage 5-50.
    ("cohere.command-text-v14:7:4k", "FINE_TUNING", "batchSize", ("8",), ("9", "32")),
    ("cohere.command-light-text-v14:7:4k", "FINE_TUNING", "batchSize", ("8", "32"), ("33", "7")),
    ("cohere.command-light-text-v14:7:4k", "FINE_TUNING", "evalPercentage", ("5", "50"), ("4.9", "51")),
    # cm-hp-meta-llama31.html: epochCount 1-10 ("The epochCount quota is adjustable"), batchSize 1, learningRate
    # 5.00E-6 to 0.1.
    ("meta.llama3-1-8b-instruct-v1:0:128k", "FINE_TUNING", "epochCount", ("10",), ("11",)),
    ("meta.llama3-2-1b-instruct-v1:0:128k", "FINE_TUNING", "learningRate", ("0.000005", "0.1"), ("0.000004",)),
    # cm-hp-nova-canvas.html: stepCount 10-20,000.
    ("amazon.nova-canvas-v1:0", "FINE_TUNING", "stepCount", ("10", "20000"), ("9", "20001")),
]


@pytest.mark.parametrize(("base_model", "customization_type", "name", "taken", "refused"), DOCUMENTED)
def test_a_value_is_warned_of_where_the_page_documents_another(base_model, customization_type, name, taken, refused):
    required = {"epochCount": "Auto"} if base_model.startswith("amazon.titan-embed-image-") else {}
    for value in taken:
        given_ = {**required, name: value}
        assert list(hyper_parameter_warnings(base_model, customization_type, given_)) == [], value
    for value in refused:
        ((warned, message),) = hyper_parameter_warnings(base_model, customization_type, {**required, name: value})
        assert warned == name
        assert message.startswith(repr(value) + " is "), message
        assert "the user guide documents for" in message and PAGES in message


def test_a_name_the_page_does_not_list_is_warned_of_with_the_name_it_may_mean():
    ((name, message),) = hyper_parameter_warnings(NOVA, "FINE_TUNING", {"epochs": "2"})
    assert name == "epochs"
    assert "epochCount, learningRate, learningRateWarmupSteps" in message  # cm-hp-nova-mm.html's three
    assert message.endswith("did you mean 'epochCount'?")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("epochCount", "2.0", "'2.0' is not an integer, the type"),
        ("learningRate", "1e-5x", "'1e-5x' is not a number, the type"),
        ("learningRate", "Infinity", "'Infinity' is not a number, the type"),
        ("learningRate", "1_0", "'1_0' is not a number, the type"),  # Python's float() reads it; no page writes it
    ],
)
def test_a_value_not_of_the_documented_type_is_warned_of(name, value, expected):
    ((_, message),) = hyper_parameter_warnings(NOVA, "FINE_TUNING", {name: value})
    assert message.startswith(expected), message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1e9999999999999999999999999", "is above 1.00E-4"),  # beyond what a Decimal's exponent holds
        ("1e-9999999999999999999999999", "is below 1.00E-6"),
        ("9" * 100_000, "is above 1.00E-4"),
        ("0." + "0" * 100_000 + "1", "is below 1.00E-6"),
    ],
)
def test_a_number_of_any_size_is_compared_without_an_error(value, expected):
    ((_, message),) = hyper_parameter_warnings(NOVA, "FINE_TUNING", {"learningRate": value})
    assert expected in message
    assert len(message) < 400  # the value is shown cut


def test_a_required_hyperparameter_left_out_is_warned_of():
    # cm-hp-titan-mm.html: "epochCount has no default value and must be specified."
    ((name, message),) = hyper_parameter_warnings("amazon.titan-embed-image-v1:0", "FINE_TUNING", {})
    assert name is None
    assert message.startswith("epochCount has no default and must be given")


def test_a_page_without_a_type_column_takes_any_number_in_its_range():
    # cm-hp-meta-llama31.html and cm-hp-anth-claude-3.html give names and ranges, no types.
    assert (
        list(hyper_parameter_warnings("meta.llama3-1-8b-instruct-v1:0:128k", "FINE_TUNING", {"epochCount": "2.0"}))
        == []
    )
    claude = "anthropic.claude-3-haiku-20240307-v1:0:200k"
    assert list(hyper_parameter_warnings(claude, "FINE_TUNING", {"batchSize": "4.5"})) == []
    ((_, message),) = hyper_parameter_warnings(claude, "FINE_TUNING", {"batchSize": "four"})
    assert message.startswith("'four' is not a number")


def test_a_quota_is_called_raisable_only_where_its_page_says_so():
    # "The epochCount quota is adjustable" is on the Llama 2 and 3.1 pages, not on the 3.2 page.
    for model, expected in [
        ("meta.llama3-1-8b-instruct-v1:0:128k", "is above 10, the default quota"),
        ("meta.llama3-2-1b-instruct-v1:0:128k", "is above 10, the most"),
    ]:
        ((_, message),) = hyper_parameter_warnings(model, "FINE_TUNING", {"epochCount": "11"})
        assert expected in message, message


def test_a_raisable_quota_says_so():
    ((_, message),) = hyper_parameter_warnings(
        "meta.llama3-1-70b-instruct-v1:0:128k", "FINE_TUNING", {"epochCount": "11"}
    )
    assert "is above 10, the default quota" in message


@pytest.mark.parametrize(
    ("base_model", "customization_type"),
    [
        ("amazon.nova-2-lite-v1:0:256k", "FINE_TUNING"),  # no table for Nova 2 Lite
        (NOVA, "DISTILLATION"),  # no page gives distillation hyperparameters
        ("amazon.titan-text-premier-v1:0:32k", "CONTINUED_PRE_TRAINING"),  # its table is for fine-tuning
        ("meta.llama3-3-70b-instruct-v1:0:128k", "FINE_TUNING"),  # no Llama 3.3 table
        ("${Token[TOKEN.1]}", "FINE_TUNING"),
    ],
)
def test_where_no_page_gives_a_table_nothing_is_warned_of(base_model, customization_type):
    assert list(hyper_parameter_warnings(base_model, customization_type, {"anything": "x", "epochCount": "99"})) == []


def test_a_custom_model_or_foundation_model_arn_is_checked_as_its_base_model():
    arns = [
        f"arn:aws:bedrock:us-east-1:123456789012:custom-model/{NOVA}/a1b2c3d4e5f6",
        f"arn:aws:bedrock:us-east-1::foundation-model/{NOVA}",
        f"arn:${{Token[AWS.Partition.8]}}:bedrock:us-east-1::foundation-model/{NOVA}",  # aws_bedrock.FoundationModel
    ]
    for arn in arns:
        assert [name for name, _ in hyper_parameter_warnings(arn, "FINE_TUNING", {"epochCount": "6"})] == ["epochCount"]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([row[0] for row in DOCUMENTED]),
    st.dictionaries(
        st.text(max_size=30),
        st.one_of(  # texts, as the request has them
            st.text(max_size=40),
            st.integers().map(str),
            st.floats().map(str),
            st.from_regex(r"-?[0-9]{1,30}(\.[0-9]{0,30})?([eE][-+]?[0-9]{1,30})?", fullmatch=True),
        ),
        max_size=6,
    ),
)
def test_any_hyperparameters_get_at_most_one_warning_each_and_never_an_exception(base_model, hyper_parameters):
    warned = [name for name, _ in hyper_parameter_warnings(base_model, "FINE_TUNING", hyper_parameters)]
    assert len(warned) == len(set(warned))
    assert set(warned) - {None} <= set(hyper_parameters)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_an_integer_is_warned_of_exactly_when_it_is_outside_the_page_s_range(value):
    # cm-hp-nova-mm.html: epochCount 1 to 5.
    warned = list(hyper_parameter_warnings(NOVA, "FINE_TUNING", {"epochCount": str(value)}))
    assert bool(warned) == (not 1 <= value <= 5)


def warnings_of(stack: cdk.Stack) -> list[str]:
    found = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("hyperParameterUndocumented"))
    return [str(warning.entry.data) for warning in found]


def test_the_construct_warns_at_synth_naming_the_hyperparameter_and_value(stack, bucket):
    custom_model(stack, bucket, base_model=NOVA, hyper_parameters={"epochCount": 8, "learningRate": "0.00001"})
    (warning,) = warnings_of(stack)
    assert warning.startswith("hyper_parameters['epochCount']: '8' is above 5, the most the user guide documents")
    assert "Bedrock may refuse the job when the stack deploys" in warning


@pytest.mark.parametrize("count", [30, 300])
def test_many_undocumented_hyperparameters_make_a_bounded_number_of_warnings_that_count_them_all(count):
    """aws-cdk-lib scans a construct's earlier warnings before each new one: one warning per name made synth time
    grow with the square of their number (an outside review measured 190 s for 64,000 names)."""
    stack = cdk.Stack(cdk.App(), "Stack")
    bucket = cdk.aws_s3.Bucket(stack, "Data")
    names = [f"undocumented{i:04d}" for i in range(count)]
    custom_model(stack, bucket, base_model=NOVA, hyper_parameters=dict.fromkeys(names, "1"))
    warnings = warnings_of(stack)
    one_each = [w for w in warnings if w.startswith("hyper_parameters[")]
    (summary,) = [w for w in warnings if not w.startswith("hyper_parameters[")]
    assert 0 < len(one_each) <= 20
    assert summary.startswith(f"hyper_parameters: {count - len(one_each)} more warnings like these, of ")
    named = [name for name in names if f"'{name}'" in " ".join(one_each)]
    assert named == names[: len(one_each)]
    assert f"'{names[len(one_each)]}'" in summary


def test_the_warnings_counted_together_do_not_call_a_documented_name_undocumented():
    """Past the warnings given one by one, an out-of-range value of a name the page documents is counted with the rest
    (an outside review: the summary called them all undocumented)."""
    stack = cdk.Stack(cdk.App(), "Stack")
    bucket = cdk.aws_s3.Bucket(stack, "Data")
    # cm-hp-nova-mm.html: epochCount 1 to 5; the names sort before it, so it is among the last warned of.
    hyper_parameters = {**dict.fromkeys([f"aaUndocumented{i:02d}" for i in range(25)], "1"), "epochCount": "99"}
    custom_model(stack, bucket, base_model=NOVA, hyper_parameters=hyper_parameters)
    (summary,) = [w for w in warnings_of(stack) if not w.startswith("hyper_parameters[")]
    assert "'epochCount'" in summary
    assert "not document" not in summary


def test_the_construct_checks_numbers_as_the_request_sends_them(stack, bucket):
    # str(value), as the README says: 2.0 is sent as "2.0", which is no integer; 0.0001 as "0.0001", Nova's most.
    custom_model(stack, bucket, "Tuned", base_model=NOVA, hyper_parameters={"epochCount": 5, "learningRate": 0.0001})
    assert warnings_of(stack) == []
    custom_model(stack, bucket, "Odd", base_model=NOVA, hyper_parameters={"epochCount": 2.0, "learningRate": 0.001})
    assert [warning.split(", the ")[0] for warning in warnings_of(stack)] == [
        "hyper_parameters['epochCount']: '2.0' is not an integer",
        "hyper_parameters['learningRate']: '0.001' is above 1.00E-4",
    ]


def test_the_construct_leaves_a_number_token_to_bedrock(stack, bucket):
    """A CfnParameter of type Number is sent as its text, which reads as a number (-1.88e+289): no warning."""
    epochs = cdk.CfnParameter(stack, "Epochs", type="Number", default=2)
    rate = cdk.CfnParameter(stack, "Rate", type="Number", default=0.00001)
    custom_model(
        stack,
        bucket,
        base_model=NOVA,
        hyper_parameters={"epochCount": epochs.value_as_number, "learningRate": rate.value_as_number},
    )
    assert warnings_of(stack) == []


def test_the_construct_checks_a_model_trained_further_as_its_foundation_model(stack, bucket):
    first = custom_model(stack, bucket, "First", base_model=NOVA)
    custom_model(stack, bucket, "Second", base_model=first, hyper_parameters={"epochs": 2})
    (warning,) = warnings_of(stack)
    assert warning.startswith("hyper_parameters['epochs']: not one of the hyperparameters")


def test_the_construct_does_not_warn_of_documented_values_or_of_rft(stack, bucket):
    custom_model(stack, bucket, "Tuned", base_model=NOVA, hyper_parameters={"epochCount": 2, "learningRate": 1e-05})
    custom_model(
        stack,
        bucket,
        "Distilled",
        base_model=NOVA,
        customization=Customization.distillation("us.amazon.nova-pro-v1:0"),
        hyper_parameters={"anything": "1"},
    )
    assert warnings_of(stack) == []


MODELS_FILE = """\
    models:
      support:
        base_model: amazon.nova-micro-v1:0:128k
        training_data: s3://my-bucket/train.jsonl
        output_data: s3://my-bucket/output/
        hyper_parameters:
          epochCount: 9
          learningRate: "0.00001"
      embeddings:
        base_model: amazon.titan-embed-image-v1:0
        training_data: s3://my-bucket/images.jsonl
        output_data: s3://my-bucket/output/
"""


def test_validate_prints_the_warnings_at_their_lines_and_passes(tmp_path: Path, capsys: Any):
    path = tmp_path / "models.yaml"
    path.write_text(textwrap.dedent(MODELS_FILE))
    assert cli.main(["validate", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": warning: ")[0] for line in lines] == [
        f"{path}:7:19: models.support.hyper_parameters.epochCount",
        f"{path}:10:5: models.embeddings.hyper_parameters",  # not in the file: at the entry's first line
        f"{path}: OK",
    ]
    assert lines[0].endswith(
        "'9' is above 5, the most the user guide documents for Amazon Nova Micro, Lite and Pro "
        f"({PAGES}cm-hp-nova-mm.html)"
    )
