"""The form schema: every field's good and bad values, and messages naming the field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models import FIELD_LABELS, InquiryForm, normalize_landline, normalize_mobile
from tests.conftest import valid_form


def test_a_complete_form_has_no_errors():
    assert valid_form().errors() == {}


def test_an_empty_form_names_every_required_field():
    errors = InquiryForm().errors()
    assert set(errors) == {
        "company_name",
        "region",
        "address_detail",
        "contact_name",
        "mobile",
        "landline",
        "email",
    }
    for field, message in errors.items():
        assert FIELD_LABELS[field] in message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("company_name", ""),
        ("company_name", "   "),
        ("company_name", "公" * 101),
        ("company_name", "甲公司\x00"),
        ("address_detail", ""),
        ("address_detail", "路" * 201),
        ("contact_name", ""),
        ("contact_name", "张\u202e三"),
        ("mobile", ""),
        ("mobile", "12812345678"),
        ("mobile", "1381234567"),
        ("mobile", "138123456789"),
        ("mobile", "0755-12345678"),
        ("mobile", "abc"),
        ("mobile", "+1 650 253 0000"),
        ("landline", ""),
        ("landline", "12345678"),
        ("landline", "13812345678"),
        ("landline", "010-123"),
        ("landline", "+1 650 253 0000"),
        ("email", ""),
        ("email", "not-an-email"),
        ("email", "a@b"),
        ("email", "a@@example.com"),
        ("intent", "buy"),
        ("intent", None),
        ("other_needs", "x" * 2001),
    ],
)
def test_a_wrong_value_is_refused_with_the_field_named(field, value):
    errors = valid_form(**{field: value}).errors()
    assert field in errors
    assert FIELD_LABELS[field] in errors[field]


def test_other_needs_is_required_only_for_the_other_intent():
    assert valid_form(intent="other").errors() == {
        "other_needs": "选择“我有其他需求”时请填写其他需求"
    }
    assert valid_form(intent="other", other_needs="想了解费率").errors() == {}
    assert valid_form(intent="buyer_credit").errors() == {}


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("13812345678", "13812345678"),
        (" 138 1234 5678 ", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("19912345678", "19912345678"),
    ],
)
def test_mobile_numbers_are_accepted_in_common_spellings(raw, stored):
    assert normalize_mobile(raw) == stored


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("010-12345678", "010-12345678"),
        ("(010)87654321", "010-87654321"),
        ("021 6123 4567", "021-61234567"),
        ("0755-12345678", "0755-12345678"),
        ("0755-12345678-123", "0755-12345678-123"),
        ("0755-12345678转123", "0755-12345678-123"),
        ("0755 12345678 ext 12", "0755-12345678-12"),
        ("０１０－１２３４５６７８", "010-12345678"),
    ],
)
def test_landlines_need_an_area_code_and_may_have_an_extension(raw, stored):
    assert normalize_landline(raw) == stored


def test_region_must_be_a_real_chain():
    assert valid_form(city_code="440100", district_code="440305").errors()["region"]
    assert valid_form(district_code=None).errors()["region"] == "请选择注册地址的区"
    assert "region" in valid_form(province_code="999999").errors()
    # Municipality: province → district, no city.
    assert valid_form(province_code="110000", city_code=None, district_code="110101").errors() == {}
    assert (
        "region"
        in valid_form(province_code="110000", city_code="440300", district_code="110101").errors()
    )
    # City without districts, and a province-level county.
    assert valid_form(city_code="441900", district_code=None).errors() == {}
    assert valid_form(province_code="410000", city_code="419001", district_code=None).errors() == {}


def test_clean_values_are_normalised():
    values = valid_form(
        mobile="+86 138-1234-5678",
        landline="(0755)12345678",
        email="ZhangSan@Example.COM",
        company_name="  甲公司  ",
    ).clean_values()
    assert values["mobile"] == "13812345678"
    assert values["landline"] == "0755-12345678"
    assert values["email"] == "ZhangSan@example.com"
    assert values["company_name"] == "甲公司"


def test_utc_datetime_refuses_naive_times():
    from sqlalchemy.dialects import sqlite

    from models import UTCDateTime

    with pytest.raises(ValueError):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1), sqlite.dialect())
    aware = datetime(2026, 1, 1, 8, tzinfo=UTC)
    stored = UTCDateTime().process_bind_param(aware, sqlite.dialect())
    assert UTCDateTime().process_result_value(stored, sqlite.dialect()) == aware
