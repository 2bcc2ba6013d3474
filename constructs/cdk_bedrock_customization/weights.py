"""Offline check of a local open-weight model folder for Amazon Bedrock Custom Model Import (CreateModelImportJob).

:func:`validate_weights` checks a folder in the Hugging Face layout, as an import job takes it from Amazon S3,
against what the Amazon Bedrock User Guide documents, and each ``.safetensors`` file in it against the
safetensors format. Only each weights file's header is read (8 bytes, then a JSON header of at most 100 MB):
a folder of hundreds of GB is checked in constant memory, without reading a weight. Every problem is found
before :class:`WeightsError` is raised; each names the file (``DIR/file: message``, or ``DIR: message`` for the
folder as a whole), what is wrong, and the value and the limit where one applies. Only the standard library
is used: the check runs without the CDK.

Sources (:data:`RULES` names the page and section of each rule):

* `Use Custom model import to import a customized open-source model into Amazon Bedrock
  <https://docs.aws.amazon.com/bedrock/latest/userguide/model-customization-import-model.html>`_, sections
  "Supported architectures" (the architectures, and its note: imported weights under 100GB for multimodal
  models and 200GB for text models, a maximum context length under 128K, no embedding models), "Import a
  model source from Amazon S3" (the Hugging Face weights format; the weights in files with the extension
  ``.safetensors``; ``config.json``, ``tokenizer_config.json``, ``tokenizer.json``, ``tokenizer.model``) and
  "Supported tokenizers".
* `Prerequisites for importing custom model
  <https://docs.aws.amazon.com/bedrock/latest/userguide/custom-model-import-prereq.html>`_: the model files in
  the Hugging Face weights format.
* `Handling Custom Chat Templates and Tokenizers
  <https://docs.aws.amazon.com/bedrock/latest/userguide/custom-chat-templates-tokenizers.html>`_, section
  "Chat Template Format Requirements": ``chat_template.json`` holds the template as a string.
* safetensors, `"Format" <https://github.com/huggingface/safetensors#format>`_: 8 bytes (little-endian u64
  ``N``), an ``N``-byte UTF-8 JSON header that begins with ``{``, no duplicate keys, ``__metadata__`` a
  string-to-string map or null, each tensor's ``dtype``, ``shape`` and ``data_offsets`` relative to the byte buffer,
  which its tensors must cover with no holes; the dtypes, their sizes in bits and the 100,000,000-byte header
  bound are those of its reference implementation
  (https://github.com/huggingface/safetensors/blob/main/safetensors/src/tensor.rs: ``Dtype::bitsize``,
  ``MAX_HEADER_SIZE``).

Readings of the guide, each on the side of accepting what the guide documents as importable:

* Architectures: the guide names families; config.json names Transformers classes. Each family's classes are
  those Transformers (whose documentation the guide links for each family) maps it to for generation
  (``transformers/models/auto/modeling_auto.py``). ``architectures`` is checked, or ``model_type`` when a
  config has no ``architectures``. Other heads of a supported family (``MistralModel``, which embedding models
  use, ``LlamaForSequenceClassification``) are refused: the guide supports no embedding models.
* Multimodal, for the size limit: Mllama (Llama 3.2 Vision), Qwen2-VL and Qwen2.5-VL.
* Tokenizer files: the guide lists ``tokenizer_config.json``, ``tokenizer.json`` and ``tokenizer.model`` as
  the files one "minimally" needs, but the Llama 3.x, Qwen and GPT-OSS models it supports ship no
  ``tokenizer.model``: required are ``tokenizer_config.json`` and at least one of the other two.
* "GB" is read as GiB (2**30 bytes), the larger reading (as :mod:`.datasets` reads the quota tables), and
  "less than" strictly: ``.safetensors`` files that take 200 GiB or more in all are refused (100 GiB for a
  multimodal model).
* "less than 128K": Llama 3.1 and GPT-OSS, which the guide supports, declare exactly 131,072 (128 x 1,024)
  positions, so a context length over 131,072 is refused. It is read from ``max_position_embeddings`` or
  ``n_positions`` (GPTBigCode), at the top of config.json or in its ``text_config`` (Mllama); Flan-T5 has none.

Not checked, as the guide documents no limit for them: the number of parameters (counted and reported; that
Bedrock "supports both 20B and 120B based" GPT-OSS models is no bound one can check), the weights' precision
(their dtypes are reported; the guide states none), each file's size, the Transformers version a model was
saved with (the guide asks for 4.51.3 when fine-tuning; stock configs of supported models carry others), the
Region (GPT-OSS is imported in US East (N. Virginia) only), and whether ``.bin`` files beside ``.safetensors``
ones are ignored. A header of a ``.safetensors`` file reports at most :data:`MAX_PROBLEMS_PER_FILE` problems
and counts the rest; JSON files over :data:`MAX_JSON_FILE_BYTES` are not read (this module's own bounds).
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, NamedTuple, TypeGuard

__all__ = [
    "ARCHITECTURES",
    "DTYPE_BITS",
    "MAX_CONTEXT_LENGTH",
    "MAX_HEADER_BYTES",
    "MAX_MULTIMODAL_WEIGHT_BYTES",
    "MAX_TEXT_WEIGHT_BYTES",
    "RULES",
    "SUPPORTED_TOKENIZERS",
    "Architecture",
    "Rule",
    "WeightsError",
    "WeightsSummary",
    "format_size",
    "validate_weights",
]

# Documentation pages. Each rule of RULES names the one it comes from.
_BEDROCK = "https://docs.aws.amazon.com/bedrock/latest/userguide/"
IMPORT_URL = _BEDROCK + "model-customization-import-model.html"
ARCHITECTURES_URL = IMPORT_URL + "#model-customization-import-model-architecture"
MODEL_SOURCE_URL = IMPORT_URL + "#model-customization-import-model-source"
TOKENIZERS_URL = IMPORT_URL + "#tokenizers"
PREREQUISITES_URL = _BEDROCK + "custom-model-import-prereq.html"
CHAT_TEMPLATES_URL = _BEDROCK + "custom-chat-templates-tokenizers.html#chat-template-format-requirements"
CONVERT_URL = "https://huggingface.co/docs/safetensors/en/convert-weights"
SAFETENSORS_FORMAT_URL = "https://github.com/huggingface/safetensors#format"
SAFETENSORS_SOURCE_URL = "https://github.com/huggingface/safetensors/blob/main/safetensors/src/tensor.rs"
TRANSFORMERS_AUTO_URL = (
    "https://github.com/huggingface/transformers/blob/main/src/transformers/models/auto/modeling_auto.py"
)


class Rule(NamedTuple):
    """One rule that :func:`validate_weights` enforces, and the page (and section) that says so."""

    name: str
    rule: str
    source: str
    section: str


_ARCHITECTURES_SECTION = "Supported architectures"
_SOURCE_SECTION = "Import a model source from Amazon S3"
RULES: tuple[Rule, ...] = (
    Rule("config", "config.json is present and is a JSON object", MODEL_SOURCE_URL, _SOURCE_SECTION),
    Rule(
        "architecture",
        "config.json's architectures (or model_type) is one of ARCHITECTURES; no embedding models",
        ARCHITECTURES_URL,
        _ARCHITECTURES_SECTION,
    ),
    Rule(
        "context-length",
        "max_position_embeddings / n_positions at most MAX_CONTEXT_LENGTH (the guide: less than 128K)",
        ARCHITECTURES_URL,
        _ARCHITECTURES_SECTION + " (Note)",
    ),
    Rule("tokenizer-config", "tokenizer_config.json is present, a JSON object", MODEL_SOURCE_URL, _SOURCE_SECTION),
    Rule("tokenizer-file", "tokenizer.json or tokenizer.model is present", MODEL_SOURCE_URL, _SOURCE_SECTION),
    Rule(
        "tokenizer-class",
        "tokenizer_config.json's tokenizer_class, if any, is one of SUPPORTED_TOKENIZERS",
        TOKENIZERS_URL,
        "Supported tokenizers",
    ),
    Rule(
        "chat-template",
        "chat_template.json, if any, is a JSON object whose chat_template is a string",
        CHAT_TEMPLATES_URL,
        "Chat Template Format Requirements",
    ),
    Rule(
        "safetensors",
        "the weights are in files with the extension .safetensors (the Hugging Face weights format)",
        MODEL_SOURCE_URL,
        _SOURCE_SECTION,
    ),
    Rule(
        "weights-size",
        "the .safetensors files take less than MAX_TEXT_WEIGHT_BYTES (multimodal: MAX_MULTIMODAL_WEIGHT_BYTES)",
        ARCHITECTURES_URL,
        _ARCHITECTURES_SECTION + " (Note)",
    ),
    Rule(
        "safetensors-format",
        "each .safetensors file: header length, UTF-8 JSON object, tensors' dtype/shape/data_offsets, no holes",
        SAFETENSORS_FORMAT_URL,
        "Format",
    ),
    Rule(
        "safetensors-limits",
        "a header of at most MAX_HEADER_BYTES; dtypes of DTYPE_BITS",
        SAFETENSORS_SOURCE_URL,
        "MAX_HEADER_SIZE, Dtype::bitsize",
    ),
)

_GIB = 1 << 30
# "The size of the imported model weights must be less than 100GB for multimodal models and 200GB for text
# models": GB read as GiB, the larger reading.
MAX_TEXT_WEIGHT_BYTES = 200 * _GIB
MAX_MULTIMODAL_WEIGHT_BYTES = 100 * _GIB
# "The maximum positional embeddings or the maximum context length supported by the model should be less than
# 128K": at most 131,072, which supported Llama 3.1 and GPT-OSS configs declare.
MAX_CONTEXT_LENGTH = 128 * 1024
# The safetensors reference implementation's MAX_HEADER_SIZE.
MAX_HEADER_BYTES = 100_000_000
HEADER_LENGTH_BYTES = 8  # the u64 that starts a safetensors file
# This module's own bounds: a JSON file larger than this is not read, and a header's problems are cut.
MAX_JSON_FILE_BYTES = 16 << 20
MAX_PROBLEMS_PER_FILE = 10


class Architecture(NamedTuple):
    """A family that Custom Model Import supports, as the guide names it, and how config.json names it."""

    family: str
    classes: tuple[str, ...]  # config.json's "architectures": Transformers classes (TRANSFORMERS_AUTO_URL)
    model_types: tuple[str, ...]  # config.json's "model_type"
    multimodal: bool


ARCHITECTURES: tuple[Architecture, ...] = (
    Architecture("Mistral", ("MistralForCausalLM",), ("mistral",), False),
    Architecture("Mixtral", ("MixtralForCausalLM",), ("mixtral",), False),
    Architecture("Flan (T5)", ("T5ForConditionalGeneration",), ("t5",), False),
    Architecture("Llama 2, Llama3, Llama3.1, Llama3.2, Llama 3.3", ("LlamaForCausalLM",), ("llama",), False),
    Architecture("Mllama", ("MllamaForConditionalGeneration",), ("mllama",), True),
    Architecture("GPTBigCode", ("GPTBigCodeForCausalLM",), ("gpt_bigcode",), False),
    Architecture("Qwen2, Qwen2.5", ("Qwen2ForCausalLM",), ("qwen2",), False),
    Architecture("Qwen2-VL", ("Qwen2VLForConditionalGeneration",), ("qwen2_vl",), True),
    Architecture("Qwen2.5-VL", ("Qwen2_5_VLForConditionalGeneration",), ("qwen2_5_vl",), True),
    # "For Qwen3 architecture, only Qwen3ForCausalLM and Qwen3MoeForCausalLM are supported."
    Architecture("Qwen3", ("Qwen3ForCausalLM", "Qwen3MoeForCausalLM"), ("qwen3", "qwen3_moe"), False),
    Architecture("GPT-OSS", ("GptOssForCausalLM",), ("gpt_oss",), False),
)
_BY_CLASS = {name: architecture for architecture in ARCHITECTURES for name in architecture.classes}
_BY_MODEL_TYPE = {name: architecture for architecture in ARCHITECTURES for name in architecture.model_types}

SUPPORTED_TOKENIZERS = frozenset(
    {
        "T5Tokenizer",
        "T5TokenizerFast",
        "LlamaTokenizer",
        "LlamaTokenizerFast",
        "CodeLlamaTokenizer",
        "CodeLlamaTokenizerFast",
        "GPT2Tokenizer",
        "GPT2TokenizerFast",
        "GPTNeoXTokenizer",
        "GPTNeoXTokenizerFast",
        "PreTrainedTokenizer",
        "PreTrainedTokenizerFast",
        "Qwen2Tokenizer",
        "Qwen2TokenizerFast",
    }
)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model")

# The safetensors dtypes and the bits of one element of each (Dtype::bitsize).
DTYPE_BITS: dict[str, int] = {
    "BOOL": 8,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
    "U8": 8,
    "I8": 8,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E8M0": 8,
    "F8_E4M3FNUZ": 8,
    "F8_E5M2FNUZ": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "C64": 64,
    "F64": 64,
    "I64": 64,
    "U64": 64,
}
_MOST_ELEMENTS_PER_BYTE = 8 // min(DTYPE_BITS.values())
# Weight files in formats other than safetensors, named in the problem when a folder has no .safetensors file.
OTHER_WEIGHT_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".gguf")


class WeightsError(ValueError):
    """A model folder is not one Custom Model Import takes; ``problems`` holds every problem, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class WeightsSummary:
    """A folder that passed: what config.json names and what the ``.safetensors`` headers declare."""

    folder: str
    architecture: str  # the class of config.json's architectures (or its model_type) that is supported
    family: str  # as the guide names it (Architecture.family)
    multimodal: bool
    parameters: int  # the tensors' elements, from their shapes
    weight_bytes: int  # the .safetensors files' sizes, in all
    dtypes: tuple[str, ...]
    context_length: int | None
    files: tuple[str, ...]  # the .safetensors files, by name


