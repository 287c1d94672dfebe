"""Authorization, everywhere: every role × every domain entry point, and every role × every page.

The domain layer decides (a front end calling it directly is just as safe as the app): an
enterprise user never reaches another company's inquiry, staff and managers never see drafts,
only administrators administer accounts, and a page not granted to a role is neither in its
navigation nor renders anything when its script is run for that role anyway.
"""

from __future__ import annotations

import ast
import io
from datetime import date

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import accounts, db, export, inquiries, queries, routing_rules
from dashboard.errors import NotAllowed, NotFound
from dashboard.settings import ROOT
from tests.conftest import PASSWORD, valid_form
from tests.views.conftest import APP, logged_in_as, login

ROLES = ("enterprise", "staff", "manager", "admin")
ACTOR = {"enterprise": "company", "staff": "staff", "manager": "manager", "admin": "admin"}


@pytest.fixture
def app(engine):
    """The whole app on the test database, logged out (as in tests/views/conftest.py)."""
    st.cache_data.clear()
    st.cache_resource.clear()
    return AppTest.from_file(APP, default_timeout=30)


@pytest.fixture
def world(engine, users):
    """Own and foreign drafts and submitted inquiries (company = "ours", company2 = "theirs")."""
    out = {}
    with db.session_scope(engine) as s:
        out["own_draft"] = inquiries.save_draft(s, actor=users["company"], form=valid_form()).id
        out["own_submitted"] = inquiries.submit(s, actor=users["company"], form=valid_form()).id
        out["their_draft"] = inquiries.save_draft(
            s, actor=users["company2"], form=valid_form(company_name="乙公司")
        ).id
        out["their_submitted"] = inquiries.submit(
            s, actor=users["company2"], form=valid_form(company_name="乙公司")
        ).id
    return out


def _outcome(engine, call):
    """'ok', or the name of the domain error; anything else propagates (and fails the test)."""
    try:
        with db.session_scope(engine) as s:
            call(s)
    except (NotAllowed, NotFound) as err:
        return type(err).__name__
    return "ok"


# --------------------------------------------------------------------------------------------
# Domain entry points: (operation, target) → expected outcome per role

OK, NA, NF = "ok", "NotAllowed", "NotFound"

MATRIX = {
    # operation, target         enterprise  staff  manager  admin
    ("save_draft", None): (OK, NA, NA, NA),
    ("save_draft", "own_draft"): (OK, NA, NA, NA),
    ("save_draft", "their_draft"): (NF, NA, NA, NA),
    ("submit", None): (OK, NA, NA, NA),
    ("submit", "own_draft"): (OK, NA, NA, NA),
    ("submit", "their_draft"): (NF, NA, NA, NA),
    ("get", "own_draft"): (OK, NF, NF, NA),
    ("get", "own_submitted"): (OK, OK, OK, NA),
    ("get", "their_draft"): (NF, NF, NF, NA),
    ("get", "their_submitted"): (NF, OK, OK, NA),
    ("assign", "their_submitted"): (NA, OK, OK, NA),
    ("assign", "their_draft"): (NA, NF, NF, NA),
    ("add_note", "their_submitted"): (NA, OK, OK, NA),
    ("add_note", "own_draft"): (NA, NF, NF, NA),
    ("complete", "their_submitted"): (NA, OK, OK, NA),
    ("complete", "their_draft"): (NA, NF, NF, NA),
    ("events", "their_submitted"): (NA, OK, OK, NA),
    ("events", "own_draft"): (NA, NF, NF, NA),
    ("list_page", None): (OK, OK, OK, NA),
    ("admin:list_users", None): (NA, NA, NA, OK),
    ("admin:add_user", None): (NA, NA, NA, OK),
    ("admin:set_role", None): (NA, NA, NA, OK),
    ("admin:set_active", None): (NA, NA, NA, OK),
    ("admin:reset_password", None): (NA, NA, NA, OK),
    ("admin:recent_events", None): (NA, NA, NA, OK),
    ("progress", "own_submitted"): (OK, OK, OK, NA),
    ("progress", "their_submitted"): (NF, OK, OK, NA),
    ("progress", "own_draft"): (OK, NF, NF, NA),
    ("routing:rules", None): (NA, NA, NA, OK),
    ("routing:create_team", None): (NA, NA, NA, OK),
}
MATRIX[("export_csv", None)] = (OK, OK, OK, NA)
MATRIX[("export_xlsx", None)] = (OK, OK, OK, NA)


