"""Search terms of 1–2 characters through migration 0018's index (SQLite ``inquiry_fts_short``,
PostgreSQL ``ix_inquiry_search_chars``): exactly the rows of a plain contains-match over every
row, on both backends, also after edits, completions, anonymisation and deleted drafts, and after
a bulk load; the trigger's SQL and the bulk load's Python make the same index text."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from dashboard import db, inquiries, queries, retention, seed
from dashboard.queries import InquiryFilter, search
from dashboard.seed import bulk
from models import Inquiry, Status
from tests.conftest import valid_form

SEARCHED = search.SEARCH_COLUMNS
NAMES = ("张伟", "王娟", "李强", "欧阳娜娜", "Zhang Wei", "O'Neil", "王")
COMPANIES = ("宁波海曙纺织品有限公司", "ABC贸易有限公司", "义乌小商品贸易有限公司", "50%折扣_商行")


def _fold(text: str, backend: str) -> str:
    """How the backend's contains-match compares: SQLite's LIKE folds ASCII letters only,
    PostgreSQL's ILIKE lower-cases everything."""
    return text.encode().lower().decode() if backend == "sqlite" else text.lower()


def _expected(session, term: str, backend: str, statuses: tuple[str, ...]) -> set[int]:
    """The rows a staff member finds, by Python over every row: not drafts, the statuses, the
    term inside one of the searched columns."""
    rows = session.exec(select(Inquiry)).all()
    needle = _fold(term, backend)
    return {
        r.id
        for r in rows
        if r.status != Status.draft.value
        and (not statuses or r.status in statuses)
        and any(needle in _fold(getattr(r, c) or "", backend) for c in SEARCHED)
    }


def _found(term: str, staff, statuses: tuple[str, ...] = ()) -> set[int]:
    """Every match through ``list_page`` (all pages), as the triage page finds them."""
    flt = InquiryFilter(search=term, statuses=statuses)
    out: set[int] = set()
    with db.session_scope(write=False) as s:
        first = queries.list_page(s, flt, actor=staff, page_size=100)
        out.update(r.id for r in first.rows)
        for page in range(2, first.pages + 1):
            out.update(
                r.id for r in queries.list_page(s, flt, actor=staff, page=page, page_size=100).rows
            )
        assert first.total == len(out)
        assert queries.count(s, flt, actor=staff) == len(out)
    return out


def _fragments(session, rng: random.Random, n: int) -> list[str]:
    """``n`` distinct 1–2 character fragments taken from the stored values (some in upper case),
    plus a few that match nothing."""
    values = [
        getattr(r, c)
        for r in session.exec(select(Inquiry)).all()
        for c in SEARCHED
        if getattr(r, c)
    ]
    out: list[str] = []
    while len(out) < n:
        value = rng.choice(values)
        size = rng.choice((1, 2))
        start = rng.randrange(max(1, len(value) - size + 1))
        fragment = value[start : start + size].strip()
        if rng.random() < 0.2:
            fragment = fragment.upper()
        if fragment and queries.search.contains_term(fragment) and fragment not in out:
            out.append(fragment)
    return [*out, "zq", "鑫", "§"]


@pytest.fixture
def mixed(engine, users):
    """40 inquiries with assorted names, companies, numbers and e-mails, some completed, and a
    few drafts."""
    rng = random.Random(18)
    ids = []
    with db.session_scope(engine) as s:
        for n in range(40):
            form = valid_form(
                company_name=rng.choice(COMPANIES),
                contact_name=rng.choice(NAMES),
                mobile=f"13{rng.randrange(10**9):09d}",
                landline=f"0{rng.choice((10, 21, 755, 571))}-{rng.randrange(10**7, 10**8)}",
                email=f"{rng.choice(('zhang', 'Li.Qiang', 'wang_j', 'x'))}{n}@Example.com",
                intent=("insure", "buyer_credit", "other")[n % 3],
                other_needs="需要报价" if n % 3 == 2 else None,
            )
            ids.append(inquiries.submit(s, actor=users["company"], form=form).id)
        for name in NAMES[:3]:
            inquiries.save_draft(s, actor=users["company"], form=valid_form(contact_name=name))
        inquiries.complete(s, actor=users["staff"], inquiry_ids=ids[::3], note="已处理")
    return ids


def _check(engine, backend, staff, fragments) -> None:
    for statuses in ((), (Status.submitted.value,)):
        for term in fragments:
            with db.session_scope(write=False) as s:
                expected = _expected(s, term, backend, statuses)
            assert _found(term, staff, statuses) == expected, (term, statuses)


def test_short_terms_find_exactly_the_rows_that_contain_them(engine, backend, users, mixed):
    rng = random.Random(7)
    with db.session_scope(write=False) as s:
        fragments = _fragments(s, rng, 30)
    _check(engine, backend, users["staff"], fragments)


