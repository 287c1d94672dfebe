"""Property-based tests of the form schema (``models.InquiryForm``) and of storing it.

Whatever a user types — any Unicode, very long strings, control characters, full-width digits,
spaces, emoji — the form either refuses it with a message for a known field, or accepts it; then
``save_draft`` stores it and reading it back gives exactly the clean value. Nothing raises.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from dashboard import db, inquiries
from models import FIELD_LABELS, InquiryForm
from tests.conftest import valid_form

TEXT_FIELDS = (
    "company_name",
    "address_detail",
    "contact_name",
    "mobile",
    "landline",
    "email",
    "other_needs",
    "intent",
    "province_code",
    "city_code",
    "district_code",
)
KNOWN_ERROR_KEYS = set(FIELD_LABELS) - {"serial"}
INSIDE_FIELDS = ("company_name", "address_detail", "contact_name", "other_needs")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
FULL_WIDTH_LETTERS = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ",
)
#: The letters a phone keypad puts on each digit (phonenumbers reads them as those digits).
KEYPAD = {
    "2": "ABC",
    "3": "DEF",
    "4": "GHI",
    "5": "JKL",
    "6": "MNO",
    "7": "PQRS",
    "8": "TUV",
    "9": "WXYZ",
    "0": "O",
    "1": "I",
}

REFUSED_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def visible_text(**kwargs):
    """Text a form may accept: no control, format, private-use or unassigned character (and
    line breaks, which only multi-line fields accept)."""
    return st.text(
        alphabet=st.one_of(
            st.characters(exclude_categories=REFUSED_CATEGORIES), st.sampled_from("\n\r")
        ),
        min_size=1,
        **kwargs,
    )


any_text = st.text(max_size=300)
long_text = st.text(min_size=90, max_size=2500)
controls = st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zl", "Zp"]), min_size=1)
emoji = st.text(alphabet=st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF), min_size=1)
spaces = st.text(alphabet=" \t\u3000\u00a0", max_size=4)
hostile = st.one_of(
    any_text,
    long_text,
    controls,
    emoji,
    st.builds(lambda a, b, c: a + b + c, any_text, controls, any_text),
    st.sampled_from(["=1+1", "<script>alert(1)</script>", "**粗体**", "[x](http://e.x)", "\\"]),
)


def _with_letters(draw, digits: str) -> str:
    """Some of ``digits`` spelled as the keypad letters for them ("CALL" for 2255)."""
    chars = list(digits)
    for i in draw(st.sets(st.integers(0, len(chars) - 1), min_size=1, max_size=4)):
        if chars[i] in KEYPAD:
            letter = draw(st.sampled_from(KEYPAD[chars[i]]))
            chars[i] = letter.lower() if draw(st.booleans()) else letter
    spelled = "".join(chars)
    return spelled.translate(FULL_WIDTH_LETTERS) if draw(st.booleans()) else spelled


@st.composite
def mobiles(draw):
    """Mainland mobile numbers, maybe with full-width digits, spaces, dashes and +86, and
    sometimes with digits spelled as keypad letters (which must be refused, not converted)."""
    digits = (
        "1" + draw(st.sampled_from("3456789")) + draw(st.text("0123456789", min_size=9, max_size=9))
    )
    if draw(st.integers(0, 3)) == 0:
        digits = digits[:2] + _with_letters(draw, digits[2:])
    if draw(st.booleans()):
        digits = digits.translate(FULL_WIDTH)
    sep = draw(spaces)
    number = f"{digits[:3]}{sep}{digits[3:7]}{sep}{digits[7:]}"
    prefix = draw(st.sampled_from(["", "+86 ", "0086", "＋８６"]))
    return draw(spaces) + prefix + number + draw(spaces)


@st.composite
def landlines(draw):
    """Mainland fixed-line numbers, as ``mobiles`` (area code, maybe an extension)."""
    area = draw(st.sampled_from(["010", "021", "0755", "0571", "0898"]))
    number = draw(st.sampled_from("2345678")) + draw(st.text("0123456789", min_size=7, max_size=7))
    if draw(st.integers(0, 3)) == 0:
        number = number[:1] + _with_letters(draw, number[1:])
    sep = draw(st.sampled_from(["-", " ", "", "－", "—"]))
    text = f"{area}{sep}{number}"
    if draw(st.booleans()):
        text += draw(st.sampled_from(["转", "分机", " ext ", "x", "#", "-"])) + draw(
            st.text("0123456789", min_size=1, max_size=4)
        )
    if draw(st.booleans()):
        text = text.translate(FULL_WIDTH)
    return draw(spaces) + text + draw(spaces)


def _typed_digits(raw: str) -> tuple[str, bool]:
    """The digits in what was typed (full-width ones too) without a +86 / 0086 prefix, and
    whether there was such a prefix."""
    text = unicodedata.normalize("NFKC", raw).strip()
    international = text.startswith(("+86", "0086"))
    if international:
        text = text.removeprefix("+86").removeprefix("0086")
    return "".join(c for c in text if c in "0123456789"), international


def _assert_mobile_is_the_digits_typed(raw: str, stored: str) -> None:
    assert stored.isascii() and stored.isdigit() and len(stored) == 11
    assert stored == _typed_digits(raw)[0], (raw, stored)


def _assert_landline_is_the_digits_typed(raw: str, stored: str) -> None:
    typed, international = _typed_digits(raw)
    digits = stored.replace("-", "")
    assert stored.isascii() and digits.isdigit()
    # After +86 the area code's leading 0 is left out ("+86 10 …"); the stored form has it.
    assert digits in ({typed, "0" + typed} if international else {typed}), (raw, stored)


@st.composite
def forms(draw):
    """A valid form with a few fields replaced by hostile or odd values."""
    values = valid_form().model_dump()
    for field in draw(st.sets(st.sampled_from(TEXT_FIELDS), max_size=4)):
        if field == "mobile":
            values[field] = draw(st.one_of(mobiles(), hostile))
        elif field == "landline":
            values[field] = draw(st.one_of(landlines(), hostile))
        else:
            values[field] = draw(st.one_of(hostile, st.none()))
    return values


def _check_errors(errs: dict) -> None:
    assert set(errs) <= KNOWN_ERROR_KEYS, errs
    assert all(isinstance(m, str) and m.strip() for m in errs.values())


@given(forms())
@settings(max_examples=400, deadline=None)
def test_the_form_never_raises_and_errors_name_known_fields(values):
    form = InquiryForm(**values)
    errs = form.errors()
    _check_errors(errs)
    if not errs:
        clean = form.clean_values()
        for value in clean.values():
            assert value is None or isinstance(value, str)
            if isinstance(value, str):
                assert value == value.strip() and value
        _assert_mobile_is_the_digits_typed(values["mobile"], clean["mobile"])
        _assert_landline_is_the_digits_typed(values["landline"], clean["landline"])


@given(mobiles())
@example("139-CALL-5678")
@example("＋８６ １３９ ＣＡＬＬ ５６７８")
@settings(max_examples=200, deadline=None)
def test_an_accepted_mobile_number_is_exactly_the_digits_typed(raw):
    form = valid_form(mobile=raw)
    errs = form.errors()
    _check_errors(errs)
    if "mobile" not in errs:
        _assert_mobile_is_the_digits_typed(raw, form.clean_values()["mobile"])
    elif any(c.isalpha() for c in unicodedata.normalize("NFKC", raw)):
        assert errs["mobile"].startswith(("联系手机只能包含数字", "联系手机包含不可见字符"))


@given(landlines())
@example("0755-CALL-SHOP")
@example("０７５５－ＣＡＬＬ－ＳＨＯＰ转１２")
@settings(max_examples=200, deadline=None)
def test_an_accepted_landline_is_exactly_the_digits_typed(raw):
    form = valid_form(landline=raw)
    errs = form.errors()
    _check_errors(errs)
    if "landline" not in errs:
        _assert_landline_is_the_digits_typed(raw, form.clean_values()["landline"])


def _invisible(text: str) -> list[str]:
    return [
        c
        for c in text
        if unicodedata.category(c) in REFUSED_CATEGORIES
        or (unicodedata.category(c) == "Zs" and c != " ")
    ]


@given(st.one_of(hostile, visible_text(max_size=120)), st.sampled_from(list(INSIDE_FIELDS)))
@example("公司\u2060名称", "company_name")
@example("第一行\u00ad\n第二行\U000e0041", "other_needs")
@settings(max_examples=300, deadline=None)
def test_accepted_text_has_no_invisible_or_control_character(text, field):
    form = valid_form(**{"intent": "other", "other_needs": "想了解费率", field: text})
    errs = form.errors()
    _check_errors(errs)
    if field not in errs:
        stored = form.clean_values()[field]
        allowed = "\n" if field == "other_needs" else ""
        assert [c for c in _invisible(stored) if c not in allowed] == [], (text, stored)
    elif _invisible(text.replace("\n", "").replace("\r", "")):
        assert FIELD_LABELS[field] in errs[field]


@pytest.mark.parametrize(
    "value",
    [
        "\x00公司",
        "公司\u202e名称",
        "a" * 101,
        "公司\x1b[31m",
        "\u200b",
        "公司\u2060名称",
        "公\u00ad司",
        "公司\u061c",
        "\u2066公司\u2069",
        "公司\U000e0041",
    ],
)
def test_control_characters_and_overlong_names_are_refused_with_a_message(value):
    errs = valid_form(company_name=value).errors()
    assert "company_name" in errs


def _round_trip(engine, actor, values):
    form = InquiryForm(**values)
    errs = form.errors()
    _check_errors(errs)
    assume(not errs)  # refused values are covered above; here we store the accepted ones
    clean = form.clean_values()
    with db.session_scope(engine) as s:
        saved_id = inquiries.save_draft(s, actor=actor, form=form).id
    with db.session_scope(engine, write=False) as s:
        stored = inquiries.get(s, actor=actor, inquiry_id=saved_id)
        assert {k: getattr(stored, k) for k in clean} == clean


@given(forms())
@example(valid_form(company_name="  😀 公司 <b>x</b> **y**  ").model_dump())
@example(valid_form(mobile="１３８ １２３４ ５６７８").model_dump())
@example(valid_form(intent="other", other_needs="第一行\r\n第二行  缩进").model_dump())
@example(valid_form(company_name="深圳（测试）ＡＢＣ公司").model_dump())
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
def test_accepted_input_is_stored_and_read_back_exactly(engine, users, values):
    _round_trip(engine, users["company"], values)


@given(st.one_of(st.text(min_size=1, max_size=2500), visible_text(max_size=2500)))
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
def test_any_other_needs_text_is_stored_exactly_or_refused(engine, users, text):
    _round_trip(engine, users["company"], valid_form(intent="other", other_needs=text).model_dump())
