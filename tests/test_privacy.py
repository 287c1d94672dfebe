"""Personal data: masks, who sees full contact data, the access log (exactly one row per full view
or export, and no data when the row cannot be written), the export grant, a company deleting its
drafts, anonymisation on request, and the retention purge, which leaves every report number as it
was. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlmodel import select

from dashboard import (
    access_log,
    accounts,
    db,
    export,
    inquiries,
    privacy,
    queries,
    reports,
    retention,
    rollup,
    seed,
)
from dashboard.errors import Conflict, FormInvalid, NotAllowed, NotFound
from dashboard.reports import ReportFilter
from models import AccountEvent, DataAccessLog, Inquiry, InquiryEvent, Notification, User
from tests.conftest import valid_form

MOBILE, EMAIL, LANDLINE = "13812345678", "zhangsan@example.com", "0755-12345678"
END = datetime(2026, 11, 20, 4, tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# Masks


@pytest.mark.parametrize(
    ("mask", "value", "expected"),
    [
        (privacy.mask_mobile, "13812345678", "138****5678"),  # DESIGN.md's fixed form
        (privacy.mask_mobile, "", ""),
        (privacy.mask_mobile, None, ""),
        (privacy.mask_mobile, "12345", "****45"),
        (privacy.mask_email, "zhangsan@example.com", "z***@example.com"),  # DESIGN.md's
        (privacy.mask_email, "a@b.cn", "a***@b.cn"),
        (privacy.mask_email, "", ""),
        (privacy.mask_email, "no-at-sign", "***"),
        (privacy.mask_landline, "0755-12345678", "0755-****5678"),
        (privacy.mask_landline, "010-12345678-123", "010-****5678"),
        (privacy.mask_landline, "", ""),
        (privacy.mask_landline, "weird", "****rd"),
    ],
)
def test_masks(mask, value, expected):
    assert mask(value) == expected


def test_a_masked_copy_is_in_no_session_and_never_written_back(engine, users):
    with db.session_scope() as s:
        inquiry = inquiries.submit(s, actor=users["company"], form=valid_form())
        copy = privacy.masked_copy(inquiry)
        assert copy not in s and (copy.mobile, copy.email) == ("138****5678", "z***@example.com")
        assert (inquiry.mobile, inquiry.email) == (MOBILE, EMAIL)
    with db.session_scope(write=False) as s:
        assert s.get(Inquiry, inquiry.id).mobile == MOBILE


# --------------------------------------------------------------------------------------------
# Who sees what, and the access log


def _log(engine, action=None) -> list[DataAccessLog]:
    with db.session_scope(engine, write=False) as s:
        stmt = select(DataAccessLog).order_by(DataAccessLog.id)
        if action:
            stmt = stmt.where(DataAccessLog.action == action)
        return list(s.exec(stmt))


@pytest.fixture
def submitted(engine, users) -> dict[str, int]:
    """An unassigned inquiry, one assigned to staff, one to the manager, one draft."""
    out = {}
    with db.session_scope(engine) as s:
        for name in ("free", "staff", "manager"):
            out[name] = inquiries.submit(s, actor=users["company"], form=valid_form()).id
        inquiries.assign(
            s, actor=users["staff"], inquiry_id=out["staff"], assignee_id=users["staff"].id
        )
        inquiries.assign(
            s, actor=users["manager"], inquiry_id=out["manager"], assignee_id=users["manager"].id
        )
        out["draft"] = inquiries.save_draft(s, actor=users["company"], form=valid_form()).id
    return out


def _detail(users, who, inquiry_id):
    with db.session_scope() as s:
        return inquiries.detail(s, actor=users[who], inquiry_id=inquiry_id)


# who, inquiry → full contact data on the detail?
DETAIL_CASES = [
    ("staff", "free", True),  # unassigned: any staff member
    ("staff2", "free", True),
    ("manager", "free", False),  # a manager claims it first
    ("staff", "staff", True),  # the assignee
    ("staff2", "staff", False),  # someone else's
    ("manager", "staff", False),
    ("manager", "manager", True),
    ("staff", "manager", False),
    ("company", "staff", True),  # a company's own, always (not logged)
]


@pytest.mark.parametrize(("who", "target", "full"), DETAIL_CASES)
def test_the_detail_is_full_only_for_who_handles_the_inquiry(
    users, submitted, engine, who, target, full
):
    shown = _detail(users, who, submitted[target])
    assert shown.full == full
    assert (shown.inquiry.mobile, shown.inquiry.email) == (
        (MOBILE, EMAIL) if full else ("138****5678", "z***@example.com")
    )
    assert shown.inquiry.landline == (LANDLINE if full else "0755-****5678")
    assert bool(shown.notice) != full
    logged = _log(engine, "viewed")
    if full and who != "company":
        assert [(r.actor_id, r.inquiry_id, r.row_count) for r in logged] == [
            (users[who].id, submitted[target], 1)
        ]
        assert logged[0].serial and logged[0].actor_label == who
    else:
        assert logged == []


def test_each_full_view_is_exactly_one_log_row(users, submitted, engine):
    for n in range(1, 4):
        _detail(users, "staff", submitted["free"])
        assert len(_log(engine, "viewed")) == n


def test_lists_get_and_duplicates_are_masked_for_staff_and_full_for_the_company(
    engine, users, submitted
):
    with db.session_scope(write=False) as s:
        for who, expected in (("staff", "138****5678"), ("manager", "138****5678")):
            rows = queries.list_page(s, queries.InquiryFilter(), actor=users[who]).rows
            assert rows and {r.mobile for r in rows} == {expected}
            assert {r.email for r in rows} == {"z***@example.com"}
            got = inquiries.get(s, actor=users[who], inquiry_id=submitted["staff"])
            assert got.mobile == expected
            dups = queries.possible_duplicates(s, actor=users[who], inquiry=got)
            assert dups and {d.mobile for d, _ in dups} == {expected}
            assert all("mobile" in fields for _, fields in dups)  # matched on the real values
        own = queries.list_page(s, queries.InquiryFilter(), actor=users["company"]).rows
        assert {r.mobile for r in own} == {MOBILE}
        assert inquiries.get(s, actor=users["company"], inquiry_id=submitted["free"]).email == EMAIL
    assert _log(engine) == []  # nothing full was shown to staff


def test_a_log_row_that_cannot_be_written_shows_nothing(users, submitted, engine, monkeypatch):
    _grant(engine, users["staff"])
    # NOT NULL: the INSERT fails
    monkeypatch.setattr(access_log, "_actor_label", lambda actor: None)
    with pytest.raises(sa.exc.IntegrityError), db.session_scope() as s:
        inquiries.detail(s, actor=users["staff"], inquiry_id=submitted["free"])
    out = io.BytesIO()
    with pytest.raises(sa.exc.IntegrityError), db.session_scope() as s:
        export.write_csv(s, queries.InquiryFilter(), actor=users["staff"], out=out, contacts=True)
    assert MOBILE.encode() not in out.getvalue()  # not one row was read before the log row
    assert _log(engine) == []


# --------------------------------------------------------------------------------------------
# Exports


def _export(users, who, **kw) -> tuple[list[list[str]], int]:
    out = io.BytesIO()
    with db.session_scope() as s:
        n = export.write_csv(s, queries.InquiryFilter(), actor=users[who], out=out, **kw)
    return list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"))))[1:], n


def _grant(engine, user, allowed=True, actor=None):
    with db.session_scope(engine) as s:
        privacy.set_export_contacts(
            s, actor=actor or accounts.Operator("test"), user_id=user.id, allowed=allowed
        )


def test_staff_exports_are_masked_by_default_and_not_logged(users, submitted, engine):
    rows, n = _export(users, "staff")
    assert n == 3 and {(r[7], r[8], r[9]) for r in rows} == {
        ("138****5678", "0755-****5678", "z***@example.com")
    }
    assert _log(engine) == []


def test_exporting_contacts_needs_the_grant(users, submitted, engine):
    with pytest.raises(NotAllowed, match="导出含联系方式"):
        _export(users, "staff", contacts=True)
    _grant(engine, users["staff"])
    rows, n = _export(users, "staff", contacts=True)
    assert {(r[7], r[9]) for r in rows} == {(MOBILE, EMAIL)} and n == 3
    logged = _log(engine, "exported")
    assert [(r.actor_id, r.row_count) for r in logged] == [(users["staff"].id, 3)]
    assert json.loads(logged[0].filter) == {} and "CSV" in logged[0].detail
    # Excel too, with its filter in the log; the grant is the account's, not the role's.
    out = io.BytesIO()
    flt = queries.InquiryFilter(statuses=("submitted",), search="深圳")
    with db.session_scope() as s:
        export.write_xlsx(s, flt, actor=users["staff"], out=out, contacts=True)
    last = _log(engine, "exported")[-1]
    assert json.loads(last.filter) == {"status": "submitted", "q": "深圳"}
    assert last.row_count == 3 and "Excel" in last.detail
    with pytest.raises(NotAllowed):
        _export(users, "staff2", contacts=True)
    _grant(engine, users["staff"], allowed=False)
    with pytest.raises(NotAllowed):
        _export(users, "staff", contacts=True)


def test_a_company_exports_its_own_data_in_full_unlogged(users, submitted, engine):
    rows, n = _export(users, "company")
    assert n == 4 and {r[7] for r in rows} == {MOBILE}
    assert _log(engine) == []


def test_the_grant_is_for_staff_and_managers_by_an_administrator(users, engine):
    with pytest.raises(NotAllowed):
        _grant(engine, users["staff2"], actor=users["staff"])
    with pytest.raises(FormInvalid):
        _grant(engine, users["company"], actor=users["admin"])
    _grant(engine, users["manager"], actor=users["admin"])
    with db.session_scope(write=False) as s:
        assert s.get(User, users["manager"].id).may_export_contacts
        event = s.exec(select(AccountEvent).where(AccountEvent.action == "contacts_granted")).one()
    assert (event.user_id, event.actor_id) == (users["manager"].id, users["admin"].id)


# --------------------------------------------------------------------------------------------
# A company deletes its own drafts


def test_a_deleted_draft_is_gone_with_its_events(users, engine):
    with db.session_scope() as s:
        draft = inquiries.save_draft(s, actor=users["company"], form=valid_form())
        draft = inquiries.save_draft(
            s, actor=users["company"], form=valid_form(), inquiry_id=draft.id
        )
        draft_id, version = draft.id, draft.version
    with pytest.raises(Conflict), db.session_scope() as s:
        inquiries.delete_draft(
            s, actor=users["company"], inquiry_id=draft_id, expected_version=version - 1
        )
    with db.session_scope() as s:
        serial = inquiries.delete_draft(
            s, actor=users["company"], inquiry_id=draft_id, expected_version=version
        )
    with db.session_scope(write=False) as s:
        assert s.get(Inquiry, draft_id) is None
        assert s.exec(select(InquiryEvent).where(InquiryEvent.inquiry_id == draft_id)).all() == []
        # nor in the search index (SQLite's FTS follows the row's delete trigger)
        page = queries.list_page(s, queries.InquiryFilter(search=serial), actor=users["company"])
        assert page.total == 0
    (row,) = _log(engine, "draft_deleted")
    assert (row.inquiry_id, row.serial, row.actor_id) == (draft_id, serial, users["company"].id)


@pytest.mark.parametrize(
    ("who", "target", "error"),
    [
        ("company", "free", NotAllowed),
        ("company2", "draft", NotFound),
        ("staff", "draft", NotAllowed),
    ],
)
def test_only_the_owner_deletes_and_only_drafts(users, submitted, who, target, error):
    with pytest.raises(error), db.session_scope() as s:
        inquiries.delete_draft(s, actor=users[who], inquiry_id=submitted[target])


# --------------------------------------------------------------------------------------------
# Retention and anonymisation: every report number stays the same


def _everything(engine, manager) -> tuple:
    """Every report section over all time, by week and by month, and the rollup tables."""
    sections = []
    with db.session_scope(engine, write=False) as s:
        for granularity in ("week", "month"):
            flt = ReportFilter(date(2000, 1, 1), date(2026, 12, 31), granularity=granularity)
            report = reports.report(s, flt, actor=manager, now=END)
            sections += [
                getattr(report, f)
                for f in report.__dataclass_fields__
                if f not in ("flt", "made_at")
            ]
        tables = {
            t: s.execute(sa.text(f"SELECT * FROM {t} ORDER BY {', '.join(key)}")).all()
            for t, key in rollup.KEY_COLUMNS.items()
        }
    return sections, tables


def _assert_same(before, after):
    for a, b in zip(before[0], after[0], strict=True):
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b)
        else:
            assert a == b
    assert before[1] == after[1]


@pytest.fixture
def seeded(engine, users):
    seed.seed(engine, rows=600, end=END)
    with db.session_scope(engine) as s:  # completed mails of the company, sent and pending
        for inquiry_id, state in s.execute(
            sa.select(Inquiry.id, sa.literal("sent")).where(Inquiry.status == "completed").limit(5)
        ).all():
            s.add(
                Notification(
                    kind="completed",
                    inquiry_id=inquiry_id,
                    recipient="x@example.com",
                    subject="s",
                    body="张三，您好",
                    body_html="<p>张三</p>",
                    state=state,
                )
            )
    return engine


def _counts(engine) -> dict[str, int]:
    with engine.connect() as c:
        return dict(
            c.execute(sa.select(Inquiry.status, sa.func.count()).group_by(Inquiry.status)).all()
        )


def test_the_purge_anonymises_old_inquiries_and_every_report_number_stays(seeded, users):
    before = _everything(seeded, users["manager"])
    counts = _counts(seeded)
    cutoff = END - timedelta(days=180)
    with seeded.connect() as c:
        old = c.execute(
            sa.select(sa.func.count()).where(
                Inquiry.status == "completed", Inquiry.completed_at < cutoff
            )
        ).scalar_one()
        stale = c.execute(
            sa.select(sa.func.count()).where(Inquiry.status == "draft", Inquiry.updated_at < cutoff)
        ).scalar_one()
    assert old > 50 and stale > 0  # the seed spreads two years
    operator = accounts.Operator("ops")
    with db.session_scope(seeded, write=False) as s:
        planned = retention.purge(s, actor=operator, apply=False, days=180, now=END)
    assert (planned.anonymised, planned.drafts, planned.applied) == (old, stale, False)
    assert _log(seeded) == []  # a dry run changes and logs nothing

    with db.session_scope(seeded) as s:
        done = retention.purge(s, actor=operator, apply=True, days=180, now=END)
    assert (done.anonymised, done.drafts, done.cutoff) == (old, stale, cutoff)
    _assert_same(before, _everything(seeded, users["manager"]))
    after = _counts(seeded)
    assert after["completed"] == counts["completed"] and after["submitted"] == counts["submitted"]
    assert after.get("draft", 0) == counts["draft"] - stale
    with seeded.connect() as c:
        left = c.execute(
            sa.select(Inquiry.contact_name, Inquiry.mobile, Inquiry.email, Inquiry.anonymised_at)
            .where(Inquiry.status == "completed", Inquiry.completed_at < cutoff)
            .distinct()
        ).all()
        assert [tuple(r[:3]) for r in left] == [(retention.ANONYMISED_NAME, "", "")]
        assert {r[3] for r in left} == {END}
        recent = c.execute(
            sa.select(sa.func.count()).where(Inquiry.anonymised_at.is_(None), Inquiry.mobile == "")
        ).scalar_one()
        assert recent == 0  # nothing newer was touched
        orphans = c.execute(
            sa.select(sa.func.count())
            .select_from(InquiryEvent)
            .outerjoin(Inquiry, Inquiry.id == InquiryEvent.inquiry_id)
            .where(Inquiry.id.is_(None))
        ).scalar_one()
        assert orphans == 0  # the drafts' events went with them
        mails = c.execute(
            sa.select(Notification.recipient, Notification.body)
            .join(Inquiry, Inquiry.id == Notification.inquiry_id)
            .where(Inquiry.anonymised_at.is_not(None))
        ).all()
        assert all(m == (retention.ANONYMISED_NAME, "") for m in mails)
    (row,) = _log(seeded, "purged")
    assert row.row_count == old + stale and row.actor_label == "console:ops"
    assert json.loads(row.filter)["retention_days"] == 180
    # The rollup is still what a rebuild from the rows makes.
    with seeded.begin() as c:
        rollup.rebuild(c)
    _assert_same(before, _everything(seeded, users["manager"]))

    with db.session_scope(seeded) as s:  # a second run finds nothing more
        again = retention.purge(s, actor=operator, apply=True, days=180, now=END)
    assert (again.anonymised, again.drafts) == (0, 0)
    assert len(_log(seeded, "purged")) == 2


def test_the_purge_is_off_until_a_retention_is_set(engine, users, monkeypatch):
    with pytest.raises(NotAllowed, match="DASHBOARD_RETENTION_DAYS"), db.session_scope() as s:
        retention.purge(s, actor=accounts.Operator("ops"), apply=True)
    monkeypatch.setenv("DASHBOARD_RETENTION_DAYS", "30")
    from dashboard.settings import get_settings

    get_settings.cache_clear()
    with db.session_scope() as s:
        assert retention.purge(s, actor=accounts.Operator("ops"), apply=False).days == 30
    for who in ("staff", "manager", "company"):
        with pytest.raises(NotAllowed), db.session_scope() as s:
            retention.purge(s, actor=users[who], apply=True)


def test_an_administrator_anonymises_one_company_on_request(seeded, users):
    before = _everything(seeded, users["manager"])
    with seeded.connect() as c:
        owners = c.execute(
            sa.select(Inquiry.owner_id, sa.func.count()).group_by(Inquiry.owner_id)
        ).all()
    owner_id = max(owners, key=lambda o: o[1])[0]
    with db.session_scope(seeded) as s:
        planned = retention.anonymise_company(
            s, actor=users["admin"], owner_id=owner_id, apply=False
        )
    with db.session_scope(seeded) as s:
        done = retention.anonymise_company(s, actor=users["admin"], owner_id=owner_id, apply=True)
    assert (done.anonymised, done.drafts) == (planned.anonymised, planned.drafts)
    assert done.anonymised > 0
    _assert_same(before, _everything(seeded, users["manager"]))
    with seeded.connect() as c:
        theirs = c.execute(
            sa.select(Inquiry.status, Inquiry.mobile).where(Inquiry.owner_id == owner_id)
        ).all()
        others = c.execute(
            sa.select(sa.func.count()).where(Inquiry.owner_id != owner_id, Inquiry.mobile == "")
        ).scalar_one()
    assert theirs and {r for r in theirs} <= {("submitted", ""), ("completed", "")}
    assert others == 0
    (row,) = _log(seeded, "anonymised")
    assert row.actor_id == users["admin"].id and row.row_count == done.anonymised + done.drafts
    with pytest.raises(NotAllowed), db.session_scope(seeded) as s:
        retention.anonymise_company(s, actor=users["staff"], owner_id=owner_id, apply=True)
    with pytest.raises(NotFound), db.session_scope(seeded) as s:
        retention.anonymise_company(s, actor=users["admin"], owner_id=users["staff"].id, apply=True)


def test_an_anonymised_inquiry_has_no_duplicates_by_its_empty_fields(users, engine):
    with db.session_scope() as s:
        ids = [inquiries.submit(s, actor=users["company"], form=valid_form()).id for _ in range(2)]
        retention.anonymise_company(
            s, actor=users["admin"], owner_id=users["company"].id, apply=True
        )
        other = inquiries.submit(
            s, actor=users["company2"], form=valid_form(company_name="别家公司")
        ).id
    with db.session_scope() as s:
        inquiry = inquiries.get(s, actor=users["staff"], inquiry_id=ids[0])
        dups = queries.possible_duplicates(s, actor=users["staff"], inquiry=inquiry)
        assert [(d.id, fields) for d, fields in dups] == [(ids[1], ("company_name",))]
        shown = inquiries.detail(s, actor=users["staff"], inquiry_id=ids[0])
        assert not shown.full and "匿名化" in shown.notice
        assert other not in {d.id for d, _ in dups}
    assert _log(engine, "viewed") == []


# --------------------------------------------------------------------------------------------
# Reading the access log


def test_the_access_log_is_read_and_filtered_by_administrators_only(users, submitted, engine):
    _detail(users, "staff", submitted["free"])
    _detail(users, "staff2", submitted["free"])
    _detail(users, "manager", submitted["manager"])
    admin = users["admin"]
    with db.session_scope(write=False) as s:
        everything = access_log.access_log(s, access_log.AccessLogFilter(), actor=admin)
        assert [e.actor for e in everything] == ["manager", "staff2", "staff"]  # newest first
        assert {e.action_label for e in everything} == {"查看联系方式"}
        assert [
            e.actor
            for e in access_log.access_log(
                s, access_log.AccessLogFilter(actor="STAFF2"), actor=admin
            )
        ] == ["staff2"]
        serial = everything[0].serial
        found = access_log.access_log(s, access_log.AccessLogFilter(search=serial), actor=admin)
        assert [e.actor for e in found] == ["manager"]
        assert (
            access_log.count_access_log(
                s, access_log.AccessLogFilter(actions=("exported",)), actor=admin
            )
            == 0
        )
        today = everything[0].at.date()
        later = access_log.AccessLogFilter(start=today + timedelta(days=2))
        assert access_log.access_log(s, later, actor=admin) == []
        data = access_log.access_log_csv(
            s, access_log.AccessLogFilter(), actor=accounts.Operator("x")
        )
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert rows[0] == list(access_log.LOG_HEADERS) and len(rows) == 4
        assert rows[1][1] == "staff" and rows[1][2] == "查看联系方式" and rows[1][4] == "1"
    for who in ("staff", "manager", "company"):
        with pytest.raises(NotAllowed), db.session_scope(write=False) as s:
            access_log.access_log(s, access_log.AccessLogFilter(), actor=users[who])


# --------------------------------------------------------------------------------------------
# Reports are aggregates


def test_no_report_section_carries_contact_data(seeded, users):
    with seeded.connect() as c:
        contacts = set()
        for mobile, landline, email, name in c.execute(
            sa.select(Inquiry.mobile, Inquiry.landline, Inquiry.email, Inquiry.contact_name)
        ):
            contacts |= {mobile, landline, email, name}
    contacts.discard("")
    sections, _ = _everything(seeded, users["manager"])
    labels = {"联系人", "联系手机", "联系固话", "联系邮箱", "联系电话"}
    for section in sections:
        if isinstance(section, pd.DataFrame):
            assert not labels & {str(c) for c in section.columns}
            cells = {str(v) for v in section.astype(str).to_numpy().ravel()}
            assert not cells & contacts


# --------------------------------------------------------------------------------------------
# The command line: purge --dry-run|--apply, access-log


def test_the_command_line_purges_and_exports_the_access_log(
    engine, users, monkeypatch, capsys, tmp_path
):
    from dashboard import __main__ as cli
    from dashboard.settings import get_settings

    assert cli.main(["purge", "--dry-run"]) == 2  # no retention set: nothing is purged
    assert "DASHBOARD_RETENTION_DAYS" in capsys.readouterr().err
    monkeypatch.setenv("DASHBOARD_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    long_ago = datetime.now(UTC) - timedelta(days=40)
    with db.session_scope() as s:
        draft = inquiries.save_draft(s, actor=users["company"], form=valid_form()).id
        done = inquiries.submit(s, actor=users["company"], form=valid_form()).id
        inquiries.complete(s, actor=users["staff"], inquiry_ids=[done], note="已处理")
        inquiries.save_draft(s, actor=users["company"], form=valid_form())  # recent: stays
    with db.session_scope() as s:
        s.execute(sa.update(Inquiry).where(Inquiry.id == draft).values(updated_at=long_ago))
        s.execute(
            sa.update(Inquiry)
            .where(Inquiry.id == done)
            .values(submitted_at=long_ago, completed_at=long_ago)
        )

    assert cli.main(["purge", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "试运行" in out and "将匿名化 1 条" in out and "删除 1 条暂存" in out
    with db.session_scope(write=False) as s:
        assert s.get(Inquiry, draft) is not None and s.get(Inquiry, done).mobile == MOBILE

    assert cli.main(["purge", "--apply"]) == 0
    assert "匿名化 1 条" in capsys.readouterr().out
    with db.session_scope(write=False) as s:
        assert s.get(Inquiry, draft) is None and s.get(Inquiry, done).mobile == ""
        assert len(s.exec(select(Inquiry).where(Inquiry.status == "draft")).all()) == 1

    path = tmp_path / "log.csv"
    assert cli.main(["access-log", "--out", str(path)]) == 0
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert rows[0] == list(access_log.LOG_HEADERS)
    (purged,) = rows[1:]
    assert purged[1].startswith("console:") and purged[2] == "定期清理" and purged[4] == "2"
    capsys.readouterr()
    assert cli.main(["access-log", "--action", "viewed"]) == 0
    assert capsys.readouterr().out.strip() == ",".join(access_log.LOG_HEADERS)
    assert cli.main(["access-log", "--from", "yesterday"]) == 2
