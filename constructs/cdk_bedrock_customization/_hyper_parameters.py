"""The hyperparameters that the Bedrock user guide documents for each base model ("Custom model hyperparameters",
custom-models-hp.html), to warn at synth of a name or value that Bedrock would likely refuse when the stack deploys.

The service model types fine-tuning and continued pre-training hyperparameters as a map of strings, so only these
pages say more. They give warnings, never refusals: two pages can disagree (Nova's learningRateWarmupSteps is at
most 100 on Bedrock's page and 20 in the Nova user guide: the wider is kept), some quotas can be raised (Llama's and
Cohere's epochCount), and a page can lag behind Bedrock."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from .datasets import model_id_of
from .models_file import _show

_PAGES = "https://docs.aws.amazon.com/bedrock/latest/userguide/"
FINE_TUNING = ("FINE_TUNING",)

# A number as the pages write one (1.00E-5, 0.1, 20), and an integer: not the other texts that Python reads as
# numbers ("2_0", "Infinity", " 2").
_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_INTEGER = re.compile(r"-?[0-9]+")


class Documented(NamedTuple):
    """One row of a model's table: its API name, type, minimum and maximum."""

    name: str
    integer: bool  # the page's Type column says integer (a page without one gives numbers only)
    minimum: str
    maximum: str
    words: tuple[str, ...] = ()  # values taken besides numbers ("Auto")
    required: bool = False  # "has no default value and must be specified"
    raisable: bool = False  # "The epochCount quota is adjustable"


class Table(NamedTuple):
    """A page's table: the models it covers (by model id prefix) and the customization types it is for."""

    models: str  # as the page names them
    prefixes: tuple[str, ...]
    customization_types: tuple[str, ...]
    page: str
    rows: tuple[Documented, ...]


def _llama(version: str, prefix: str, page: str, *, typed: bool, raisable: bool) -> Table:
    """The Meta Llama pages' table, the same for each version; typed: the page has a Type column (else a value is
    only a number); raisable: the page says "The epochCount quota is adjustable"."""
    return Table(
        f"Meta Llama {version}",
        (prefix,),
        FINE_TUNING,
        _PAGES + page,
        (
            Documented("epochCount", typed, "1", "10", raisable=raisable),
            Documented("batchSize", typed, "1", "1"),
            Documented("learningRate", False, "5.00E-6", "0.1"),
        ),
    )


def _cohere(models: str, prefix: str, largest_batch: str) -> Table:
    """The Cohere page's table, whose batchSize maximum is 8 for Command and 32 for Command Light."""
    return Table(
        models,
        (prefix,),
        FINE_TUNING,
        _PAGES + "cm-hp-cohere-command.html",
        (
            Documented("epochCount", True, "1", "100", raisable=True),
            Documented("batchSize", True, "8", largest_batch),
            Documented("learningRate", False, "5.00E-6", "0.1"),
            Documented("earlyStoppingThreshold", False, "0", "0.1"),
            Documented("earlyStoppingPatience", True, "1", "10"),
            Documented("evalPercentage", False, "5", "50"),
        ),
    )


