"""validate_weights and ``cdk-bedrock-customization validate-weights``: a local model folder checked as Amazon
Bedrock Custom Model Import takes it, before anything is uploaded or paid for.

Every ``.safetensors`` file here is written by hand, as the safetensors format describes it
(https://github.com/huggingface/safetensors#format): 8 bytes, a little-endian u64 N; N bytes of a UTF-8 JSON
header mapping each tensor's name to its dtype, shape and data_offsets (relative to the data that follows);
then the data, which ``f.truncate(size)`` makes sparse, so a file of hundreds of GiB takes no disk. Nothing
here is computed with the module under test.

Each documented limit is stated below with the page it comes from, so that a limit changed in the module (or
on the page) fails a test here.
"""

from __future__ import annotations

import json
import math
import os
import re
import struct
import subprocess
import sys
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from cdk_bedrock_customization import cli, weights
from cdk_bedrock_customization.weights import WeightsError, WeightsSummary, validate_weights
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import read_buffer_bytes

REPO = Path(__file__).resolve().parents[2]
GIB = 2**30

# --- the sources, and the limits they document --------------------------------------------------------------

GUIDE = "https://docs.aws.amazon.com/bedrock/latest/userguide/model-customization-import-model.html"
ARCHITECTURES_SECTION = GUIDE + "#model-customization-import-model-architecture"  # "Supported architectures"
SOURCE_SECTION = GUIDE + "#model-customization-import-model-source"  # "Import a model source from Amazon S3"
TOKENIZERS_SECTION = GUIDE + "#tokenizers"  # "Supported tokenizers"
CHAT_TEMPLATES = (
    "https://docs.aws.amazon.com/bedrock/latest/userguide/custom-chat-templates-tokenizers.html"
    "#chat-template-format-requirements"
)  # "Chat Template Format Requirements"
SAFETENSORS_FORMAT = "https://github.com/huggingface/safetensors#format"  # "Format"
SAFETENSORS_SOURCE = "https://github.com/huggingface/safetensors/blob/main/safetensors/src/tensor.rs"

# ARCHITECTURES_SECTION, Note: "The size of the imported model weights must be less than 100GB for multimodal
# models and 200GB for text models." GB read as GiB (the larger reading); "less than" strictly.
TEXT_WEIGHTS_LIMIT = 200 * GIB
MULTIMODAL_WEIGHTS_LIMIT = 100 * GIB
# ARCHITECTURES_SECTION, Note: "The maximum positional embeddings or the maximum context length supported by the
# model should be less than 128K." Llama 3.1 (listed as supported) declares 131,072: at most 128 x 1,024.
CONTEXT_LIMIT = 128 * 1024
# SAFETENSORS_SOURCE: MAX_HEADER_SIZE, "The header is large than 100Mo which is considered too large".
HEADER_LIMIT = 100_000_000

