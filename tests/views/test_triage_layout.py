"""咨询处理 in AppTest: which columns the list shows and how wide, the Chinese empty state, the
sort arrow, and where the result of each action appears (beside the button that was pressed, not
at the top of the page). The browser side of the same is in tests/e2e/test_triage_layout_e2e.py.
"""

from __future__ import annotations

import json

from dashboard import db, inquiries
from dashboard.views import common
from dashboard.views.triage_state import ActionResult
from tests.conftest import PASSWORD, valid_form
from tests.views.conftest import login

TRIAGE_COLUMNS = {"申请状态", "负责人", "等待时长", "超时"}
#: The table's width at a 1440 px window with the sidebar open, less the row markers: the full
#: width, and the list's share beside the detail panel (measured in Chromium, see the e2e test).
FULL_WIDTH = 946
BESIDE_DETAIL = 546


def _submit(users, n, **overrides):
    with db.session_scope() as s:
        return [
            inquiries.submit(
                s,
                actor=users["company"],
                form=valid_form(company_name=f"版面公司{i:02d}有限公司", **overrides),
            )
            for i in range(n)
        ]


def _list_table(app):
    return next(d for d in app.dataframe if "triage_table" in (d.key or ""))


def _shown(table) -> tuple[list[str], dict]:
    """The columns the table shows, in order, and their configuration."""
    config = json.loads(table.proto.columns)
    return list(table.proto.column_order), config


def _walk(node):
    """The elements below ``node`` in page order."""
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from _walk(child)
    else:
        yield node


def _describe(element) -> tuple[str, str]:
    kind = type(element).__name__
    if kind == "Dataframe":
        return kind, element.key or ""
    label = getattr(element, "label", None)
    return kind, str(label if label is not None else getattr(element, "value", ""))


def _column_with(app, kind: str, text: str) -> list[tuple[str, str]]:
    """The page order of the outermost column that holds the element (kind, text)."""
    found = [
        order
        for column in app.columns
        if (kind, text) in (order := [_describe(e) for e in _walk(column)])
    ]
    assert found, f"no column holds {kind} {text!r}"
    return max(found, key=len)


def _next_after(order, kind: str, text_start: str) -> tuple[str, str]:
    index = next(i for i, (k, t) in enumerate(order) if k == kind and t.startswith(text_start))
    return order[index + 1]


def _open(app, inquiry_id):
    app.session_state["triage_state"].open_id = inquiry_id
    app.run()
    assert not app.exception


def _button(app, label):
    return next(b for b in app.button if b.label == label)


# --------------------------------------------------------------------------------------------
# The list


def test_the_list_shows_status_assignee_waiting_and_overdue_within_its_width(app, users):
    (first, *_) = _submit(users, 3)
    login(app, "staff", PASSWORD)
    assert not app.exception
    shown, config = _shown(_list_table(app))
    assert set(shown) >= TRIAGE_COLUMNS
    assert shown[:2] == ["询保流水号", "公司名称"]
    widths = [config[c]["width"] for c in shown]
    assert all(isinstance(w, int) for w in widths)
    assert sum(widths) <= FULL_WIDTH
    # the contact columns stay in the data (the column menu can show them) but are not shown
    assert {"联系电话", "联系邮箱"} <= set(_list_table(app).value.columns) - set(shown)

    _open(app, first.id)  # the list is now beside the detail panel
    shown, config = _shown(_list_table(app))
    assert set(shown) >= TRIAGE_COLUMNS and "公司名称" in shown
    assert sum(config[c]["width"] for c in shown) <= BESIDE_DETAIL


def test_the_region_column_is_short_and_the_date_a_day(app, users):
    _submit(users, 1)
    with db.session_scope() as s:
        inquiries.submit(
            s,
            actor=users["company"],
            form=valid_form(
                company_name="直辖市公司",
                province_code="310000",
                city_code=None,
                district_code="310115",
            ),
        )
    login(app, "staff", PASSWORD)
    frame = _list_table(app).value
    assert list(frame["地区"]) == ["上海市", "深圳市"]
    assert all(len(d) == 10 and d[4] == "-" for d in frame["提交日期"])


