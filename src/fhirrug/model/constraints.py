"""Value constraints on the answers of a QuestionnaireResponse.

What R4 and its core (and SDC) extensions put on an item's answers, parsed once per Questionnaire
item into an `ItemConstraints` (`compile_item`), then checked per response item (`check_item`):

| constraint | where | code (the HL7 validator's message key) |
|---|---|---|
| `maxLength`, ext. `minLength` | string, text, url, open-choice strings | `QUESTIONNAIRE_QR_ITEM_STRING_MAX_LENGTH` / `_MIN_LENGTH` |
| ext. `regex` (+ `entryFormat`) | string, text, url | `QUESTIONNAIRE_QR_ITEM_STRING_REGEX` (`_REGEX_EF`) |
| ext. `minValue` / `maxValue` | integer, decimal, date, dateTime, time | `QUESTIONNAIRE_QR_ITEM_{INTEGER,DECIMAL,DATE,TIME}_{MIN,MAX}` |
| ext. `maxDecimalPlaces` | decimal, Quantity.value | `QUESTIONNAIRE_QR_ITEM_DECIMAL_MAX_DECIMALS` |
| SDC `minQuantity` / `maxQuantity` | quantity (UCUM-aware) | `QUESTIONNAIRE_QR_ITEM_QUANTITY_{MIN,MAX}`, `…_DECIMAL_CANNOT_COMPARE_{MIN,MAX}` |
| ext. `questionnaire-unitOption` / `unitValueSet` | quantity | `QUESTIONNAIRE_QR_ITEM_DECIMAL_INVALID_UNITS` / `…_UNIT_FAIL_VS` |
| ext. `questionnaire-minOccurs` / `maxOccurs` | answers of a question, repetitions of a group | `QUESTIONNAIRE_QR_ITEM_MIN_OCCURS` / `_MAX_OCCURS` |
| ext. `questionnaire-optionExclusive` | answerOption | `QUESTIONNAIRE_QR_ITEM_EXCLUSIVE` |
| ext. `mimeType`, `maxSize`; `size` vs `data` | attachment | `QUESTIONNAIRE_QR_ITEM_BAD_ATTACHMENT_MIMETYPE`, `…_LENGTH`, `TYPE_SPECIFIC_CHECKS_DT_ATT_SIZE_CORRECT` |
| ext. `questionnaire-referenceResource`; a known type | reference | `QUESTIONNAIRE_QR_ITEM_REF_INVALID`, `…_REF_INVALID_GENERAL`, `REFERENCE_REF_INVALID_REF` |
| `effectivePeriod` against `authored` | the response | `QUESTIONNAIRE_QR_AUTHOR_START` / `_END` (warnings) |

A comparison that cannot be decided (dates of different precision that agree as far as both go,
quantities whose units fhirrug cannot convert) is `fhirrug-constraint-indeterminate`, a warning
that says so; a malformed constraint on the Questionnaire is `fhirrug-constraint-invalid`.
docs/enablewhen-semantics.md §10 says how each point is decided and where the Java validator
differs.

Pure functions over parsed JSON: no engine, no click. Only items that carry a constraint get an
`ItemConstraints` (attachment and reference items always do: their values are checked for
consistency); the engine calls `check_item` only for those, so a Questionnaire without
constraints pays nothing.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

import re2

from ..issues import ERROR, INFORMATION, WARNING, Issue
from . import ucum

CORE = "http://hl7.org/fhir/StructureDefinition/"
SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
MIN_VALUE, MAX_VALUE = CORE + "minValue", CORE + "maxValue"
MIN_LENGTH, REGEX, ENTRY_FORMAT = CORE + "minLength", CORE + "regex", CORE + "entryFormat"
MAX_DECIMAL_PLACES = CORE + "maxDecimalPlaces"
MIN_OCCURS, MAX_OCCURS = CORE + "questionnaire-minOccurs", CORE + "questionnaire-maxOccurs"
OPTION_EXCLUSIVE = CORE + "questionnaire-optionExclusive"
UNIT_OPTION, UNIT_VALUE_SET = CORE + "questionnaire-unitOption", CORE + "questionnaire-unitValueSet"
MIN_QUANTITY, MAX_QUANTITY = SDC + "sdc-questionnaire-minQuantity", SDC + "sdc-questionnaire-maxQuantity"
MIME_TYPE, MAX_SIZE = CORE + "mimeType", CORE + "maxSize"
REFERENCE_RESOURCE = CORE + "questionnaire-referenceResource"
# Enablement by a FHIRPath expression (SDC, and the Finnish national variant the Java validator
# also reads): fhirrug has no FHIRPath engine, so such an item's enabledness is unknown.
ENABLE_WHEN_EXPRESSIONS = (SDC + "sdc-questionnaire-enableWhenExpression", "http://phr.kanta.fi/StructureDefinition/fiphr-ext-questionnaire-enablewhen")
UCUM_SYSTEM = "http://unitsofmeasure.org"

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a pattern RE2 refuses is our finding, not a line on stderr


def compile_regex(pattern: str):
    """The regex extension's pattern, compiled by RE2: matching takes time linear in the answer,
    whatever the pattern. The pattern comes with the Questionnaire, which may be untrusted (given
    with --questionnaire, or contained in a response): Python's backtracking `re` takes
    exponential time on patterns such as `(a+)+$`, so one response could stall a whole batch.
    Raises ValueError for a pattern that is not a regex, or that needs backtracking (back
    references, lookaround), which RE2 does not do; such a constraint is reported, not checked."""
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        try:
            re.compile(pattern)
        except (re.error, RecursionError, OverflowError):
            raise ValueError(reason) from None
        raise ValueError(f"{reason}: back references and lookaround need backtracking, which fhirrug does not do on patterns it is given") from None


INDETERMINATE = "fhirrug-constraint-indeterminate"
INVALID = "fhirrug-constraint-invalid"

# The answer value[x] keys each constraint looks at, by item type.
_STRING_KEYS = {"string": ("valueString",), "text": ("valueString",), "url": ("valueUri",), "open-choice": ("valueString",)}
_ORDERED_KEYS = {"integer": "valueInteger", "decimal": "valueDecimal", "date": "valueDate", "dateTime": "valueDateTime", "time": "valueTime"}
_LIMIT_KEYS = {  # item type -> the extension value[x] keys a minValue/maxValue may use
    "integer": ("valueInteger",),
    "decimal": ("valueDecimal", "valueInteger"),
    "date": ("valueDate",),
    "dateTime": ("valueDateTime", "valueDate"),
    "time": ("valueTime",),
}
_TYPE_NAMES = {"valueInteger": "integer", "valueDecimal": "decimal", "valueDate": "date", "valueDateTime": "dateTime", "valueTime": "time",
               "valueString": "string", "valueUri": "uri", "valueQuantity": "Quantity", "valueAttachment": "Attachment",
               "valueReference": "Reference", "valueCoding": "Coding"}
_CODE_STEM = {"integer": "INTEGER", "decimal": "DECIMAL", "date": "DATE", "dateTime": "DATE", "time": "TIME"}


class ItemConstraints:
    """The constraints of one Questionnaire item, parsed and typed (None fields: not constrained)."""

    __slots__ = (
        "link_id", "item_type", "max_length", "min_length", "regex", "regex_text", "entry_format",
        "max_decimal_places", "min_value", "max_value", "min_occurs", "max_occurs", "exclusive",
        "unit_options", "unit_value_set", "min_quantity", "max_quantity", "mime_types", "max_size",
        "reference_types", "attachment", "reference", "uri", "enable_expression",
    )

    def __init__(self, link_id: str, item_type: str):
        self.link_id = link_id
        self.item_type = item_type
        self.max_length: int | None = None
        self.min_length: int | None = None
        self.regex: Any = None  # an RE2 pattern (compile_regex)
        self.regex_text: str | None = None
        self.entry_format: str | None = None
        self.max_decimal_places: int | None = None
        self.min_value: tuple | None = None  # (the limit as written, its comparable key)
        self.max_value: tuple | None = None
        self.min_occurs: int | None = None
        self.max_occurs: int | None = None
        self.exclusive: frozenset = frozenset()  # (value key, value) of exclusive answerOptions
        self.unit_options: tuple = ()  # Codings
        self.unit_value_set: str | None = None
        self.min_quantity: dict | None = None
        self.max_quantity: dict | None = None
        self.mime_types: tuple = ()
        self.max_size: int | None = None
        self.reference_types: tuple = ()
        self.attachment = item_type == "attachment"  # size against data: always
        self.reference = item_type == "reference"  # a known resource type: always
        self.uri = item_type == "url"  # urn:uuid: and urn:oid: syntax: always
        self.enable_expression: str | None = None  # the url of an enablement expression extension

    def occurs_only(self) -> bool:
        return self.min_occurs is not None or self.max_occurs is not None


def _extensions(item: dict) -> list[tuple[int, str, dict]]:
    out = []
    extensions = item.get("extension")
    if isinstance(extensions, list):
        for k, extension in enumerate(extensions):
            if isinstance(extension, dict) and isinstance(extension.get("url"), str):
                out.append((k, extension["url"], extension))
    return out


def _value(extension: dict) -> tuple[str | None, Any]:
    for key, value in extension.items():
        if key.startswith("value"):
            return key, value
    return None, None


def compile_item(item: dict, item_type: str, expression: str) -> tuple[ItemConstraints | None, list[Issue]]:
    """The constraints of one Questionnaire item, and the problems with them (Questionnaire issues
    at `expression`, the item's FHIRPath). None when the item carries no constraint."""
    issues: list[Issue] = []
    link_id = item.get("linkId") if isinstance(item.get("linkId"), str) else ""
    c = ItemConstraints(link_id, item_type)
    found = c.attachment or c.reference or c.uri

    def bad(where: str, message: str) -> None:
        issues.append(Issue(INVALID, WARNING, f"{message}; the constraint is not checked", "", where))

    def count(where: str, value: Any, key: str | None, name: str) -> int | None:
        if type(value) is int and value >= 0 and key in ("valueInteger", "valueUnsignedInt", "valuePositiveInt"):
            return value
        if key == "valueDecimal" and isinstance(value, (int, float)) and value >= 0 and float(value).is_integer():
            return int(value)  # maxSize is a decimal in R4
        bad(where, f"{name} must be a non-negative integer, found {value!r}")
        return None

    max_length = item.get("maxLength")
    if max_length is not None:
        if item_type in _STRING_KEYS:
            if type(max_length) is int and max_length >= 0:
                c.max_length, found = max_length, True
            else:
                bad(f"{expression}.maxLength", f"maxLength must be a non-negative integer, found {max_length!r}")
        # other types: que-10 (a resource rule) says where maxLength may appear
    for k, url, extension in _extensions(item):
        where = f"{expression}.extension[{k}]"
        key, value = _value(extension)
        if url == MIN_LENGTH and item_type in _STRING_KEYS:
            c.min_length = count(where, value, key, "minLength")
        elif url == REGEX and item_type in _STRING_KEYS:
            if key != "valueString" or not isinstance(value, str):
                bad(where, "regex needs a valueString")
                continue
            try:
                c.regex, c.regex_text = compile_regex(value), value
            except ValueError as exc:
                bad(where, f"regex {value!r} is not a regular expression fhirrug can use ({exc})")
                continue
        elif url == ENTRY_FORMAT and isinstance(value, str):
            c.entry_format = value
            continue
        elif url == MAX_DECIMAL_PLACES and item_type in ("decimal", "quantity"):
            c.max_decimal_places = count(where, value, key, "maxDecimalPlaces")
        elif url in (MIN_VALUE, MAX_VALUE, MIN_QUANTITY, MAX_QUANTITY) and item_type == "quantity":
            # SDC minQuantity/maxQuantity, or the core minValue/maxValue given as a Quantity
            limit = _quantity(value) if key == "valueQuantity" else None
            if limit is None:
                bad(where, "the limit is not a Quantity with a numeric value")
                continue
            if url in (MIN_VALUE, MIN_QUANTITY):
                c.min_quantity = limit
            else:
                c.max_quantity = limit
        elif url in (MIN_VALUE, MAX_VALUE) and item_type in _LIMIT_KEYS:
            if key not in _LIMIT_KEYS[item_type]:
                bad(where, f"{url.rsplit('/', 1)[1]} of a {item_type} item cannot be a {key[5:] if key else 'missing value'}")
                continue
            ordered = _ordered(item_type, value)
            if ordered is None:
                bad(where, f"{value!r} is not a valid {item_type}")
                continue
            if url == MIN_VALUE:
                c.min_value = (value, ordered)
            else:
                c.max_value = (value, ordered)
        elif url == MIN_OCCURS:
            c.min_occurs = count(where, value, key, "minOccurs")
        elif url == MAX_OCCURS:
            c.max_occurs = count(where, value, key, "maxOccurs")
        elif url == UNIT_OPTION and item_type == "quantity":
            if key != "valueCoding" or not isinstance(value, dict):
                bad(where, "unitOption needs a valueCoding")
                continue
            c.unit_options += (value,)
        elif url == UNIT_VALUE_SET and item_type == "quantity":
            if not isinstance(value, str):
                bad(where, "unitValueSet needs a canonical")
                continue
            c.unit_value_set = value
        elif url == MIME_TYPE and item_type == "attachment":
            if not isinstance(value, str) or "/" not in value:
                bad(where, f"mimeType {value!r} is not a media type")
                continue
            c.mime_types += (value,)
        elif url == MAX_SIZE and item_type == "attachment":
            c.max_size = count(where, value, key, "maxSize")
        elif url in ENABLE_WHEN_EXPRESSIONS:
            c.enable_expression = url
        elif url == REFERENCE_RESOURCE and item_type == "reference":
            if not isinstance(value, str):
                bad(where, "referenceResource needs a valueCode")
                continue
            c.reference_types += (value,)
        else:
            continue
        found = True
    exclusive = set()
    options = item.get("answerOption")
    if isinstance(options, list):
        for option in options:
            if not isinstance(option, dict) or not any(u == OPTION_EXCLUSIVE and _value(e)[1] is True for _, u, e in _extensions(option)):
                continue
            for key, value in option.items():
                if key.startswith("value"):
                    exclusive.add(_option_key(key, value))
    if exclusive:
        c.exclusive, found = frozenset(exclusive), True
    if c.min_occurs is not None and c.max_occurs is not None and c.min_occurs > c.max_occurs:
        bad(expression, f"minOccurs {c.min_occurs} is greater than maxOccurs {c.max_occurs}")
    return (c if found else None), issues


def _option_key(key: str, value: Any) -> tuple:
    if key == "valueCoding" and isinstance(value, dict):
        return (key, value.get("system"), value.get("code"))
    if isinstance(value, dict):
        return (key, value.get("reference"))
    return (key, value)


def _quantity(value: Any) -> dict | None:
    if isinstance(value, dict) and type(value.get("value")) in (int, float):
        return value
    return None


# -- checking ----------------------------------------------------------------------------------


def check_item(c: ItemConstraints, item: dict, siblings: list, path: str, i: int, completed: bool, valuesets: dict | None, file: str = "") -> list[Issue]:
    """The constraint issues of one response item: `item` is `siblings[i]`, the list at `path`.

    `completed`: the response's status is completed or amended (a shortfall against minOccurs is
    then an error, else a warning, like a required item). `valuesets`: canonical -> frozenset of
    (system, code), the package's expansions (for unitValueSet)."""
    here = f"{path}.item[{i}]"
    out: list[Issue] = []

    def issue(code: str, message: str, expression: str, severity: str = ERROR) -> None:
        out.append(Issue(code, severity, message, file, expression))

    answers = item.get("answer")
    answers = answers if type(answers) is list else []
    if c.min_occurs is not None or c.max_occurs is not None:
        if c.item_type == "group":
            # Repetitions of the group in this list, counted once, at the first of them.
            link = item.get("linkId")
            first = next(k for k, other in enumerate(siblings) if type(other) is dict and other.get("linkId") == link)
            number = sum(1 for other in siblings if type(other) is dict and other.get("linkId") == link) if first == i else None
            what = "repetitions of this group"
        else:
            number = len(answers)
            what = "answers"
        if number is not None:
            if c.max_occurs is not None and number > c.max_occurs:
                issue("QUESTIONNAIRE_QR_ITEM_MAX_OCCURS", f"The maximum number of {what} is {c.max_occurs} but this has {number} {what.split()[0]}", here)
            if c.min_occurs is not None and number < c.min_occurs:
                issue("QUESTIONNAIRE_QR_ITEM_MIN_OCCURS", f"The minimum number of {what} is {c.min_occurs} but this has {number} {what.split()[0]}", here, ERROR if completed else WARNING)
    if c.exclusive and len(answers) > 1:
        for j, a in enumerate(answers):
            if type(a) is dict:
                for key, value in a.items():
                    if key.startswith("value") and _option_key(key, value) in c.exclusive:
                        shown = f"{value.get('system')}#{value.get('code')}" if key == "valueCoding" else (value.get("reference") if isinstance(value, dict) else value)
                        issue("QUESTIONNAIRE_QR_ITEM_EXCLUSIVE", f"Selected answer {shown} is an exclusive option - can't select anything else at the same time", f"{here}.answer[{j}]")
    for j, a in enumerate(answers):
        if type(a) is not dict:
            continue
        at = f"{here}.answer[{j}]"
        for key, value in a.items():
            if key.startswith("value"):
                _check_value(c, key, value, at, issue, valuesets)
    return out


def _check_value(c: ItemConstraints, key: str, value: Any, at: str, issue, valuesets: dict | None) -> None:
    kind = c.item_type
    where = f"{at}.value.ofType({_TYPE_NAMES.get(key, key[5:])})"
    if key in _STRING_KEYS.get(kind, ()) and isinstance(value, str):
        if c.min_length is not None and len(value) < c.min_length:
            issue("QUESTIONNAIRE_QR_ITEM_STRING_MIN_LENGTH", f"The answer '{value}' is shorter then the required minimum length of {c.min_length}", where)
        if c.max_length is not None and len(value) > c.max_length:
            issue("QUESTIONNAIRE_QR_ITEM_STRING_MAX_LENGTH", f"The answer '{value}' is longer then the allowed maximum length of {c.max_length}", where)
        if c.regex is not None and c.regex.fullmatch(value) is None:
            if c.entry_format is not None:
                issue("QUESTIONNAIRE_QR_ITEM_STRING_REGEX_EF", f"The answer '{value}' does not conform to the expected format '{c.entry_format}' (regex '{c.regex_text}')", where)
            else:
                issue("QUESTIONNAIRE_QR_ITEM_STRING_REGEX", f"The answer '{value}' does not conform to the required regex '{c.regex_text}'", where)
        if c.uri and key == "valueUri":
            # R4 datatypes: a uuid is urn:uuid: + RFC 4122 in lower case; an oid is urn:oid: + digits.
            if value.startswith("urn:uuid:") and not _UUID.fullmatch(value[9:]):
                issue("Type_Specific_Checks_DT_UUID_Valid", f"UUIDs must be valid and lowercase ({value[9:]})", where)
            elif value.startswith("urn:oid:") and not _OID.fullmatch(value[8:]):
                issue("Type_Specific_Checks_DT_OID_Valid", f"OIDs must be valid ({value[8:]})", where)
        return
    if key == _ORDERED_KEYS.get(kind):
        ordered = _ordered(kind, value)
        if ordered is None:
            return  # not a valid value of its type: the schema stage says so
        stem = _CODE_STEM[kind]
        for limit, is_min in ((c.min_value, True), (c.max_value, False)):
            if limit is None:
                continue
            result = _compare(kind, ordered, limit[1])
            if result is None:
                issue(INDETERMINATE, f"The value {value} cannot be compared with the allowed {'minimum' if is_min else 'maximum'} of {limit[0]}: different precision; not checked", where, WARNING)
            elif is_min and result < 0:
                issue(f"QUESTIONNAIRE_QR_ITEM_{stem}_MIN", f"The value {value} is less than the allowed minimum of {limit[0]}", where)
            elif not is_min and result > 0:
                issue(f"QUESTIONNAIRE_QR_ITEM_{stem}_MAX", f"The value {value} is greater than the allowed maximum of {limit[0]}", where)
        if kind == "decimal" and c.max_decimal_places is not None:
            _decimal_places(c, value, where, issue)
        return
    if key == "valueQuantity" and kind == "quantity" and isinstance(value, dict):
        _check_quantity(c, value, where, issue, valuesets)
    elif key == "valueAttachment" and kind == "attachment" and isinstance(value, dict):
        _check_attachment(c, value, at, where, issue)
    elif key == "valueReference" and kind == "reference" and isinstance(value, dict):
        _check_reference(c, value, where, issue)


def _decimal_places(c: ItemConstraints, value: Any, where: str, issue) -> None:
    places = decimal_places(value)
    if places is not None and places > c.max_decimal_places:
        issue("QUESTIONNAIRE_QR_ITEM_DECIMAL_MAX_DECIMALS", f"The value {value} has too many decimal places (limit = {c.max_decimal_places})", where)


def decimal_places(value: Any) -> int | None:
    """Places after the decimal point of a JSON number as read (an int has none; a float counts
    the places of its shortest round-trip form, so `2.50` read as 2.5 has one)."""
    if type(value) is int:
        return 0
    if type(value) is not float:
        return None
    try:
        exponent = Decimal(repr(value)).as_tuple().exponent
    except InvalidOperation:
        return None
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


# -- Quantity ----------------------------------------------------------------------------------


def _display(q: dict) -> str:
    """The Java validator's rendering: `10000 m (UCUM#m)`."""
    text = f"{q.get('comparator', '')}{q.get('value')}"
    if isinstance(q.get("unit"), str):
        text += f" {q['unit']}"
    if q.get("system") is not None or q.get("code") is not None:
        system = "UCUM" if q.get("system") == UCUM_SYSTEM else (q.get("system") or "")
        text += f" ({system}#{q.get('code')})"
    return text


def compare_quantities(a: dict, b: dict) -> int | str | None:
    """-1/0/1 comparing Quantity `a` with `b`; "incommensurable" when both are UCUM units of
    different kinds (kg and mi); None when fhirrug cannot tell (unknown or non-UCUM units that
    differ, free-text units that differ, a comparator on `a`)."""
    x, y = a.get("value"), b.get("value")
    if type(x) not in (int, float) or type(y) not in (int, float) or a.get("comparator") is not None:
        return None
    code_a, code_b = a.get("code"), b.get("code")
    if code_a is not None and code_b is not None:
        if a.get("system") == b.get("system") and code_a == code_b:
            return (x > y) - (x < y)
        if a.get("system") == UCUM_SYSTEM and b.get("system") == UCUM_SYSTEM:
            return ucum.compare(x, code_a, y, code_b)
        return None
    # Without formal units on one side, the units compare as text (both absent: unitless).
    if a.get("unit") == b.get("unit") and (code_a is None) == (code_b is None):
        return (x > y) - (x < y)
    return None


def _check_quantity(c: ItemConstraints, q: dict, where: str, issue, valuesets: dict | None) -> None:
    for limit, is_min in ((c.min_quantity, True), (c.max_quantity, False)):
        if limit is None:
            continue
        bound = "minimum" if is_min else "maximum"
        result = compare_quantities(q, limit)
        if result == "incommensurable":
            issue(f"QUESTIONNAIRE_QR_ITEM_DECIMAL_CANNOT_COMPARE_{'MIN' if is_min else 'MAX'}", f"The quantity {_display(q)} cannot be compared to the allowed {bound} of {_display(limit)}: the units measure different things", where)
        elif result is None:
            issue(INDETERMINATE, f"The quantity {_display(q)} cannot be compared to the allowed {bound} of {_display(limit)}: fhirrug cannot convert between these units; not checked", where, WARNING)
        elif is_min and result < 0:
            issue("QUESTIONNAIRE_QR_ITEM_QUANTITY_MIN", f"The quantity {_display(q)} is less than the allowed minimum of {_display(limit)}", where)
        elif not is_min and result > 0:
            issue("QUESTIONNAIRE_QR_ITEM_QUANTITY_MAX", f"The quantity {_display(q)} is greater than the allowed maximum of {_display(limit)}", where)
    if c.max_decimal_places is not None:
        _decimal_places(c, q.get("value"), where, issue)
    if c.unit_options and not any(_unit_matches(q, option) for option in c.unit_options):
        allowed = ",".join(_coding_display(o) for o in c.unit_options)
        issue("QUESTIONNAIRE_QR_ITEM_DECIMAL_INVALID_UNITS", f"The value {_display(q)} has a unit that is not valid (allowed = {allowed})", where)
    if c.unit_value_set is not None:
        codes = None
        if valuesets is not None:
            codes = valuesets.get(c.unit_value_set) or valuesets.get(c.unit_value_set.partition("|")[0])
        if codes is None:
            issue("fhirrug-qr-unit-valueset-unknown", f"unitValueSet {c.unit_value_set} is not in the package; the unit is not checked (no terminology server)", where, INFORMATION)
        elif (q.get("system"), q.get("code")) not in codes:
            issue("QUESTIONNAIRE_QR_ITEM_DECIMAL_UNIT_FAIL_VS", f"The value {_display(q)} has a unit that is not in the unit value set '{c.unit_value_set}'", where)


def _unit_matches(q: dict, option: dict) -> bool:
    """A unitOption Coding matches by system and code when it has a code (its display is only a
    label), else by display against the Quantity's unit."""
    if option.get("code") is not None:
        return option.get("code") == q.get("code") and option.get("system") in (None, q.get("system"))
    return option.get("display") is not None and option.get("display") == q.get("unit")


def _coding_display(coding: dict) -> str:
    system = "UCUM" if coding.get("system") == UCUM_SYSTEM else (coding.get("system") or "")
    return f"{coding.get('display') or ''} ({system}#{coding.get('code')})"


# -- Attachment and Reference ------------------------------------------------------------------


def _mime_matches(content_type: str, allowed: str) -> bool:
    """type/subtype, case-insensitive, parameters ignored; `image/*` allows every image type."""
    have = content_type.split(";", 1)[0].strip().lower()
    want = allowed.split(";", 1)[0].strip().lower()
    if want.endswith("/*"):
        return have.startswith(want[:-1])
    return have == want


def _check_attachment(c: ItemConstraints, attachment: dict, at: str, where: str, issue) -> None:
    content_type = attachment.get("contentType")
    if c.mime_types:
        if not isinstance(content_type, str):
            issue("QUESTIONNAIRE_QR_ITEM_NOT_ATTACHMENT_MIMETYPE", "A mime type is required for this answer", at)
        elif not any(_mime_matches(content_type, m) for m in c.mime_types):
            issue("QUESTIONNAIRE_QR_ITEM_BAD_ATTACHMENT_MIMETYPE", f"The mime type {content_type} is not valid for this answer (allowed = {', '.join(c.mime_types)})", at)
    data = attachment.get("data")
    actual = None
    if isinstance(data, str):
        try:
            actual = len(base64.b64decode("".join(data.split()), validate=True))
        except (binascii.Error, ValueError):
            issue("fhirrug-qr-attachment-data", "Attachment.data is not valid base64", f"{where}.data")
    size = attachment.get("size")
    if actual is not None and type(size) is int and size != actual:
        issue("TYPE_SPECIFIC_CHECKS_DT_ATT_SIZE_CORRECT", f"Stated Attachment Size {size:,} does not match actual attachment size {actual:,}", where)
    if c.max_size is not None:
        found = actual if actual is not None else (size if type(size) is int else None)
        if found is not None and found > c.max_size:
            issue("QUESTIONNAIRE_QR_ITEM_BAD_ATTACHMENT_LENGTH", f"The attachment is too large (allowed = {c.max_size}, found = {found})", at)


_TYPE_NAME = re.compile(r"[A-Z][A-Za-z]{1,63}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_OID = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")


def reference_type(reference: dict) -> str | None:
    """The resource type a Reference names: `Reference.type`, else from a RESTful `Type/id`
    (relative or absolute, `_history` allowed); None for urn:, #contained and other forms."""
    explicit = reference.get("type")
    if isinstance(explicit, str) and explicit:
        return explicit.rsplit("/", 1)[-1]
    ref = reference.get("reference")
    if not isinstance(ref, str) or ref.startswith(("#", "urn:")):
        return None
    parts = ref.split("/_history/", 1)[0].rstrip("/").split("/")
    if len(parts) >= 2 and _TYPE_NAME.fullmatch(parts[-2]):
        return parts[-2]
    return None


def _check_reference(c: ItemConstraints, reference: dict, where: str, issue) -> None:
    from ..vendor import all_resource_types

    ref = reference.get("reference")
    if isinstance(ref, str) and (not ref or any(ch.isspace() for ch in ref)):
        issue("REFERENCE_REF_INVALID_REF", f"The reference '{ref}' is not a valid reference", where)
    kind = reference_type(reference)
    shown = ref if isinstance(ref, str) else kind
    if kind is not None and kind not in all_resource_types():
        issue("QUESTIONNAIRE_QR_ITEM_REF_INVALID_GENERAL", f"The resource type {kind} in the reference {shown} is not valid", where)
    elif c.reference_types:
        if kind is None:
            if isinstance(ref, str) or reference.get("identifier") is not None:
                issue("QUESTIONNAIRE_QR_ITEM_REF_CANT", f"Unable to determine the resource type of {shown or 'the reference'}, so the resource type can't be checked (allowed = {','.join(c.reference_types)})", where, WARNING)
        elif kind not in c.reference_types:
            issue("QUESTIONNAIRE_QR_ITEM_REF_INVALID", f"The resource type '{kind}' in the reference {shown} is not allowed (allowed = {','.join(c.reference_types)})", where)


# -- ordered values: integer, decimal, date, dateTime, time ------------------------------------

_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_DATETIME = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?(Z|[+-]\d{2}:\d{2})?)?)?)?")
_TIME = re.compile(r"(\d{2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?")


