"""The seeder: the same seed makes the same rows; the bulk load puts back what it takes away, after
an error too, and a load killed outright is undone at the next start. On SQLite the full-text index
of a first load is built beside the database (``bulk.fts.SideIndex``, one per index: the trigram
index and the index of 1–2 character terms) and copied in; it must be the index the load would
have made itself, and a load that fails half-way must leave an index that matches the rows that
are there."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from dashboard import bulkload, db, inquiries, queries, rollup, seed
from dashboard.queries import search
from dashboard.seed import bulk
from dashboard.seed.bulk import fts
from dashboard.seed.bulk import sqlite as bulk_sqlite
from models import Inquiry, InquiryEvent, User
from tests.conftest import valid_form

END = datetime(2026, 6, 1, tzinfo=UTC)
SHADOWS = (
    "inquiry_fts_data",
    "inquiry_fts_idx",
    "inquiry_fts_docsize",
    "inquiry_fts_short_data",
    "inquiry_fts_short_idx",
)


def _engine(path):
    engine = db.create_engine(f"sqlite:///{path}")
    db.migrate(engine)
    return engine


def _dump(engine) -> dict[str, list[tuple]]:
    with engine.connect() as c:
        return {t: c.exec_driver_sql(f"SELECT * FROM {t} ORDER BY 1").all() for t in SHADOWS}


def _triggers(engine) -> list[str]:
    with engine.connect() as c:
        return sorted(
            c.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars()
        )


def _search_agrees_with_like(engine) -> int:
    """FTS integrity, and a fragment found through the index exactly where LIKE finds it."""
    with engine.connect() as c:
        c.exec_driver_sql("INSERT INTO inquiry_fts(inquiry_fts) VALUES ('integrity-check')")
        names = c.exec_driver_sql("SELECT company_name FROM inquiry ORDER BY id").scalars().all()
        checked = 0
        for name in names[:: max(1, len(names) // 5)]:
            fragment = name[-4:-1]
            via_fts = c.exec_driver_sql(
                "SELECT rowid FROM inquiry_fts WHERE inquiry_fts MATCH ? ORDER BY rowid",
                ('company_name : "' + fragment + '"',),
            ).all()
            via_like = c.exec_driver_sql(
                "SELECT id FROM inquiry WHERE company_name LIKE ? ORDER BY id",
                ("%" + fragment + "%",),
            ).all()
            assert via_fts == via_like and via_fts
            checked += 1
        # The index of 1–2 character terms (no content: checked against the rows it was given).
        c.exec_driver_sql(
            "INSERT INTO inquiry_fts_short(inquiry_fts_short, rank) VALUES ('integrity-check', 1)"
        )
        for contact in c.exec_driver_sql("SELECT contact_name FROM inquiry").scalars().all()[::97]:
            for fragment in (contact[:1], contact[-2:]):
                via_index = c.exec_driver_sql(
                    "SELECT rowid FROM inquiry_fts_short WHERE inquiry_fts_short MATCH ? "
                    "ORDER BY rowid",
                    (search.short_query(fragment, drafts=True),),
                ).all()
                via_like = c.exec_driver_sql(
                    "SELECT id FROM inquiry WHERE "
                    + " OR ".join(f"{col} LIKE ?" for col in search.SEARCH_COLUMNS)
                    + " ORDER BY id",
                    ("%" + fragment + "%",) * len(search.SEARCH_COLUMNS),
                ).all()
                assert via_index == via_like and via_index, fragment
                checked += 1
        return checked


def _scratch_files(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".seed-fts-"))


def _index_holds_exactly_the_rows(engine, rows: int, directory) -> None:
    """After a load that failed: ``rows`` inquiries, each in the search index, searches that find
    what LIKE finds, and no scratch file left in ``directory``."""
    with engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM inquiry").scalar() == rows
    assert len(_dump(engine)["inquiry_fts_docsize"]) == rows
    assert _search_agrees_with_like(engine) >= 5
    assert _scratch_files(directory) == []


#: The digest of what ``seed(rows=30000, seed=3, end=END)`` writes into an empty database (the
#: inquiries, their events and the seeded owners), the same on both backends. It changes only
#: when the data is meant to change (the generator, or the Faker version its pools come from),
#: or a column is added (0016's ``anonymised_at``, None in every seeded row: the digest without
#: it is still the one before, ca36aa19…).
SEED_3_DIGEST = "40ba69eceb00f8a930b984375886fd48406e40bf6e444320267060e59b283831"


def _seeded_digest(engine) -> str:
    """SHA-256 over every row of the inquiry tables and the seeded owners, times as naive UTC."""

    def value(v):
        if isinstance(v, datetime) and v.tzinfo is not None:
            v = v.astimezone(UTC).replace(tzinfo=None)
        return v.isoformat() if isinstance(v, datetime) else v

    inquiry, event, user = Inquiry.__table__, InquiryEvent.__table__, User.__table__
    owners = sa.select(user.c.username, user.c.role, user.c.company_name, user.c.password_hash)
    selects = (
        sa.select(inquiry).order_by(inquiry.c.id),
        sa.select(event).order_by(event.c.id),
        owners.where(user.c.username.like("seed-company-%")).order_by(user.c.id),
    )
    digest = hashlib.sha256()
    with engine.connect() as c:
        for select in selects:
            for row in c.execute(select):
                digest.update(repr(tuple(value(v) for v in row)).encode())
    return digest.hexdigest()


def test_the_same_seed_writes_the_same_rows_byte_for_byte(engine):
    seed.seed(engine, rows=30000, seed=3, end=END)
    assert _seeded_digest(engine) == SEED_3_DIGEST


def test_the_demo_accounts_import_neither_the_generator_nor_the_bulk_loader():
    """The login page lists the demo accounts: that must not load Faker or the bulk loader."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, dashboard.seed.demo; print(' '.join(sorted(sys.modules)))",
        ],
        cwd=Path(__file__).parents[1],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert "dashboard.seed.demo" in loaded
    assert not [m for m in loaded if m.startswith(("dashboard.seed.bulk", "faker"))]
    assert "dashboard.seed.generate" not in loaded