class _Problem(NamedTuple):
    file: str  # a file of the folder, or "" for the folder as a whole
    message: str


@dataclass
class _Weights:
    """What the .safetensors files of a folder add up to."""

    files: tuple[str, ...]
    total_bytes: int = 0
    parameters: int = 0
    dtypes: set[str] = field(default_factory=set)


class _Tensor(NamedTuple):
    name: str
    begin: int
    end: int
    elements: int | None  # None when its shape or size is wrong


def validate_weights(folder: str | os.PathLike[str]) -> WeightsSummary:
    """Check a local model folder as Custom Model Import takes it; raise :class:`WeightsError` with every problem.

    Reads config.json, tokenizer_config.json, chat_template.json and the header of each ``.safetensors`` file
    at the top of the folder; never a tensor's data."""
    directory = os.fspath(folder)
    names = _file_names(directory)
    if names is None:
        raise WeightsError([f"{directory}: not a folder that can be read"])
    problems: list[_Problem] = []
    config = _config(directory, names, problems)
    architecture, class_name = _architecture(config, problems) if config is not None else (None, "")
    context_length = _context_length(config, problems) if config is not None else None
    problems += _tokenizer_problems(directory, names)
    problems += _chat_template_problems(directory, names)
    weights = _weights(directory, names, problems)
    problems += _size_problems(weights.total_bytes, architecture)
    if problems or architecture is None:
        raise WeightsError([_line(directory, problem) for problem in problems])
    return WeightsSummary(
        folder=directory,
        architecture=class_name,
        family=architecture.family,
        multimodal=architecture.multimodal,
        parameters=weights.parameters,
        weight_bytes=weights.total_bytes,
        dtypes=tuple(sorted(weights.dtypes)),
        context_length=context_length,
        files=weights.files,
    )