def _ordered(kind: str, value: Any) -> tuple | float | None:
    """A comparable form of an answer or limit: a number, or a tuple of date/time components
    (None past the value's precision) with the zone offset (minutes) last."""
    if kind in ("integer", "decimal"):
        return value if type(value) in (int, float) and not (kind == "integer" and type(value) is not int) else None
    if not isinstance(value, str):
        return None
    if kind == "time":
        m = _TIME.fullmatch(value)
        return (int(m[1]), int(m[2]), float(m[3]) if m[3] else None, None) if m else None
    m = (_DATE if kind == "date" else _DATETIME).fullmatch(value)
    if m is None:
        return None
    groups = list(m.groups()) + [None] * (7 - len(m.groups()))
    year, month, day, hour, minute, second, zone = groups[:7]
    offset = None
    if zone is not None:
        offset = 0 if zone == "Z" else (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 60 + int(zone[4:6]))
    parts = (int(year), _int(month), _int(day), _int(hour), _int(minute), float(second) if second else None)
    if hour is not None and second is None:
        parts = parts[:5] + (None,)  # hh:mm without seconds: minute precision
    return parts + (offset,)


def _int(text: str | None) -> int | None:
    return int(text) if text is not None else None


def _compare(kind: str, a: Any, b: Any) -> int | None:
    """FHIRPath comparison (N1 §6.1.1, https://hl7.org/fhirpath/N1/#comparison): component by
    component from the year (the hour for times); a difference decides; a component one value
    has and the other lacks makes the result empty (None: indeterminate)."""
    if kind in ("integer", "decimal"):
        return (a > b) - (a < b)
    a_parts, b_parts = list(a[:-1]), list(b[:-1])
    a_zone, b_zone = a[-1], b[-1]
    if kind != "time" and a_parts[3] is not None and b_parts[3] is not None:
        if (a_zone is None) != (b_zone is None):
            return None  # one with a zone, one without: no common timeline
        if a_zone is not None:
            a_parts, b_parts = _to_utc(a_parts, a_zone), _to_utc(b_parts, b_zone)
    for x, y in zip(a_parts, b_parts):
        if x is None and y is None:
            return 0
        if x is None or y is None:
            return None
        if x != y:
            return -1 if x < y else 1
    return 0


