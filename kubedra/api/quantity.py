"""Kubernetes resource quantities (``80Gi``, ``1500m``, ``1e3``) with exact arithmetic.

Hand-written because no Python library reproduces apimachinery's ``resource.Quantity``: its grammar,
its error texts, its rounding (values are kept down to nano, finer non-zero values round away from
zero), its BinarySI cap at 2^63-1 and its canonical string form (including the quirk that a string
already in canonical form is echoed back verbatim, so ``"+1"`` and ``"1E3"`` serialize unchanged).

Values are stored exactly as an integer count of nano units; no float is involved anywhere except
``as_approximate_float``. The internal representation (apimachinery's int64 ``(value, scale)`` form
versus its arbitrary-precision decimal form) is tracked as well, because CEL's ``isInteger()`` and
``asInteger()`` observe it.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "BINARY_SI",
    "DECIMAL_EXPONENT",
    "DECIMAL_SI",
    "Quantity",
    "QuantityError",
]

DECIMAL_EXPONENT: Final = "DecimalExponent"
BINARY_SI: Final = "BinarySI"
DECIMAL_SI: Final = "DecimalSI"

_SPLIT_RE_STRING: Final = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
ERR_FORMAT_WRONG: Final = f"quantities must match the regular expression '{_SPLIT_RE_STRING}'"
ERR_NUMERIC: Final = "unable to parse numeric part of quantity"
ERR_SUFFIX: Final = "unable to parse quantity's suffix"

# The language apimachinery's hand-written scanner accepts, as one regular expression:
# sign, integer digits, optional "." and fraction digits, suffix letters, optional signed digits.
_SCAN = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*[-+]?[0-9]*)")

_DEC_SUFFIXES: Final = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DEC_SUFFIX_BY_EXP: Final = {v: k for k, v in _DEC_SUFFIXES.items()}
_BIN_SUFFIXES: Final = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_BIN_SUFFIX_BY_POWER: Final = {0: "", 1: "Ki", 2: "Mi", 3: "Gi", 4: "Ti", 5: "Pi", 6: "Ei"}

_INT64_MAX: Final = (1 << 63) - 1
_INT64_MIN: Final = -(1 << 63)
_NANO: Final = 10**9
# Upstream would try to build a number with this many digits and stall; refuse instead.
_MAX_DECIMAL_EXPONENT: Final = 4096
# Python refuses to convert longer digit strings to int (sys.int_info.default_max_str_digits).
_MAX_DIGITS: Final = 4000


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity; the message is apimachinery's."""


def _int64(v: int) -> bool:
    return _INT64_MIN <= v <= _INT64_MAX


def _interpret_suffix(suffix: str) -> tuple[int, int, str]:
    """Return (base, exponent, format) for a suffix, as apimachinery's suffixer does."""
    exp = _DEC_SUFFIXES.get(suffix)
    if exp is not None:
        return 10, exp, DECIMAL_SI
    exp = _BIN_SUFFIXES.get(suffix)
    if exp is not None:
        return 2, exp, BINARY_SI
    if len(suffix) > 1 and suffix[0] in "eE":
        digits = suffix[1:]
        body = digits[1:] if digits[0] in "+-" else digits
        if not body or not body.isdigit():
            raise QuantityError(ERR_SUFFIX)
        parsed = int(digits)
        if not _int64(parsed):
            raise QuantityError(ERR_SUFFIX)
        # Go converts the parsed int64 exponent to int32, wrapping around.
        wrapped = ((parsed + (1 << 31)) % (1 << 32)) - (1 << 31)
        return 10, wrapped, DECIMAL_EXPONENT
    raise QuantityError(ERR_SUFFIX)


def _ceil_div_away(n: int, d: int) -> int:
    """n / d rounded away from zero (d > 0)."""
    q, r = divmod(abs(n), d)
    if r:
        q += 1
    return q if n >= 0 else -q