def format_size(size: int) -> str:
    """A number of bytes as people read it: ``512 bytes``, ``1.5 KiB``, ``16.0 GiB``."""
    if size < 1024:
        return f"{size:,} bytes"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024:
            return f"{value:,.1f} {unit}"
    return f"{value / 1024:,.1f} TiB"


def _line(directory: str, problem: _Problem) -> str:
    where = os.path.join(directory, problem.file) if problem.file else directory
    return f"{where}: {problem.message}"


def _file_names(directory: str) -> frozenset[str] | None:
    """The names of the files at the top of the folder (the Hugging Face layout), or None if it is no folder."""
    try:
        with os.scandir(directory) as entries:
            return frozenset(entry.name for entry in entries if entry.is_file())
    except OSError:
        return None


# --- config.json ------------------------------------------------------------------------------------------


def _config(directory: str, names: frozenset[str], problems: list[_Problem]) -> Mapping[str, Any] | None:
    """config.json's object, or None with the problem added."""
    if "config.json" not in names:
        problems.append(_Problem("config.json", "missing: Custom Model Import needs the model's config.json"))
        return None
    value, error = _read_json(os.path.join(directory, "config.json"))
    if error is None and not isinstance(value, dict):
        error = f"must be a JSON object; it holds {_kind(value)}"
    if error is not None:
        problems.append(_Problem("config.json", error))
        return None
    config: Mapping[str, Any] = value
    return config


