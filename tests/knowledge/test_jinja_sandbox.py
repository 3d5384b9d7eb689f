"""A book's templates run in Jinja's sandbox in a child process: whatever a template does, the process that
ingests the book keeps running and the page is read without it."""

import os
import time

import pytest

from knowledge.child_process import send_frame, spawn
from knowledge.jinja_sandbox import JinjaSandbox, TemplateJob


@pytest.fixture
def sandbox():
    sandbox = JinjaSandbox(seconds=1.0)
    yield sandbox
    sandbox.close()


def test_a_template_is_rendered_with_its_variables(sandbox):
    job = TemplateJob(
        source="{% for x in items %}{{ x | upper }} {% endfor %}{{ now().year }}", variables={"items": ["a", "b"]}
    )
    assert sandbox.render(job) == f"A B {time.localtime().tm_year}"


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",  # Python's internals
        "{{ cycler.__init__.__globals__.os.system('touch /tmp/escaped') }}",
        "{{ 'a' * 10000000000 }}",  # a string of ten billion characters
        "{% set n = namespace(x=[1]) %}{% for i in range(60) %}{% set n.x = n.x + n.x %}{% endfor %}{{ n.x | length }}",
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",  # ten billion steps
        "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
        '{% include "/etc/passwd" %}',
        "{{ 'x' * 900000 }}" * 10,  # a page past the size limit
    ],
)
def test_a_hostile_template_is_not_rendered_and_the_next_one_is(sandbox, source):
    started = time.monotonic()
    assert sandbox.render(TemplateJob(source=source)) is None
    assert time.monotonic() - started < 5
    assert not os.path.exists("/tmp/escaped")
    assert sandbox.render(TemplateJob(source="{{ v }}", variables={"v": "still here"})) == "still here"


def test_a_template_that_runs_too_long_costs_its_child_which_is_replaced(sandbox):
    assert sandbox.render(TemplateJob(source="{{ 1 }}")) == "1"
    first = sandbox._child.pid
    assert (
        sandbox.render(
            TemplateJob(source="{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}")
        )
        is None
    )
    assert sandbox._child is None
    with pytest.raises(ProcessLookupError):
        os.kill(first, 0)
    assert sandbox.render(TemplateJob(source="{{ 2 }}")) == "2"
    assert sandbox._child.pid != first


def test_a_child_left_with_an_endless_template_stops_at_its_cpu_limit():
    # The parent would kill it; should the parent itself be gone, the child must not spin forever.
    import pickle

    child = spawn("knowledge.jinja_sandbox", str(1 << 30), "1")
    job = TemplateJob(source="{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}")
    send_frame(child.requests, pickle.dumps(job))
    try:
        assert child.process.wait(timeout=15) != 0
    finally:
        child.stop(kill=True)


def test_only_jinjas_own_extensions_are_loaded(sandbox):
    loaded = TemplateJob(source="{% set xs = [] %}{% do xs.append(1) %}{{ xs }}", extensions=("jinja2.ext.do",))
    assert sandbox.render(loaded) == "[1]"
    # Any other name would be a module imported by the child: it is not loaded, so its tags fail the page.
    refused = TemplateJob(source="{% do xs %}", extensions=("antigravity", "os.system"))
    assert sandbox.render(refused) is None