def test_the_index_follows_edits_completions_anonymisation_and_deleted_drafts(
    engine, backend, users, mixed
):
    staff = users["staff"]
    with db.session_scope() as s:
        # an edit of the searched columns (as an administrator's correction would be)
        s.execute(
            sa.update(Inquiry)
            .where(Inquiry.id == mixed[1])
            .values(contact_name="鑫鑫", email="QQ@example.com", company_name="新名字公司")
        )
        inquiries.complete(s, actor=staff, inquiry_ids=[mixed[2], mixed[4]], note="已处理")
    with db.session_scope() as s:
        # the retention purge's anonymisation: one set-based UPDATE of the contact columns
        s.execute(
            sa.update(Inquiry)
            .where(Inquiry.id.in_(mixed[10:20]))
            .values(contact_name="已匿名", mobile="", landline="", email="")
        )
        draft = s.exec(select(Inquiry).where(Inquiry.status == Status.draft.value)).first()
    with db.session_scope() as s:
        inquiries.delete_draft(s, actor=users["company"], inquiry_id=draft.id)
    with db.session_scope() as s:
        retention.anonymise_company(
            s, actor=users["admin"], owner_id=users["company"].id, apply=True
        )
    rng = random.Random(9)
    with db.session_scope(write=False) as s:
        fragments = _fragments(s, rng, 20)
    _check(engine, backend, staff, [*fragments, "鑫", "鑫鑫", "qq", "匿名", "新名", "张伟", "王"])


def test_a_staff_search_of_a_common_character_is_capped_and_newest_first(
    engine, backend, users, mixed, monkeypatch
):
    """More matches than the cap: "N+" and the newest page, as for longer terms."""
    monkeypatch.setattr(queries, "SEARCH_COUNT_CAP", 25)
    monkeypatch.setattr(queries, "SPARSE_SEARCH_ROWS", 3)
    staff = users["staff"]
    flt = InquiryFilter(search="有")
    with db.session_scope(write=False) as s:
        conds = queries.where(flt, actor=staff, dialect=s.get_bind().dialect.name).clauses()
        newest = s.exec(
            select(Inquiry.id).where(*conds).order_by(*queries.SORTS["-submitted_at"])
        ).all()
        page = queries.list_page(s, flt, actor=staff, page_size=20)
        second = queries.list_page(s, flt, actor=staff, page_size=20, page=2)
    assert len(newest) > 25
    assert page.capped and page.total == 25 and page.total_label == "25+"
    assert [r.id for r in page.rows] == list(newest[:20])
    assert [r.id for r in second.rows] == list(newest[20:25])


