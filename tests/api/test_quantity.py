"""Kubernetes quantity parsing, formatting and arithmetic (expected values follow apimachinery)."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubedra.api.quantity import BINARY_SI, DECIMAL_EXPONENT, DECIMAL_SI, Quantity, QuantityError

FORMAT_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"


@pytest.mark.parametrize(
    ("text", "canonical", "exact", "fmt"),
    [
        ("0", "0", Fraction(0), DECIMAL_SI),
        ("80Gi", "80Gi", Fraction(80 * 2**30), BINARY_SI),
        ("1.5", "1500m", Fraction(3, 2), DECIMAL_SI),
        ("1500m", "1500m", Fraction(3, 2), DECIMAL_SI),
        ("1k", "1k", Fraction(1000), DECIMAL_SI),
        ("1000", "1k", Fraction(1000), DECIMAL_SI),
        ("1e3", "1e3", Fraction(1000), DECIMAL_EXPONENT),  # already canonical: echoed back
        ("1000e0", "1e3", Fraction(1000), DECIMAL_EXPONENT),
        ("1.5e3", "1500", Fraction(1500), DECIMAL_EXPONENT),
        ("5e-1", "500e-3", Fraction(1, 2), DECIMAL_EXPONENT),
        ("1.5Gi", "1536Mi", Fraction(3 * 2**29), BINARY_SI),
        ("1024Ki", "1Mi", Fraction(2**20), BINARY_SI),
        ("1025", "1025", Fraction(1025), DECIMAL_SI),
        ("0.5Ki", "512", Fraction(512), BINARY_SI),
        ("0.1Ki", "102400m", Fraction(1024, 10), BINARY_SI),
        ("1.2345", "1234500u", Fraction(12345, 10000), DECIMAL_SI),
        ("0.9n", "1n", Fraction(1, 10**9), DECIMAL_SI),  # finer than nano rounds away from zero
        ("-0.9n", "-1n", Fraction(-1, 10**9), DECIMAL_SI),
        ("1e-12", "1e-9", Fraction(1, 10**9), DECIMAL_EXPONENT),
        ("8Ei", "9223372036854775807", Fraction(2**63 - 1), BINARY_SI),  # BinarySI caps at 2^63-1
        ("-8Ei", "-9223372036854775807", Fraction(-(2**63) + 1), BINARY_SI),
        ("1Ei", "1Ei", Fraction(2**60), BINARY_SI),
        ("18446744073709551616", "18446744073709551616", Fraction(2**64), DECIMAL_SI),
        ("1000E", "1e21", Fraction(10**21), DECIMAL_SI),
        ("+1", "+1", Fraction(1), DECIMAL_SI),  # canonical-looking strings are kept verbatim
        ("010", "010", Fraction(10), DECIMAL_SI),
        ("1.", "1.", Fraction(1), DECIMAL_SI),
        (".5", "500m", Fraction(1, 2), DECIMAL_SI),
        (".", "0", Fraction(0), DECIMAL_SI),
        ("-0", "0", Fraction(0), DECIMAL_SI),
        ("100m", "100m", Fraction(1, 10), DECIMAL_SI),
        ("1e4294967296", "1e4294967296", Fraction(1), DECIMAL_EXPONENT),  # Go wraps the exponent to int32
    ],
)
def test_parse_and_format(text: str, canonical: str, exact: Fraction, fmt: str) -> None:
    q = Quantity.parse(text)
    assert Fraction(q.nano, 10**9) == exact
    assert q.canonical() == canonical
    assert str(q) == canonical
    assert q.format == fmt
    assert Quantity.parse(canonical) == q


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", FORMAT_ERROR),
        ("abc", FORMAT_ERROR),
        ("1.5.5", FORMAT_ERROR),
        ("1 ", FORMAT_ERROR),
        ("1e3e3", FORMAT_ERROR),
        ("6 GiB", FORMAT_ERROR),
        ("1Ki1", "unable to parse quantity's suffix"),
        ("1e", "unable to parse quantity's suffix"),
        ("1GiB", FORMAT_ERROR),
        ("--1", "unable to parse quantity's suffix"),
        (".e-10", "unable to parse numeric part of quantity"),
    ],
)
def test_invalid(text: str, message: str) -> None:
    with pytest.raises(QuantityError) as err:
        Quantity.parse(text)
    assert str(err.value) == message


def test_huge_exponent_is_refused_not_computed() -> None:
    with pytest.raises(QuantityError, match="unable to parse numeric part of quantity"):
        Quantity.parse("1e999999999")
    assert Quantity.parse("1e-999999999").nano == 1


def test_value_rounds_away_from_zero() -> None:
    assert Quantity.parse("1.2").value() == 2
    assert Quantity.parse("-1.2").value() == -2
    assert Quantity.parse("1500m").value() == 2
    assert Quantity.parse("1.0001").milli_value() == 1001
    assert Quantity.parse("1Ki").value() == 1024
    assert Quantity.parse("2k").scaled_value(3) == 2


def test_int64_form_is_observable() -> None:
    """isInteger/asInteger in CEL see apimachinery's internal form, not just the value."""
    assert Quantity.parse("1k").as_int64() == 1000
    assert Quantity.parse("1e3").as_int64() == 1000
    assert Quantity.parse("1000m").as_int64() is None  # int64 form at scale -3
    assert Quantity.parse("1Ei").as_int64() is None  # arbitrary-precision form
    assert Quantity.parse("1Ti").as_int64() == 2**40