def test_an_empty_search_index_built_beside_the_load_is_the_one_the_load_would_make(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(seed, "CHUNK", 400)  # several chunks, so several segments
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    beside = _engine(tmp_path / "a" / "beside.db")
    here = _engine(tmp_path / "b" / "here.db")
    triggers = _triggers(beside)
    made: list[fts.SideIndex] = []
    original = fts.SideIndex.__init__

    def spy(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(fts.SideIndex, "__init__", spy)
    seed.seed(beside, rows=1500, seed=11, end=END)
    # One beside the load per index, each on a thread of its own.
    assert sorted(list(side.statements) for side in made) == [
        ["inquiry_fts"],
        ["inquiry_fts_short"],
    ]
    monkeypatch.setattr(bulk_sqlite, "_database_file", lambda cur: None)  # in memory: no side build
    seed.seed(here, rows=1500, seed=11, end=END)
    assert len(made) == 2

    assert _dump(beside) == _dump(here)  # byte for byte, segment for segment
    assert len(_dump(beside)["inquiry_fts_docsize"]) == 1500
    assert _search_agrees_with_like(beside) >= 5
    assert _triggers(beside) == triggers  # the FTS and rollup triggers are back
    assert _scratch_files(tmp_path / "a") == []
    # Later writes go through the trigger into the copied index.
    seed.seed(beside, rows=300, seed=12, end=END)
    assert len(made) == 2  # not a bulk load of an empty index any more
    assert len(_dump(beside)["inquiry_fts_docsize"]) == 1800
    _search_agrees_with_like(beside)
    for engine in (beside, here):
        engine.dispose()


def test_a_load_that_fails_half_way_leaves_an_index_of_exactly_the_rows_there(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(seed, "CHUNK", 400)
    engine = _engine(tmp_path / "fail.db")
    triggers = _triggers(engine)
    calls = []
    original = bulk.SqliteLoad.insert_inquiries

    def failing(self, rows):
        calls.append(len(rows))
        if len(calls) == 3:
            raise RuntimeError("disk full")
        original(self, rows)

    monkeypatch.setattr(bulk.SqliteLoad, "insert_inquiries", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        seed.seed(engine, rows=2000, seed=13, end=END)
    _index_holds_exactly_the_rows(engine, 800, tmp_path)
    assert _triggers(engine) == triggers
    engine.dispose()


def test_a_side_build_that_fails_falls_back_to_the_rows_committed(tmp_path, monkeypatch):
    monkeypatch.setattr(seed, "CHUNK", 400)
    engine = _engine(tmp_path / "side.db")

    def broken(self, first_id, last_id):
        raise OSError("scratch disk full")

    monkeypatch.setattr(fts.SideIndex, "_index", broken)
    with pytest.raises(OSError, match="scratch disk full"):
        seed.seed(engine, rows=1000, seed=14, end=END)
    _index_holds_exactly_the_rows(engine, 1000, tmp_path)
    engine.dispose()


def test_no_room_for_a_scratch_file_indexes_on_the_database_itself(tmp_path, monkeypatch):
    engine = _engine(tmp_path / "noroom.db")

    def no_room(*args, **kwargs):
        raise OSError("read-only directory")

    monkeypatch.setattr(fts.tempfile, "mkstemp", no_room)
    seed.seed(engine, rows=900, seed=15, end=END)
    assert len(_dump(engine)["inquiry_fts_docsize"]) == 900
    _search_agrees_with_like(engine)
    engine.dispose()


def _schema(engine) -> dict[str, list]:
    inspector = sa.inspect(engine)
    out = {}
    for table in ("inquiry", "inquiry_event"):
        out[table + " indexes"] = sorted(
            (i["name"], tuple(i["column_names"]), bool(i["unique"]))
            for i in inspector.get_indexes(table)
        )
        out[table + " foreign keys"] = sorted(
            (tuple(f["constrained_columns"]), f["referred_table"])
            for f in inspector.get_foreign_keys(table)
        )
    return out


def test_a_bulk_load_puts_back_every_index_and_foreign_key(engine):
    """Both backends; on PostgreSQL the indexes are rebuilt in two sessions at once."""
    before = _schema(engine)
    assert len(before["inquiry indexes"]) >= 10 and before["inquiry_event foreign keys"]
    seed.seed(engine, rows=1200, seed=16, end=END)
    assert _schema(engine) == before


def test_rebuilding_the_indexes_again_after_an_error_makes_only_the_missing_ones(engine):
    before = _schema(engine)
    load = bulk.load(engine, suspend=False)  # not entered: the test takes the two steps itself
    try:
        load.drop_indexes()
        dropped = list(load.dropped)
        assert len(dropped) >= 10
        with engine.begin() as c:  # one was made before the error that interrupted the rebuild
            c.exec_driver_sql(next(create for *_, create in dropped if "email" in create))
        load.restore_indexes()
    finally:
        load.close()
    assert _schema(engine) == before


def test_a_step_of_the_restore_that_fails_leaves_the_rest_restored_and_the_journal_kept(
    engine, monkeypatch
):
    """Leaving a load puts back everything once: one step failing does not keep the others from
    running, and the journal stays for the next start, which finishes the job."""
    from tests.test_rollup import assert_rollup_exact

    before = _schema(engine)
    triggers = _triggers(engine) if engine.dialect.name == "sqlite" else None
    load_class = bulk.SqliteLoad if engine.dialect.name == "sqlite" else bulk.PostgresLoad

    def broken(self):
        raise OSError("disk full while rebuilding an index")

    monkeypatch.setattr(load_class, "restore_indexes", broken)
    with pytest.raises(OSError, match="rebuilding an index"):
        seed.seed(engine, rows=1200, seed=19, end=END)
    monkeypatch.undo()

    assert _schema(engine) != before  # the indexes are still missing ...
    assert_rollup_exact(engine)  # ... but the rollup, its triggers,
    with engine.connect() as c:
        assert rollup.missing_triggers(c) == []
    if triggers is not None:  # and the search trigger and index are back
        assert _triggers(engine) == triggers
        assert len(_dump(engine)["inquiry_fts_docsize"]) == 1200
        _search_agrees_with_like(engine)
    journal = _journal(engine)
    assert {kind for _, kind, _ in journal} >= {"index"}
    with engine.begin() as c:  # the next start, once the load's process (or session) is gone
        gone = "pid:" + _dead_pid() if engine.dialect.name == "sqlite" else "pg:999999999"
        c.execute(sa.text("UPDATE bulk_load_pending SET owner = :o"), {"o": gone})
    db.migrate(engine)
    assert _journal(engine) == []
    assert _schema(engine) == before
    assert_rollup_exact(engine)


def _dead_pid() -> str:
    """The pid of a process that has just ended."""
    return subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_a_seed_removes_the_scratch_files_of_seeds_that_were_killed(tmp_path):
    engine = _engine(tmp_path / "orphans.db")
    dead = _dead_pid()
    orphan = tmp_path / f"{bulkload.SCRATCH_PREFIX}{dead}-abc.db"
    orphan.write_bytes(b"left by a seed killed outright")
    alive = tmp_path / f"{bulkload.SCRATCH_PREFIX}{os.getpid()}-xyz.db"  # a seed still running
    alive.write_bytes(b"in use")
    unrelated = tmp_path / ".seed-fts-notes.txt"
    unrelated.write_bytes(b"not a scratch file of ours")
    seed.seed(engine, rows=500, seed=17, end=END)
    assert _scratch_files(tmp_path) == sorted([alive.name, unrelated.name])
    engine.dispose()


# ---------------------------------------------------------------------------------------------
# A bulk load killed outright (SIGKILL) is undone at the next start (dashboard.bulkload)

KILLED_SEED = """
import os, signal, sys
from datetime import UTC, datetime
from dashboard import db, seed
from dashboard.seed import bulk
seed.CHUNK = 400
calls = []
def dying(original):
    def insert_inquiries(self, rows):
        calls.append(len(rows))
        if len(calls) == 3:  # two chunks are committed, the third never will be
            os.kill(os.getpid(), signal.SIGKILL)
        original(self, rows)
    return insert_inquiries
for kind in (bulk.SqliteLoad, bulk.PostgresLoad):
    kind.insert_inquiries = dying(kind.insert_inquiries)
seed.seed(db.create_engine(sys.argv[1]), rows=2000, seed=18, end=datetime(2026, 6, 1, tzinfo=UTC))
"""


def _journal(engine) -> list[tuple]:
    with engine.connect() as c:
        return [
            tuple(r) for r in c.exec_driver_sql("SELECT owner, kind, name FROM bulk_load_pending")
        ]


def _wait_until_gone(engine, owner: str) -> None:
    """PostgreSQL ends the session of a killed client soon after its socket closes."""
    if not owner.startswith("pg:"):
        return
    deadline = time.monotonic() + 20
    while True:
        with engine.connect() as c:
            found = c.exec_driver_sql(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %(p)s", {"p": int(owner[3:])}
            ).first()
        if found is None:
            return
        assert time.monotonic() < deadline, "the killed load's session is still there"
        time.sleep(0.2)


def test_a_bulk_load_killed_outright_is_undone_at_the_next_start(engine, users, tmp_path):
    from tests.test_rollup import assert_rollup_exact

    before = _schema(engine)
    triggers = _triggers(engine) if engine.dialect.name == "sqlite" else None
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name != "sqlite":  # the test schema is a connect argument of the engine
        with engine.connect() as c:
            schema = c.exec_driver_sql("SELECT current_schema()").scalar()
        url += "?options=" + quote(f"-csearch_path={schema},public")
    done = subprocess.run(
        [sys.executable, "-c", KILLED_SEED, url], cwd=Path(__file__).parents[1], check=False
    )
    assert done.returncode == -signal.SIGKILL
    journal = _journal(engine)
    kinds = {kind for _, kind, _ in journal}
    assert "index" in kinds and len({owner for owner, _, _ in journal}) == 1
    assert _schema(engine) != before  # what the killed load left: indexes missing
    if engine.dialect.name == "sqlite":
        assert {"trigger", "rebuild"} <= kinds
        assert "inquiry_fts_ai" not in _triggers(engine)
    else:
        assert {"constraint", "sequence"} <= kinds
    _wait_until_gone(engine, journal[0][0])

    db.migrate(engine)  # what every start runs

    assert _journal(engine) == []
    assert _schema(engine) == before
    with engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM inquiry").scalar() == 800
    assert_rollup_exact(engine)
    if engine.dialect.name == "sqlite":
        assert _triggers(engine) == triggers
        assert len(_dump(engine)["inquiry_fts_docsize"]) == 800  # rebuilt from the rows there
        _search_agrees_with_like(engine)
    # New inquiries are found by a search again.
    with db.session_scope(engine) as s:
        new = inquiries.submit(
            s, actor=users["company"], form=valid_form(company_name="重启后新建进出口有限公司")
        )
    with db.session_scope(engine, write=False) as s:
        page = queries.list_page(s, queries.InquiryFilter(search="后新建"), actor=users["staff"])
        assert [i.id for i in page.rows] == [new.id]
    assert _scratch_files(tmp_path) == []  # the seed's own directory is the fixture's


def test_the_journal_of_a_load_still_running_is_left_alone(engine):
    def add(owner: str) -> None:
        with engine.begin() as c:
            c.execute(
                sa.text(
                    "INSERT INTO bulk_load_pending (owner, kind, name, ddl) "
                    "VALUES (:o, 'index', 'ix_journal_probe', :d)"
                ),
                {"o": owner, "d": "CREATE INDEX ix_journal_probe ON inquiry (email, mobile)"},
            )

    def probe() -> bool:
        return any(
            i["name"] == "ix_journal_probe" for i in sa.inspect(engine).get_indexes("inquiry")
        )

    with engine.connect() as c:  # a session that is running: this test's own
        live = (
            "pg:" + str(c.exec_driver_sql("SELECT pg_backend_pid()").scalar())
            if engine.dialect.name != "sqlite"
            else "pid:" + str(os.getpid())
        )
        add(live)
        with engine.begin() as c2:  # the running load has dropped the rollup's triggers too
            rollup.drop_triggers(c2)
        db.migrate(engine)
        assert not probe() and len(_journal(engine)) == 1
        with engine.connect() as c2:  # left for the load, which counts its rows itself
            assert rollup.missing_triggers(c2) == list(rollup.trigger_names(engine.dialect.name))
    with engine.begin() as c:
        c.exec_driver_sql("DELETE FROM bulk_load_pending")
    add("pid:" + _dead_pid() if engine.dialect.name == "sqlite" else "pg:999999999")
    db.migrate(engine)
    assert probe() and _journal(engine) == []
    with engine.connect() as c:
        assert rollup.missing_triggers(c) == []
    # The schema outlives the test on PostgreSQL (one per worker): the probe must not be found by
    # a later test that compares the schema with the models.
    with engine.begin() as c:
        c.exec_driver_sql("DROP INDEX ix_journal_probe")


def test_the_load_leaves_whole_index_statistics_and_the_province_count_uses_its_index(tmp_path):
    """Sampled statistics (``analysis_limit``) put every key of the status and the province
    indexes at about the same number of rows, and the planner then counted a province's
    已提交 inquiries through the status index, one row lookup each."""
    engine = _engine(tmp_path / "stats.db")
    seed.seed(engine, rows=3000, seed=21, end=END)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT count(*) FROM inquiry").scalar_one()
        stats = dict(
            conn.exec_driver_sql("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'inquiry'").all()
        )
        plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT status, intent, count(*) FROM inquiry "
            "WHERE status != 'draft' AND status IN ('submitted') AND province_code = '440000' "
            "GROUP BY status, intent"
        ).all()
    # the whole index was read: its first number is the table's row count, not an estimate
    assert int(stats["ix_inquiry_status_intent_submitted"].split()[0]) == rows
    assert "ix_inquiry_province_submitted_cover" in " ".join(str(step[-1]) for step in plan)
    engine.dispose()