def _architecture(config: Mapping[str, Any], problems: list[_Problem]) -> tuple[Architecture | None, str]:
    """The supported architecture config.json names, and the class (or model_type) that names it."""
    classes, model_type = config.get("architectures"), config.get("model_type")
    if classes is not None:
        if not isinstance(classes, list) or not classes or not all(isinstance(name, str) for name in classes):
            message = f'architectures must be a list of class names, like ["LlamaForCausalLM"]; it is {_shown(classes)}'
            problems.append(_Problem("config.json", message))
            return None, ""
        for name in classes:
            if name in _BY_CLASS:
                return _BY_CLASS[name], name
        supported = ", ".join(_BY_CLASS)
        message = (
            f"architectures {_shown(classes)}: not an architecture Custom Model Import supports (no embedding "
            f"models); it supports {supported}"
        )
        problems.append(_Problem("config.json", message))
        return None, ""
    if model_type is None:
        problems.append(_Problem("config.json", "names no architecture: it has neither architectures nor model_type"))
        return None, ""
    if isinstance(model_type, str) and model_type in _BY_MODEL_TYPE:
        return _BY_MODEL_TYPE[model_type], model_type
    supported = ", ".join(_BY_MODEL_TYPE)
    message = f"model_type {_shown(model_type)}: not an architecture Custom Model Import supports: {supported}"
    problems.append(_Problem("config.json", message))
    return None, ""