def _call(op, target_id, actor, users):
    staff_id = users["staff2"].id
    calls = {
        "save_draft": lambda s: inquiries.save_draft(
            s, actor=actor, form=valid_form(), inquiry_id=target_id
        ),
        "submit": lambda s: inquiries.submit(
            s, actor=actor, form=valid_form(), inquiry_id=target_id
        ),
        "get": lambda s: inquiries.get(s, actor=actor, inquiry_id=target_id),
        "assign": lambda s: inquiries.assign(
            s, actor=actor, inquiry_id=target_id, assignee_id=staff_id
        ),
        "add_note": lambda s: inquiries.add_note(s, actor=actor, inquiry_id=target_id, text="备注"),
        "complete": lambda s: inquiries.complete(
            s, actor=actor, inquiry_ids=[target_id], note="已处理"
        ),
        "events": lambda s: inquiries.events(s, actor=actor, inquiry_id=target_id),
        "list_page": lambda s: queries.list_page(s, queries.InquiryFilter(), actor=actor),
        "admin:list_users": lambda s: accounts.list_users(s, actor=actor),
        "admin:add_user": lambda s: accounts.add_user(
            s, actor=actor, username="matrix-new", role="staff"
        ),
        "admin:set_role": lambda s: accounts.set_role(
            s, actor=actor, user_id=staff_id, role="manager"
        ),
        "admin:set_active": lambda s: accounts.set_active(
            s, actor=actor, user_id=staff_id, active=False
        ),
        "admin:reset_password": lambda s: accounts.reset_password(s, actor=actor, user_id=staff_id),
        "admin:recent_events": lambda s: accounts.recent_events(s, actor=actor),
        "progress": lambda s: inquiries.progress(s, actor=actor, inquiry_id=target_id),
        "routing:rules": lambda s: routing_rules.rules(s, actor=actor),
        "routing:create_team": lambda s: routing_rules.create_team(s, actor=actor, name="矩阵团队"),
    }
    calls["export_csv"] = lambda s: export.write_csv(
        s, queries.InquiryFilter(), actor=actor, out=io.BytesIO()
    )
    calls["export_xlsx"] = lambda s: export.write_xlsx(
        s, queries.InquiryFilter(), actor=actor, out=io.BytesIO()
    )
    return calls[op]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("op", "target"), list(MATRIX), ids=lambda v: str(v))
def test_every_role_gets_exactly_what_the_matrix_grants(engine, users, world, role, op, target):
    actor = users[ACTOR[role]]
    target_id = world[target] if target else None
    expected = MATRIX[(op, target)][ROLES.index(role)]
    assert _outcome(engine, _call(op, target_id, actor, users)) == expected


@pytest.mark.parametrize("role", ["enterprise", "staff", "manager"])
def test_a_deactivated_account_can_do_nothing_with_inquiries(engine, users, world, role):
    actor = users[ACTOR[role]]
    with db.session_scope(engine) as s:
        accounts.set_active(s, actor=users["admin"], user_id=actor.id, active=False)
        stale = accounts.get_by_username(s, actor.username)
    for op, target in MATRIX:
        if op in ("list_page", "export_csv", "export_xlsx") or op.startswith(
            ("admin:", "routing:")
        ):
            continue  # listing is covered below; admin calls need the admin role anyway
        target_id = world[target] if target else None
        assert _outcome(engine, _call(op, target_id, stale, users)) == NA, (op, target)


def test_lists_show_each_role_only_what_it_may_see(engine, users, world):
    def listed(username):
        with db.session_scope(engine, write=False) as s:
            page = queries.list_page(s, queries.InquiryFilter(), actor=users[username])
        return {row.id for row in page.rows}

    assert listed("company") == {world["own_draft"], world["own_submitted"]}
    assert listed("company2") == {world["their_draft"], world["their_submitted"]}
    for username in ("staff", "manager"):
        assert listed(username) == {world["own_submitted"], world["their_submitted"]}