@pytest.mark.parametrize("backend", ["sqlite"])
def test_completing_or_assigning_leaves_the_short_index_alone(engine, backend, users, mixed):
    """Migration 0018's update trigger fires only when the indexed text, the intent or
    draft-or-not changes: an assignment or a completion writes nothing to the short index (under
    0018 each one computed the row's tokens twice in SQL)."""

    def changes(statement: str, *, without_trigger: bool) -> int:
        """The rows ``statement`` changes, triggers included; rolled back."""
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            raw.execute("BEGIN")
            if without_trigger:
                raw.execute(f"DROP TRIGGER {search.SHORT_TABLE}_au")
            before = raw.total_changes
            raw.execute(statement)
            count = raw.total_changes - before
            raw.execute("ROLLBACK")
        return count

    def index_writes(statement: str) -> int:
        return changes(statement, without_trigger=False) - changes(statement, without_trigger=True)

    open_id = next(i for i in mixed if i % 3)
    assert (
        index_writes(f"UPDATE inquiry SET assignee_id = {users['staff'].id} WHERE id = {open_id}")
        == 0
    )
    assert index_writes(f"UPDATE inquiry SET status = 'completed' WHERE id = {open_id}") == 0
    assert index_writes(f"UPDATE inquiry SET contact_name = '鑫' WHERE id = {open_id}") > 0
    assert index_writes(f"UPDATE inquiry SET status = 'draft' WHERE id = {open_id}") > 0
    with engine.begin() as conn:
        conn.execute(sa.update(Inquiry).where(Inquiry.id == open_id).values(contact_name="鑫"))
        conn.execute(sa.update(Inquiry).where(Inquiry.id == open_id).values(status="completed"))
    _check(engine, backend, users["staff"], ["鑫", "张"])


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_database_before_the_short_index_migrates_to_the_same_searches(
    engine, backend, users, mixed
):
    """Down to 0017 (no short index) and up again: 0018 fills the index in Python; the searches
    find exactly what a contains-match finds."""
    from alembic import command

    config = db.alembic_config(engine)
    command.downgrade(config, "0017")
    with engine.connect() as conn:
        tables = conn.exec_driver_sql("SELECT name FROM sqlite_master").scalars().all()
    assert search.SHORT_TABLE not in tables
    command.upgrade(config, "head")
    rng = random.Random(11)
    with db.session_scope(write=False) as s:
        fragments = _fragments(s, rng, 15)
    _check(engine, backend, users["staff"], fragments)


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("status", ["draft", "submitted", "completed"])
def test_the_trigger_sql_and_the_bulk_loads_python_make_the_same_text(engine, backend, status):
    """A contentless FTS5 table forgets a row only when given its tokens again: the text the
    trigger computes (SQL), the one the bulk load writes (Python) and the one the migration
    filled the table with must be the same."""
    path = Path(__file__).parents[1] / "data/migrations/versions/0018_short_search.py"
    spec = importlib.util.spec_from_file_location("migration_0018", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    rng = random.Random(3)
    alphabet = "aZ9 _%/'-.@张伟王娟é\u00a0\u3000" + "".join(chr(c) for c in range(0x1F600, 0x1F603))
    cases = [
        tuple("".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12))) for _ in SEARCHED)
        for _ in range(200)
    ]
    cases.append(("", "", "", "", "", ""))
    sql = "SELECT " + migration.tokens_sql("r") + " FROM (SELECT :status AS status, "
    sql += ":intent AS intent, " + ", ".join(f":{c} AS {c}" for c in SEARCHED) + ") AS r"
    with engine.connect() as conn:
        for values in cases:
            params = {
                "status": status,
                "intent": "buyer_credit",
                **dict(zip(SEARCHED, values, strict=True)),
            }
            in_sql = conn.execute(sa.text(sql), params).scalar_one()
            assert in_sql == search.short_tokens(status, "buyer_credit", *values), values
            assert in_sql == migration._tokens(status, "buyer_credit", *values), values
            assert in_sql.startswith("xd " if status == "draft" else "xn ")


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_bulk_load_indexes_short_terms_like_the_trigger(engine, backend, users):
    """The bulk load writes the index per chunk in Python instead of the trigger: the searches
    find the same rows, and later edits (through the trigger, which forgets the old text) too."""
    with db.session_scope() as s:
        inquiries.submit(s, actor=users["company"], form=valid_form(contact_name="张伟"))
    seed.seed(engine, rows=300, seed=5)  # more than the table holds: a bulk load
    with engine.connect() as conn:
        triggers = {
            r[0]
            for r in conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'inquiry'"
            )
        }
    assert bulk.sqlite.SHORT_TRIGGER in triggers
    with db.session_scope() as s:
        some = s.exec(select(Inquiry).where(Inquiry.status != Status.draft.value).limit(5)).all()
        for row in some:
            row.contact_name = "鑫" + row.contact_name
        s.add_all(some)
    rng = random.Random(11)
    with db.session_scope(write=False) as s:
        fragments = _fragments(s, rng, 25)
    _check(engine, backend, users["staff"], [*fragments, "鑫"])
    with engine.connect() as conn:
        conn.exec_driver_sql(
            f"INSERT INTO {search.SHORT_TABLE}({search.SHORT_TABLE}, rank) "
            "VALUES ('integrity-check', 0)"
        )


@pytest.mark.parametrize(
    ("term", "indexed"),
    [("hc", True), ("林刚", True), ("90", True), ("H.", True), ("a", False), ("abc", False)]
    + [("İs", False), (chr(31) + "a", False), ("a" + chr(29), False)],
)
def test_which_terms_the_pair_index_answers(term, indexed):
    assert search.pairs_indexed(term) is indexed


@pytest.mark.parametrize("backend", ["postgres"])
def test_the_pair_function_holds_every_pair_of_adjacent_characters(engine, backend):
    """Migration 0021's ``inquiry_search_pairs`` on random values (Chinese, Latin in both cases,
    digits, punctuation, spaces, short and empty): every pair of adjacent characters of each
    column, lower-cased, is one of its pieces."""
    rng = random.Random(21)
    alphabet = "张伟王娟林刚有限公司abcHCxyZ0123456789 .@-_%'()（）"
    with engine.connect() as conn:
        for _ in range(200):
            values = [
                "".join(rng.choice(alphabet) for _ in range(rng.choice((0, 1, 2, 3, 7, 30))))
                for _ in SEARCHED
            ]
            pieces = set(
                conn.execute(
                    sa.text("SELECT inquiry_search_pairs(:a, :b, :c, :d, :e, :f)"),
                    dict(zip("abcdef", values, strict=True)),
                ).scalar_one()
            )
            wanted = {v.lower()[i : i + 2] for v in values for i in range(len(v) - 1)}
            assert wanted <= pieces, (values, wanted - pieces)


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_two_character_search_reads_the_pair_index(engine, backend, users, mixed):
    """The rows holding the pair come from ``ix_inquiry_search_pairs``, not from the rows holding
    both characters (most of the table for two common letters)."""
    term = "hc"
    stmt = sa.select(Inquiry.id).where(search.PAIR.clause({"search": term}))
    sql = stmt.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # 40 rows: a scan would do
        plan = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {sql}"))
    assert "ix_inquiry_search_pairs" in plan, plan
    assert "ix_inquiry_search_chars" not in plan, plan