def _context_length(config: Mapping[str, Any], problems: list[_Problem]) -> int | None:
    """The largest context length config.json declares (top level or text_config), each one over the limit a
    problem."""
    found: list[tuple[str, int]] = []
    for prefix, section in (("", config), ("text_config.", config.get("text_config"))):
        if not isinstance(section, dict):
            continue
        for key in ("max_position_embeddings", "n_positions"):
            value = section.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                found.append((prefix + key, value))
    for key, value in found:
        if value > MAX_CONTEXT_LENGTH:
            message = (
                f"{key} is {_number(value)}; Custom Model Import takes a maximum context length under 128K "
                f"(at most {MAX_CONTEXT_LENGTH:,})"
            )
            problems.append(_Problem("config.json", message))
    return max((value for _, value in found), default=None)


# --- tokenizer and chat template ----------------------------------------------------------------------------


def _tokenizer_problems(directory: str, names: frozenset[str]) -> list[_Problem]:
    """tokenizer_config.json, a supported tokenizer_class in it, and tokenizer.json or tokenizer.model."""
    problems = []
    if "tokenizer_config.json" not in names:
        problems.append(_Problem("tokenizer_config.json", "missing: Custom Model Import needs the tokenizer's config"))
    else:
        problem = _tokenizer_config_problem(os.path.join(directory, "tokenizer_config.json"))
        if problem is not None:
            problems.append(_Problem("tokenizer_config.json", problem))
    if not any(name in names for name in TOKENIZER_FILES):
        message = "missing, and so is tokenizer.model: Custom Model Import needs the tokenizer in one of them"
        problems.append(_Problem(TOKENIZER_FILES[0], message))
    return problems


