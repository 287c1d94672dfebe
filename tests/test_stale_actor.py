"""A ``User`` row read before an administrator deactivated or demoted the account is never
trusted: every domain entry point re-reads the actor in its own transaction.

The pages hold the user of the run that drew a button; the button's callback runs minutes later.
These tests hand each domain call such a stale row (read, then changed by an admin in another
transaction) on both backends, and check that nothing was written.
"""

from __future__ import annotations

import io
import threading

import pytest
import sqlalchemy as sa
from sqlmodel import select

from dashboard import accounts, clock, db, export, inquiries, login_limits, queries, reports
from dashboard.errors import NotAllowed
from models import AccountEvent, InquiryEvent, User
from tests.conftest import PASSWORD, valid_form


def _stale(engine, username: str) -> User:
    """The row as a page read it: detached, from a session that has ended."""
    with db.session_scope(engine, write=False) as s:
        return s.exec(select(User).where(User.username == username)).one()


def _admin_changes(engine, admin: User, target: User, *, active=None, role=None) -> None:
    with db.session_scope(engine) as s:
        if active is not None:
            accounts.set_active(s, actor=admin, user_id=target.id, active=active)
        if role is not None:
            accounts.set_role(s, actor=admin, user_id=target.id, role=role)


def _snapshot(engine):
    """Everything a refused call must leave as it was."""
    with engine.connect() as conn:
        return {
            table: conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY 1")).all()  # noqa: S608
            for table in ("inquiry", "inquiry_event", "user_account")
        }


def _all_time() -> reports.ReportFilter:
    return reports.ReportFilter(*clock.period("全部", clock.today()))


@pytest.fixture
def submitted(engine, users):
    with db.session_scope(engine) as s:
        return inquiries.submit(s, actor=users["company"], form=valid_form()).id


@pytest.fixture
def draft(engine, users):
    with db.session_scope(engine) as s:
        draft = inquiries.save_draft(s, actor=users["company"], form=valid_form())
        return draft.id, draft.version


# (who, what the admin does to them, the call with the stale row) — the eight write paths of the
# adversarial run, and the reads that would show data to someone who may no longer see it.
STALE_CALLS = {
    "deactivated staff completes": (
        "staff",
        {"active": False},
        lambda s, a, w: inquiries.complete(s, actor=a, inquiry_ids=[w["submitted"]]),
    ),
    "deactivated staff assigns": (
        "staff",
        {"active": False},
        lambda s, a, w: inquiries.assign(
            s, actor=a, inquiry_id=w["submitted"], assignee_id=w["staff2"]
        ),
    ),
    "deactivated staff notes": (
        "staff",
        {"active": False},
        lambda s, a, w: inquiries.add_note(s, actor=a, inquiry_id=w["submitted"], text="备注"),
    ),
    "manager made administrator completes": (
        "manager",
        {"role": "admin"},
        lambda s, a, w: inquiries.complete(s, actor=a, inquiry_ids=[w["submitted"]]),
    ),
    "deactivated company saves": (
        "company",
        {"active": False},
        lambda s, a, w: inquiries.save_draft(
            s, actor=a, form=valid_form(), inquiry_id=w["draft"][0], expected_version=w["draft"][1]
        ),
    ),
    "deactivated company submits": (
        "company",
        {"active": False},
        lambda s, a, w: inquiries.submit(s, actor=a, form=valid_form()),
    ),
    "deactivated admin resets a password": (
        "admin",
        {"active": False},
        lambda s, a, w: accounts.reset_password(s, actor=a, user_id=w["staff2"]),
    ),
    "demoted admin promotes to admin": (
        "admin",
        {"role": "staff"},
        lambda s, a, w: accounts.set_role(s, actor=a, user_id=w["staff2"], role="admin"),
    ),
    "deactivated admin creates an admin": (
        "admin",
        {"active": False},
        lambda s, a, w: accounts.add_user(s, actor=a, username="mole", role="admin"),
    ),
    "deactivated staff lists": (
        "staff",
        {"active": False},
        lambda s, a, w: queries.list_page(s, queries.InquiryFilter(), actor=a),
    ),
    "deactivated staff opens": (
        "staff",
        {"active": False},
        lambda s, a, w: inquiries.get(s, actor=a, inquiry_id=w["submitted"]),
    ),
    "deactivated staff exports": (
        "staff",
        {"active": False},
        lambda s, a, w: list(queries.export_rows(s, queries.InquiryFilter(), actor=a)),
    ),
    "manager demoted to staff reads reports": (
        "manager",
        {"role": "staff"},
        lambda s, a, w: reports.overview(s, _all_time(), actor=a),
    ),
}


