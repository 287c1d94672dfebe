"""Input hygiene (issue 14): what a user may type into the inquiry form and the account forms.

Phone numbers keep exactly the digits typed (no letters turned into digits), no text field keeps an
invisible, control or bidi character, usernames are unique whatever their case or width, an
e-mail's local part has at most 64 characters, and every overlong value is refused with a message
saying the limit and the length it has.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import models
from dashboard import accounts, db, inquiries
from dashboard.errors import FormInvalid
from models import FIELD_LABELS, MAX_LENGTHS, InquiryForm, User
from tests.conftest import PASSWORD, valid_form

# ---------------------------------------------------------------------------------------------
# Phone numbers with letters

LETTER_PHONES = [
    ("mobile", "139-CALL-5678", "联系手机只能包含数字"),
    ("mobile", "１３９－ＣＡＬＬ－５６７８", "联系手机只能包含数字"),
    ("mobile", "138ABCD5678", "联系手机只能包含数字"),
    ("mobile", "13812345678x", "联系手机只能包含数字"),
    ("mobile", "手机13812345678", "联系手机只能包含数字"),
    ("mobile", "138ー1234ー5678", "联系手机只能包含数字"),
    ("landline", "0755-CALL-SHOP", "联系固话只能包含数字"),
    ("landline", "０７５５－ＣＡＬＬ－ＳＨＯＰ", "联系固话只能包含数字"),
    ("landline", "0755-1234567O", "联系固话只能包含数字"),
    ("landline", "O755-12345678", "联系固话只能包含数字"),
    ("landline", "0755-12345678 ext 1A", "联系固话只能包含数字"),
]


@pytest.mark.parametrize(("field", "typed", "message"), LETTER_PHONES)
def test_a_phone_number_with_letters_is_refused_naming_the_field(field, typed, message):
    errors = valid_form(**{field: typed}).errors()
    assert set(errors) == {field}
    assert errors[field].startswith(message)


@pytest.mark.parametrize(("field", "typed", "message"), LETTER_PHONES)
def test_the_phone_normalisers_turn_no_letter_into_a_digit(field, typed, message):
    normalize = models.normalize_mobile if field == "mobile" else models.normalize_landline
    assert normalize(typed) is None


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("0755-12345678转123", "0755-12345678-123"),
        ("0755-12345678分机123", "0755-12345678-123"),
        ("0755-12345678 ext 12", "0755-12345678-12"),
        ("0755-12345678 EXT. 12", "0755-12345678-12"),
        ("0755-12345678x12", "0755-12345678-12"),
        ("0755-12345678 X 12", "0755-12345678-12"),
        ("0755-12345678#12", "0755-12345678-12"),
        ("０７５５－１２３４５６７８＃１２", "0755-12345678-12"),
    ],
)
def test_the_landline_extension_markers_are_still_accepted(typed, stored):
    form = valid_form(landline=typed)
    assert form.errors() == {}
    assert form.clean_values()["landline"] == stored


# ---------------------------------------------------------------------------------------------
# Invisible, control and bidi characters

INVISIBLE = {
    "NUL": "\x00",
    "escape": "\x1b",
    "tab": "\t",
    "delete": "\x7f",
    "next line (C1)": "\x85",
    "soft hyphen": "\u00ad",
    "Arabic letter mark": "\u061c",
    "Mongolian vowel separator": "\u180e",
    "zero width space": "\u200b",
    "zero width joiner": "\u200d",
    "left-to-right mark": "\u200e",
    "line separator": "\u2028",
    "paragraph separator": "\u2029",
    "right-to-left override": "\u202e",
    "word joiner": "\u2060",
    "left-to-right isolate": "\u2066",
    "right-to-left isolate": "\u2067",
    "first strong isolate": "\u2068",
    "pop directional isolate": "\u2069",
    "byte order mark": "\ufeff",
    "interlinear annotation": "\ufff9",
    "tag A": "\U000e0041",
    "cancel tag": "\U000e007f",
    "private use": "\ue000",
    "unassigned": "\u0378",
    "Hangul filler": "\u3164",
    "ogham space mark": "\u1680",
}
INSIDE = {
    "company_name": ("深圳市测试", "进出口有限公司"),
    "address_detail": ("科技园路", "1号"),
    "contact_name": ("张", "三"),
    "other_needs": ("想了解", "费率"),
    "mobile": ("138", "12345678"),
    "landline": ("0755-", "12345678"),
    "email": ("zhang", "san@example.com"),
}


@pytest.mark.parametrize("field", list(INSIDE))
@pytest.mark.parametrize("name", list(INVISIBLE))
def test_an_invisible_or_control_character_is_refused_in_every_text_field(field, name):
    before, after = INSIDE[field]
    values = {
        "intent": "other",
        "other_needs": "想了解费率",
        field: before + INVISIBLE[name] + after,
    }
    errors = valid_form(**values).errors()
    assert set(errors) == {field}
    assert errors[field].startswith(f"{FIELD_LABELS[field]}包含不可见字符或控制字符")


@pytest.mark.parametrize("field", ["company_name", "address_detail", "contact_name"])
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_single_line_field_refuses_a_line_break(field, newline):
    errors = valid_form(**{field: f"甲{newline}乙"}).errors()
    assert set(errors) == {field}
    assert FIELD_LABELS[field] in errors[field]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("第一行\n第二行", "第一行\n第二行"),
        ("第一行\r\n第二行\r\n", "第一行\n第二行"),
        ("第一行\r第二行", "第一行\n第二行"),
        ("  缩进\n\n空一行  ", "缩进\n\n空一行"),
    ],
)
def test_other_needs_keeps_its_line_breaks_as_newlines(typed, stored):
    form = valid_form(intent="other", other_needs=typed)
    assert form.errors() == {}
    assert form.clean_values()["other_needs"] == stored


@pytest.mark.parametrize(
    "value",
    [
        "深圳市测试进出口有限公司",
        "ABC Trading Co., Ltd.",
        "😀 公司 👍🏽 ❤️ 1️⃣ 🇨🇳",
        "Café São Paulo Ελλάδα Москва",
        "中\u00a0文\u3000空格",
        "عربي עברית",
        "e\u0301",
    ],
)
def test_ordinary_text_has_no_problem(value):
    assert models.text_problem(value, "公司名称") is None
    assert models.text_problem(value, "其他需求", multiline=True) is None


def test_text_problem_names_the_field_and_the_character():
    message = models.text_problem("张\u202e三", "联系人")
    assert message.startswith("联系人包含不可见字符或控制字符")
    assert "U+202E" in message and "第2个字符" in message
    assert models.text_problem("甲\n乙", "其他需求", multiline=True) is None
    assert models.text_problem("甲\n乙", "公司名称") is not None
    assert models.text_problem(None, "公司名称") is None
    assert models.text_problem("", "公司名称") is None


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (None, None),
        ("", None),
        (" \u3000 ", None),
        ("  甲公司  ", "甲公司"),
        ("深圳（测试）公司", "深圳(测试)公司"),
        ("ＡＢＣ贸易１号", "ABC贸易1号"),
        ("ﬁnance", "finance"),
        ("甲\r\n乙", "甲\n乙"),
    ],
)
def test_clean_text_is_nfkc_and_stripped(raw, clean):
    assert models.clean_text(raw) == clean


def test_the_form_keeps_the_nfkc_form_of_what_was_typed(engine, users):
    form = valid_form(
        company_name="深圳（测试）ＡＢＣ公司",
        address_detail="科技园路１号Ａ座",
        contact_name="Ｌｉ Ｌｅｉ",
        mobile="１３８ １２３４ ５６７８",
        email="ｚｈａｎｇ@example.com",
        intent="other",
        other_needs="费率？\r\n期限：１年",
    )
    assert form.errors() == {}
    with db.session_scope(engine) as s:
        saved_id = inquiries.save_draft(s, actor=users["company"], form=form).id
    with db.session_scope(engine, write=False) as s:
        stored = inquiries.get(s, actor=users["company"], inquiry_id=saved_id)
        assert (
            stored.company_name,
            stored.address_detail,
            stored.contact_name,
            stored.mobile,
            stored.email,
            stored.other_needs,
        ) == (
            "深圳(测试)ABC公司",
            "科技园路1号A座",
            "Li Lei",
            "13812345678",
            "zhang@example.com",
            "费率?\n期限:1年",
        )


# ---------------------------------------------------------------------------------------------
# Usernames


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("staff", "staff"),
        ("  Staff ", "staff"),
        ("STAFF", "staff"),
        ("ｓｔａｆｆ", "staff"),
        ("ＳＴＡＦＦ", "staff"),
        ("张三", "张三"),
        ("Émile", "émile"),
        (None, ""),
    ],
)
def test_a_username_is_normalized_to_nfkc_lower_case(raw, normalized):
    assert models.normalize_username(raw) == normalized


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("staff", None),
        ("张三", None),
        ("li.lei-2026_x", None),
        ("", "请填写用户名"),
        ("a" * 65, "用户名不能超过64个字符（现有65个）"),
        ("li lei", "用户名不能包含空格"),
        ("staff\u200b", "用户名包含不可见字符或控制字符"),
        ("ad\u202enimda", "用户名包含不可见字符或控制字符"),
        ("staff\x00", "用户名包含不可见字符或控制字符"),
    ],
)
def test_a_username_problem_is_named(name, expected):
    problem = models.username_problem(name)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and problem.startswith(expected)


def _create(s, username, **kwargs):
    return accounts.create_user(
        s, username=username, password=PASSWORD, role=kwargs.pop("role", "staff"), **kwargs
    )


@pytest.mark.parametrize("twin", ["STAFF", "Staff", "ｓｔａｆｆ", " staff ", "ＳＴＡＦＦ"])
def test_a_username_taken_in_another_case_or_width_is_refused(engine, users, twin):
    with db.session_scope(engine) as s, pytest.raises(FormInvalid) as caught:
        _create(s, twin)
    assert caught.value.errors == {"username": "用户名已被使用"}


@pytest.mark.parametrize(
    "name", ["new\u200buser", "ad\u202enimda", "new\u2060user", "new\U000e0041user", "new\tuser"]
)
def test_a_username_with_an_invisible_character_is_refused(engine, name):
    with db.session_scope(engine) as s, pytest.raises(FormInvalid) as caught:
        _create(s, name)
    assert set(caught.value.errors) == {"username"}
    assert "用户名" in caught.value.errors["username"]


def test_a_new_username_is_stored_normalized_and_found_in_any_case(engine):
    with db.session_scope(engine) as s:
        _create(s, "  ＬｉＬｅｉ ")
    with db.session_scope(engine, write=False) as s:
        assert [u.username for u in s.exec(sa.select(User.username))] == ["lilei"]
        for typed in ("lilei", "LILEI", "LiLei", "ｌｉｌｅｉ", " lilei "):
            assert accounts.get_by_username(s, typed).username == "lilei"
    with db.session_scope(engine) as s:
        assert accounts.authenticate(s, username="LiLei", password=PASSWORD) is not None


@pytest.mark.parametrize("typed", ["sta\x00ff", "staff\u200b", "\u202estaff", "", "   "])
def test_a_username_with_a_control_character_finds_no_account_and_raises_nothing(
    engine, users, typed
):
    with db.session_scope(engine) as s:
        assert accounts.get_by_username(s, typed) is None
        assert accounts.authenticate(s, username=typed, password=PASSWORD) is None


def _insert_legacy(engine, username):
    """An account created before usernames were normalized (capitals or full-width kept)."""
    with db.session_scope(engine) as s:
        s.add(User(username=username, password_hash=accounts.hash_password(PASSWORD), role="staff"))


@pytest.mark.parametrize(
    ("stored", "typed"),
    [("Staff", "staff"), ("Staff", "Staff"), ("Staff", "STAFF"), ("ｓｔａｆｆ", "ｓｔａｆｆ")],
)
def test_an_account_created_with_capitals_still_logs_in(engine, stored, typed):
    _insert_legacy(engine, stored)
    with db.session_scope(engine) as s:
        user = accounts.authenticate(s, username=typed, password=PASSWORD)
        assert user is not None and user.username == stored


def test_a_case_twin_of_an_account_created_with_capitals_is_refused(engine):
    _insert_legacy(engine, "Staff")
    with db.session_scope(engine) as s, pytest.raises(FormInvalid) as caught:
        _create(s, "staff")
    assert caught.value.errors == {"username": "用户名已被使用"}


def test_the_database_refuses_two_usernames_differing_only_in_case(engine):
    _insert_legacy(engine, "Staff")
    with pytest.raises(sa.exc.IntegrityError):
        _insert_legacy(engine, "STAFF")


def test_the_migration_names_usernames_that_already_differ_only_in_case(tmp_path):
    from alembic import command

    engine = db.create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(db.alembic_config(engine), "0009_bulk_load_journal")
    with engine.begin() as conn:
        for name in ("Staff", "staff", "Zhang", "zhang", "lisi"):
            conn.execute(
                sa.text(
                    "INSERT INTO user_account (username, password_hash, role, is_active, "
                    "failed_logins, must_change_password, created_at) "
                    "VALUES (:name, 'x', 'staff', 1, 0, 0, '2026-01-01 00:00:00')"
                ),
                {"name": name},
            )
    with pytest.raises(RuntimeError, match="differ only in case.*staff, zhang"):
        command.upgrade(db.alembic_config(engine), "0010_username_ci")
    engine.dispose()


@pytest.mark.parametrize("existing", ["staff", "Staff"])
def test_a_lost_race_for_a_username_is_refused_and_the_session_stays_usable(
    engine, monkeypatch, existing
):
    # Both creators looked before either wrote: the unique indexes decide ("Staff", an account
    # from before normalization, is caught only by the one on lower(username)).
    _insert_legacy(engine, existing)
    monkeypatch.setattr(accounts, "get_by_username", lambda session, username: None)
    with db.session_scope(engine) as s:
        with pytest.raises(FormInvalid) as caught:
            _create(s, "STAFF")
        assert caught.value.errors == {"username": "用户名已被使用"}
        _create(s, "another")
    with db.session_scope(engine, write=False) as s:
        assert sorted(s.exec(sa.select(User.username)).scalars()) == sorted(["another", existing])


# ---------------------------------------------------------------------------------------------
# E-mail local part


LOCAL_64 = "a" * 64
LOCAL_65 = "a" * 65


def test_an_email_local_part_of_64_characters_is_accepted():
    form = valid_form(email=f"{LOCAL_64}@example.com")
    assert form.errors() == {}
    assert accounts._email_problem(f"{LOCAL_64}@example.com") is None


def test_an_email_local_part_of_65_characters_is_refused_by_the_form():
    errors = valid_form(email=f"{LOCAL_65}@example.com").errors()
    assert errors == {"email": "联系邮箱格式不正确（@ 前不能超过64个字符，现有65个）"}


def test_an_email_local_part_of_65_characters_is_refused_for_an_account(engine):
    assert accounts._normalized_email(f"{LOCAL_65}@example.com") is None
    with db.session_scope(engine) as s, pytest.raises(FormInvalid) as caught:
        _create(s, "newbie", email=f"{LOCAL_65}@example.com")
    assert caught.value.errors == {"email": "邮箱格式不正确（@ 前不能超过64个字符，现有65个）"}


# ---------------------------------------------------------------------------------------------
# Long pastes


@pytest.mark.parametrize("field", list(MAX_LENGTHS))
@pytest.mark.parametrize("extra", [1, 10_000])
def test_an_overlong_value_is_refused_with_the_limit_and_its_length(field, extra):
    limit = MAX_LENGTHS[field]
    length = limit + extra
    value = "1" * length if field in ("mobile", "landline") else "文" * length
    errors = valid_form(**{"intent": "other", "other_needs": "想了解费率", field: value}).errors()
    assert errors == {field: f"{FIELD_LABELS[field]}不能超过{limit}个字符（现有{length}个）"}


def test_a_value_at_the_limit_is_not_refused_for_its_length():
    form = valid_form(
        company_name="文" * MAX_LENGTHS["company_name"],
        address_detail="文" * MAX_LENGTHS["address_detail"],
        contact_name="文" * MAX_LENGTHS["contact_name"],
        intent="other",
        other_needs="文" * MAX_LENGTHS["other_needs"],
    )
    assert form.errors() == {}


def test_the_form_error_keys_are_the_known_fields():
    assert set(InquiryForm().errors()) <= set(FIELD_LABELS)
