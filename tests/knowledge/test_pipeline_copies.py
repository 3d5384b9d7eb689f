"""The pipelines' copy of values between components gives what Haystack's own gives, for every kind of value."""

import threading
from collections import OrderedDict, namedtuple

import numpy as np
import pytest
from haystack import Document, component
from haystack.core.pipeline import base, pipeline, utils
from haystack.dataclasses import ChatMessage, StreamingChunk
from haystack.tools import Tool

from knowledge import pipeline_copies
from knowledge.pipeline_copies import copy_pipeline_value, install, new_pipeline

haystack_copy = pipeline_copies._HAYSTACK_COPY
Pair = namedtuple("Pair", "left right")


@component
class Appender:
    """Mutates its input, as a careless component might."""

    @component.output_types(items=list)
    def run(self, items: list) -> dict:
        items.append("added")
        return {"items": items}


class WithRun:
    def __init__(self, run) -> None:
        self.run = run


class ListOf(list):
    pass


class DictOf(dict):
    pass


def tool() -> Tool:
    return Tool(name="t", description="d", parameters={"type": "object", "properties": {}}, function=lambda: None)


VALUES = {
    "text": "a question",
    "int": 3,
    "float": 0.25,
    "bool": True,
    "none": None,
    "bytes": b"raw",
    "documents": [Document(content="passage", meta={"title": "T", "anchor": "a", "nested": {"n": [1, 2]}}, score=0.5)],
    "messages": [ChatMessage.from_system("rules"), ChatMessage.from_user("question")],
    "chunk": StreamingChunk(content="tok", index=0),
    "array": np.arange(4, dtype=np.float32),
    "nested": {"a": [{"b": (1, "two", {3})}]},
    "namedtuple": Pair(left=[1], right="r"),
    "list subclass": ListOf([1, [2]]),
    "dict subclass": DictOf(k=[1]),
    "ordered dict": OrderedDict(k=[1]),
    "set": {1, "two"},
    "tuple": (1, [2], "three"),
    "function": print,
    "run None": WithRun(None),
}
# Passed on as they are by both: components, tools, instances with a run method, what deepcopy refuses.
AS_IS = {
    "component": Appender(),
    "tool": tool(),
    "instance with run": WithRun(lambda: None),
    "lock": threading.Lock(),
}


def same_shape(ours, theirs) -> None:
    """Equal values, the same types, and fresh objects exactly where Haystack's copy makes them."""
    assert type(ours) is type(theirs)
    if isinstance(ours, np.ndarray):
        np.testing.assert_array_equal(ours, theirs)
    elif isinstance(ours, WithRun):
        assert ours.run is None and theirs.run is None
    else:
        assert ours == theirs
    if isinstance(ours, (list, tuple, set, dict)) and not isinstance(ours, str):
        items = list(ours.values()) if isinstance(ours, dict) else list(ours)
        theirs_items = list(theirs.values()) if isinstance(theirs, dict) else list(theirs)
        if not isinstance(ours, set):
            for mine, their in zip(items, theirs_items, strict=True):
                same_shape(mine, their)


@pytest.mark.parametrize("name", sorted(VALUES))
def test_copies_like_haystack(name):
    value = VALUES[name]
    ours, theirs = copy_pipeline_value(value), haystack_copy(value)
    same_shape(ours, theirs)
    # A fresh object exactly when Haystack makes one (strings and numbers are shared, as deepcopy shares them).
    assert (ours is value) == (theirs is value)


@pytest.mark.parametrize("name", sorted(AS_IS))
def test_passes_components_tools_and_uncopyable_values_as_they_are(name):
    value = AS_IS[name]
    assert haystack_copy(value) is value
    assert copy_pipeline_value(value) is value
    assert copy_pipeline_value([value])[0] is value


def test_a_copied_document_is_independent():
    document = VALUES["documents"][0]
    copied = copy_pipeline_value([document])[0]
    copied.meta["nested"]["n"].append(3)
    assert document.meta["nested"]["n"] == [1, 2]


def test_pipelines_use_it_and_still_protect_their_inputs():
    items = ["given"]
    result = new_pipeline()
    result.add_component("appender", Appender())
    output = result.run({"appender": {"items": items}})
    assert output["appender"]["items"] == ["given", "added"]
    assert items == ["given"]  # the component got a copy
    for module in (utils, base, pipeline):
        assert module._deepcopy_with_exceptions is copy_pipeline_value


def test_not_installed_when_the_component_protocol_changes(monkeypatch):
    for module in (utils, base, pipeline):
        monkeypatch.setattr(module, "_deepcopy_with_exceptions", haystack_copy)
    monkeypatch.setattr(pipeline_copies, "_protocol_members", lambda: {"run", "warm_up"})
    assert install() is False
    assert pipeline._deepcopy_with_exceptions is haystack_copy


def test_not_installed_when_haystack_moved_its_copy(monkeypatch):
    for module in (utils, base, pipeline):
        monkeypatch.setattr(module, "_deepcopy_with_exceptions", haystack_copy)
    monkeypatch.delattr(base, "_deepcopy_with_exceptions")
    assert install() is False
    assert pipeline._deepcopy_with_exceptions is haystack_copy


def test_the_component_protocol_is_run_alone():
    # What the fast path rests on; if Haystack adds members, install() keeps Haystack's copy (test above).
    assert pipeline_copies._protocol_members() == {"run"}