@pytest.mark.parametrize("case", list(STALE_CALLS))
def test_a_stale_user_row_is_refused_and_nothing_is_written(engine, users, submitted, draft, case):
    who, change, call = STALE_CALLS[case]
    stale = _stale(engine, who)
    # A second administrator, so that the first can be deactivated or demoted.
    with db.session_scope(engine) as s:
        boss = accounts.create_user(s, username="boss", password=PASSWORD, role="admin")
    _admin_changes(engine, boss, users[who], **change)
    world = {"submitted": submitted, "draft": draft, "staff2": users["staff2"].id}
    before = _snapshot(engine)
    assert stale.is_active and stale.role == users[who].role  # the row still says "allowed"
    with pytest.raises(NotAllowed), db.session_scope(engine) as s:
        call(s, stale, world)
    assert _snapshot(engine) == before


def test_a_stale_row_of_an_account_still_allowed_keeps_working(engine, users, submitted):
    """The re-read refuses only what the database refuses: a manager demoted to staff may
    still complete (staff may), with the role as it is now."""
    stale = _stale(engine, "manager")
    _admin_changes(engine, users["admin"], users["manager"], role="staff")
    with db.session_scope(engine) as s:
        done = inquiries.complete(s, actor=stale, inquiry_ids=[submitted], note="已处理")
    assert [row.status for row in done] == ["completed"]
    with db.session_scope(engine, write=False) as s:
        event = s.exec(
            select(InquiryEvent).where(
                InquiryEvent.inquiry_id == submitted, InquiryEvent.action == "completed"
            )
        ).one()
    assert event.actor_id == users["manager"].id


def test_a_reactivated_account_may_act_again_with_its_old_row(engine, users, submitted):
    stale = _stale(engine, "staff")
    _admin_changes(engine, users["admin"], users["staff"], active=False)
    _admin_changes(engine, users["admin"], users["staff"], active=True)
    with db.session_scope(engine) as s:
        inquiries.add_note(s, actor=stale, inquiry_id=submitted, text="回来了")


def test_an_export_for_a_stale_row_writes_nothing_to_the_file(engine, users, submitted):
    stale = _stale(engine, "staff")
    _admin_changes(engine, users["admin"], users["staff"], active=False)
    out = io.StringIO()
    with pytest.raises(NotAllowed), db.session_scope(engine, write=False) as s:
        export.write_csv(s, queries.InquiryFilter(), actor=stale, out=out, sort="-submitted_at")
    assert "询保流水号" not in out.getvalue()


# --------------------------------------------------------------------------------------------
# Races on PostgreSQL: the domain's locks, tried with real parallel transactions


