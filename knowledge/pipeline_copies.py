"""A faster, equivalent copy of the data Haystack pipelines pass between components.

Haystack deep-copies every component's inputs and outputs (``_deepcopy_with_exceptions``), about twenty times
per chat request. For each value that is not a container it first asks ``isinstance(value, Component)``, and on
Python 3.11 an isinstance check against a runtime-checkable Protocol walks the protocol's class dictionaries on
every call: about 8 microseconds for each string, number and document, most of the copying's cost (1.3 ms of the
event loop's CPU per streamed answer; 0.4 ms with this copy: docs/benchmarks.md).

``new_pipeline()``, which every pipeline factory uses, installs a copy with the same result for every input:
values that deep copying returns as they are (strings, numbers, None) are returned at once, and the protocol
check runs only for values that have a ``run`` attribute, the protocol's one member (checked at install time;
otherwise Haystack's own copy stays).
"""

import logging
import typing
from copy import deepcopy
from typing import Any

from haystack import Pipeline
from haystack.core.component import Component
from haystack.core.pipeline import base, pipeline, utils
from haystack.tools.tool import Tool
from haystack.tools.toolset import Toolset

logger = logging.getLogger(__name__)

_MODULES = (utils, base, pipeline)  # each holds its own reference to the function
_HAYSTACK_COPY = utils._deepcopy_with_exceptions
# Types deepcopy returns as they are (copy._deepcopy_atomic): nothing to copy and never a component.
_ATOMS = frozenset({str, int, float, bool, bytes, type(None)})
_installed: bool | None = None  # whether install() took, once new_pipeline() has asked


def copy_pipeline_value(obj: Any) -> Any:
    """Haystack's ``_deepcopy_with_exceptions``, without its per-value protocol check where it cannot match:
    containers are copied item by item, components and tools are passed as they are, anything else is deep
    copied (or passed as it is when it cannot be)."""
    cls = type(obj)
    if cls in _ATOMS:
        return obj
    if isinstance(obj, dict):  # a plain dict, as Haystack's copy makes of any dict subclass
        return {key: copy_pipeline_value(value) for key, value in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return cls(*(copy_pipeline_value(value) for value in obj))
    if isinstance(obj, (list, tuple, set)):
        return cls(copy_pipeline_value(value) for value in obj)
    if isinstance(obj, (Tool, Toolset)) or (hasattr(obj, "run") and isinstance(obj, Component)):
        return obj
    try:
        return deepcopy(obj)
    except Exception as error:  # noqa: BLE001 - Haystack passes such values on uncopied, and so do we
        logger.info("Deepcopy failed for object of type %r (%s); passing it on uncopied", cls.__name__, error)
        return obj


def _protocol_members() -> set[str]:
    return set(typing._get_protocol_attrs(Component))


def install() -> bool:
    """Use ``copy_pipeline_value`` in Haystack's pipelines; False (Haystack's copy kept) when the Component
    protocol is no longer just ``run`` or Haystack's copy moved, so a Haystack upgrade never changes results."""
    if _protocol_members() != {"run"}:
        logger.warning("Haystack's Component protocol changed; keeping its own copy of pipeline values")
        return False
    current = [getattr(module, "_deepcopy_with_exceptions", None) for module in _MODULES]
    if any(function not in (_HAYSTACK_COPY, copy_pipeline_value) for function in current):
        logger.warning("Haystack's copy of pipeline values moved; keeping its own")
        return False
    for module in _MODULES:
        module._deepcopy_with_exceptions = copy_pipeline_value
    return True


def new_pipeline() -> Pipeline:
    """An empty Haystack pipeline, its values copied by ``copy_pipeline_value`` (installed on first use)."""
    global _installed
    if _installed is None:
        _installed = install()
    return Pipeline()