def test_the_sorted_column_carries_an_arrow(app, users):
    _submit(users, 2)
    login(app, "staff", PASSWORD)
    _, config = _shown(_list_table(app))
    assert config["提交日期"]["label"] == "提交日期 ↓"
    assert config["询保流水号"]["label"] == "询保流水号"
    app.selectbox(key="triage_sort").set_value("serial").run()
    _, config = _shown(_list_table(app))
    assert config["询保流水号"]["label"] == "询保流水号 ↑"
    assert config["提交日期"]["label"] == "提交日期"
    assert list(_list_table(app).value["询保流水号"]) == sorted(
        _list_table(app).value["询保流水号"]
    )


def test_a_new_sort_clears_the_selection_of_the_old_order(app, users):
    _submit(users, 3)
    login(app, "staff", PASSWORD)
    app.session_state["triage_table_0"] = {"selection": {"rows": [0, 2], "columns": []}}
    app.run()
    assert "已选择 2 条询保申请" in [i.value for i in app.info]
    app.selectbox(key="triage_sort").set_value("serial").run()
    assert not app.exception
    assert "已选择 2 条询保申请" not in [i.value for i in app.info]
    assert not any(b.label == "批量标记为已完成" for b in app.button)


def test_resetting_the_filters_clears_the_selection_with_a_new_grid(app, users):
    """重置筛选 shows other rows: a selection (row positions) must not survive it. The page state
    is forgotten with the filters, but the grid's generation is kept and moves on, so the browser
    gets a new, empty grid rather than the old one under a reused key."""
    _submit(users, 3)
    login(app, "staff", PASSWORD)
    app.session_state["triage_table_0"] = {"selection": {"rows": [0, 2], "columns": []}}
    app.run()
    assert "已选择 2 条询保申请" in [i.value for i in app.info]
    _button(app, "重置筛选").click().run()
    assert not app.exception
    assert "已选择 2 条询保申请" not in [i.value for i in app.info]
    assert [d.key for d in app.dataframe if d.key and d.key.startswith("triage_table_")] == [
        "triage_table_1"
    ]


def test_an_empty_result_says_so_in_chinese(app, users):
    _submit(users, 1)
    login(app, "staff", PASSWORD)
    app.sidebar.text_input(key="triage_search").input("没有这家公司").run()
    assert not app.exception
    assert "没有符合条件的询保申请" in [i.value for i in app.info]
    assert not app.dataframe  # no grid saying "empty"
    assert _button(app, "导出 CSV").disabled


# --------------------------------------------------------------------------------------------
# Results beside the buttons


def test_a_completion_says_so_where_its_button_was(app, users):
    (target,) = _submit(users, 1)
    login(app, "staff", PASSWORD)
    _open(app, target.id)
    app.text_area(key=f"triage_complete_note_{target.id}").input("已电话联系")
    _button(app, "标记为已完成").click().run()
    assert not app.exception
    text = f"已将 询保申请 {target.serial} 标记为已完成"
    assert [s.value for s in app.success] == [text]
    order = _column_with(app, "Success", text)
    # the 处理 section is gone; the result takes its place, under the inquiry's fields
    index = order.index(("Success", text))
    assert order[index - 1][0] == "Dataframe"  # the fields
    assert order[index + 1] == ("TextArea", "备注内容")
    assert not app.toast
    app.run()  # shown once
    assert not app.success


