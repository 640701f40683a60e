"""The root's SQLite database as concurrent users of one root see it: reads reuse a connection
per thread yet see every commit, and a read never leaves the lock a writer needs."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from emulator.store.database import Database

SCHEMA = "CREATE TABLE IF NOT EXISTS items (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(tmp_path / "items.sqlite3", schema=SCHEMA, version=1)
    with database.transaction() as conn:
        conn.executemany("INSERT INTO items VALUES (?, ?)", [("a", 1), ("b", 2), ("c", 3)])
    return database


def _value(db: Database, name: str) -> int | None:
    with db.read() as conn:
        row = conn.execute("SELECT value FROM items WHERE name=?", (name,)).fetchone()
    return None if row is None else int(row["value"])


def test_a_read_sees_what_another_process_committed_since_the_last_read(db: Database) -> None:
    assert _value(db, "a") == 1
    write = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()"
    )
    update = "UPDATE items SET value = 10 WHERE name = 'a'"
    subprocess.run([sys.executable, "-c", write, str(db.path), update], check=True)
    assert _value(db, "a") == 10


def test_an_unfinished_query_does_not_keep_writers_waiting(db: Database) -> None:
    with db.read() as conn:
        cursor = conn.execute("SELECT name FROM items ORDER BY name")
        assert cursor.fetchone()["name"] == "a"  # two rows left unread: the statement is open
    # Another connection commits at once: the read's statement no longer holds the shared lock.
    other = sqlite3.connect(db.path, timeout=0.5, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        other.execute("DELETE FROM items WHERE name = 'c'")
        other.execute("COMMIT")
    finally:
        other.close()
    assert _value(db, "c") is None
    with pytest.raises(sqlite3.ProgrammingError):  # as if the connection had been closed
        cursor.fetchone()


def test_a_read_inside_a_read_leaves_the_outer_cursor_usable(db: Database) -> None:
    names = []
    with db.read() as conn:
        for row in conn.execute("SELECT name FROM items ORDER BY name"):
            names.append((row["name"], _value(db, row["name"])))
    assert names == [("a", 1), ("b", 2), ("c", 3)]


def test_a_transaction_begun_in_a_read_is_rolled_back_when_the_read_ends(db: Database) -> None:
    with db.read() as conn:
        conn.execute("BEGIN")
        conn.execute("UPDATE items SET value = 99 WHERE name = 'b'")
    assert _value(db, "b") == 2
    with db.transaction() as conn:  # and the write lock is free
        conn.execute("UPDATE items SET value = 20 WHERE name = 'b'")
    assert _value(db, "b") == 20


def test_threads_read_on_their_own_connections(db: Database) -> None:
    seen: list[int | None] = []
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            seen.extend(_value(db, name) for name in "abc")
        except BaseException as error:  # sqlite3 refuses a connection made in another thread
            errors.append(error)

    assert _value(db, "a") == 1  # this thread's connection exists first
    thread = threading.Thread(target=reader)
    thread.start()
    thread.join()
    assert not errors and seen == [1, 2, 3]


def test_read_connections_close_when_their_thread_ends_or_the_database_goes(
    tmp_path: Path,
) -> None:
    """Not whenever the garbage collector gets to them: the file is let go at once, and Python
    3.13 finds no unclosed connection to warn of (``ResourceWarning``, an error under -W error)."""
    database = Database(tmp_path / "items.sqlite3", schema=SCHEMA, version=1)
    used: list[sqlite3.Connection] = []

    def read(db: Database) -> None:
        with db.read() as conn:
            conn.execute("SELECT count(*) FROM items").fetchone()
            used.append(conn)

    read(database)
    thread = threading.Thread(target=read, args=(database,))
    thread.start()
    thread.join()
    here, there = used
    assert here is not there  # a connection per thread
    with pytest.raises(sqlite3.ProgrammingError, match="closed database"):
        there.execute("SELECT 1")  # its thread ended
    here.execute("SELECT 1")  # this thread's is kept while the database lives
    del database
    with pytest.raises(sqlite3.ProgrammingError, match="closed database"):
        here.execute("SELECT 1")


def test_a_read_follows_a_root_made_again_at_the_same_path(tmp_path: Path) -> None:
    """The root removed and made anew (``rm -rf``, then another session) while a Database of
    the old one lives: its reads see the new file, as its writes do, not the deleted one."""
    path = tmp_path / "root" / "items.sqlite3"
    old = Database(path, schema=SCHEMA, version=1)
    with old.transaction() as conn:
        conn.execute("INSERT INTO items VALUES ('a', 1)")
    assert _value(old, "a") == 1  # its read connection is kept from here on
    shutil.rmtree(path.parent)
    new = Database(path, schema=SCHEMA, version=1)
    with new.transaction() as conn:
        conn.execute("INSERT INTO items VALUES ('a', 2)")
    assert _value(old, "a") == 2
    with old.transaction() as conn:
        conn.execute("UPDATE items SET value = 3 WHERE name = 'a'")
    assert _value(old, "a") == _value(new, "a") == 3