# ARCHITECTURES_SECTION: "The model you import must be in one of the following architectures": Mistral,
# Mixtral, Flan, Llama 2, Llama3, Llama3.1, Llama3.2, Llama 3.3 and Mllama, GPTBigCode, Qwen2, Qwen2.5,
# Qwen2-VL, Qwen2.5-VL, Qwen3 ("only Qwen3ForCausalLM and Qwen3MoeForCausalLM"), GPT-OSS; as config.json names
# them (the Transformers classes and model types of each family), and whether the family is multimodal.
SUPPORTED = {
    ("MistralForCausalLM", "mistral", False),
    ("MixtralForCausalLM", "mixtral", False),
    ("T5ForConditionalGeneration", "t5", False),
    ("LlamaForCausalLM", "llama", False),
    ("MllamaForConditionalGeneration", "mllama", True),
    ("GPTBigCodeForCausalLM", "gpt_bigcode", False),
    ("Qwen2ForCausalLM", "qwen2", False),
    ("Qwen2VLForConditionalGeneration", "qwen2_vl", True),
    ("Qwen2_5_VLForConditionalGeneration", "qwen2_5_vl", True),
    ("Qwen3ForCausalLM", "qwen3", False),
    ("Qwen3MoeForCausalLM", "qwen3_moe", False),
    ("GptOssForCausalLM", "gpt_oss", False),
}
# TOKENIZERS_SECTION: "Amazon Bedrock Custom Model Import supports the following tokenizers."
TOKENIZERS = {
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
# SAFETENSORS_SOURCE: enum Dtype and Dtype::bitsize.
DTYPE_BITS = {
    **dict.fromkeys(("F4",), 4),
    **dict.fromkeys(("F6_E2M3", "F6_E3M2"), 6),
    **dict.fromkeys(("BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ"), 8),
    **dict.fromkeys(("I16", "U16", "F16", "BF16"), 16),
    **dict.fromkeys(("I32", "U32", "F32"), 32),
    **dict.fromkeys(("C64", "F64", "I64", "U64"), 64),
}
ELEMENT_BYTES = {name: bits // 8 for name, bits in DTYPE_BITS.items() if bits % 8 == 0}


def test_the_weights_size_limits_are_the_guides() -> None:
    assert weights.MAX_TEXT_WEIGHT_BYTES == TEXT_WEIGHTS_LIMIT
    assert weights.MAX_MULTIMODAL_WEIGHT_BYTES == MULTIMODAL_WEIGHTS_LIMIT


def test_the_context_length_limit_is_the_guides() -> None:
    assert weights.MAX_CONTEXT_LENGTH == CONTEXT_LIMIT


def test_the_header_limit_and_dtypes_are_the_safetensors_formats() -> None:
    assert weights.MAX_HEADER_BYTES == HEADER_LIMIT
    assert weights.DTYPE_BITS == DTYPE_BITS


def test_the_architectures_and_tokenizers_are_the_guides() -> None:
    table = {
        (name, model_type, architecture.multimodal)
        for architecture in weights.ARCHITECTURES
        for name, model_type in zip(architecture.classes, architecture.model_types, strict=True)
    }
    assert table == SUPPORTED
    assert weights.SUPPORTED_TOKENIZERS == TOKENIZERS


def test_every_rule_cites_a_page_and_section_the_module_docstring_names() -> None:
    sources = {
        ARCHITECTURES_SECTION,
        SOURCE_SECTION,
        TOKENIZERS_SECTION,
        CHAT_TEMPLATES,
        SAFETENSORS_FORMAT,
        SAFETENSORS_SOURCE,
    }
    docstring = " ".join((weights.__doc__ or "").split())  # titles wrap across its lines
    for rule in weights.RULES:
        assert rule.source in sources, rule
        assert rule.source.split("#")[0] in docstring, rule
        for section in re.sub(r" \(.*\)", "", rule.section).split(", "):
            assert section in docstring, rule


# --- writing model folders by hand ------------------------------------------------------------------------------


def header_of(*tensors: tuple[str, str, Sequence[int]]) -> dict[str, Any]:
    """A header laying the tensors out one after another from byte 0 of the data, as the format requires."""
    header: dict[str, Any] = {}
    offset = 0
    for name, dtype, shape in tensors:
        size = math.prod(shape) * ELEMENT_BYTES[dtype]
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    return header


def data_size(header: dict[str, Any]) -> int:
    return max((info["data_offsets"][1] for name, info in header.items() if name != "__metadata__"), default=0)


def write_safetensors(
    path: Path, header: dict[str, Any] | bytes, data: int | None = None, *, length: int | None = None
) -> Path:
    """u64 header length (length, to lie about it), the header, and data bytes (data_size(header) by default),
    sparse."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    size = data_size(header) if data is None and isinstance(header, dict) else (data or 0)
    with open(path, "wb") as stream:
        stream.write(struct.pack("<Q", len(raw) if length is None else length))
        stream.write(raw)
        stream.truncate(8 + len(raw) + size)
    return path


def write_sparse_weights(path: Path, file_bytes: int) -> Path:
    """A safetensors file of exactly file_bytes: one U8 tensor holding all its data."""
    data = file_bytes - 8
    for _ in range(3):  # the header's length depends on the digits of the data's size
        header = header_of(("model.embed_tokens.weight", "U8", [data]))
        data = file_bytes - 8 - len(json.dumps(header).encode())
    write_safetensors(path, header_of(("model.embed_tokens.weight", "U8", [data])))
    assert path.stat().st_size == file_bytes
    return path


LLAMA_CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "max_position_embeddings": 131072,
    "torch_dtype": "bfloat16",
}
TOKENIZER_CONFIG = {"tokenizer_class": "PreTrainedTokenizerFast", "chat_template": "{{ messages }}"}
LLAMA_TENSORS = (
    ("model.embed_tokens.weight", "BF16", [32, 8]),
    ("model.norm.weight", "BF16", [8]),
    ("lm_head.weight", "F32", [32, 8]),
)
LLAMA_PARAMETERS = 32 * 8 + 8 + 32 * 8


def make_model(
    folder: Path,
    config: dict[str, Any] | None = None,
    tensors: Sequence[tuple[str, str, Sequence[int]]] = LLAMA_TENSORS,
) -> Path:
    """A folder as Custom Model Import takes it: config.json, the tokenizer's files, model.safetensors."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(LLAMA_CONFIG if config is None else config))
    (folder / "tokenizer_config.json").write_text(json.dumps(TOKENIZER_CONFIG))
    (folder / "tokenizer.json").write_text('{"version": "1.0"}')
    write_safetensors(folder / "model.safetensors", header_of(*tensors))
    return folder


def problems(folder: Path) -> list[str]:
    """The problems validate_weights raises, each without the folder it starts with."""
    with pytest.raises(WeightsError) as raised:
        validate_weights(folder)
    lines = raised.value.problems
    assert lines and str(raised.value) == "\n".join(lines)
    for line in lines:
        assert line.startswith((f"{folder}/", f"{folder}: ")), line
    return [line.removeprefix(str(folder)) for line in lines]


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return make_model(tmp_path / "llama")


# --- a folder that passes ----------------------------------------------------------------------------------------


def test_a_folder_as_the_guide_describes_it_passes_with_what_its_headers_declare(model: Path) -> None:
    summary = validate_weights(model)
    assert summary == WeightsSummary(
        folder=str(model),
        architecture="LlamaForCausalLM",
        family="Llama 2, Llama3, Llama3.1, Llama3.2, Llama 3.3",
        multimodal=False,
        parameters=LLAMA_PARAMETERS,
        weight_bytes=(model / "model.safetensors").stat().st_size,
        dtypes=("BF16", "F32"),
        context_length=131072,
        files=("model.safetensors",),
    )


def test_sharded_weights_are_added_up(model: Path) -> None:
    (model / "model.safetensors").unlink()
    first = write_safetensors(model / "model-00001-of-00002.safetensors", header_of(*LLAMA_TENSORS[:2]))
    second = write_safetensors(model / "model-00002-of-00002.safetensors", header_of(*LLAMA_TENSORS[2:]))
    (model / "model.safetensors.index.json").write_text('{"weight_map": {}}')
    summary = validate_weights(model)
    assert summary.parameters == LLAMA_PARAMETERS
    assert summary.weight_bytes == first.stat().st_size + second.stat().st_size
    assert summary.files == ("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")


@pytest.mark.parametrize(("class_name", "model_type", "multimodal"), sorted(SUPPORTED))
def test_every_supported_architecture_passes_by_class_or_model_type(
    tmp_path: Path, class_name: str, model_type: str, multimodal: bool
) -> None:
    by_class = validate_weights(make_model(tmp_path / "by-class", {"architectures": [class_name]}))
    assert (by_class.architecture, by_class.multimodal) == (class_name, multimodal)
    by_type = validate_weights(make_model(tmp_path / "by-type", {"model_type": model_type}))
    assert (by_type.architecture, by_type.multimodal) == (model_type, multimodal)


# --- config.json ---------------------------------------------------------------------------------------------------


def test_config_json_must_be_there(model: Path) -> None:
    (model / "config.json").unlink()
    assert problems(model) == ["/config.json: missing: Custom Model Import needs the model's config.json"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "/config.json: is not valid JSON: Expecting property name enclosed in double quotes: line 1 column 2"),
        ("[1, 2]", "/config.json: must be a JSON object; it holds a list"),
        ("{}", "/config.json: names no architecture: it has neither architectures nor model_type"),
        ('{"architectures": "LlamaForCausalLM"}', "/config.json: architectures must be a list of class names"),
        ('{"architectures": []}', "/config.json: architectures must be a list of class names"),
        ('{"model_type": "bert"}', '/config.json: model_type "bert": not an architecture Custom Model Import'),
        ('{"model_type": 7}', "/config.json: model_type 7: not an architecture Custom Model Import supports"),
    ],
)
def test_config_json_must_be_a_json_object_that_names_an_architecture(model: Path, text: str, message: str) -> None:
    (model / "config.json").write_text(text)
    (problem,) = problems(model)
    assert problem.startswith(message), problem


