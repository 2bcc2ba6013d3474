#!/usr/bin/env python3
"""A CDK app for the local deployment tests: a models file of one open-weight model whose weights are a local folder,
which the stack uploads under the model's key. Context: weights_key (that key, llama by default: another is the key
renamed). The folder is ../weights/llama beside the app's output folder (conftest.py makes it); the models file is
written beside it."""

from pathlib import Path

import aws_cdk as cdk
from cdk_bedrock_customization import ModelsFromFile

app = cdk.App()
key = str(app.node.try_get_context("weights_key") or "llama")
inputs = Path(str(app.outdir)).parent
models_file = inputs / f"models-{key}.yaml"
models_file.write_text(f"version: 1\nopen_weight_models:\n  {key}:\n    model_data: ./weights/llama\n")
stack = cdk.Stack(app, "RehearsalModelsFile")
ModelsFromFile(stack, "Models", path=str(models_file))
app.synth()