def _to_utc(parts: list, offset: int) -> list:
    year, month, day, hour, minute, second = parts
    moment = datetime(year, month or 1, day or 1, hour, minute or 0, tzinfo=timezone(timedelta(minutes=offset))).astimezone(timezone.utc)
    return [moment.year, moment.month, moment.day, moment.hour, moment.minute if minute is not None else None, second]


# -- the response: effectivePeriod against authored --------------------------------------------


class ResponseConstraints:
    """Questionnaire-level checks made once per response: effectivePeriod against authored, and
    the items whose enablement is an expression fhirrug cannot evaluate."""

    __slots__ = ("start", "end", "expressions")

    def __init__(self, start: str | None, end: str | None, expressions: tuple = ()):
        self.start = start
        self.end = end
        self.expressions = expressions  # (linkId, extension url) of items enabled by an expression


def compile_questionnaire(questionnaire: dict) -> ResponseConstraints | None:
    if not isinstance(questionnaire, dict):
        return None
    period = questionnaire.get("effectivePeriod")
    start = end = None
    if isinstance(period, dict):
        start, end = period.get("start"), period.get("end")
        start = start if isinstance(start, str) and _ordered("dateTime", start) is not None else None
        end = end if isinstance(end, str) and _ordered("dateTime", end) is not None else None
    expressions = []
    stack = [questionnaire.get("item")]
    while stack:
        items = stack.pop()
        for item in items if isinstance(items, list) else ():
            if isinstance(item, dict):
                expressions += [(item.get("linkId"), url) for _, url, _ in _extensions(item) if url in ENABLE_WHEN_EXPRESSIONS]
                stack.append(item.get("item"))
    return ResponseConstraints(start, end, tuple(expressions)) if start or end or expressions else None