@pytest.mark.parametrize("class_name", ["BertModel", "MistralModel", "LlamaForSequenceClassification", "Gemma2Model"])
def test_an_architecture_the_guide_does_not_list_is_refused_embedding_models_included(
    model: Path, class_name: str
) -> None:
    (model / "config.json").write_text(json.dumps({"architectures": [class_name], "model_type": "llama"}))
    (problem,) = problems(model)
    assert problem.startswith(
        f'/config.json: architectures ["{class_name}"]: not an architecture Custom Model Import supports '
        "(no embedding models); it supports MistralForCausalLM, "
    ), problem


def test_the_context_length_is_at_most_128k(tmp_path: Path) -> None:
    at_limit = make_model(tmp_path / "at", {**LLAMA_CONFIG, "max_position_embeddings": CONTEXT_LIMIT})
    assert validate_weights(at_limit).context_length == CONTEXT_LIMIT
    over = make_model(tmp_path / "over", {**LLAMA_CONFIG, "max_position_embeddings": CONTEXT_LIMIT + 1})
    assert problems(over) == [
        "/config.json: max_position_embeddings is 131,073; Custom Model Import takes a maximum context length "
        "under 128K (at most 131,072)"
    ]


def test_the_context_length_is_read_where_each_architecture_keeps_it(tmp_path: Path) -> None:
    mllama = {"architectures": ["MllamaForConditionalGeneration"], "text_config": {"max_position_embeddings": 262144}}
    (problem,) = problems(make_model(tmp_path / "mllama", mllama))
    assert problem.startswith("/config.json: text_config.max_position_embeddings is 262,144;"), problem
    starcoder = {"architectures": ["GPTBigCodeForCausalLM"], "n_positions": 200000}
    (problem,) = problems(make_model(tmp_path / "starcoder", starcoder))
    assert problem.startswith("/config.json: n_positions is 200,000;"), problem
    flan = validate_weights(make_model(tmp_path / "flan", {"architectures": ["T5ForConditionalGeneration"]}))
    assert flan.context_length is None


