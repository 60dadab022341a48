"""Just enough UCUM to tell whether two quantities can be compared, and to compare them.

`canonical("km")` -> (1000.0, dimension) where dimension is the exponent vector over UCUM's base
units (m, g, s, rad, K, C, cd). Two quantities are comparable when their dimensions are equal;
their values then compare after multiplying by the factors.

This is a subset, on purpose: the metric prefixes, the base and derived SI units, the customary
units medicine uses (inch, foot, mile, pound, ounce, US gallon, mm[Hg], calorie, ...), time units
(min, h, d, wk, mo, a), `%`, `10*N` factors, `{annotations}`, exponents and the `.` and `/`
operators. A unit outside it (or with parentheses) is *unknown*: `canonical` returns None and the
caller must say that it could not compare, never guess. Units with an offset or a non-linear
scale (`Cel`, `[degF]`, `[pH]`, arbitrary units like `[iU]`) have no factor here: they compare
only with the very same code (which needs no conversion).

Source of the factors: the UCUM specification (https://ucum.org/ucum), table of base units,
prefixes and the derived and customary units listed below.
"""

from __future__ import annotations

import functools
import re

# Dimension vector positions: length, mass, time, plane angle, temperature, charge, luminosity.
_DIMS = ("m", "g", "s", "rad", "K", "C", "cd")


def _d(**exponents: int) -> tuple[int, ...]:
    return tuple(exponents.get(name, 0) for name in _DIMS)


_NONE = _d()
_LENGTH, _MASS, _TIME = _d(m=1), _d(g=1), _d(s=1)
_VOLUME = _d(m=3)
_FORCE = _d(g=1, m=1, s=-2)
_PRESSURE = _d(g=1, m=-1, s=-2)
_ENERGY = _d(g=1, m=2, s=-2)

# atom -> (factor to the base units, dimension, metric: takes a prefix)
_ATOMS: dict[str, tuple[float, tuple[int, ...], bool]] = {
    # base units
    "m": (1.0, _LENGTH, True),
    "g": (1.0, _MASS, True),
    "s": (1.0, _TIME, True),
    "rad": (1.0, _d(rad=1), True),
    "K": (1.0, _d(K=1), True),
    "C": (1.0, _d(C=1), True),
    "cd": (1.0, _d(cd=1), True),
    # dimensionless
    "1": (1.0, _NONE, False),
    "%": (0.01, _NONE, False),
    "[ppth]": (1e-3, _NONE, False),
    "[ppm]": (1e-6, _NONE, False),
    "mol": (6.0221367e23, _NONE, True),  # UCUM defines mol as 6.0221367 x 10^23 (a number)
    "deg": (3.141592653589793 / 180, _d(rad=1), False),
    # time
    "min": (60.0, _TIME, False),
    "h": (3600.0, _TIME, False),
    "d": (86400.0, _TIME, False),
    "wk": (604800.0, _TIME, False),
    "mo": (2629800.0, _TIME, False),  # mean Julian month, 30.4375 d
    "a": (31557600.0, _TIME, False),  # mean Julian year, 365.25 d
    # volume
    "L": (1e-3, _VOLUME, True),
    "l": (1e-3, _VOLUME, True),
    "[gal_us]": (3.785411784e-3, _VOLUME, False),
    "[qt_us]": (9.46352946e-4, _VOLUME, False),
    "[pt_us]": (4.73176473e-4, _VOLUME, False),
    "[foz_us]": (2.95735295625e-5, _VOLUME, False),
    "[tsp_us]": (4.92892159375e-6, _VOLUME, False),
    "[tbs_us]": (1.478676478125e-5, _VOLUME, False),
    # length (international customary)
    "[in_i]": (0.0254, _LENGTH, False),
    "[ft_i]": (0.3048, _LENGTH, False),
    "[yd_i]": (0.9144, _LENGTH, False),
    "[mi_i]": (1609.344, _LENGTH, False),
    "[nmi_i]": (1852.0, _LENGTH, False),
    # mass (avoirdupois)
    "[lb_av]": (453.59237, _MASS, False),
    "[oz_av]": (28.349523125, _MASS, False),
    "[st_av]": (6350.29318, _MASS, False),
    "t": (1e6, _MASS, True),
    "u": (1.6605402e-24, _MASS, False),  # unified atomic mass unit
    # derived SI
    "N": (1000.0, _FORCE, True),
    "Pa": (1000.0, _PRESSURE, True),
    "bar": (1e8, _PRESSURE, True),
    "J": (1000.0, _ENERGY, True),
    "W": (1000.0, _d(g=1, m=2, s=-3), True),
    "Hz": (1.0, _d(s=-1), True),
    "A": (1.0, _d(C=1, s=-1), True),
    "V": (1000.0, _d(g=1, m=2, s=-2, C=-1), True),
    "cal": (4184.0, _ENERGY, True),
    "[Cal]": (4184000.0, _ENERGY, False),  # the nutrition label Calorie: 1 kcal
    "m[Hg]": (133322000.0, _PRESSURE, True),  # 133.3220 kPa
    "m[H2O]": (9806650.0, _PRESSURE, True),
    "[psi]": (6894757.29, _PRESSURE, False),
    "kat": (6.0221367e23, _d(s=-1), True),
    "U": (6.0221367e23 * 1e-6 / 60, _d(s=-1), True),  # enzyme unit: umol/min
}
# SI prefixes (UCUM spells micro as u and deka as da).
_PREFIXES = {
    "Y": 1e24, "Z": 1e21, "E": 1e18, "P": 1e15, "T": 1e12, "G": 1e9, "M": 1e6, "k": 1e3, "h": 1e2,
    "da": 1e1, "d": 1e-1, "c": 1e-2, "m": 1e-3, "u": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15,
    "a": 1e-18, "z": 1e-21, "y": 1e-24,
}
# Units that have no linear factor (offsets, logarithms, arbitrary units): equal codes only.
SPECIAL = frozenset({"Cel", "[degF]", "[degRe]", "[pH]", "[iU]", "[IU]", "[arb'U]", "B", "dB", "Np"})

