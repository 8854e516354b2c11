"""Engine and session factory from a database URL, plus the one upsert helper.

Why here: SQLite and PostgreSQL need different connection settings (pragmas vs. a pool that survives
server restarts) and different `INSERT ... ON CONFLICT` constructs; keeping both choices in one module
means the rest of the code never branches on the backend.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Select, Table, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from app.store.walindex import WalIndexHeader

# WAL lets feed reads proceed while a refresh writes; foreign_keys makes ON DELETE CASCADE real (SQLite
# ignores FKs by default); busy_timeout turns brief writer contention into a wait instead of an error;
# synchronous=NORMAL is durable enough under WAL and much faster than FULL.
SQLITE_PRAGMAS: tuple[tuple[str, str], ...] = (
    ("journal_mode", "WAL"),
    ("foreign_keys", "ON"),
    ("busy_timeout", "5000"),
    ("synchronous", "NORMAL"),
)


def create_engine(url: str, *, sqlite_wait: float = 5.0) -> AsyncEngine:
    """An async engine configured for the backend named in `url`.

    For SQLite the database file's directory is created first, so a fresh checkout or container
    volume works without a manual `mkdir`; `sqlite_wait` is how long a new connection's set-up (WAL
    needs the write lock on a fresh file) waits for another process's lock.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _ensure_sqlite_directory(parsed)
        engine = create_async_engine(parsed, connect_args={"timeout": sqlite_wait})
        event.listen(engine.sync_engine, "connect", _apply_sqlite_pragmas)
        return engine
    # pool_pre_ping: a PostgreSQL restart or an idle-timeout proxy would otherwise hand out dead
    # connections; pool_recycle bounds connection age below common server/proxy idle limits.
    return create_async_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=5, pool_recycle=1800)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The process's one session factory.

    expire_on_commit=False because objects are read after commit (rendering, responses) and an
    expired attribute would trigger implicit async I/O, which SQLAlchemy cannot do.
    """
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(session_factory: async_sessionmaker[AsyncSession]) -> None:
    """One round trip to the database, for the readiness probe; raises whatever the driver raises."""
    async with session_factory() as session:
        await session.execute(text("SELECT 1"))


async def begin_writing(session: AsyncSession) -> None:
    """Open `session`'s transaction already holding what its writes will need; call it first.

    Why: a transaction that reads rows and writes them back must not let another writer commit in
    between, or it writes back what that writer replaced. PostgreSQL locks the rows themselves as they
    are read (`SELECT ... FOR UPDATE`, which callers always ask for), so nothing happens here. SQLite
    ignores `FOR UPDATE` and its driver begins a transaction only at the first write, so the reads
    before it lock nothing: `BEGIN IMMEDIATE` takes the database's one write lock now instead (other
    writers wait, within their busy timeout; WAL readers never do).
    """
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(text("BEGIN IMMEDIATE"))


async def upsert(
    session: AsyncSession,
    table: Table | type[DeclarativeBase],
    values: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    key: Sequence[str],
    update: Sequence[str] = (),
) -> None:
    """`INSERT ... ON CONFLICT (key) DO UPDATE SET col = excluded.col` for each column in `update`.

    Both backends spell this the same way but SQLAlchemy builds it from two different `insert`
    constructs; the session says which, so callers never name a dialect. An empty `update` means DO
    NOTHING, which is how "insert if absent" is written.
    """
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement: sqlite.Insert | postgresql.Insert = insert(table)
    rows = [dict(values)] if isinstance(values, Mapping) else [dict(row) for row in values]
    statement = statement.values(rows)
    if update:
        statement = statement.on_conflict_do_update(
            index_elements=list(key), set_={name: statement.excluded[name] for name in update}
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(key))
    await session.execute(statement)


def sqlite_file(url: URL) -> Path | None:
    """The database file a SQLite URL names; None for other backends and in-memory databases."""
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if url.query.get("mode") == "memory":
        return None
    if database.startswith("file:"):
        database = database.removeprefix("file:").split("?", 1)[0]
    return Path(database).expanduser()


def _ensure_sqlite_directory(url: URL) -> None:
    database = sqlite_file(url)
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True)


def _apply_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for name, value in SQLITE_PRAGMAS:
            cursor.execute(f"PRAGMA {name}={value}")
    finally:
        cursor.close()


class HotReader:
    """Single-row reads for the feed hot path, without what a session costs.

    Why it exists: a warm feed poll is one indexed read, and through an async session that read cost
    several times the whole rest of the request (a thread hop per call for aiosqlite, BEGIN/ROLLBACK
    round trips for asyncpg; docs/performance.md, "Each step's cost"). On SQLite the read runs
    synchronously on one autocommit connection to the WAL database, where readers never wait for
    writers: the statement is compiled once and the column types' own result processors decode the
    row, so values match what SQLAlchemy would return (JSON decoded, aware datetimes), in
    microseconds. On PostgreSQL it uses autocommit connections: one round trip per read. Writes never
    go through here.
    """

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self._sqlite_path: str | None = None
        self._sqlite: sqlite3.Connection | None = None
        self._wal_index: WalIndexHeader | None = None  # mapped while `_sqlite` is open
        # Keyed by the statement itself, which the dict keeps alive: keyed by id(), a statement freed
        # and another built at its address ran the freed one's SQL.
        self._plans: dict[Select[*tuple[Any, ...]], _Plan] = {}
        self._async: AsyncEngine | None = None
        if parsed.get_backend_name() == "sqlite":
            _ensure_sqlite_directory(parsed)
            self._sqlite_path = parsed.database or ":memory:"
        else:
            self._async = create_async_engine(
                parsed, isolation_level="AUTOCOMMIT", pool_pre_ping=True, pool_size=5, max_overflow=5
            )

    async def first(
        self, statement: Select[*tuple[Any, ...]], params: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        """The first row of `statement` with bound `params`, by column name.

        Meant for module-level constants: each distinct statement object is compiled once and kept.
        """
        if self._async is not None:
            async with self._async.connect() as connection:
                row = (await connection.execute(statement, params)).first()
            return None if row is None else dict(row._mapping)
        plan = self._plans.get(statement) or self._plan(statement)
        raw = self._connection().execute(plan.sql, [params[name] for name in plan.binds]).fetchone()
        if raw is None:
            return None
        return {
            name: value if process is None else process(value)
            for name, process, value in zip(plan.columns, plan.processors, raw, strict=True)
        }

    def commit_marker(self) -> object:
        """A value that moves whenever any connection (of this process or another) commits to the
        SQLite database, and otherwise stays equal (see `app.store.feedrows`): the WAL index header
        (`app.store.walindex`), or where there is none `PRAGMA data_version` on this reader's
        connection, which never writes itself."""
        connection = self._connection()
        if self._wal_index is not None:
            return self._wal_index.read()
        version: int = connection.execute("PRAGMA data_version").fetchone()[0]
        return version

    async def dispose(self) -> None:
        if self._wal_index is not None:
            self._wal_index.close()
            self._wal_index = None
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        if self._async is not None:
            await self._async.dispose()

    def _connection(self) -> sqlite3.Connection:
        if self._sqlite is None:
            assert self._sqlite_path is not None
            # isolation_level=None: autocommit, so every read sees the latest committed data.
            connection = sqlite3.connect(self._sqlite_path, isolation_level=None, check_same_thread=False)
            _apply_sqlite_pragmas(connection, None)
            connection.execute("PRAGMA query_only=ON")
            self._sqlite = connection
            self._wal_index = WalIndexHeader.open(connection, self._sqlite_path)
        return self._sqlite

    def _plan(self, statement: Select[*tuple[Any, ...]]) -> _Plan:
        dialect = sqlite.dialect(paramstyle="qmark")
        compiled = statement.compile(dialect=dialect)
        columns = tuple(str(column.key) for column in statement.selected_columns)
        processors = tuple(
            column.type.result_processor(dialect, None) for column in statement.selected_columns
        )
        plan = _Plan(str(compiled), tuple(compiled.positiontup or ()), columns, processors)
        self._plans[statement] = plan
        return plan


@dataclass(frozen=True, slots=True)
class _Plan:
    sql: str
    binds: tuple[str, ...]
    columns: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
