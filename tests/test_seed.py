"""The bulk seeder on SQLite: the full-text index of a first load is built beside the database
(``seed._SideIndex``) and copied in; it must be the index the load would have made itself, and a
load that fails half-way must leave an index that matches the rows that are there."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from dashboard import db, seed

END = datetime(2026, 6, 1, tzinfo=UTC)
SHADOWS = ("inquiry_fts_data", "inquiry_fts_idx", "inquiry_fts_docsize")


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
        return checked


def _scratch_files(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".seed-fts-"))


def test_an_empty_search_index_built_beside_the_load_is_the_one_the_load_would_make(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(seed, "CHUNK", 400)  # several chunks, so several segments
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    beside = _engine(tmp_path / "a" / "beside.db")
    here = _engine(tmp_path / "b" / "here.db")
    triggers = _triggers(beside)
    made: list[seed._SideIndex] = []
    original = seed._SideIndex.__init__

    def spy(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(seed._SideIndex, "__init__", spy)
    seed.seed(beside, rows=1500, seed=11, end=END)
    assert len(made) == 1 and list(made[0].statements) == ["inquiry_fts"]
    monkeypatch.setattr(seed, "_database_file", lambda cur: None)  # in memory: no side build
    seed.seed(here, rows=1500, seed=11, end=END)
    assert len(made) == 1

    assert _dump(beside) == _dump(here)  # byte for byte, segment for segment
    assert len(_dump(beside)["inquiry_fts_docsize"]) == 1500
    assert _search_agrees_with_like(beside) >= 5
    assert _triggers(beside) == triggers  # the FTS and rollup triggers are back
    assert _scratch_files(tmp_path / "a") == []
    # Later writes go through the trigger into the copied index.
    seed.seed(beside, rows=300, seed=12, end=END)
    assert len(made) == 1  # not a bulk load of an empty index any more
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
    original = seed._Writer.insert_inquiries

    def failing(self, rows):
        calls.append(len(rows))
        if len(calls) == 3:
            raise RuntimeError("disk full")
        original(self, rows)

    monkeypatch.setattr(seed._Writer, "insert_inquiries", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        seed.seed(engine, rows=2000, seed=13, end=END)
    with engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM inquiry").scalar() == 800
    assert len(_dump(engine)["inquiry_fts_docsize"]) == 800
    assert _search_agrees_with_like(engine) >= 5
    assert _triggers(engine) == triggers
    assert _scratch_files(tmp_path) == []
    engine.dispose()


def test_a_side_build_that_fails_falls_back_to_the_rows_committed(tmp_path, monkeypatch):
    monkeypatch.setattr(seed, "CHUNK", 400)
    engine = _engine(tmp_path / "side.db")

    def broken(self, first_id, last_id):
        raise OSError("scratch disk full")

    monkeypatch.setattr(seed._SideIndex, "_index", broken)
    with pytest.raises(OSError, match="scratch disk full"):
        seed.seed(engine, rows=1000, seed=14, end=END)
    with engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM inquiry").scalar() == 1000
    assert len(_dump(engine)["inquiry_fts_docsize"]) == 1000
    _search_agrees_with_like(engine)
    assert _scratch_files(tmp_path) == []
    engine.dispose()


def test_no_room_for_a_scratch_file_indexes_on_the_database_itself(tmp_path, monkeypatch):
    engine = _engine(tmp_path / "noroom.db")

    def no_room(*args, **kwargs):
        raise OSError("read-only directory")

    monkeypatch.setattr(seed.tempfile, "mkstemp", no_room)
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
    writer = seed._Writer(engine)
    try:
        writer.drop_indexes()
        dropped = list(writer.dropped)
        assert len(dropped) >= 10
        with engine.begin() as c:  # one was made before the error that interrupted the rebuild
            c.exec_driver_sql(next(create for _, create in dropped if "email" in create))
        writer.restore_indexes()
    finally:
        writer.close()
    assert _schema(engine) == before


def test_a_seed_removes_the_scratch_files_of_seeds_that_were_killed(tmp_path):
    engine = _engine(tmp_path / "orphans.db")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    orphan = tmp_path / f"{seed.SCRATCH_PREFIX}{dead}-abc.db"
    orphan.write_bytes(b"left by a seed killed outright")
    alive = tmp_path / f"{seed.SCRATCH_PREFIX}{os.getpid()}-xyz.db"  # a seed still running
    alive.write_bytes(b"in use")
    unrelated = tmp_path / ".seed-fts-notes.txt"
    unrelated.write_bytes(b"not a scratch file of ours")
    seed.seed(engine, rows=500, seed=17, end=END)
    assert _scratch_files(tmp_path) == sorted([alive.name, unrelated.name])
    engine.dispose()