def check_response(rc: ResponseConstraints, response: dict, file: str = "") -> list[Issue]:
    """`authored` outside the Questionnaire's effectivePeriod: warnings. A Period's bounds include
    every moment that matches them at their precision (R4 Period: "2012-02-03T10:00:00 is in a
    period that has an end value of 2012-02-03"), so the comparison is made at the coarser
    precision of the two and never indeterminate."""
    out = [
        Issue("fhirrug-enablewhen-expression", INFORMATION, f"'{link}' is enabled by a FHIRPath expression ({url.rsplit('/', 1)[1]}), which fhirrug does not evaluate: whether it may or must be answered is not checked", file, "QuestionnaireResponse")
        for link, url in rc.expressions
    ]
    authored = response.get("authored")
    key = _ordered("dateTime", authored) if isinstance(authored, str) else None
    if key is None:
        return out
    where = "QuestionnaireResponse.authored"
    if rc.end is not None and _coarse(key, _ordered("dateTime", rc.end)) > 0:
        out.append(Issue("QUESTIONNAIRE_QR_AUTHOR_END", WARNING, f"The authored date '{authored}' is after the end of the permitted period defined in the Questionnaire ('{rc.end}')", file, where))
    if rc.start is not None and _coarse(key, _ordered("dateTime", rc.start)) < 0:
        out.append(Issue("QUESTIONNAIRE_QR_AUTHOR_START", WARNING, f"The authored date '{authored}' is before the start of the permitted period defined in the Questionnaire ('{rc.start}')", file, where))
    return out