def _tokenizer_config_problem(path: str) -> str | None:
    value, error = _read_json(path)
    if error is not None:
        return error
    if not isinstance(value, dict):
        return f"must be a JSON object; it holds {_kind(value)}"
    tokenizer_class = value.get("tokenizer_class")
    if tokenizer_class is None or (isinstance(tokenizer_class, str) and tokenizer_class in SUPPORTED_TOKENIZERS):
        return None
    supported = ", ".join(sorted(SUPPORTED_TOKENIZERS))
    return f"tokenizer_class {_shown(tokenizer_class)} is not a tokenizer Custom Model Import supports: {supported}"


def _chat_template_problems(directory: str, names: frozenset[str]) -> list[_Problem]:
    """chat_template.json, if the folder has one, holds the template as a string under chat_template."""
    if "chat_template.json" not in names:
        return []
    value, error = _read_json(os.path.join(directory, "chat_template.json"))
    if error is None and not (isinstance(value, dict) and isinstance(value.get("chat_template"), str)):
        error = 'must be a JSON object whose "chat_template" is the template, as a string'
    return [] if error is None else [_Problem("chat_template.json", error)]


# --- weights --------------------------------------------------------------------------------------------------


def _weights(directory: str, names: frozenset[str], problems: list[_Problem]) -> _Weights:
    """Each .safetensors file's header checked and added up; no .safetensors file at all is a problem."""
    weights = _Weights(tuple(sorted(name for name in names if name.endswith(".safetensors"))))
    if not weights.files:
        message = "no .safetensors file: Custom Model Import takes the weights only in files with that extension"
        problems.append(_Problem("", message))
        for name in sorted(name for name in names if name.lower().endswith(OTHER_WEIGHT_SUFFIXES)):
            message = (
                f"weights in a format Custom Model Import does not take; convert them to .safetensors: {CONVERT_URL}"
            )
            problems.append(_Problem(name, message))
    for name in weights.files:
        file_bytes, file_problems = _safetensors_file(os.path.join(directory, name), weights)
        weights.total_bytes += file_bytes
        problems += [_Problem(name, message) for message in file_problems]
    return weights


def _size_problems(total_bytes: int, architecture: Architecture | None) -> list[_Problem]:
    """The weights' size against the guide's limit (the text models' one when the architecture is unknown)."""
    multimodal = architecture is not None and architecture.multimodal
    limit = MAX_MULTIMODAL_WEIGHT_BYTES if multimodal else MAX_TEXT_WEIGHT_BYTES
    if total_bytes < limit:
        return []
    kind = "multimodal" if multimodal else "text"
    message = (
        f"its .safetensors files take {total_bytes:,} bytes ({format_size(total_bytes)}); Custom Model Import "
        f"takes the weights of a {kind} model under {limit // _GIB} GB (read as {limit:,} bytes)"
    )
    return [_Problem("", message)]


def _safetensors_file(path: str, weights: _Weights) -> tuple[int, list[str]]:
    """The file's size and its problems; its parameters and dtypes added to weights when it has none."""
    try:
        with open(path, "rb") as stream:
            file_bytes = os.fstat(stream.fileno()).st_size
            header, header_bytes, problem = _read_header(stream, file_bytes)
    except OSError as error:
        return 0, [f"cannot be read: {error.strerror or error}"]
    if header is None:
        return file_bytes, [problem or "has no header"]
    data_bytes = file_bytes - HEADER_LENGTH_BYTES - header_bytes
    tensors, problems = _tensors(header, data_bytes)
    problems += _coverage_problems(tensors, data_bytes)
    if len(problems) > MAX_PROBLEMS_PER_FILE:
        rest = len(problems) - MAX_PROBLEMS_PER_FILE
        problems = [*problems[:MAX_PROBLEMS_PER_FILE], f"and {rest:,} more problems in its header"]
    if not problems:
        weights.parameters += sum(tensor.elements or 0 for tensor in tensors)
        weights.dtypes.update(info["dtype"] for name, info in header.items() if name != "__metadata__")
    return file_bytes, problems