def test_exports_hold_only_what_the_role_may_see(engine, users, world):
    def exported(username):
        out = io.BytesIO()
        with db.session_scope(engine, write=False) as s:
            export.write_csv(s, queries.InquiryFilter(), actor=users[username], out=out)
        return out.getvalue().decode("utf-8-sig")

    assert "乙公司" not in exported("company")
    staff_csv = exported("staff")
    assert staff_csv.count("\n") == 3  # header + the two submitted inquiries
    assert "暂存" not in staff_csv


REPORT_FUNCTIONS = (
    "overview",
    "volume_by_intent",
    "intent_share_over_time",
    "volume_by_region",
    "trend",
    "status_mix",
    "completion_time_distribution",
    "overdue_count",
    "efficiency",
)


@pytest.mark.parametrize("role", ROLES)
def test_only_managers_get_report_figures(engine, users, world, role):
    from dashboard import reports

    flt = reports.ReportFilter(start=date(2020, 1, 1), end=date(2030, 12, 31))
    for name in REPORT_FUNCTIONS:
        fn = getattr(reports, name)
        outcome = _outcome(engine, lambda s, fn=fn: fn(s, flt, actor=users[ACTOR[role]]))
        assert outcome == ("ok" if role == "manager" else NA), name


def test_a_deactivated_account_lists_nothing(engine, users, world):
    for username in ("company", "staff", "manager"):
        with db.session_scope(engine) as s:
            accounts.set_active(s, actor=users["admin"], user_id=users[username].id, active=False)
            stale = accounts.get_by_username(s, username)
        assert (
            _outcome(
                engine, lambda s, a=stale: queries.list_page(s, queries.InquiryFilter(), actor=a)
            )
            == NA
        )


# --------------------------------------------------------------------------------------------
# Contact data: masked or full, per role and surface, and the access-log rows each one writes

FULL, MASKED, ABSENT, REFUSED = "full", "masked", "absent", "refused"
LOGGED = "full+logged"  # full, and exactly one access-log row

CONTACT_MATRIX = {
    # surface                                enterprise  staff    manager  admin
    "list":                                 (FULL,    MASKED,  MASKED,  REFUSED),
    "detail, nobody assigned":              (FULL,    LOGGED,  MASKED,  REFUSED),
    "detail, assigned to the actor":        (FULL,    LOGGED,  LOGGED,  REFUSED),
    "detail, assigned to a colleague":      (FULL,    MASKED,  MASKED,  REFUSED),
    "export":                               (FULL,    MASKED,  MASKED,  REFUSED),
    "export with contacts, granted":        (FULL,    LOGGED,  LOGGED,  REFUSED),
    "export with contacts, not granted":    (FULL,    REFUSED, REFUSED, REFUSED),
    "report tables":                        (REFUSED, REFUSED, ABSENT,  REFUSED),
}  # fmt: skip
FULL_MOBILE, FULL_EMAIL = "13812345678", "zhangsan@example.com"