def _coarse(a: tuple, b: tuple) -> int:
    """Compare at the precision both values have (the date part alone when only one has a time,
    or when only one has a zone)."""
    a_parts, b_parts = list(a[:-1]), list(b[:-1])
    if a_parts[3] is not None and b_parts[3] is not None and a[-1] is not None and b[-1] is not None:
        a_parts, b_parts = _to_utc(a_parts, a[-1]), _to_utc(b_parts, b[-1])
    elif (a_parts[3] is None) != (b_parts[3] is None) or (a[-1] is None) != (b[-1] is None):
        a_parts, b_parts = a_parts[:3], b_parts[:3]
    for x, y in zip(a_parts, b_parts):
        if x is None or y is None:
            return 0
        if x != y:
            return -1 if x < y else 1
    return 0


# Every code this module reports, for `fhirrug rules` and the configuration: (code, severity, summary).
CODES = (
    ("QUESTIONNAIRE_QR_ITEM_STRING_MIN_LENGTH", ERROR, "A string answer shorter than the item's minLength."),
    ("QUESTIONNAIRE_QR_ITEM_STRING_MAX_LENGTH", ERROR, "A string answer longer than the item's maxLength."),
    ("QUESTIONNAIRE_QR_ITEM_STRING_REGEX", ERROR, "A string answer that does not match the item's regex."),
    ("QUESTIONNAIRE_QR_ITEM_STRING_REGEX_EF", ERROR, "A string answer that does not match the item's regex (the message shows its entryFormat)."),
    ("QUESTIONNAIRE_QR_ITEM_INTEGER_MIN", ERROR, "An integer answer below the item's minValue."),
    ("QUESTIONNAIRE_QR_ITEM_INTEGER_MAX", ERROR, "An integer answer above the item's maxValue."),
    ("QUESTIONNAIRE_QR_ITEM_DECIMAL_MIN", ERROR, "A decimal answer below the item's minValue."),
    ("QUESTIONNAIRE_QR_ITEM_DECIMAL_MAX", ERROR, "A decimal answer above the item's maxValue."),
    ("QUESTIONNAIRE_QR_ITEM_DATE_MIN", ERROR, "A date or dateTime answer before the item's minValue."),
    ("QUESTIONNAIRE_QR_ITEM_DATE_MAX", ERROR, "A date or dateTime answer after the item's maxValue."),
    ("QUESTIONNAIRE_QR_ITEM_TIME_MIN", ERROR, "A time answer before the item's minValue."),
    ("QUESTIONNAIRE_QR_ITEM_TIME_MAX", ERROR, "A time answer after the item's maxValue."),
    ("QUESTIONNAIRE_QR_ITEM_DECIMAL_MAX_DECIMALS", ERROR, "A decimal (or Quantity value) with more decimal places than maxDecimalPlaces."),
    ("QUESTIONNAIRE_QR_ITEM_QUANTITY_MIN", ERROR, "A Quantity answer below the item's minQuantity (UCUM units converted)."),
    ("QUESTIONNAIRE_QR_ITEM_QUANTITY_MAX", ERROR, "A Quantity answer above the item's maxQuantity (UCUM units converted)."),
    ("QUESTIONNAIRE_QR_ITEM_DECIMAL_CANNOT_COMPARE_MIN", ERROR, "A Quantity answer in a unit of another kind than the minQuantity's (kg against km)."),
    ("QUESTIONNAIRE_QR_ITEM_DECIMAL_CANNOT_COMPARE_MAX", ERROR, "A Quantity answer in a unit of another kind than the maxQuantity's (kg against km)."),
    ("QUESTIONNAIRE_QR_ITEM_DECIMAL_INVALID_UNITS", ERROR, "A Quantity answer whose unit is none of the item's unitOptions."),
    ("QUESTIONNAIRE_QR_ITEM_DECIMAL_UNIT_FAIL_VS", ERROR, "A Quantity answer whose unit is not in the item's unitValueSet (a ValueSet of the package)."),
    ("fhirrug-qr-unit-valueset-unknown", INFORMATION, "The unitValueSet is not in the package; the unit is not checked (no terminology server)."),
    ("QUESTIONNAIRE_QR_ITEM_MIN_OCCURS", ERROR, "Fewer answers (or group repetitions) than minOccurs (a warning unless status is completed or amended)."),
    ("QUESTIONNAIRE_QR_ITEM_MAX_OCCURS", ERROR, "More answers (or group repetitions) than maxOccurs."),
    ("QUESTIONNAIRE_QR_ITEM_EXCLUSIVE", ERROR, "An answerOption marked optionExclusive selected together with other answers."),
    ("QUESTIONNAIRE_QR_ITEM_NOT_ATTACHMENT_MIMETYPE", ERROR, "An attachment without contentType on an item that restricts mimeType."),
    ("QUESTIONNAIRE_QR_ITEM_BAD_ATTACHMENT_MIMETYPE", ERROR, "An attachment whose contentType is none of the item's mimeType."),
    ("QUESTIONNAIRE_QR_ITEM_BAD_ATTACHMENT_LENGTH", ERROR, "An attachment larger than the item's maxSize."),
    ("TYPE_SPECIFIC_CHECKS_DT_ATT_SIZE_CORRECT", ERROR, "An attachment whose size differs from the length of its data."),
    ("fhirrug-qr-attachment-data", ERROR, "An attachment whose data is not base64."),
    ("QUESTIONNAIRE_QR_ITEM_REF_INVALID", ERROR, "A Reference answer to a resource type the item's referenceResource does not allow."),
    ("QUESTIONNAIRE_QR_ITEM_REF_INVALID_GENERAL", ERROR, "A Reference answer to a resource type R4 does not have."),
    ("QUESTIONNAIRE_QR_ITEM_REF_CANT", WARNING, "A Reference answer whose resource type cannot be told, on an item with referenceResource."),
    ("Type_Specific_Checks_DT_UUID_Valid", ERROR, "A url answer urn:uuid: that is not a lower-case RFC 4122 UUID."),
    ("Type_Specific_Checks_DT_OID_Valid", ERROR, "A url answer urn:oid: that is not an OID."),
    ("REFERENCE_REF_INVALID_REF", ERROR, "A Reference answer whose reference is empty or contains white space."),
    ("QUESTIONNAIRE_QR_AUTHOR_START", WARNING, "authored is before the start of the Questionnaire's effectivePeriod."),
    ("QUESTIONNAIRE_QR_AUTHOR_END", WARNING, "authored is after the end of the Questionnaire's effectivePeriod."),
    ("fhirrug-enablewhen-expression", INFORMATION, "An item enabled by a FHIRPath expression, which fhirrug does not evaluate: its enabledness is not checked."),
    (INDETERMINATE, WARNING, "A constraint that cannot be decided (dates of different precision, units fhirrug cannot convert): not checked."),
    (INVALID, WARNING, "A malformed constraint on the Questionnaire (a regex that does not compile, a limit of the wrong type): not checked."),
)
