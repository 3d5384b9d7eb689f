"""Answers from an MkDocs book whose pages are mkdocs-macros templates: what a page's loops and conditions make
is what the index holds and the answer quotes. The offline answerer, the real embedding model and real
PostgreSQL."""

import pytest

from knowledge.models import Chunk

from .test_book_answers import ask, ingested

CONFIG = """site_name: Rain Gauge Manual
site_url: https://gauge.example.org/
extra:
  firmware: 3.2
  released: true
  sensors:
    - name: Tipping bucket
      resolution: 0.2 mm
      heated: false
    - name: Weighing gauge
      resolution: 0.01 mm
      heated: true
plugins:
  - macros
"""
PAGE = """# Sensors

The gauge reads rain with one of two sensors.

## Sensor resolution

| Sensor | Resolution | Heated |
| --- | --- | --- |
{% for s in sensors -%}
| {{ s.name }} | {{ s.resolution }} | {{ "yes" if s.heated else "no" }} |
{% endfor %}

## Firmware

{% if released %}Firmware {{ firmware }} adds snow detection to the weighing gauge.{% else %}Firmware {{ firmware }} is
still in testing.{% endif %}
"""


@pytest.fixture(scope="module")
def book(django_db_setup, django_db_blocker, tmp_path_factory):
    root = tmp_path_factory.mktemp("macros-book")
    (root / "docs").mkdir()
    (root / "mkdocs.yml").write_text(CONFIG)
    (root / "docs" / "sensors.md").write_text(PAGE)
    with ingested(django_db_blocker, root):
        yield


pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("book")]


def test_no_jinja_reaches_the_index():
    text = "\n".join(Chunk.objects.values_list("text", flat=True))
    assert "{%" not in text and "{{" not in text
    assert "still in testing" not in text  # the branch the site does not show


def test_a_row_a_loop_wrote_answers_with_its_header(api):
    reply = ask(api, "What is the resolution of the weighing gauge?")
    assert "Sensor: Weighing gauge; Resolution: 0.01 mm" in reply["answer"]
    assert reply["sources"][0]["url"] == "https://gauge.example.org/sensors/#sensor-resolution"


def test_the_branch_a_condition_shows_is_answered(api):
    reply = ask(api, "Which firmware adds snow detection?")
    assert reply["answer"].startswith("“Firmware 3.2 adds snow detection to the weighing gauge.”")