def _in_parallel(n, work):
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as err:  # the test inspects every outcome
            results[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a transaction never finished"
    return results


def test_two_admins_deactivating_each_other_never_deadlock(engine, users):
    """Each round: exactly one deactivation wins; the other admin, deactivated first, is
    refused with NotAllowed (never a deadlock or a database error)."""
    with db.session_scope(engine) as s:
        other = accounts.create_user(s, username="admin2", password=PASSWORD, role="admin")
        keeper = accounts.create_user(s, username="keeper", password=PASSWORD, role="admin")
    admins = [users["admin"], other]
    for _ in range(4):

        def work(i):
            me, them = admins[i], admins[1 - i]
            with db.session_scope(engine) as s:
                accounts.set_active(s, actor=me, user_id=them.id, active=False)
            return "ok"

        results = _in_parallel(2, work)
        assert sorted(map(repr, results)).count("'ok'") == 1, results
        refused = [r for r in results if r != "ok"]
        assert all(isinstance(r, NotAllowed) for r in refused), results
        with db.session_scope(engine) as s:  # put both back for the next round
            for admin in admins:
                accounts.set_active(s, actor=keeper, user_id=admin.id, active=True)


def test_parallel_wrong_passwords_check_at_most_the_limit_before_the_lock(engine, users):
    """Eight streams of wrong passwords at once: exactly MAX_FAILED_LOGINS are checked and
    counted, then the account is locked and every further attempt is refused unchecked."""
    attempts = 24

    def work(i):
        with db.session_scope(engine) as s:
            return accounts.authenticate(s, username="staff", password=f"wrong-{i}")

    results = _in_parallel(8, lambda i: [work(i * 3 + k) for k in range(attempts // 8)])
    assert all(r == [None, None, None] for r in results), results
    with db.session_scope(engine, write=False) as s:
        actions = s.exec(
            select(AccountEvent.action).where(AccountEvent.user_id == users["staff"].id)
        ).all()
        staff = s.get(User, users["staff"].id)
    assert actions.count("login_failed") == accounts.MAX_FAILED_LOGINS
    assert actions.count("locked") == 1
    assert actions.count("login_refused_locked") == attempts - accounts.MAX_FAILED_LOGINS
    assert staff.locked_until is not None


def test_one_source_is_blocked_after_many_failures_on_any_accounts(engine, users):
    limit = login_limits.SOURCE_MAX_FAILURES
    names = ["staff", "staff2", "manager", "nobody", "company"]
    for i in range(limit):
        with db.session_scope(engine) as s:
            assert (
                accounts.authenticate(
                    s, username=names[i % len(names)], password="wrong", source="203.0.113.7"
                )
                is None
            )
    # Blocked now, even with the right password; another address is not.
    with db.session_scope(engine) as s:
        assert (
            accounts.authenticate(s, username="admin", password=PASSWORD, source="203.0.113.7")
            is None
        )
        assert accounts.source_wait_seconds(s, "203.0.113.7") > 0
    with db.session_scope(engine) as s:
        assert (
            accounts.authenticate(s, username="admin", password=PASSWORD, source="198.51.100.1")
            is not None
        )


def test_successful_logins_do_not_count_against_the_source(engine, users):
    for _ in range(login_limits.SOURCE_MAX_FAILURES + 5):
        with db.session_scope(engine) as s:
            assert (
                accounts.authenticate(s, username="staff", password=PASSWORD, source="10.0.0.1")
                is not None
            )


def test_parallel_attempts_from_one_source_never_exceed_its_limit(engine, users):
    limit = login_limits.SOURCE_MAX_FAILURES
    streams, each = 4, 7

    def work(i):
        for k in range(each):
            with db.session_scope(engine) as s:
                accounts.authenticate(
                    s, username=f"nobody{i}-{k}", password="wrong", source="192.0.2.9"
                )
        return "done"

    assert _in_parallel(streams, work) == ["done"] * streams
    with db.session_scope(engine, write=False) as s:
        refused = s.exec(
            select(sa.func.count())
            .select_from(AccountEvent)
            .where(AccountEvent.action == "login_refused_source")
        ).one()
    # The first `limit` attempts are checked, every later one is refused unchecked.
    assert refused == streams * each - limit


@pytest.mark.parametrize("backend", ["postgres"])
def test_logins_from_one_address_do_not_wait_for_each_others_password_check(
    engine, users, monkeypatch
):
    """Two accounts logging in from one address (an office behind one NAT): the second login
    completes while the first is still checking its password. The source's count used to lock its
    row for the whole of the first login."""
    first_checking, release = threading.Event(), threading.Event()
    real = accounts.verify_password

    def verify(password_hash, password):
        if threading.current_thread().name == "first":
            first_checking.set()
            assert release.wait(30)
        return real(password_hash, password)

    monkeypatch.setattr(accounts, "verify_password", verify)
    found: dict = {}

    def login(name):
        with db.session_scope(engine) as s:
            found[name] = accounts.authenticate(
                s, username=name, password=PASSWORD, source="198.51.100.20"
            )

    first = threading.Thread(target=login, args=("staff",), name="first")
    first.start()
    try:
        assert first_checking.wait(10)
        second = threading.Thread(target=login, args=("manager",), name="second")
        second.start()
        second.join(10)
        assert not second.is_alive(), "the second login waited for the first's password check"
        assert found["manager"] is not None
    finally:
        release.set()
        first.join(30)
    assert found["staff"] is not None