def _read_header(stream: IO[bytes], file_bytes: int) -> tuple[dict[str, Any] | None, int, str | None]:
    """The file's JSON header, read without its data: (header, its length, None) or (None, 0, the problem)."""
    prefix = stream.read(HEADER_LENGTH_BYTES)
    if len(prefix) < HEADER_LENGTH_BYTES:
        return None, 0, f"has {file_bytes:,} bytes: too few for the 8-byte header length a safetensors file starts with"
    (length,) = struct.unpack("<Q", prefix)
    if length > MAX_HEADER_BYTES:
        return None, 0, f"declares a header of {length:,} bytes; the safetensors format allows {MAX_HEADER_BYTES:,}"
    raw = stream.read(length) if HEADER_LENGTH_BYTES + length <= file_bytes else b""
    if len(raw) < length or HEADER_LENGTH_BYTES + length > file_bytes:
        return None, 0, f"declares a header of {length:,} bytes, beyond the end of the file ({file_bytes:,} bytes)"
    if not raw.startswith(b"{"):
        return None, 0, "its header does not begin with '{', as the safetensors format requires"
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_keys)
    except UnicodeDecodeError:
        return None, 0, "its header is not UTF-8 text"
    except _DuplicateKey as duplicate:
        return None, 0, f"its header has the key {_shown(duplicate.key)} twice; the safetensors format disallows that"
    except RecursionError:
        return None, 0, "its header is not valid JSON: nested too deeply"
    except ValueError as error:
        return None, 0, f"its header is not valid JSON: {_cut(str(error), 120)}"
    if not isinstance(header, dict):
        return None, 0, f"its header must be a JSON object; it holds {_kind(header)}"
    return header, length, None


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's dict; a key given twice raises _DuplicateKey (json keeps the last one silently)."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _tensors(header: Mapping[str, Any], data_bytes: int) -> tuple[list[_Tensor], list[str]]:
    """The header's tensors that have valid data_offsets (for the coverage check), and its entries' problems."""
    tensors, problems = [], []
    for name, info in header.items():
        if name == "__metadata__":  # the reference implementation's Option<HashMap<String, String>>: null too
            if info is not None and not (isinstance(info, dict) and all(isinstance(v, str) for v in info.values())):
                problems.append("__metadata__ must map strings to strings; the safetensors format allows no other JSON")
            continue
        tensor, problem = _tensor(name, info, data_bytes)
        if tensor is not None:
            tensors.append(tensor)
        if problem is not None:
            problems.append(f"tensor {_shown(name)}: {problem}")
    return tensors, problems


def _tensor(name: str, info: Any, data_bytes: int) -> tuple[_Tensor | None, str | None]:
    """One header entry: the tensor (when its data_offsets are valid) and its problem, if any."""
    if not isinstance(info, dict):
        return None, f"must be an object of dtype, shape and data_offsets; it is {_kind(info)}"
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if not (_naturals(offsets) and len(offsets) == 2 and offsets[0] <= offsets[1]):
        return None, f"data_offsets must be [BEGIN, END], two integers with 0 <= BEGIN <= END; it is {_shown(offsets)}"
    begin, end = offsets
    if not isinstance(dtype, str) or dtype not in DTYPE_BITS:
        dtypes = ", ".join(DTYPE_BITS)
        return _Tensor(name, begin, end, None), f"dtype {_shown(dtype)} is not a safetensors dtype ({dtypes})"
    if not _naturals(shape):
        return _Tensor(name, begin, end, None), f"shape must be a list of integers >= 0; it is {_shown(shape)}"
    elements = _elements(shape, data_bytes * _MOST_ELEMENTS_PER_BYTE)
    if elements is None:
        problem = f"shape {_shown(shape)} has more elements than the file's {data_bytes:,} bytes of data can hold"
        return _Tensor(name, begin, end, None), problem
    bits = elements * DTYPE_BITS[dtype]
    if bits % 8:
        problem = f"shape {_shown(shape)} of {dtype} takes {bits:,} bits, not a whole number of bytes"
        return _Tensor(name, begin, end, None), problem
    if end - begin != bits // 8:
        problem = (
            f"data_offsets {_shown(offsets)} hold {end - begin:,} bytes, but shape {_shown(shape)} of {dtype} "
            f"takes {bits // 8:,}"
        )
        return _Tensor(name, begin, end, None), problem
    return _Tensor(name, begin, end, elements), None


