"""Our YAML emitter writes what a YAML parser reads back, for real outputs and any data."""

from __future__ import annotations

from pathlib import Path

import yaml
from conftest import EXTRAS, SPEC
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.pipeline import load
from generator.prometheus_config import compile_prometheus_config
from generator.promtool_tests import compile_promtool_tests
from generator.render import HEADER, to_yaml
from generator.rules import compile_rules

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(
        [
            *("yes", "No", "on", "~", "1e3", "0x1F", "12:30", "2024-01-01", "- a", "a: b", "#x"),
            *("a #b", "x\n", "\n\ny", "  lead", "t\tab", "\x85", "a\u2028b", "\x7f"),
        ]
    ),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=400)
@given(documents)
def test_any_plain_document_round_trips(document: object) -> None:
    assert yaml.safe_load(to_yaml(document)) == document


def test_every_generated_document_round_trips() -> None:
    for spec_dir in (SPEC, EXTRAS):
        spec = load(Path(spec_dir))
        documents = [*compile_rules(spec).values(), *compile_promtool_tests(spec).files.values()]
        documents.append(compile_prometheus_config(spec))
        for document in documents:
            text = to_yaml(document)
            assert text.startswith(HEADER)
            assert yaml.safe_load(text) == document