# --- the tokenizer and the chat template ------------------------------------------------------------------------


def test_the_tokenizer_needs_its_config_and_tokenizer_json_or_tokenizer_model(model: Path) -> None:
    (model / "tokenizer_config.json").unlink()
    (model / "tokenizer.json").unlink()
    assert problems(model) == [
        "/tokenizer_config.json: missing: Custom Model Import needs the tokenizer's config",
        "/tokenizer.json: missing, and so is tokenizer.model: Custom Model Import needs the tokenizer in one of them",
    ]
    (model / "tokenizer_config.json").write_text("{}")
    (model / "tokenizer.model").write_bytes(b"\x0a\x0b")  # a SentencePiece model, as Mistral ships
    assert validate_weights(model).architecture == "LlamaForCausalLM"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"tokenizer_class": "GemmaTokenizer"}', '/tokenizer_config.json: tokenizer_class "GemmaTokenizer" is not'),
        ('{"tokenizer_class": ["LlamaTokenizer"]}', '/tokenizer_config.json: tokenizer_class ["LlamaTokenizer"]'),
        ('"PreTrainedTokenizerFast"', "/tokenizer_config.json: must be a JSON object; it holds a string"),
        ("\xff", "/tokenizer_config.json: is not valid JSON"),
    ],
)
def test_the_tokenizer_class_is_one_the_guide_lists(model: Path, text: str, message: str) -> None:
    (model / "tokenizer_config.json").write_text(text)
    (problem,) = problems(model)
    assert problem.startswith(message), problem
    if "GemmaTokenizer" in text:
        assert problem.endswith(", ".join(sorted(TOKENIZERS))), problem


