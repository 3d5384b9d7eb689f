"""What the server does on its loop as it starts: the async model clients, then the garbage collector settled."""

import asyncio
import gc

import pytest

from chat import generation, lifecycle


@pytest.fixture
def gc_state(monkeypatch):
    monkeypatch.setattr(generation, "_serving_loop", None)  # the test's loop is forgotten after it
    threshold = gc.get_threshold()
    gc.unfreeze()
    yield threshold
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_starting_on_the_loop_freezes_what_is_loaded_and_makes_young_collections_rarer(gc_state):
    asyncio.run(lifecycle.server_starting_on_loop())
    assert gc.get_freeze_count() > 100_000  # Django, the models and their libraries
    assert gc.get_threshold() == (lifecycle.YOUNG_COLLECTION_THRESHOLD, *gc_state[1:])