def _contact_surface(engine, users, world, surface, actor):
    """What ``actor`` gets of contact data on ``surface``: the (mobile, e-mail) pairs shown, or
    None for a surface without contact data."""
    import csv

    import sqlalchemy as sa

    from dashboard import reports
    from models import Inquiry, User

    target = world["own_submitted" if actor.role == "enterprise" else "their_submitted"]
    if surface.startswith("detail"):
        assignee = {
            "detail, nobody assigned": None,
            "detail, assigned to the actor": actor.id,
            "detail, assigned to a colleague": users["staff2"].id,
        }[surface]
        if actor.id == assignee and actor.role not in ("staff", "manager"):
            assignee = users["staff2"].id  # only staff can be assigned: a colleague then
        with db.session_scope(engine) as s:
            s.execute(sa.update(Inquiry).values(assignee_id=assignee))
        with db.session_scope(engine) as s:
            shown = inquiries.detail(s, actor=actor, inquiry_id=target).inquiry
            return {(shown.mobile, shown.email)}
    with db.session_scope(engine) as s:
        if surface == "list":
            rows = queries.list_page(s, queries.InquiryFilter(), actor=actor).rows
            return {(r.mobile, r.email) for r in rows}
        if surface.startswith("export"):
            if surface.endswith(", granted"):  # even set by hand, the grant is for staff only
                s.execute(
                    sa.update(User).where(User.id == actor.id).values(may_export_contacts=True)
                )
            out = io.BytesIO()
            export.write_csv(
                s, queries.InquiryFilter(), actor=actor, out=out, contacts="contacts" in surface
            )
            rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"))))[1:]
            return {(r[7], r[9]) for r in rows}
        flt = reports.ReportFilter(start=date(2020, 1, 1), end=date(2030, 12, 31))
        report = reports.report(s, flt, actor=actor)
    cells = set()
    for frame in (v for v in vars(report).values() if hasattr(v, "columns")):
        assert not {"联系人", "联系手机", "联系固话", "联系邮箱", "联系电话"} & set(frame.columns)
        cells |= {str(c) for c in frame.astype(str).to_numpy().ravel()}
    assert not {FULL_MOBILE, FULL_EMAIL, "138****5678", "z***@example.com"} & cells
    return None


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("surface", list(CONTACT_MATRIX))
def test_contact_data_is_masked_or_full_exactly_as_the_matrix_says(
    engine, users, world, role, surface
):
    from sqlmodel import select

    from models import DataAccessLog

    actor = users[ACTOR[role]]
    expected = CONTACT_MATRIX[surface][ROLES.index(role)]
    try:
        shown = _contact_surface(engine, users, world, surface, actor)
    except (NotAllowed, NotFound):
        got = REFUSED
    else:
        if shown is None:
            got = ABSENT
        elif shown == {(FULL_MOBILE, FULL_EMAIL)}:
            got = FULL
        else:
            assert shown == {("138****5678", "z***@example.com")}, shown
            got = MASKED
    with db.session_scope(engine, write=False) as s:
        logged = s.exec(select(DataAccessLog)).all()
    if got == FULL and logged:
        assert [r.actor_id for r in logged] == [actor.id]
        got = LOGGED
    else:
        assert logged == []
    assert got == expected


# --------------------------------------------------------------------------------------------
# Pages

PAGE_TITLES = {
    "entry": "投保咨询",
    "triage": "咨询处理",
    "reports": "统计报表",
    "users": "用户管理",
    "outbox": "邮件发送记录",
    "routing": "分配规则",
    "access_log": "访问记录",
}
GRANTED = {
    "enterprise": {"entry"},
    "staff": {"triage"},
    "manager": {"triage", "reports"},
    "admin": {"users", "outbox", "routing", "access_log"},
}


def test_the_page_matrix_matches_the_app():
    """GRANTED above is a copy of app.ROLE_PAGES, read from the source (importing the app would
    run it), so the two cannot drift apart."""
    tree = ast.parse((ROOT / "dashboard" / "app.py").read_text(encoding="utf-8"))
    node = next(
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "ROLE_PAGES"
    )
    role_pages = {
        key.attr: set(ast.literal_eval(value))
        for key, value in zip(node.keys, node.values, strict=True)
    }
    assert role_pages == GRANTED


@pytest.mark.parametrize("role", ROLES)
def test_each_role_can_reach_its_pages_and_no_other(app, users, role):
    login(app, ACTOR[role], PASSWORD)
    assert not app.exception
    for page in PAGE_TITLES:
        path = f"views/{page}.py"
        if page in GRANTED[role]:
            app.switch_page(path).run()
            assert not app.exception
            assert not [e.value for e in app.error if "没有访问此页面的权限" in e.value]
        else:
            # Not in the navigation: there is no URL of this session that opens it.
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                app.switch_page(path)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page_name", list(PAGE_TITLES))
def test_a_page_script_refuses_a_role_it_does_not_grant(engine, users, role, page_name):
    """Defence in depth: even if a page were reached, its script stops for the wrong role."""
    at = AppTest.from_file(
        str(ROOT / "dashboard" / "views" / f"{page_name}.py"), default_timeout=30
    )
    at.session_state["auth"] = logged_in_as(users[ACTOR[role]])
    at.run()
    assert not at.exception
    refused = any("没有访问此页面的权限" in e.value for e in at.error)
    assert refused == (page_name not in GRANTED[role])
    if refused:
        assert not at.title and not at.dataframe and not at.text_input