def test_arithmetic_and_format_inheritance() -> None:
    a, b = Quantity.parse("1Gi"), Quantity.parse("512Mi")
    assert str(a.add(b)) == "1536Mi"
    assert str(a.sub(b)) == "512Mi"
    assert str(Quantity.parse("0").add(b)) == "512Mi"  # zero takes the other's format
    assert str(Quantity.parse("1").add(Quantity.parse("500m"))) == "1500m"
    big = Quantity.parse("9e18").add(Quantity.parse("9e18"))
    assert big.nano == 18 * 10**27 and big.as_int64() is None
    assert -Quantity.parse("1k") == Quantity.parse("-1000")


def test_approximate_float() -> None:
    assert Quantity.parse("1.5").as_approximate_float() == 1.5
    assert Quantity.parse("1Ki").as_approximate_float() == 1024.0
    assert math.isclose(Quantity.parse("1Ei").as_approximate_float(), 2.0**60)


# ---------------------------------------------------------------- properties

_SUFFIXES = ["", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
_DEC = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BIN = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}


@st.composite
def quantity_strings(draw: st.DrawFn) -> tuple[str, Fraction]:
    """A valid quantity string and its exact value computed independently with Fraction."""
    sign = draw(st.sampled_from(["", "+", "-"]))
    int_part = draw(st.text("0123456789", min_size=1, max_size=22))
    frac = draw(st.one_of(st.none(), st.text("0123456789", max_size=12)))
    if draw(st.booleans()):
        exp = draw(st.integers(-20, 25))
        suffix = draw(st.sampled_from(["e", "E"])) + str(exp)
        scale: Fraction = Fraction(10) ** exp
        binary = False
    else:
        suffix = draw(st.sampled_from(_SUFFIXES))
        binary = suffix in _BIN
        scale = Fraction(2 ** _BIN[suffix]) if binary else Fraction(10) ** _DEC[suffix]
    text = sign + int_part + ("" if frac is None else "." + frac) + suffix
    magnitude = Fraction(int(int_part + (frac or "")), 10 ** len(frac or "")) * scale
    nano = math.ceil(magnitude * 10**9)  # round away from zero (magnitude is >= 0 here)
    if binary:
        nano = min(nano, (2**63 - 1) * 10**9)
    value = Fraction(-nano if sign == "-" else nano, 10**9)
    return text, value


@settings(max_examples=400, deadline=None)
@given(quantity_strings())
def test_parse_matches_exact_value(case: tuple[str, Fraction]) -> None:
    text, value = case
    q = Quantity.parse(text)
    assert Fraction(q.nano, 10**9) == value


@settings(max_examples=400, deadline=None)
@given(quantity_strings())
def test_canonical_round_trip(case: tuple[str, Fraction]) -> None:
    q = Quantity.parse(case[0])
    again = Quantity.parse(q.canonical())
    assert again == q
    assert hash(again) == hash(q)
    assert again.canonical() == q.canonical()
    # A computed (not echoed) canonical form never has a fraction.
    assert "." not in q.add(Quantity.parse("0")).canonical()


@settings(max_examples=300, deadline=None)
@given(quantity_strings(), quantity_strings())
def test_ordering_and_arithmetic_follow_exact_values(
    a: tuple[str, Fraction], b: tuple[str, Fraction]
) -> None:
    qa, qb = Quantity.parse(a[0]), Quantity.parse(b[0])
    assert (qa < qb) == (a[1] < b[1])
    assert (qa == qb) == (a[1] == b[1])
    assert (qa >= qb) == (a[1] >= b[1])
    assert qa.cmp(qb) == (a[1] > b[1]) - (a[1] < b[1])
    assert Fraction(qa.add(qb).nano, 10**9) == a[1] + b[1]
    assert Fraction(qa.sub(qb).nano, 10**9) == a[1] - b[1]
    total = qa.add(qb)
    if total.format != BINARY_SI or abs(total.nano) <= (2**63 - 1) * 10**9:  # parsing caps BinarySI
        assert Quantity.parse(total.canonical()) == total


@settings(max_examples=300, deadline=None)
@given(st.integers(-(2**70), 2**70), st.sampled_from([DECIMAL_SI, BINARY_SI, DECIMAL_EXPONENT]))
def test_integers_format_and_parse_back(v: int, fmt: str) -> None:
    if fmt == BINARY_SI:
        v = max(min(v, 2**63 - 1), -(2**63) + 1)  # parsing caps BinarySI at 2^63-1
    q = Quantity.from_int(v, fmt)
    assert q.value() == v
    assert Quantity.parse(q.canonical()).value() == v


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12))
def test_arbitrary_text_never_crashes(text: str) -> None:
    try:
        q = Quantity.parse(text)
    except QuantityError:
        return
    assert Quantity.parse(q.canonical()) == q