@pytest.mark.parametrize("tokenizer_class", sorted(TOKENIZERS))
def test_every_tokenizer_the_guide_lists_passes(model: Path, tokenizer_class: str) -> None:
    (model / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": tokenizer_class}))
    validate_weights(model)


def test_a_chat_template_file_holds_the_template_as_a_string(model: Path) -> None:
    (model / "chat_template.json").write_text(json.dumps({"chat_template": "{% for m in messages %}{% endfor %}"}))
    validate_weights(model)
    (model / "chat_template.jinja").write_text("{{ messages }}")  # its content is not JSON: not read
    validate_weights(model)
    (model / "chat_template.json").write_text(json.dumps({"template": "..."}))
    assert problems(model) == [
        '/chat_template.json: must be a JSON object whose "chat_template" is the template, as a string'
    ]


# --- the weights' files ------------------------------------------------------------------------------------------


def test_the_weights_must_be_in_safetensors_files(model: Path) -> None:
    (model / "model.safetensors").unlink()
    (model / "pytorch_model.bin").write_bytes(b"\x80\x02")
    (model / "model.safetensor").write_bytes(b"")  # not the extension the guide names
    assert problems(model) == [
        ": no .safetensors file: Custom Model Import takes the weights only in files with that extension",
        "/pytorch_model.bin: weights in a format Custom Model Import does not take; convert them to .safetensors: "
        "https://huggingface.co/docs/safetensors/en/convert-weights",
    ]


def a_header(**changes: Any) -> dict[str, Any]:
    """The LLAMA_TENSORS header with entries of its first tensor changed (None drops one)."""
    header = header_of(*LLAMA_TENSORS)
    first = header["model.embed_tokens.weight"]
    for key, value in changes.items():
        if value is None:
            del first[key]
        else:
            first[key] = value
    return header


TENSOR = '/model.safetensors: tensor "model.embed_tokens.weight": '


def json_error(text: bytes) -> str:
    """What Python's json says of the text (its wording changed in 3.13)."""
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        return error.msg
    raise AssertionError(f"{text!r} is valid JSON")


FORMAT_ERRORS = [
    # (what the file holds, the problem). Each as the format (SAFETENSORS_FORMAT) rules it out.
    ("seven bytes", b"\x01" * 7, "/model.safetensors: has 7 bytes: too few for the 8-byte header length"),
    (
        "a header over the format's bound",
        struct.pack("<Q", HEADER_LIMIT + 1) + b"{}",
        "/model.safetensors: declares a header of 100,000,001 bytes; the safetensors format allows 100,000,000",
    ),
    (
        "a header beyond the end of the file",
        struct.pack("<Q", 64) + b"{}",
        "/model.safetensors: declares a header of 64 bytes, beyond the end of the file (10 bytes)",
    ),
    (
        "a header length of 2**64 - 1",
        b"\xff" * 8,
        "/model.safetensors: declares a header of 18,446,744,073,709,551,615 bytes; the safetensors format allows",
    ),
    ("an empty header", struct.pack("<Q", 0), "/model.safetensors: its header does not begin with '{'"),
    ("not UTF-8", struct.pack("<Q", 3) + b"{\xff}", "/model.safetensors: its header is not UTF-8 text"),
    (
        "not JSON",
        struct.pack("<Q", 9) + b'{"a": 1,}',
        "/model.safetensors: its header is not valid JSON: " + json_error(b'{"a": 1,}'),
    ),
    (
        "duplicate keys",
        struct.pack("<Q", 16) + b'{"a": 1, "a": 2}',
        '/model.safetensors: its header has the key "a" twice; the safetensors format disallows that',
    ),
]


@pytest.mark.parametrize(
    ("content", "message"), [case[1:] for case in FORMAT_ERRORS], ids=[c[0] for c in FORMAT_ERRORS]
)
def test_a_safetensors_file_must_start_with_a_header_as_the_format_describes(
    model: Path, content: bytes, message: str
) -> None:
    (model / "model.safetensors").write_bytes(content)
    (problem,) = problems(model)
    assert problem.startswith(message), problem


def test_a_null_metadata_is_no_metadata_as_the_reference_implementation_reads_it(model: Path) -> None:
    """safetensors' tensor.rs reads __metadata__ as Option<HashMap<String, String>>: null is none."""
    write_safetensors(model / "model.safetensors", {"__metadata__": None, **header_of(*LLAMA_TENSORS)})
    validate_weights(model)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (a_header(dtype="Q4_K"), TENSOR + 'dtype "Q4_K" is not a safetensors dtype (BOOL, F4, '),
        (a_header(dtype=None), TENSOR + "dtype null is not a safetensors dtype"),
        (a_header(shape=[32, -8]), TENSOR + "shape must be a list of integers >= 0; it is [32, -8]"),
        (a_header(shape=[32.0, 8]), TENSOR + "shape must be a list of integers >= 0; it is [32.0, 8]"),
        (a_header(shape=[True, 8]), TENSOR + "shape must be a list of integers >= 0; it is [true, 8]"),
        (a_header(shape=[16, 8]), TENSOR + "data_offsets [0, 512] hold 512 bytes, but shape [16, 8] of BF16 takes 256"),
        (
            a_header(shape=[2**40, 2**40]),
            TENSOR + "shape [1,099,511,627,776, 1,099,511,627,776] has more elements than the file's 1,552 bytes",
        ),
        (a_header(data_offsets=[0]), TENSOR + "data_offsets must be [BEGIN, END], two integers with 0 <= BEGIN"),
        (a_header(data_offsets=[512, 0]), TENSOR + "data_offsets must be [BEGIN, END]"),
        (
            {"__metadata__": {"format": "pt", "step": 7}, **header_of(*LLAMA_TENSORS)},
            "/model.safetensors: __metadata__ must map strings to strings",
        ),
        ({"x": [1, 2]}, '/model.safetensors: tensor "x": must be an object of dtype, shape and data_offsets'),
    ],
)
def test_each_tensor_declares_a_dtype_shape_and_data_offsets_that_agree(
    model: Path, header: dict[str, Any], message: str
) -> None:
    write_safetensors(model / "model.safetensors", header, 1552)
    found = problems(model)
    assert found[0].startswith(message), found


