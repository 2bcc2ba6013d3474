"""The single-function adapter replaces some of crhelper's private methods (crhelper's public API leaves its
polling gaps open; see bedrock_single_function/provider.py), and relies on how others behave. The source of every
crhelper method it replaces or relies on is kept in a snapshot: a crhelper release that changes one fails here,
naming it, before the adapter silently drops what crhelper changed."""

from __future__ import annotations

import importlib.metadata
import inspect

from crhelper import resource_helper

from .single_function_helpers import adapter


def test_crhelper_is_the_release_the_adapter_was_written_for() -> None:
    # pyproject.toml pins it exactly; the single-function asset ships this release.
    assert importlib.metadata.version("crhelper") == "2.0.12"


def test_the_crhelper_methods_the_adapter_replaces_are_unchanged(snapshot) -> None:
    # Each replaced method is in a small class of the adapter's, named for the gap it closes.
    replacing = {
        cls.__name__: sorted(
            name for name in vars(cls) if not name.startswith("__") and hasattr(resource_helper.CfnResource, name)
        )
        for cls in adapter.SingleFunctionProvider.__mro__
        if cls.__module__ == adapter.__name__
    }
    assert replacing == {
        "SingleFunctionProvider": [],
        "_NoAnswerAtTimeout": ["_timeout"],
        "_PollingThatFits": ["_setup_polling"],
        "_OneNamePerRequest": ["_add_permission", "_put_rule", "_remove_polling"],
    }
    replaced = sorted(name for names in replacing.values() for name in names)
    # And what the adapter relies on: crhelper answers a request whose event it marks as a poll (CrHelperPoll)
    # without setting up polling; a create function gets the event that _polling_init then reads.
    # Its timer calls _timeout (_set_timeout).
    relied_on = ["__call__", "_crhelper_init", "_polling_init", "_set_timeout", "_wrap_function"]
    sources = {name: inspect.getsource(getattr(resource_helper.CfnResource, name)) for name in replaced + relied_on}
    assert sources == snapshot