_TERM = re.compile(r"(?P<atom>[^.\s/{}0-9+-][^.\s/{}]*?|1)(?P<exp>[+-]?\d+)?(?:\{[^{}]*\})?$")
_FACTOR = re.compile(r"^10[*^](?P<exp>[+-]?\d+)$|^(?P<number>\d+)$")


def _atom(text: str) -> tuple[float, tuple[int, ...]] | None:
    found = _ATOMS.get(text)
    if found is not None:
        return found[0], found[1]
    for size in (2, 1):  # 'da' before 'd'
        prefix, rest = text[:size], text[size:]
        if prefix in _PREFIXES and rest in _ATOMS and _ATOMS[rest][2]:
            factor, dims, _ = _ATOMS[rest]
            return _PREFIXES[prefix] * factor, dims
    return None


def _component(text: str) -> tuple[float, tuple[int, ...]] | None:
    if not text:
        return None
    if text.startswith("{") and text.endswith("}") and text.count("{") == 1:
        return 1.0, _NONE  # an annotation alone is the unit 1
    number = _FACTOR.match(text)
    if number is not None:
        if number.group("number") is not None:
            return float(number.group("number")), _NONE
        return 10.0 ** int(number.group("exp")), _NONE
    match = _TERM.match(text)
    if match is None:
        return None
    atom, exponent = match.group("atom"), match.group("exp")
    found = _atom(atom)
    if found is None and exponent is not None:
        # An atom ending in digits ('m2' parsed as atom 'm', exponent 2 already); nothing else.
        return None
    if found is None:
        return None
    power = int(exponent) if exponent is not None else 1
    factor, dims = found
    return factor**power, tuple(d * power for d in dims)


@functools.lru_cache(maxsize=512)
def canonical(code: str) -> tuple[float, tuple[int, ...]] | None:
    """(factor, dimension) of a UCUM unit code, or None when fhirrug's subset does not know it."""
    if not isinstance(code, str) or not code or code in SPECIAL or "(" in code or " " in code:
        return None
    factor, dims = 1.0, _NONE
    # Split on the operators, keeping them: '.' multiplies, '/' divides the next term only.
    parts = re.split(r"([./])", code)
    operator = "."
    if parts and parts[0] == "":
        parts = parts[1:]  # a leading '/': '/min'
        if not parts or parts[0] != "/":
            return None
    for part in parts:
        if part in (".", "/"):
            operator = part
            continue
        found = _component(part)
        if found is None:
            return None
        f, d = found
        if operator == "/":
            factor /= f
            dims = tuple(a - b for a, b in zip(dims, d))
        else:
            factor *= f
            dims = tuple(a + b for a, b in zip(dims, d))
    return factor, dims


def compare(value_a: float, code_a: str, value_b: float, code_b: str) -> int | None | str:
    """-1/0/1 comparing `value_a code_a` with `value_b code_b`; "incommensurable" when both units
    are known and measure different things (kg and mi); None when a unit is unknown to this subset."""
    if code_a == code_b:
        return (value_a > value_b) - (value_a < value_b)
    a, b = canonical(code_a), canonical(code_b)
    if a is None or b is None:
        return None
    if a[1] != b[1]:
        return "incommensurable"
    x, y = value_a * a[0], value_b * b[0]
    # Conversion factors are not exact in binary: equal within a relative 1e-9 counts as equal.
    if abs(x - y) <= 1e-9 * max(abs(x), abs(y)):
        return 0
    return (x > y) - (x < y)