def test_the_tensors_cover_the_data_with_no_hole_or_overlap_to_the_end_of_the_file(model: Path) -> None:
    hole = header_of(("a", "U8", [4]), ("b", "U8", [4]))
    hole["b"]["data_offsets"] = [6, 10]
    write_safetensors(model / "model.safetensors", hole)
    assert problems(model) == [
        '/model.safetensors: tensor "b": starts at byte 6 of the data, where the tensors before it end at 4, '
        "leaving a hole before it; the safetensors format allows neither"
    ]
    overlap = header_of(("a", "U8", [4]), ("b", "U8", [4]))
    overlap["b"]["data_offsets"] = [2, 6]
    write_safetensors(model / "model.safetensors", overlap)
    (problem,) = problems(model)
    assert "starts at byte 2 of the data, where the tensors before it end at 4, overlapping the one before" in problem
    write_safetensors(model / "model.safetensors", header_of(("a", "U8", [4])), 5)  # a byte no tensor holds
    assert problems(model) == [
        "/model.safetensors: its tensors' data ends at byte 4, but the file holds 5 bytes after its header; the "
        "safetensors format requires the two to be equal"
    ]


def test_sub_byte_dtypes_must_fill_whole_bytes(model: Path) -> None:
    packed = {"w": {"dtype": "F4", "shape": [3], "data_offsets": [0, 2]}}
    write_safetensors(model / "model.safetensors", packed)
    assert problems(model) == [
        '/model.safetensors: tensor "w": shape [3] of F4 takes 12 bits, not a whole number of bytes'
    ]
    packed["w"]["shape"] = [4]
    write_safetensors(model / "model.safetensors", packed)
    assert validate_weights(model).parameters == 4


def test_empty_and_scalar_tensors_are_allowed_and_padding_after_the_header_too(model: Path) -> None:
    header = header_of(("empty", "F32", [0, 8]), ("scalar", "F32", []), ("bias", "BF16", [3]))
    raw = json.dumps(header).encode() + b"    "  # "The header data MAY be trailing padded with whitespace"
    write_safetensors(model / "model.safetensors", raw, data_size(header))
    summary = validate_weights(model)
    assert (summary.parameters, summary.dtypes) == (0 + 1 + 3, ("BF16", "F32"))


def test_a_header_reports_ten_problems_and_counts_the_rest(model: Path) -> None:
    header = {f"t{index:02}": {"dtype": "X", "shape": [1], "data_offsets": [index, index + 1]} for index in range(25)}
    write_safetensors(model / "model.safetensors", header)
    found = problems(model)
    assert len(found) == 11
    assert found[-1] == "/model.safetensors: and 15 more problems in its header"


def test_every_problem_of_a_folder_is_reported_at_once(model: Path) -> None:
    (model / "config.json").write_text(json.dumps({"architectures": ["BertModel"], "max_position_embeddings": 10**6}))
    (model / "tokenizer.json").unlink()
    write_safetensors(model / "model-00002-of-00002.safetensors", b'{"a": 1}', length=99)
    found = problems(model)
    assert [line.split(":")[0] for line in found] == [
        "/config.json",
        "/config.json",
        "/tokenizer.json",
        "/model-00002-of-00002.safetensors",
    ]


def test_a_path_that_is_no_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(WeightsError) as raised:
        validate_weights(tmp_path / "nowhere")
    assert raised.value.problems == [f"{tmp_path / 'nowhere'}: not a folder that can be read"]


# --- the documented size of the weights, on sparse files ---------------------------------------------------------