class Quantity:
    """An exact Kubernetes quantity. Immutable; equality, ordering and hash follow the value only."""

    __slots__ = ("_is_int64", "_nano", "_s", "_scale", "_unscaled", "format")

    _nano: int
    _unscaled: int
    _scale: int
    _is_int64: bool
    _s: str | None
    format: str

    def __init__(self, unscaled: int = 0, scale: int = 0, format: str = DECIMAL_SI) -> None:
        """``unscaled * 10**scale`` in the given format (scale must be >= -9: quantities stop at nano)."""
        if scale < -9:
            raise ValueError("a quantity cannot be finer than nano (scale >= -9)")
        self._set(unscaled, scale, _int64(unscaled), format, None)

    def _set(self, unscaled: int, scale: int, is_int64: bool, format: str, s: str | None) -> None:
        self._unscaled = unscaled
        self._scale = scale
        self._is_int64 = is_int64
        self.format = format
        self._s = s
        shift = scale + 9
        if shift >= 0:
            self._nano = unscaled * 10**shift
        else:
            nano, rest = divmod(unscaled, 10**-shift)
            if rest:
                raise AssertionError("quantity finer than nano")
            self._nano = nano

    @classmethod
    def _make(cls, unscaled: int, scale: int, is_int64: bool, format: str, s: str | None = None) -> Quantity:
        q = cls.__new__(cls)
        q._set(unscaled, scale, is_int64, format, s)
        return q

    @classmethod
    def from_int(cls, value: int, format: str = DECIMAL_SI) -> Quantity:
        """Like apimachinery's NewQuantity."""
        return cls._make(value, 0, _int64(value), format)

    @classmethod
    def from_milli(cls, value: int, format: str = DECIMAL_SI) -> Quantity:
        """Like apimachinery's NewMilliQuantity."""
        return cls._make(value, -3, _int64(value), format)

    # ------------------------------------------------------------------ parsing

    @classmethod
    def parse(cls, text: str) -> Quantity:
        """Parse a quantity string exactly as apimachinery's ParseQuantity does."""
        if not text:
            raise QuantityError(ERR_FORMAT_WRONG)
        if text == "0":
            return cls._make(0, 0, True, DECIMAL_SI, "0")
        m = _SCAN.fullmatch(text)
        if m is None:
            raise QuantityError(ERR_FORMAT_WRONG)
        sign, int_digits, frac, suffix = m.groups()
        negative = sign == "-"
        num = int_digits.lstrip("0") or "0"
        denom = frac or ""
        base, exponent, fmt = _interpret_suffix(suffix)
        if exponent > _MAX_DECIMAL_EXPONENT:
            raise QuantityError(f"{ERR_NUMERIC}: exponent {exponent} is too large")

        if fmt == BINARY_SI:
            if len(denom) == 0:
                mantissa = 1 << exponent
                # Go: int32(float32(exponent)*3/10), truncated toward zero.
                precision = 15 - len(num) - (exponent * 3 // 10) - 1
            else:
                precision = -1
                mantissa = 1
            scale = 0
        else:
            mantissa = 1
            scale = exponent
            precision = 18 - (len(num) + len(denom))

        if precision >= 0:
            scale -= len(denom)
            if scale >= -9:
                shifted = num + denom
                value = int(shifted)
                result = value * mantissa
                if _int64(result):
                    if negative:
                        result = -result
                    cached: str | None = None
                    if fmt == BINARY_SI:
                        if exponent % 10 == 0 and value & 0x07 != 0:
                            cached = text
                    elif scale % 3 == 0 and not shifted.endswith("000") and shifted[0] != "0":
                        cached = text
                    return cls._make(result, scale, True, fmt, cached)

        # Arbitrary-precision path.
        digits = (int_digits + denom).lstrip("0")
        if not (int_digits or denom):
            raise QuantityError(ERR_NUMERIC)
        if len(digits) > _MAX_DIGITS:
            raise QuantityError(f"{ERR_NUMERIC}: more than {_MAX_DIGITS} digits")
        magnitude = int(digits or "0")
        frac_len = len(denom)
        if magnitude == 0:
            return cls._make(0, 0, False, fmt)
        if base == 10:
            shift = exponent - frac_len + 9  # nano = magnitude * 10**shift
            if shift >= 0:
                nano = magnitude * 10**shift
            elif -shift > len(digits):
                nano = 1  # far below nano: rounds away from zero to the smallest unit
            else:
                nano = _ceil_div_away(magnitude, 10**-shift)
        else:
            nano = _ceil_div_away(magnitude * (1 << exponent) * _NANO, 10**frac_len)
        if fmt == BINARY_SI:
            nano = min(nano, _INT64_MAX * _NANO)
            if nano < _NANO:
                fmt = DECIMAL_SI
        if negative:
            nano = -nano
        return cls._make(nano, -9, False, fmt)

    # ------------------------------------------------------------------ accessors

    @property
    def nano(self) -> int:
        """The exact value in units of 10**-9."""
        return self._nano

    def sign(self) -> int:
        return (self._nano > 0) - (self._nano < 0)

    def is_zero(self) -> bool:
        return self._nano == 0

    def value(self) -> int:
        """The value rounded away from zero to an integer (apimachinery's Value(), without int64 overflow)."""
        return _ceil_div_away(self._nano, _NANO)

    def milli_value(self) -> int:
        """ceil(q * 1000), rounded away from zero (apimachinery's MilliValue(), without overflow)."""
        return _ceil_div_away(self._nano, 10**6)

    def scaled_value(self, scale: int) -> int:
        """The value in units of 10**scale, rounded away from zero."""
        shift = scale + 9
        if shift <= 0:
            return self._nano * 10**-shift
        return _ceil_div_away(self._nano, 10**shift)

    def as_int64(self) -> int | None:
        """apimachinery's AsInt64(): an int only for the int64 form at a non-negative scale."""
        if not self._is_int64:
            return None
        if self._scale == 0:
            return self._unscaled
        if self._scale < 0:
            return None
        v = self._unscaled * 10**self._scale
        return v if _int64(v) else None

    def as_approximate_float(self) -> float:
        """apimachinery's AsApproximateFloat64(): mantissa times a power of ten, in floats."""
        try:
            base = float(self._unscaled)
        except OverflowError:
            base = float("inf") if self._unscaled > 0 else float("-inf")
        exp = self._scale
        if exp == 0:
            return base
        try:
            p = 10.0**exp if exp >= 0 else 1.0 / 10.0 ** (-exp)
        except OverflowError:
            p = float("inf")
        return base * p

    # ------------------------------------------------------------------ arithmetic

    def add(self, other: Quantity) -> Quantity:
        """self + other; a zero receiver takes other's format (apimachinery's Add)."""
        fmt = other.format if self._nano == 0 else self.format
        if self._is_int64 and other._is_int64:
            r = _int64_add(self._unscaled, self._scale, other._unscaled, other._scale)
            if r is not None:
                return Quantity._make(r[0], r[1], True, fmt)
        return self._dec_combine(other, 1, fmt)

    def sub(self, other: Quantity) -> Quantity:
        """self - other; a zero receiver takes other's format (apimachinery's Sub)."""
        fmt = other.format if self._nano == 0 else self.format
        if self._is_int64 and other._is_int64 and _int64(-other._unscaled):
            r = _int64_add(self._unscaled, self._scale, -other._unscaled, other._scale)
            if r is not None:
                return Quantity._make(r[0], r[1], True, fmt)
        return self._dec_combine(other, -1, fmt)

    def _dec_combine(self, other: Quantity, sign: int, fmt: str) -> Quantity:
        scale = min(self._scale, other._scale)
        a = self._unscaled * 10 ** (self._scale - scale)
        b = other._unscaled * 10 ** (other._scale - scale)
        return Quantity._make(a + sign * b, scale, False, fmt)

    def neg(self) -> Quantity:
        v = -self._unscaled
        return Quantity._make(v, self._scale, self._is_int64 and _int64(v), self.format)

    def __add__(self, other: Quantity) -> Quantity:
        return self.add(other)

    def __sub__(self, other: Quantity) -> Quantity:
        return self.sub(other)

    def __neg__(self) -> Quantity:
        return self.neg()

    # ------------------------------------------------------------------ comparison

    def cmp(self, other: Quantity) -> int:
        a, b = self._nano, other._nano
        return (a > b) - (a < b)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self._nano == other._nano

    def __lt__(self, other: Quantity) -> bool:
        return self._nano < other._nano

    def __le__(self, other: Quantity) -> bool:
        return self._nano <= other._nano

    def __gt__(self, other: Quantity) -> bool:
        return self._nano > other._nano

    def __ge__(self, other: Quantity) -> bool:
        return self._nano >= other._nano

    def __hash__(self) -> int:
        return hash(self._nano)

    # ------------------------------------------------------------------ formatting

    def canonical(self) -> str:
        """The string Kubernetes serializes this quantity as (its String())."""
        s = self._s
        if s is None:
            s = self._s = self._canonicalize()
        return s

    def __str__(self) -> str:
        return self.canonical()

    def __repr__(self) -> str:
        return f"Quantity({self.canonical()!r})"

    def _canonicalize(self) -> str:
        nano = self._nano
        if nano == 0:
            return "0"
        fmt = self.format
        if fmt == BINARY_SI:
            if -1024 * _NANO < nano < 1024 * _NANO or nano % _NANO:
                fmt = DECIMAL_SI
            else:
                return _base1024(nano // _NANO)
        elif fmt != DECIMAL_SI:
            fmt = DECIMAL_EXPONENT
        # nano = m * 10**e with no factor of ten left in m, then e lowered to a multiple of 3.
        m, e = nano, -9
        while m % 10 == 0:
            m //= 10
            e += 1
        r = e % 3
        if r:
            m *= 10**r
            e -= r
        if fmt == DECIMAL_SI:
            suffix = _DEC_SUFFIX_BY_EXP.get(e)
            if suffix is not None:
                return f"{m}{suffix}"
        return f"{m}e{e}" if e else str(m)


def _base1024(v: int) -> str:
    power = 0
    while v % 1024 == 0 and power < 6:
        v //= 1024
        power += 1
    return f"{v}{_BIN_SUFFIX_BY_POWER[power]}"


def _int64_add(av: int, ascale: int, bv: int, bscale: int) -> tuple[int, int] | None:
    """apimachinery's int64Amount.Add: None when the int64 form overflows."""
    if bv == 0:
        return av, ascale
    if av == 0:
        return bv, bscale
    if ascale == bscale:
        c = av + bv
        return (c, ascale) if _int64(c) else None
    if ascale > bscale:
        av = av * 10 ** (ascale - bscale)
        if not _int64(av):
            return None
        ascale = bscale
    else:
        bv = bv * 10 ** (bscale - ascale)
        if not _int64(bv):
            return None
    c = av + bv
    return (c, ascale) if _int64(c) else None
