"""Each exported construct's docstring shows an ``Example::`` block, and that example builds a valid stack.

An example may assume what aws-cdk-lib's Python examples assume: ``self`` (a stack of ``app``), a ``bucket``, a
``function`` and a ``model`` (a CustomModel), ``models_file`` (examples/models.yaml), the modules below and every
export of the package. ``model`` is made only for the examples that name it, so that an example may create the
stack's provider or notifier first, as their settings require.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import cdk_bedrock_customization
import pytest
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from aws_cdk import cx_api
from cdk_bedrock_customization import CustomModel, S3Data

from constructs import Construct

from .conftest import BASE_MODEL, ENV

MODELS_FILE = Path(__file__).resolve().parents[2] / "examples" / "models.yaml"
MODULES = {"cdk": cdk, "Duration": cdk.Duration, "s3": s3, "iam": iam, "lambda_": lambda_, "sfn": sfn}
MODULES |= {"tasks": tasks, "bedrock": bedrock}

CONSTRUCTS = sorted(
    name
    for name in cdk_bedrock_customization.__all__
    if inspect.isclass(export := getattr(cdk_bedrock_customization, name)) and issubclass(export, Construct)
)


def example_of(cls: type) -> str | None:
    """The code of the ``Example::`` block of cls's own docstring (not an inherited one), dedented."""
    docstring = vars(cls).get("__doc__")
    if not docstring:
        return None
    lines = inspect.cleandoc(docstring).splitlines()
    if "Example::" not in lines:
        return None
    block: list[str] = []
    for line in lines[lines.index("Example::") + 1 :]:
        if line.strip() and not line.startswith("    "):
            break  # the block ends at the first line indented as the text around it
        block.append(line[4:])
    return "\n".join(block).strip()


def namespace(app: cdk.App, code: str) -> dict[str, Any]:
    stack = cdk.Stack(app, "ExampleStack", env=ENV)
    bucket = s3.Bucket(stack, "Data")
    function = lambda_.Function(
        stack,
        "Function",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
    )
    names: dict[str, Any] = {"self": stack, "app": app, "bucket": bucket, "function": function}
    names |= {"models_file": str(MODELS_FILE), **MODULES}
    names |= {name: getattr(cdk_bedrock_customization, name) for name in cdk_bedrock_customization.__all__}
    if "model" in {node.id for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Name)}:
        names["model"] = CustomModel(
            stack,
            "Model",
            base_model=BASE_MODEL,
            training_data=S3Data.from_bucket(bucket, "train.jsonl"),
            output_data=S3Data.from_bucket(bucket, "output/"),
        )
    return names


def test_every_construct_class_is_checked() -> None:
    # The list is read from the exports: this guards against it coming out empty or missing the main ones.
    assert {"CustomModel", "CustomModelDeployment", "ModelsFromFile", "CustomizationProviderStack"} <= set(CONSTRUCTS)


def test_the_example_is_read_up_to_the_end_of_its_block() -> None:
    class Documented:
        """Text.

        Example::

            first = 1

            second = first
        After the example.
        """

    assert example_of(Documented) == "first = 1\n\nsecond = first"


@pytest.mark.parametrize("name", CONSTRUCTS)
def test_the_docstring_example_builds_a_valid_stack(name: str) -> None:
    code = example_of(getattr(cdk_bedrock_customization, name))
    assert code, f"{name}'s docstring has no Example:: block"
    app = cdk.App()
    names = namespace(app, code)
    stack = names["self"]
    before = len(stack.node.find_all())
    exec(compile(code, f"<{name} example>", "exec"), names)
    built = {child for child in app.node.find_all() if isinstance(child, cdk.Stack)}
    # The example made something: in the stack, or a stack of its own.
    assert len(stack.node.find_all()) > before or built != {stack}
    errors = [
        f"{artifact.stack_name}: {message.entry.data}"
        for artifact in app.synth().stacks
        for message in artifact.messages
        if message.level == cx_api.SynthesisMessageLevel.ERROR
    ]
    assert errors == []
