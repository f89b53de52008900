"""promql.check: the compilers' parse of every expression, asked once per shape, refuses exactly
what the parser refuses."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import promql
from generator.promql import PromQLError

VALID = [
    'sum(rate(http_requests_total{job="api", code!="200"}[5m]))',
    'x{job="a\\"b", path=~"/v1/.*"} > 0.5',
    "up == 1",
    'label_replace(up, "dst", "$1", "src", "(.*)")',
    "x{a='single'} or y{b=`raw`}",
    '{job="api"}',
]
INVALID = [
    'sum(rate(http_requests_total{job="api"}[5m])',  # a parenthesis short
    'x{path=~"("}',  # a regex that does not compile
    'x{a="1"} +',
    'x{a="1", b=~"["}',
    "x{a='1', b=~'['}",
    'f("a=", ) BAD',
    '{job=""}',  # no matcher that excludes the empty string
]


@pytest.mark.parametrize("expr", VALID)
def test_what_parses_passes(expr: str) -> None:
    promql.parse(expr)
    promql.check(expr)


@pytest.mark.parametrize("expr", INVALID)
def test_what_the_parser_refuses_is_refused_with_the_expression(expr: str) -> None:
    with pytest.raises(PromQLError):
        promql.parse(expr)
    with pytest.raises(PromQLError) as refused:
        promql.check(expr)
    assert expr in str(refused.value)


def test_a_good_shape_does_not_pass_a_sibling_with_a_bad_regex() -> None:
    promql.check('x{a="1", b=~"ok.*"}')
    with pytest.raises(PromQLError):
        promql.check('x{a="2", b=~"(("}')


def test_a_shape_refused_for_an_empty_value_still_passes_the_real_value() -> None:
    promql.check('{job="worker"}')
    promql.check('{job="api", code!="5xx"}')


values = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8)
regexes = st.sampled_from(["a.*", "(", "[", "x|y", "", "\\d+", ")"])


@settings(max_examples=300)
@given(values, values, regexes, st.sampled_from(["", " +", ")", " or on() vector(1)", "[5m]"]))
def test_check_agrees_with_the_parser(a: str, b: str, regex: str, tail: str) -> None:
    expr = f"x{{a={promql.quote(a)}, b!={promql.quote(b)}, c=~{promql.quote(regex)}}}{tail}"
    try:
        promql.parse(expr)
    except PromQLError:
        with pytest.raises(PromQLError):
            promql.check(expr)
    else:
        promql.check(expr)