TABLES: tuple[Table, ...] = (
    Table(
        "Amazon Nova Micro, Lite and Pro",
        ("amazon.nova-micro-", "amazon.nova-lite-", "amazon.nova-pro-"),
        FINE_TUNING,
        _PAGES + "cm-hp-nova-mm.html",
        (
            Documented("epochCount", True, "1", "5"),
            Documented("learningRate", False, "1.00E-6", "1.00E-4"),
            # 20 in the Nova user guide (customize-fine-tune-hyperparameters.html)
            Documented("learningRateWarmupSteps", True, "0", "100"),
        ),
    ),
    Table(
        "Amazon Titan Text Premier",
        ("amazon.titan-text-premier-",),
        FINE_TUNING,
        _PAGES + "cm-hp-titan-text.html",
        (
            Documented("epochCount", True, "1", "5"),
            Documented("batchSize", True, "1", "1"),
            Documented("learningRate", False, "1.00E-07", "1.00E-05"),
            Documented("learningRateWarmupSteps", True, "0", "20"),
        ),
    ),
    Table(
        "Amazon Titan Text Lite and Express",
        ("amazon.titan-text-lite-", "amazon.titan-text-express-"),
        # The page's table is "for model customization", which for these models is both kinds.
        ("FINE_TUNING", "CONTINUED_PRE_TRAINING"),
        _PAGES + "cm-hp-titan-text.html",
        (
            Documented("epochCount", True, "1", "10"),
            Documented("batchSize", True, "1", "64"),
            Documented("learningRate", False, "0.0", "1"),
            Documented("learningRateWarmupSteps", True, "0", "250"),
        ),
    ),
    Table(
        "Amazon Titan Multimodal Embeddings G1",
        ("amazon.titan-embed-image-",),
        FINE_TUNING,
        _PAGES + "cm-hp-titan-mm.html",
        (
            Documented("epochCount", True, "1", "100", words=("Auto",), required=True),
            Documented("batchSize", True, "256", "9216"),
            Documented("learningRate", False, "5.00E-8", "1"),
        ),
    ),
    Table(
        "Amazon Nova Canvas",
        ("amazon.nova-canvas-",),
        FINE_TUNING,
        _PAGES + "cm-hp-nova-canvas.html",
        (
            Documented("batchSize", False, "8", "192"),  # (no Type column on this page, nor on Claude 3 Haiku's)
            Documented("stepCount", False, "10", "20000"),
            Documented("learningRate", False, "1.00E-7", "1.00E-4"),
        ),
    ),
    Table(
        "Anthropic Claude 3 Haiku",
        ("anthropic.claude-3-haiku-",),
        FINE_TUNING,
        _PAGES + "cm-hp-anth-claude-3.html",
        (
            Documented("epochCount", False, "1", "10"),
            Documented("batchSize", False, "4", "256"),
            Documented("learningRateMultiplier", False, "0.1", "2"),
            Documented("earlyStoppingThreshold", False, "0", "0.1"),
            Documented("earlyStoppingPatience", False, "1", "10"),
        ),
    ),
    _cohere("Cohere Command", "cohere.command-text-", "8"),
    _cohere("Cohere Command Light", "cohere.command-light-text-", "32"),
    _llama("2", "meta.llama2-", "cm-hp-meta-llama2.html", typed=True, raisable=True),
    _llama("3.1", "meta.llama3-1-", "cm-hp-meta-llama31.html", typed=False, raisable=True),
    _llama("3.2", "meta.llama3-2-", "cm-hp-meta-llama32.html", typed=False, raisable=False),
)


def documented_table(base_model: str, customization_type: str) -> Table | None:
    """The table of a foundation model id or ARN (or of a custom model's ARN, which names its base model) for this
    customization type, or None where the user guide gives none."""
    model_id = model_id_of(base_model)
    for table in TABLES:
        if customization_type in table.customization_types and model_id.startswith(table.prefixes):
            return table
    return None


def hyper_parameter_warnings(
    base_model: str,
    customization_type: str,
    hyper_parameters: Mapping[str, str] | None,
    is_unresolved: Callable[[Any], bool] = lambda value: False,
) -> Iterator[tuple[str | None, str]]:
    """(name, message) for each hyperparameter of a request (its texts, as sent) that the user guide's table for the
    base model does not take: an unknown name, a value not of its type or outside its range, a required one missing
    (name None). A token is left to Bedrock."""
    if is_unresolved(model_id_of(base_model)):  # aws_bedrock.FoundationModel's ARN: only its partition is a token
        return
    table = documented_table(base_model, customization_type)
    if table is None:
        return
    given = dict(hyper_parameters or {})
    rows = {row.name: row for row in table.rows}
    source = f"the user guide documents for {table.models} ({table.page})"
    for name, value in given.items():
        if is_unresolved(value):
            continue
        row = rows.get(name)
        if row is None:
            meant = difflib.get_close_matches(name, rows, n=1)
            hint = f"; did you mean {meant[0]!r}?" if meant else ""
            yield name, f"not one of the hyperparameters {source}: {', '.join(rows)}{hint}"
            continue
        problem = _value_problem(row, value)
        if problem is not None:
            yield name, f"{_show(value)} {problem} {source}"
    for row in table.rows:
        if row.required and row.name not in given:
            yield None, f"{row.name} has no default and must be given, as {source}"


def _value_problem(row: Documented, text: str) -> str | None:
    """What is wrong with a value, as text to go before "the user guide documents for ...", or None."""
    if text in row.words:
        return None
    if not _NUMBER.fullmatch(text) or (row.integer and not _INTEGER.fullmatch(text)):
        kind = "an integer" if row.integer else "a number"
        words = "".join(f" or {word!r}" for word in row.words)
        return f"is not {kind}{words}, the type"
    number = float(text)  # total: an exponent too large for a Decimal is inf here, too small 0.0
    if number < float(row.minimum):
        return f"is below {row.minimum}, the least"
    if number > float(row.maximum):
        return f"is above {row.maximum}, the {'default quota' if row.raisable else 'most'}"
    return None
