"""投保咨询 (the enterprise entry form) through AppTest: layout, region cascade, validation,
save / edit / submit, 新增, and that a company never sees another company's inquiry."""

from __future__ import annotations

import json
import re

import pytest
from sqlmodel import select
from streamlit.proto.Dataframe_pb2 import Dataframe as DataframeProto
from streamlit.testing.v1 import AppTest

from dashboard import clock, db, inquiries, regions, sessions
from dashboard.views import common
from dashboard.views.entry_state import STATE_KEY, WIDGET_KEYS
from models import Inquiry
from tests.conftest import PASSWORD, valid_form
from tests.views.conftest import APP, login

TYPED = {
    "address_detail": "科技园南路88号",
    "contact_name": "王五",
    "mobile": "13912345678",
    "landline": "0755-87654321",
    "email": "wangwu@example.com",
}


def _open(app: AppTest) -> AppTest:
    login(app, "company", PASSWORD)
    assert not app.exception
    return app


def _widget(at: AppTest, field: str):
    key = WIDGET_KEYS[field]
    for kind in (at.text_input, at.text_area, at.selectbox, at.radio):
        found = [w for w in kind if w.key == key]
        if found:
            return found[0]
    raise LookupError(field)


def _type(at: AppTest, **values: str) -> None:
    for field, value in values.items():
        _widget(at, field).set_value(value)


def _region(at: AppTest, province: str, city: str | None, district: str | None) -> None:
    at.selectbox(key=WIDGET_KEYS["province_code"]).set_value(province).run()
    if city:
        at.selectbox(key=WIDGET_KEYS["city_code"]).set_value(city).run()
    if district:
        at.selectbox(key=WIDGET_KEYS["district_code"]).set_value(district).run()


def _fill_valid(at: AppTest) -> None:
    _region(at, "440000", "440300", "440305")
    _type(at, **TYPED)


def _click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception
    return at


def _buttons(at: AppTest) -> list[str]:
    return [b.label for b in at.main.button]


def _errors(at: AppTest) -> str:
    return "\n".join(e.value for e in at.error)


def _stored(engine) -> list[Inquiry]:
    with db.session_scope(engine, write=False) as session:
        return list(session.exec(select(Inquiry).order_by(Inquiry.id)).all())