def _coverage_problems(tensors: Iterable[_Tensor], data_bytes: int) -> list[str]:
    """The tensors' data must cover the byte buffer from its start to the end of the file, with no holes or
    overlaps."""
    problems = []
    position = 0
    for tensor in sorted(tensors, key=lambda tensor: (tensor.begin, tensor.end)):
        if tensor.begin != position:
            what = "leaving a hole before it" if tensor.begin > position else "overlapping the one before it"
            problems.append(
                f"tensor {_shown(tensor.name)}: starts at byte {tensor.begin:,} of the data, where the tensors before "
                f"it end at {position:,}, {what}; the safetensors format allows neither"
            )
        position = max(position, tensor.end)
    if position != data_bytes:
        problems.append(
            f"its tensors' data ends at byte {position:,}, but the file holds {data_bytes:,} bytes after its header; "
            "the safetensors format requires the two to be equal"
        )
    return problems


def _naturals(value: Any) -> TypeGuard[list[int]]:
    """A JSON list of integers >= 0 (booleans are no integers here)."""
    return isinstance(value, list) and all(
        isinstance(item, int) and not isinstance(item, bool) and item >= 0 for item in value
    )


def _elements(shape: list[int], most: int) -> int | None:
    """The product of the shape, or None once it passes most (so that no shape builds a huge number)."""
    if 0 in shape:
        return 0
    product = 1
    for size in shape:
        product *= size
        if product > most:
            return None
    return product


# --- reading JSON and showing values ---------------------------------------------------------------------------


def _read_json(path: str) -> tuple[Any, str | None]:
    """A JSON file's value, or None and why it cannot be read as JSON."""
    try:
        with open(path, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size  # read(n) would reserve n bytes whatever the file holds
            data = stream.read(size + 1) if size <= MAX_JSON_FILE_BYTES else b""
    except OSError as error:
        return None, f"cannot be read: {error.strerror or error}"
    if size > MAX_JSON_FILE_BYTES or len(data) > MAX_JSON_FILE_BYTES:
        return None, f"has more than {MAX_JSON_FILE_BYTES:,} bytes, more than this check reads of a JSON file"
    try:
        return json.loads(data.decode("utf-8")), None
    except UnicodeDecodeError:
        return None, "is not UTF-8 text"
    except RecursionError:
        return None, "is not valid JSON: nested too deeply"
    except ValueError as error:  # JSONDecodeError, and integers of more digits than Python converts
        return None, f"is not valid JSON: {_cut(str(error), 120)}"


def _kind(value: Any) -> str:
    """What a JSON value is, for a message: "a list", "a string", ..."""
    kinds = ((dict, "an object"), (list, "a list"), (str, "a string"), (bool, "a boolean"), (int, "a number"))
    for kind, name in (*kinds, (float, "a number")):
        if isinstance(value, kind):
            return name
    return "null"


def _shown(value: Any, depth: int = 0) -> str:
    """A JSON value as a message echoes it: short, whatever its size (long strings and lists are cut)."""
    if isinstance(value, str):
        return _cut(json.dumps(value[:81], ensure_ascii=False), 80)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        return _number(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        if depth > 1:
            return "[…]"
        items = [_shown(item, depth + 1) for item in value[:8]]
        return _cut("[" + ", ".join(items) + (", …" if len(value) > 8 else "") + "]", 120)
    return _kind(value)


def _number(value: int) -> str:
    text = f"{value:,}"
    return text if len(text) <= 40 else f"{text[:20]}… ({len(text.replace(',', '').lstrip('-'))} digits)"


def _cut(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"