@pytest.mark.parametrize("page_name", list(PAGE_TITLES))
def test_a_page_script_refuses_a_logged_out_visitor(engine, page_name):
    at = AppTest.from_file(
        str(ROOT / "dashboard" / "views" / f"{page_name}.py"), default_timeout=30
    )
    at.run()
    assert any("没有访问此页面的权限" in e.value for e in at.error)
    assert not at.title and not at.dataframe


def test_logged_out_visitors_reach_no_page(app, users):
    app.run()
    for page in PAGE_TITLES:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            app.switch_page(f"views/{page}.py")


@pytest.mark.parametrize(
    "params",
    [
        {"page": "users"},
        {"role": "admin"},
        {"id": "1", "inquiry": "../../etc/passwd"},
        {"status": "draft", "owner": "2"},
    ],
)
def test_tampered_url_parameters_never_raise_or_widen_access(app, users, world, params):
    login(app, "staff", PASSWORD)
    for key, value in params.items():
        app.query_params[key] = value
    app.run()
    assert not app.exception
    assert "用户管理" not in [t.value for t in app.title]
    for frame in app.dataframe:
        if frame.value is not None and "申请状态" in frame.value.columns:
            assert "暂存" not in set(frame.value["申请状态"])


# --------------------------------------------------------------------------------------------
# Who administers: an administrator or the console operator, never "nobody"

ADMIN_CALLS = {
    "list_users": lambda s, a, u: accounts.list_users(s, actor=a),
    "count_users": lambda s, a, u: accounts.count_users(s, actor=a),
    "recent_events": lambda s, a, u: accounts.recent_events(s, actor=a),
    "add_user": lambda s, a, u: accounts.add_user(s, actor=a, username="newbie", role="staff"),
    "set_role": lambda s, a, u: accounts.set_role(s, actor=a, user_id=u.id, role="manager"),
    "set_active": lambda s, a, u: accounts.set_active(s, actor=a, user_id=u.id, active=False),
    "reset_password": lambda s, a, u: accounts.reset_password(s, actor=a, user_id=u.id),
}


@pytest.mark.parametrize("call", list(ADMIN_CALLS))
@pytest.mark.parametrize("who", ["nobody", "operator", "admin", "staff"])
def test_account_administration_needs_an_administrator_or_the_console(engine, users, call, who):
    actor = {
        "nobody": None,
        "operator": accounts.Operator("ops"),
        "admin": users["admin"],
        "staff": users["staff"],
    }[who]
    expected = OK if who in ("operator", "admin") else NA
    assert _outcome(engine, lambda s: ADMIN_CALLS[call](s, actor, users["staff2"])) == expected


def test_the_console_operator_is_named_in_the_audit_trail(engine, users):
    with db.session_scope(engine) as s:
        accounts.set_active(
            s, actor=accounts.Operator("ops"), user_id=users["staff2"].id, active=False
        )
    with db.session_scope(engine) as s:
        events = accounts.recent_events(s, actor=users["admin"])
    assert (events[0]["action"], events[0]["actor"], events[0]["detail"]) == (
        "deactivated",
        "",
        "by console:ops",
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda s: inquiries.complete(s, actor=accounts.Operator("ops"), inquiry_ids=[1]),
        lambda s: queries.list_page(s, queries.InquiryFilter(), actor=accounts.Operator("ops")),
        lambda s: inquiries.save_draft(s, actor=None, form=valid_form()),
    ],
    ids=["operator completes", "operator lists", "nobody saves"],
)
def test_inquiries_want_a_user_never_the_operator_or_nobody(engine, users, call):
    assert _outcome(engine, call) == NA
