"""Property-based tests of the form schema (``models.InquiryForm``) and of storing it.

Whatever a user types — any Unicode, very long strings, control characters, full-width digits,
spaces, emoji — the form either refuses it with a message for a known field, or accepts it; then
``save_draft`` stores it and reading it back gives exactly the clean value. Nothing raises.
"""

from __future__ import annotations

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
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")

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


@st.composite
def mobiles(draw):
    """Mainland mobile numbers, maybe with full-width digits, spaces, dashes and +86."""
    digits = (
        "1" + draw(st.sampled_from("3456789")) + draw(st.text("0123456789", min_size=9, max_size=9))
    )
    if draw(st.booleans()):
        digits = digits.translate(FULL_WIDTH)
    sep = draw(spaces)
    number = f"{digits[:3]}{sep}{digits[3:7]}{sep}{digits[7:]}"
    prefix = draw(st.sampled_from(["", "+86 ", "0086", "＋８６"]))
    return draw(spaces) + prefix + number + draw(spaces)


@st.composite
def forms(draw):
    """A valid form with a few fields replaced by hostile or odd values."""
    values = valid_form().model_dump()
    for field in draw(st.sets(st.sampled_from(TEXT_FIELDS), max_size=4)):
        if field == "mobile":
            values[field] = draw(st.one_of(mobiles(), hostile))
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


@given(mobiles())
@settings(max_examples=200, deadline=None)
def test_full_width_and_spaced_mobile_numbers_are_normalised_when_valid(raw):
    form = valid_form(mobile=raw)
    errs = form.errors()
    _check_errors(errs)
    if "mobile" not in errs:
        stored = form.clean_values()["mobile"]
        assert stored.isascii() and stored.isdigit() and len(stored) == 11


@pytest.mark.parametrize(
    "value",
    ["\x00公司", "公司\u202e名称", "a" * 101, "公司\x1b[31m", "\u200b"],
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
@example(valid_form(intent="other", other_needs="第一行\n第二行\t制表").model_dump())
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
def test_accepted_input_is_stored_and_read_back_exactly(engine, users, values):
    _round_trip(engine, users["company"], values)


@given(st.text(min_size=1, max_size=2500))
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_other_needs_text_is_stored_exactly_or_refused(engine, users, text):
    _round_trip(engine, users["company"], valid_form(intent="other", other_needs=text).model_dump())