def test_a_text_models_weights_take_less_than_200_gb(tmp_path: Path) -> None:
    under = make_model(tmp_path / "under")
    (under / "model.safetensors").unlink()
    write_sparse_weights(under / "model-00001-of-00002.safetensors", TEXT_WEIGHTS_LIMIT // 2)
    write_sparse_weights(under / "model-00002-of-00002.safetensors", TEXT_WEIGHTS_LIMIT // 2 - 1)
    assert validate_weights(under).weight_bytes == TEXT_WEIGHTS_LIMIT - 1
    write_sparse_weights(under / "model-00002-of-00002.safetensors", TEXT_WEIGHTS_LIMIT // 2)
    assert problems(under) == [
        ": its .safetensors files take 214,748,364,800 bytes (200.0 GiB); Custom Model Import takes the weights of "
        "a text model under 200 GB (read as 214,748,364,800 bytes)"
    ]


def test_a_multimodal_models_weights_take_less_than_100_gb(tmp_path: Path) -> None:
    vision = make_model(tmp_path / "vision", {"architectures": ["Qwen2VLForConditionalGeneration"]})
    write_sparse_weights(vision / "model.safetensors", MULTIMODAL_WEIGHTS_LIMIT - 1)
    assert validate_weights(vision).multimodal
    write_sparse_weights(vision / "model.safetensors", MULTIMODAL_WEIGHTS_LIMIT)
    assert problems(vision) == [
        ": its .safetensors files take 107,374,182,400 bytes (100.0 GiB); Custom Model Import takes the weights of "
        "a multimodal model under 100 GB (read as 107,374,182,400 bytes)"
    ]


def test_a_folder_of_many_gib_is_checked_in_constant_memory(tmp_path: Path) -> None:
    small = make_model(tmp_path / "small")
    big = make_model(tmp_path / "big", tensors=[("model.embed_tokens.weight", "BF16", [262144, 65536])])
    peaks = []
    for folder in (small, big):
        validate_weights(folder)  # once before measuring, so that nothing imported or cached is counted
        tracemalloc.start()
        try:
            summary = validate_weights(folder)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    assert summary.weight_bytes > 32 * GIB
    assert summary.parameters == 262144 * 65536
    assert peaks[1] < 64 * 1024 + read_buffer_bytes(big), peaks  # a file's read buffer; none of the 32 GiB is read
    assert peaks[1] < peaks[0] + 8 * 1024, peaks  # the same as for a folder of kilobytes


# --- the command ---------------------------------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *folders: Path) -> tuple[int, list[str]]:
    code = cli.main(["validate-weights", *map(str, folders)])
    output = capsys.readouterr()
    assert output.err == ""
    return code, output.out.splitlines()


def test_the_command_prints_ok_with_the_architecture_parameters_and_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = make_model(tmp_path / "first"), make_model(tmp_path / "second")
    size = (first / "model.safetensors").stat().st_size
    assert 1024 < size < 10 * 1024
    assert run(capsys, first, second) == (
        0,
        [
            f"{first}: OK (LlamaForCausalLM, 520 parameters, {size / 1024:.1f} KiB)",
            f"{second}: OK (LlamaForCausalLM, 520 parameters, {size / 1024:.1f} KiB)",
        ],
    )


def test_the_command_prints_every_problem_as_dir_slash_file_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = make_model(tmp_path / "good"), make_model(tmp_path / "bad")
    (bad / "config.json").unlink()
    (bad / "model.safetensors").write_bytes(b"")
    code, lines = run(capsys, good, bad)
    assert code == 1
    assert lines == [
        f"{bad}/config.json: missing: Custom Model Import needs the model's config.json",
        f"{bad}/model.safetensors: has 0 bytes: too few for the 8-byte header length a safetensors file starts with",
    ]


def test_the_command_exits_2_on_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as usage:
        cli.main(["validate-weights"])
    assert usage.value.code == 2
    assert "validate-weights" in capsys.readouterr().err


def test_the_check_and_its_command_need_nothing_but_the_standard_library(tmp_path: Path) -> None:
    """No CDK, no third-party package: the module imports only the standard library, the command no CDK."""
    folder = make_model(tmp_path / "model")
    script = """if True:
        import sys
        before = set(sys.modules)
        from cdk_bedrock_customization import weights
        weights.validate_weights(sys.argv[1])
        added = {name.split(".")[0] for name in set(sys.modules) - before}
        print(sorted(added - set(sys.stdlib_module_names) - {"cdk_bedrock_customization"}))
        from cdk_bedrock_customization import cli
        assert cli.main(["validate-weights", sys.argv[1]]) == 0
        print(sorted(name for name in sys.modules if name.split(".")[0] in ("aws_cdk", "jsii")))
    """
    result = subprocess.run(
        [sys.executable, "-c", script, str(folder)], capture_output=True, text=True, cwd=REPO, check=True
    )
    lines = result.stdout.splitlines()
    assert (lines[0], lines[-1]) == ("[]", "[]"), result.stdout


# --- whatever the files hold: a summary or a WeightsError, nothing else --------------------------------------------

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=16,
)
CLASS_NAMES = st.sampled_from([name for name, _, _ in sorted(SUPPORTED)] + ["BertModel", "MistralModel", ""])
CONFIG_KEYS = st.sampled_from(
    ["architectures", "model_type", "max_position_embeddings", "n_positions", "text_config", "torch_dtype"]
)
CONFIGS = st.one_of(
    JSON_VALUES.map(json.dumps),
    st.dictionaries(
        CONFIG_KEYS | st.text(max_size=8),
        JSON_VALUES | CLASS_NAMES | st.lists(CLASS_NAMES, max_size=3) | st.integers(0, 2**80),
        max_size=5,
    ).map(json.dumps),
    st.text(max_size=120),
    st.integers(1, 5000).map(lambda depth: "[" * depth + "]" * depth),  # nested past the recursion limit
    st.integers(4000, 6000).map(lambda digits: '{"max_position_embeddings": ' + "9" * digits + "}"),
)
DTYPES = st.sampled_from([*DTYPE_BITS, "bf16", "F8", "", "Q4_K"]) | JSON_VALUES
SHAPES = st.lists(st.integers(-2, 2**70) | st.sampled_from([0, 1, 2, 3]), max_size=4) | JSON_VALUES
OFFSETS = st.lists(st.integers(-2, 2**70) | st.integers(0, 64), max_size=3) | JSON_VALUES
TENSOR_INFO = st.fixed_dictionaries({"dtype": DTYPES, "shape": SHAPES, "data_offsets": OFFSETS}) | JSON_VALUES
HEADERS = st.dictionaries(st.text(max_size=8) | st.just("__metadata__"), TENSOR_INFO, max_size=5)
VALID_TENSORS = st.lists(
    st.tuples(
        st.text(min_size=1, max_size=8).filter(lambda name: name != "__metadata__"),
        st.sampled_from(sorted(ELEMENT_BYTES)),
        st.lists(st.integers(0, 5), max_size=3),
    ),
    max_size=6,
    unique_by=lambda tensor: tensor[0],
)


@st.composite
def safetensors_files(draw: st.DrawFn) -> bytes:
    """Bytes as a safetensors file might hold them: a header of random entries (or a valid one) behind a right or
    wrong length, then random data; or random bytes."""
    kind = draw(st.sampled_from(["random entries", "valid entries", "duplicate keys", "random bytes"]))
    if kind == "random bytes":
        return draw(st.binary(max_size=80))
    if kind == "valid entries":
        raw = json.dumps(header_of(*draw(VALID_TENSORS))).encode()
    elif kind == "duplicate keys":
        raw = b'{"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, "a": {}}'
    else:
        raw = json.dumps(draw(HEADERS)).encode()
    raw += b" " * draw(st.integers(0, 7))
    change = draw(st.sampled_from([0, 0, 0, -1, 1, HEADER_LIMIT + 1, 2**64 - 1]) | st.integers(-len(raw), 16))
    length = min(max(len(raw) + change, 0), 2**64 - 1)
    return struct.pack("<Q", length) + raw + draw(st.binary(max_size=80))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model folder, whose files each example rewrites."""
    return make_model(tmp_path_factory.mktemp("fuzz") / "model")


def outcome(folder: Path) -> WeightsSummary | list[str]:
    """A summary, or the problems of a WeightsError: each one line naming the folder, of bounded length."""
    try:
        return validate_weights(folder)
    except WeightsError as error:
        assert error.problems
        for line in error.problems:
            assert line.startswith((f"{folder}/", f"{folder}: ")), line
            assert "\n" not in line and len(line) - len(str(folder)) < 1000, line
        return error.problems


@FUZZ
@given(text=CONFIGS)
def test_any_config_json_gives_a_summary_or_a_weights_error(workspace: Path, text: str) -> None:
    write_safetensors(workspace / "model.safetensors", header_of(*LLAMA_TENSORS))
    (workspace / "config.json").write_bytes(text.encode("utf-8", "surrogatepass"))
    found = outcome(workspace)
    if isinstance(found, WeightsSummary):
        assert found.architecture in {name for name, _, _ in SUPPORTED} | {model_type for _, model_type, _ in SUPPORTED}


@FUZZ
@given(content=safetensors_files())
def test_any_safetensors_file_gives_a_summary_or_a_weights_error(workspace: Path, content: bytes) -> None:
    (workspace / "config.json").write_text(json.dumps(LLAMA_CONFIG))
    (workspace / "model.safetensors").write_bytes(content)
    outcome(workspace)


@FUZZ
@given(tensors=VALID_TENSORS, reverse=st.booleans())
def test_a_header_laid_out_as_the_format_says_passes_and_is_counted(
    workspace: Path, tensors: list[tuple[str, str, list[int]]], reverse: bool
) -> None:
    header = header_of(*tensors)
    if reverse:  # the offsets, not the order of the header's keys, say where each tensor is
        header = dict(reversed(header.items()))
    (workspace / "config.json").write_text(json.dumps(LLAMA_CONFIG))
    path = write_safetensors(workspace / "model.safetensors", header)
    summary = validate_weights(workspace)
    assert summary.parameters == sum(math.prod(shape) for _, _, shape in tensors)
    assert summary.weight_bytes == os.path.getsize(path)
    assert set(summary.dtypes) == {dtype for _, dtype, _ in tensors}