def test_assigning_and_noting_say_so_under_their_buttons(app, users):
    (target,) = _submit(users, 1)
    login(app, "staff", PASSWORD)
    _open(app, target.id)
    app.selectbox(key="triage_assign_to").set_value(users["staff2"].id).run()
    _button(app, "分配").click().run()
    assert not app.exception
    (success,) = app.success
    assert success.value.startswith("已将负责人设为")
    order = _column_with(app, "Success", success.value)
    assert _next_after(order, "Button", "分配") == ("Success", success.value)

    note = "客户**下周**回电\n联系人：[张三](http://x.y)"
    app.text_area(key=f"triage_note_{target.id}").input(note)
    _button(app, "添加备注").click().run()
    assert [s.value for s in app.success] == ["备注已添加"]
    order = _column_with(app, "Success", "备注已添加")
    assert _next_after(order, "Button", "添加备注") == ("Success", "备注已添加")
    assert app.text_area(key=f"triage_note_{target.id}").value == ""
    # the trail shows the note in full, as stored, its two lines kept
    with db.session_scope(write=False) as s:
        stored = inquiries.events(s, actor=users["staff"], inquiry_id=target.id)[-1][0].note
    assert stored.startswith("客户**下周**回电\n")
    shown = "  \n".join(common.md_escape(line) for line in stored.splitlines())
    assert shown in [m.value for m in app.markdown]
    assert any(c.value.endswith("　备注") for c in app.caption)


def test_a_conflict_says_so_where_the_buttons_were_and_stays_out_of_the_top(app, users):
    (target,) = _submit(users, 1)
    login(app, "staff", PASSWORD)
    _open(app, target.id)
    with db.session_scope() as s:
        inquiries.complete(s, actor=users["staff2"], inquiry_ids=[target.id], note="已处理")
    _button(app, "标记为已完成").click().run()
    assert not app.exception
    (error,) = app.error
    assert "已被他人" in error.value and "已重新加载最新数据" in error.value
    order = _column_with(app, "Error", error.value)
    assert order[order.index(("Error", error.value)) + 1] == ("TextArea", "备注内容")


def test_a_bulk_completion_says_so_where_the_panel_was(app, users):
    _submit(users, 3)
    login(app, "staff", PASSWORD)
    app.session_state["triage_table_0"] = {"selection": {"rows": [0, 2], "columns": []}}
    app.run()
    _button(app, "批量标记为已完成").click().run()
    _button(app, "确认完成 2 条").click().run()
    assert not app.exception
    text = "已将 2 条询保申请 标记为已完成"
    assert [s.value for s in app.success] == [text]
    order = [_describe(e) for e in _walk(app.main)]
    index = order.index(("Success", text))
    assert order[index - 1][0] == "Dataframe" and "triage_table" in order[index - 1][1]
    assert not any(label == "确认完成 2 条" for _, label in order)  # the selection is cleared


def test_a_bulk_conflict_says_so_under_the_panel(app, users):
    first, _, third = _submit(users, 3)
    login(app, "staff", PASSWORD)
    app.session_state["triage_table_0"] = {"selection": {"rows": [0, 2], "columns": []}}
    app.run()
    _button(app, "批量标记为已完成").click().run()
    with db.session_scope() as s:
        inquiries.complete(s, actor=users["staff2"], inquiry_ids=[first.id], note="已处理")
    _button(app, "确认完成 2 条").click().run()
    assert not app.exception
    (error,) = app.error
    assert "已被他人" in error.value
    # the selection (row positions of rows that changed) is cleared: the panel is gone and its
    # result takes its place under the table
    order = [_describe(e) for e in _walk(app.main)]
    index = order.index(("Error", error.value))
    assert order[index - 1][0] == "Dataframe" and "triage_table" in order[index - 1][1]
    assert not any(label == "批量标记为已完成" for _, label in order)


def test_a_result_whose_panel_is_not_drawn_comes_as_a_toast(app, users):
    _submit(users, 1)
    login(app, "staff", PASSWORD)
    app.session_state["triage_state"].result = ActionResult("complete", "error", "测试结果")
    app.run()
    assert not app.exception
    assert [t.value for t in app.toast] == ["测试结果"]
    assert not app.error