def _select_row(at: AppTest, index: int) -> AppTest:
    key = at.session_state[STATE_KEY].list_key
    at.session_state[key] = {"selection": {"rows": [index], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    return at


def _row_index(at: AppTest, serial: str) -> int:
    return list(at.dataframe[0].value["询保流水号"]).index(serial)


def _draft_and_submitted(users) -> tuple[Inquiry, Inquiry]:
    with db.session_scope() as session:
        draft = inquiries.save_draft(
            session, actor=users["company"], form=valid_form(contact_name="草稿联系人")
        )
        sent = inquiries.submit(
            session, actor=users["company"], form=valid_form(contact_name="已提交联系人")
        )
    return draft, sent


# --------------------------------------------------------------------------------------------
# Layout


def test_the_form_follows_the_guide_with_starred_labels_and_the_company_prefilled(app, users):
    at = _open(app)
    assert [t.value for t in at.title] == ["询保申请"]
    assert any("中国出口信用保险公司将及时与您联系" in m.value for m in at.markdown)
    labels = [t.label for t in at.text_input if t.key != "entry_city_none"]
    plain = [label.removeprefix("*") for label in labels]
    assert plain == [
        "询保流水号",
        "公司名称",
        "详细地址",
        "联系人",
        "联系手机",
        "联系固话",
        "联系邮箱",
    ]
    assert labels[0] == "询保流水号"  # read-only, no star
    assert all(label.startswith("*") for label in labels[1:])
    assert [s.label for s in at.selectbox] == ["省/市", "市", "区"]
    assert any(m.value == "*注册地址" for m in at.markdown)
    assert at.radio[0].label == "*询保内容"
    assert at.radio[0].options == ["我要投保", "我要调查买方资信", "我有其他需求"]
    assert at.radio[0].value == "insure"
    assert [t.label for t in at.text_area] == ["其他需求"]
    assert at.text_input[0].value == "" and at.text_input[0].disabled
    assert _widget(at, "company_name").value == "甲公司进出口有限公司"
    assert _buttons(at)[:3] == ["新增", "保存", "提交"]
    panel = "\n".join(m.value for m in at.markdown)
    for heading in ("出口信用保险", "四大功能", "承担的风险", "可选择的产品/服务", "029-95198"):
        assert heading in panel
    assert [s.value for s in at.subheader] == ["询保申请列表"]


# --------------------------------------------------------------------------------------------
# Region cascade


def test_changing_the_province_clears_city_and_district(app, users):
    at = _open(app)
    assert at.selectbox(key=WIDGET_KEYS["province_code"]).value is None
    _region(at, "440000", "440300", "440305")
    assert at.selectbox(key=WIDGET_KEYS["district_code"]).value == "440305"
    shenzhen = [d.name for d in regions.districts("440000", "440300")]
    assert at.selectbox(key=WIDGET_KEYS["district_code"]).options == shenzhen

    at.selectbox(key=WIDGET_KEYS["province_code"]).set_value("320000").run()
    city = at.selectbox(key=WIDGET_KEYS["city_code"])
    assert city.value is None
    assert city.options == [c.name for c in regions.cities("320000")]
    district = at.selectbox(key="entry_district_none")
    assert district.disabled and district.placeholder == "请先选择市"
    assert WIDGET_KEYS["district_code"] not in [s.key for s in at.selectbox]


def test_a_municipality_skips_the_city_level_and_saves(app, users, engine):
    at = _open(app)
    _region(at, "110000", None, None)
    city = at.selectbox(key="entry_city_none")
    assert city.disabled and "直辖市" in city.placeholder
    district = at.selectbox(key=WIDGET_KEYS["district_code"])
    assert district.options == [d.name for d in regions.districts("110000")]
    district.set_value("110105").run()
    _type(at, **TYPED)
    _click(at, "保存")
    assert not at.error
    [stored] = _stored(engine)
    assert (stored.province_code, stored.city_code, stored.district_code) == (
        "110000",
        None,
        "110105",
    )


def test_a_city_without_districts_needs_no_district(app, users, engine):
    at = _open(app)
    _region(at, "440000", "441900", None)  # 东莞市
    district = at.selectbox(key="entry_district_none")
    assert district.disabled and "无需选择" in district.placeholder
    _type(at, **TYPED)
    _click(at, "保存")
    assert not at.error
    [stored] = _stored(engine)
    assert (stored.city_code, stored.district_code) == ("441900", None)


# --------------------------------------------------------------------------------------------
# Validation


def test_every_wrong_field_is_named_and_the_typed_values_stay(app, users, engine):
    at = _open(app)
    _type(
        at,
        company_name="",
        address_detail="",
        contact_name="",
        mobile="12345",
        landline="12345678",
        email="not-an-email",
    )
    _widget(at, "intent").set_value("other")
    _click(at, "保存")
    message = _errors(at)
    for label in (
        "公司名称",
        "注册地址",
        "详细地址",
        "联系人",
        "联系手机",
        "联系固话",
        "联系邮箱",
        "其他需求",
    ):
        assert f"**{label}**" in message, label
    assert "联系手机格式不正确" in message and "联系固话格式不正确" in message
    assert not at.success
    assert _widget(at, "mobile").value == "12345"
    assert _widget(at, "landline").value == "12345678"
    assert _widget(at, "email").value == "not-an-email"
    assert _widget(at, "intent").value == "other"
    assert _stored(engine) == []

    # A half-chosen region names the missing level; 提交 validates the same way (no dialog).
    _region(at, "440000", None, None)
    _type(at, company_name="甲公司", other_needs="需要了解保费")
    _click(at, "提交")
    message = _errors(at)
    assert "请选择注册地址的市" in message
    assert "其他需求" not in message and "公司名称" not in message
    assert "确认提交" not in [b.label for b in at.button]
    assert _widget(at, "other_needs").value == "需要了解保费"


def test_empty_required_fields_are_reported_one_by_one(app, users):
    at = _open(app)
    _click(at, "保存")
    message = _errors(at)
    for expected in (
        "请选择注册地址的省/市",
        "请填写详细地址",
        "请填写联系人",
        "请填写联系手机",
        "请填写联系固话",
        "请填写联系邮箱",
    ):
        assert expected in message
    assert "公司名称" not in message  # pre-filled from the account


# --------------------------------------------------------------------------------------------
# Save, edit, submit


def test_saving_creates_a_draft_with_a_serial_and_saving_again_keeps_it(app, users, engine):
    at = _open(app)
    _fill_valid(at)
    _type(at, mobile="+86 139 1234 5678")
    _click(at, "保存")
    assert not at.error
    [stored] = _stored(engine)
    assert re.fullmatch(r"\d{18}", stored.serial)
    assert stored.status == "draft" and stored.owner_id == users["company"].id
    assert stored.serial in at.success[0].value
    assert at.text_input[0].value == stored.serial
    assert _widget(at, "mobile").value == "13912345678"  # the stored, normalised number
    table = at.dataframe[0].value
    assert list(table.columns) == [  # one company name throughout: no column repeating it
        "询保流水号",
        "联系人",
        "联系电话",
        "联系邮箱",
        "询保内容",
        "提交日期",
        "申请状态",
    ]
    assert table.iloc[0].to_dict() == {
        "询保流水号": stored.serial,
        "联系人": "王五",
        "联系电话": "13912345678",
        "联系邮箱": "wangwu@example.com",
        "询保内容": "我要投保",
        "提交日期": "",
        "申请状态": "暂存",
    }

    _type(at, contact_name="赵六")
    _click(at, "保存")
    [again] = _stored(engine)
    assert (again.id, again.serial, again.contact_name) == (stored.id, stored.serial, "赵六")
    assert again.version == stored.version + 1
    assert list(at.dataframe[0].value["联系人"]) == ["赵六"]


def test_clicking_a_draft_row_loads_it_for_editing(app, users, engine):
    draft, _ = _draft_and_submitted(users)
    at = _open(app)
    table = at.dataframe[0].value
    assert list(table["申请状态"]) == ["已提交", "暂存"]  # newest first
    _select_row(at, _row_index(at, draft.serial))
    assert at.text_input[0].value == draft.serial
    assert _widget(at, "contact_name").value == "草稿联系人"
    assert at.selectbox(key=WIDGET_KEYS["district_code"]).value == "440305"
    assert not _widget(at, "contact_name").disabled
    assert _buttons(at)[:3] == ["新增", "保存", "提交"]

    _type(at, contact_name="改过的联系人")
    _click(at, "保存")
    [stored] = [i for i in _stored(engine) if i.id == draft.id]
    assert (stored.serial, stored.contact_name) == (draft.serial, "改过的联系人")


def test_clicking_a_submitted_row_shows_it_read_only_with_status_and_dates(app, users):
    _, sent = _draft_and_submitted(users)
    at = _open(app)
    _select_row(at, _row_index(at, sent.serial))
    assert at.text_input[0].value == sent.serial
    assert _widget(at, "contact_name").value == "已提交联系人"
    fields = [*at.text_input, *at.text_area, *at.selectbox, *at.radio]
    assert all(w.disabled for w in fields)
    assert "保存" not in _buttons(at) and "提交" not in _buttons(at)
    info = at.info[0].value
    submitted = clock.local_time(sent.submitted_at).strftime("%Y-%m-%d %H:%M")
    assert "已提交" in info and f"提交日期：{submitted}" in info


def test_submit_asks_for_confirmation_then_the_form_turns_read_only(app, users, engine):
    at = _open(app)
    _fill_valid(at)
    _click(at, "提交")
    assert "确认提交" in [b.label for b in at.button]
    assert _stored(engine) == []  # nothing is written before the confirmation

    _click(at, "确认提交")
    [stored] = _stored(engine)
    assert stored.status == "submitted" and stored.submitted_at is not None
    assert "已提交" in at.success[0].value
    assert "保存" not in _buttons(at) and "提交" not in _buttons(at)
    assert _widget(at, "contact_name").disabled
    row = at.dataframe[0].value.iloc[0]
    assert row["申请状态"] == "已提交"
    assert row["提交日期"] == clock.local_time(stored.submitted_at).strftime("%Y-%m-%d")


def test_cancelling_the_submit_dialog_submits_nothing(app, users, engine):
    at = _open(app)
    _fill_valid(at)
    _click(at, "提交")
    _click(at, "取消")
    assert _stored(engine) == []
    assert _widget(at, "contact_name").value == "王五"
    assert "确认提交" not in [b.label for b in at.button]


# --------------------------------------------------------------------------------------------
# 新增


def test_new_clears_the_form_and_asks_first_when_there_are_unsaved_changes(app, users):
    at = _open(app)
    _fill_valid(at)
    _widget(at, "intent").set_value("buyer_credit")
    _click(at, "保存")
    serial = at.text_input[0].value
    assert serial

    _type(at, contact_name="未保存的修改")
    _click(at, "新增")
    assert "放弃修改" in [b.label for b in at.button]
    _click(at, "继续编辑")
    assert _widget(at, "contact_name").value == "未保存的修改"
    assert at.text_input[0].value == serial

    _click(at, "新增")
    _click(at, "放弃修改")
    assert at.text_input[0].value == ""
    assert _widget(at, "company_name").value == "甲公司进出口有限公司"
    assert _widget(at, "contact_name").value == ""
    assert _widget(at, "intent").value == "insure"
    assert at.selectbox(key=WIDGET_KEYS["province_code"]).value is None


def test_new_on_an_unchanged_form_clears_it_without_asking(app, users):
    draft, _ = _draft_and_submitted(users)
    at = _open(app)
    _select_row(at, _row_index(at, draft.serial))
    _click(at, "新增")
    assert "放弃修改" not in [b.label for b in at.button]
    assert at.text_input[0].value == ""
    assert _widget(at, "contact_name").value == ""


# --------------------------------------------------------------------------------------------
# Isolation and access


def test_another_companys_inquiry_is_never_shown_even_with_a_tampered_session(app, users):
    with db.session_scope() as session:
        other = inquiries.save_draft(
            session, actor=users["company2"], form=valid_form(contact_name="乙公司的联系人")
        )
    at = _open(app)
    assert not at.dataframe  # company has no inquiries of its own

    at.session_state[STATE_KEY].inquiry_id = other.id
    at.run()
    assert not at.exception
    assert "找不到该询保申请" in at.warning[0].value
    assert at.text_input[0].value == ""
    assert _widget(at, "contact_name").value == ""
    assert _widget(at, "company_name").value == "甲公司进出口有限公司"
    page_text = str([w.value for w in [*at.text_input, *at.markdown, *at.warning]])
    assert "乙公司" not in page_text and other.serial not in page_text

    # A forged row of the list (an id the page never listed) is refused the same way.
    state = at.session_state[STATE_KEY]
    state.listed_ids = (other.id,)
    _select_row(at, 0)
    assert "找不到该询保申请" in at.warning[0].value
    assert _widget(at, "contact_name").value == ""
    assert at.session_state[STATE_KEY].inquiry_id is None


@pytest.mark.parametrize("username", ["staff", "manager", "admin"])
def test_other_roles_cannot_reach_the_page(engine, users, username):
    at = AppTest.from_file(APP.replace("app.py", "views/entry.py"), default_timeout=30)
    with db.session_scope() as session:
        started = sessions.start(session, user=users[username])
    at.session_state[common.AUTH_KEY] = common.Auth(
        user_id=users[username].id, session_id=started.session_id, user=users[username]
    )
    at.run()
    assert [e.value for e in at.error] == ["您没有访问此页面的权限"]
    assert not at.text_input and not at.button


def test_clicking_another_row_with_unsaved_changes_asks_first(app, users):
    draft, sent = _draft_and_submitted(users)
    at = _open(app)
    _type(at, contact_name="尚未保存")
    _select_row(at, _row_index(at, draft.serial))
    assert "放弃修改" in [b.label for b in at.button]
    assert _widget(at, "contact_name").value == "尚未保存"  # nothing discarded yet
    _click(at, "放弃修改")
    assert at.text_input[0].value == draft.serial
    assert _widget(at, "contact_name").value == "草稿联系人"


def test_a_long_list_is_paginated_newest_first(app, users):
    with db.session_scope() as session:
        serials = [
            inquiries.save_draft(
                session, actor=users["company"], form=valid_form(contact_name=f"联系人{n}")
            ).serial
            for n in range(21)
        ]
    at = _open(app)
    assert list(at.dataframe[0].value["询保流水号"]) == serials[::-1][:20]
    assert any("第 1 / 2 页，共 21 条" in c.value for c in at.caption)
    _click(at, "下一页")
    assert list(at.dataframe[0].value["询保流水号"]) == [serials[0]]
    _select_row(at, 0)
    assert at.text_input[0].value == serials[0]
    _click(at, "上一页")
    assert len(at.dataframe[0].value) == 20


def test_a_draft_changed_elsewhere_is_not_overwritten(app, users, engine):
    draft, _ = _draft_and_submitted(users)
    at = _open(app)
    _select_row(at, _row_index(at, draft.serial))
    with db.session_scope() as session:  # the same draft saved in another browser tab
        inquiries.save_draft(
            session,
            actor=users["company"],
            form=valid_form(contact_name="另一个标签页"),
            inquiry_id=draft.id,
        )
    _type(at, contact_name="本页的修改")
    _click(at, "保存")
    assert "已在别处被修改" in _errors(at)
    assert _widget(at, "contact_name").value == "本页的修改"
    [stored] = [i for i in _stored(engine) if i.id == draft.id]
    assert stored.contact_name == "另一个标签页"


# --------------------------------------------------------------------------------------------
# Where the outcome of an action shows: under the buttons and as a toast, never only at the top


def _in_order(at: AppTest) -> list:
    """The elements of the page body in the order the browser shows them."""
    found: list = []

    def walk(node) -> None:
        children = getattr(node, "children", None)
        if children is None:
            found.append(node)
            return
        for child in children.values():
            walk(child)

    walk(at.main)
    return found


def _position(at: AppTest, predicate) -> int:
    return next(i for i, node in enumerate(_in_order(at)) if predicate(node))


def _button_position(at: AppTest, label: str) -> int:
    return _position(at, lambda n: n.type == "button" and n.label == label)


def _toasts(at: AppTest) -> list[tuple[str, int]]:
    """(text, duration in seconds; 0 = stays until closed) of the toasts of the last run."""
    return [(t.value, t.proto.duration) for t in at.toast]


def test_a_save_conflict_is_shown_under_the_buttons_and_in_a_toast_that_stays(app, users, engine):
    draft, _ = _draft_and_submitted(users)
    at = _open(app)
    _select_row(at, _row_index(at, draft.serial))
    with db.session_scope() as session:  # the same draft saved in another browser tab
        inquiries.save_draft(
            session,
            actor=users["company"],
            form=valid_form(contact_name="另一个标签页"),
            inquiry_id=draft.id,
        )
    _type(at, contact_name="本页的修改")
    _click(at, "保存")
    conflict = _position(at, lambda n: n.type == "error" and "已在别处被修改" in n.value)
    assert conflict > _button_position(at, "保存")  # beside the button, not above the form
    assert conflict > _position(
        at, lambda n: n.type == "text_input" and n.key == WIDGET_KEYS["email"]
    )
    [(text, duration)] = [t for t in _toasts(at) if "已在别处被修改" in t[0]]
    assert duration == 0  # stays until the user closes it
    assert draft.serial in text

    at.run()  # the user types on: the message stays under the buttons, the toast is not repeated
    assert any("已在别处被修改" in e.value for e in at.error)
    assert not at.toast

    # The way out: reopen the inquiry as stored now (what the other tab saved).
    _click(at, "重新打开该申请")
    assert _widget(at, "contact_name").value == "另一个标签页"
    assert [t for t, _ in _toasts(at)] == [f"已重新载入询保申请 {draft.serial}（暂存）"]
    assert at.text_input[0].value == draft.serial
    assert not at.error and "重新打开该申请" not in _buttons(at)
    _type(at, contact_name="重新打开后的修改")
    _click(at, "保存")
    assert not at.error
    [stored] = [i for i in _stored(engine) if i.id == draft.id]
    assert stored.contact_name == "重新打开后的修改"


def test_a_draft_submitted_in_another_tab_offers_to_reopen_it_read_only(app, users):
    draft, _ = _draft_and_submitted(users)
    at = _open(app)
    _select_row(at, _row_index(at, draft.serial))
    with db.session_scope() as session:  # submitted in another browser tab
        inquiries.submit(session, actor=users["company"], form=valid_form(), inquiry_id=draft.id)
    _type(at, contact_name="本页的修改")
    _click(at, "保存")
    assert any("已提交" in e.value for e in at.error)
    assert _position(at, lambda n: n.type == "error") > _button_position(at, "新增")
    _click(at, "重新打开该申请")
    assert _widget(at, "contact_name").disabled
    assert _widget(at, "contact_name").value == "张三"  # as stored, not as typed here
    assert "保存" not in _buttons(at)


def test_a_saved_draft_is_confirmed_under_the_buttons_and_in_a_fading_toast(app, users, engine):
    at = _open(app)
    _fill_valid(at)
    _click(at, "保存")
    [stored] = _stored(engine)
    [success] = at.success
    assert stored.serial in success.value
    assert _position(at, lambda n: n.type == "success") > _button_position(at, "保存")
    assert _toasts(at) == [(f"已保存为暂存，询保流水号 {stored.serial}", 4)]


def test_a_submit_is_confirmed_under_the_remaining_button_and_in_a_toast(app, users, engine):
    at = _open(app)
    _fill_valid(at)
    _click(at, "提交")
    _click(at, "确认提交")
    [stored] = _stored(engine)
    assert _position(at, lambda n: n.type == "success") > _button_position(at, "新增")
    assert [t for t, _ in _toasts(at)] == [
        f"已提交，询保流水号 {stored.serial}。我们将及时与您联系。"
    ]


def test_field_errors_stay_by_their_fields_and_the_summary_is_under_the_buttons(app, users):
    at = _open(app)
    _type(at, **{**TYPED, "mobile": "12345"})
    _click(at, "保存")
    order = _in_order(at)
    field_error = next(
        i for i, n in enumerate(order) if n.type == "markdown" and "联系手机格式不正确" in n.value
    )
    mobile = next(
        i for i, n in enumerate(order) if getattr(n, "key", None) == WIDGET_KEYS["mobile"]
    )
    assert mobile < field_error < _button_position(at, "保存")
    summary = _position(at, lambda n: n.type == "error" and "请修正以下内容" in n.value)
    assert summary > _button_position(at, "提交")
    [(text, duration)] = _toasts(at)
    assert "需要修正" in text and duration == 0

    # The toast belongs to the click: typing on keeps the summary, with no new toast.
    _type(at, contact_name="王五五")
    at.run()
    assert any("请修正以下内容" in e.value for e in at.error)
    assert not at.toast


def test_clicking_any_cell_of_a_row_opens_it(app, users):
    draft, sent = _draft_and_submitted(users)
    at = _open(app)
    key = at.session_state[STATE_KEY].list_key
    cell = [_row_index(at, draft.serial), "联系人"]
    at.session_state[key] = {"selection": {"rows": [], "columns": [], "cells": [cell]}}
    at.run()
    assert not at.exception
    assert at.text_input[0].value == draft.serial
    assert _widget(at, "contact_name").value == "草稿联系人"
    assert [t for t, _ in _toasts(at)] == [f"已在上方表单中打开询保申请 {draft.serial}（暂存）"]

    # The open draft's row stays ticked; a cell of another row opens that row.
    key = at.session_state[STATE_KEY].list_key
    ticked = _row_index(at, draft.serial)
    cell = [_row_index(at, sent.serial), "公司名称"]
    at.session_state[key] = {"selection": {"rows": [ticked], "columns": [], "cells": [cell]}}
    at.run()
    assert at.text_input[0].value == sent.serial
    assert _widget(at, "contact_name").disabled

    # A cell of the row already open changes nothing.
    key = at.session_state[STATE_KEY].list_key
    own = [_row_index(at, sent.serial), "联系人"]
    at.session_state[key] = {"selection": {"rows": [], "columns": [], "cells": [own]}}
    at.run()
    assert at.text_input[0].value == sent.serial
    assert not at.toast


def test_a_click_on_any_cell_selects_and_company_names_show_only_when_they_differ(app, users):
    _draft_and_submitted(users)
    at = _open(app)
    frame = at.dataframe[0]
    modes = {DataframeProto.SelectionMode.Name(m) for m in frame.proto.selection_mode}
    assert modes == {"SINGLE_ROW", "SINGLE_CELL"}  # the checkbox, and a cell anywhere in a row
    assert "公司名称" not in frame.value.columns  # both rows: the same, the account's company

    branch = "深圳市前海蛇口自由贸易试验区国际供应链管理有限公司第一分公司"
    with db.session_scope() as session:
        inquiries.save_draft(session, actor=users["company"], form=valid_form(company_name=branch))
    at.run()
    frame = at.dataframe[0]
    assert list(frame.value["公司名称"])[0] == branch  # in full, newest first
    columns = json.loads(frame.proto.columns)
    assert "width" not in columns.get("公司名称", {})  # it fits the name, no fixed cut


def test_a_company_without_inquiries_sees_a_chinese_empty_state(app, users):
    at = _open(app)
    assert not at.dataframe
    assert [i.value for i in at.info] == [
        "您还没有询保申请。填写上方表单并保存后，申请会显示在这里。"
    ]


# --------------------------------------------------------------------------------------------
# The insurer's reply (处理意见) and the progress line


def _page_text(at: AppTest) -> str:
    """Every text the page shows (values and labels of every element, tables included)."""
    parts = []

    def walk(node):
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)
            return
        for name in ("value", "label", "body", "placeholder", "help"):
            value = getattr(node, name, None)
            if isinstance(value, str):
                parts.append(value)
            elif hasattr(value, "to_csv"):
                parts.append(value.to_csv())

    walk(at._tree)
    return "\n".join(parts)


def test_the_company_reads_the_reply_and_its_time_but_never_the_internal_notes(app, users):
    _, sent = _draft_and_submitted(users)
    at = _open(app)
    _select_row(at, _row_index(at, sent.serial))
    progress = next(c.value for c in at.caption if c.value.startswith("办理进度："))
    assert "已提交（" in progress and "等待受理" in progress and progress.endswith("待完成")
    assert "处理意见" not in [m.value for m in at.markdown]

    with db.session_scope() as s:
        inquiries.assign(s, actor=users["staff"], inquiry_id=sent.id, assignee_id=users["staff"].id)
        inquiries.add_note(s, actor=users["staff"], inquiry_id=sent.id, text="内部备注：客户压价")
        (done,) = inquiries.complete(
            s, actor=users["staff"], inquiry_ids=[sent.id], note="已为贵司报价\n请查收邮件"
        )
    at.run()
    assert not at.exception
    assert "**处理意见**" in [m.value for m in at.markdown]
    assert "已为贵司报价  \n请查收邮件" in [m.value for m in at.markdown]
    finished = clock.local_time(done.completed_at).strftime("%Y-%m-%d %H:%M")
    assert f"完成时间：{finished}" in [c.value for c in at.caption]
    progress = next(c.value for c in at.caption if c.value.startswith("办理进度："))
    assert "业务人员已受理（" in progress and progress.endswith(f"已完成（{finished}）")
    assert "STAFF" not in progress  # staff stay unnamed by default
    shown = _page_text(at)
    assert "已为贵司报价" in shown and sent.serial in shown  # the walk sees the page
    assert "内部备注" not in shown and "客户压价" not in shown
    assert not any(t.label == "处理意见" for t in at.text_area)  # read-only text, no input


def test_the_progress_line_names_the_staff_member_when_the_insurer_chooses(app, users, monkeypatch):
    from dashboard.settings import get_settings

    monkeypatch.setenv("DASHBOARD_SHOW_STAFF_NAMES", "1")
    get_settings.cache_clear()
    _, sent = _draft_and_submitted(users)
    with db.session_scope() as s:
        inquiries.assign(
            s, actor=users["staff"], inquiry_id=sent.id, assignee_id=users["staff2"].id
        )
    at = _open(app)
    _select_row(at, _row_index(at, sent.serial))
    progress = next(c.value for c in at.caption if c.value.startswith("办理进度："))
    assert "业务人员 STAFF2已受理（" in progress
