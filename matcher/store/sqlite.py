"""Embedded backend: SQLite (WAL) with one row per patient/trial, FTS5 BM25 and stored vectors.

One JSON document per patient keeps upserts atomic and idempotent: a bundle's patients are
written in one transaction together with their FTS rows and vectors, so a failure stores
nothing and a re-push replaces instead of duplicating.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from matcher.ages import age_upper_bound, years_before
from matcher.errors import BackendUnavailable, NotFound
from matcher.model import PatientRecord, Trial
from matcher.search.base import PatientFilters, TrialFilters

SCHEMA = """
CREATE TABLE IF NOT EXISTS patients (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    birth_date TEXT,
    gender TEXT NOT NULL DEFAULT '',
    postal_code TEXT NOT NULL DEFAULT '',
    deceased INTEGER NOT NULL DEFAULT 0,
    vector BLOB,
    updated_at TEXT NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS patients_fts USING fts5(id UNINDEXED, text);
CREATE TABLE IF NOT EXISTS trials (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    version INTEGER NOT NULL,
    retired INTEGER NOT NULL DEFAULT 0,
    min_age REAL,
    max_age REAL,
    sex TEXT NOT NULL DEFAULT 'all',
    vector BLOB,
    updated_at TEXT NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS trials_fts USING fts5(id UNINDEXED, text);
CREATE TABLE IF NOT EXISTS embedding_cache (
    key TEXT PRIMARY KEY,
    vector BLOB NOT NULL
);
"""

TABLES = ("patients", "trials")


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _blob(vector: np.ndarray | None) -> bytes | None:
    return None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()


class SqliteStore:
    """Patients, trials, their text index and vectors, and the embedding cache, in one file.

    Connections are per thread (gRPC serves from a pool); writes are serialised by a lock
    because SQLite allows one writer and we want a clear order of upserts.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        else:  # a shared in-memory database so every thread sees the same data
            self.path = f"file:trialmatch-{id(self)}?mode=memory&cache=shared"
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._generation = 0  # bumped on every write; vector matrices cache on it
        self._keepalive = self._conn()
        with self._write_lock:
            self._keepalive.executescript(SCHEMA)

    # --- connections -----------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(
                    self.path,
                    uri=self.path.startswith("file:"),
                    check_same_thread=False,
                    timeout=30,
                    isolation_level=None,
                )
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA foreign_keys=ON")
            except sqlite3.Error as exc:
                raise BackendUnavailable(f"cannot open SQLite store {self.path}: {exc}") from exc
            self._local.conn = conn
        return conn

    @contextmanager
    def _tx(self, bump: bool = True) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            if bump:
                self._generation += 1

    @property
    def generation(self) -> int:
        return self._generation

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _doc(self, table: str, key: str, what: str) -> dict:
        row = self._conn().execute(f"SELECT doc FROM {table} WHERE id = ?", (key,)).fetchone()
        if row is None:
            raise NotFound(f"{what} {key!r} not found")
        return json.loads(row[0])

    def _rows_in(self, select: str, keys: list[str], chunk: int = 500) -> Iterator[tuple]:
        """`select ... IN (?, ...)` over keys in chunks below SQLite's variable limit."""
        for start in range(0, len(keys), chunk):
            part = keys[start : start + chunk]
            yield from self._conn().execute(f"{select} ({','.join('?' * len(part))})", part)

    # --- patients --------------------------------------------------------------------

    def upsert_patients(
        self, records: list[PatientRecord], texts: list[str], vectors: list[np.ndarray | None]
    ) -> None:
        """Stores all records or none (one transaction), replacing earlier versions."""
        with self._tx() as conn:
            for record, text, vector in zip(records, texts, vectors, strict=True):
                conn.execute("DELETE FROM patients_fts WHERE id = ?", (record.patient_id,))
                conn.execute(
                    "INSERT INTO patients (id, doc, birth_date, gender, postal_code, deceased,"
                    " vector, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT(id) DO UPDATE SET doc=excluded.doc,"
                    " birth_date=excluded.birth_date, gender=excluded.gender,"
                    " postal_code=excluded.postal_code, deceased=excluded.deceased,"
                    " vector=excluded.vector, updated_at=excluded.updated_at",
                    (
                        record.patient_id,
                        json.dumps(record.to_dict(), separators=(",", ":")),
                        record.birth_date.isoformat() if record.birth_date else None,
                        record.gender,
                        record.postal_code,
                        int(record.deceased),
                        _blob(vector),
                        _now(),
                    ),
                )
                conn.execute(
                    "INSERT INTO patients_fts (id, text) VALUES (?, ?)", (record.patient_id, text)
                )

    def get_patient(self, patient_id: str) -> PatientRecord:
        return PatientRecord.from_dict(self._doc("patients", patient_id, "patient"))

    def get_patients(self, patient_ids: Iterable[str]) -> dict[str, PatientRecord]:
        rows = self._rows_in("SELECT id, doc FROM patients WHERE id IN", list(patient_ids))
        return {pid: PatientRecord.from_dict(json.loads(doc)) for pid, doc in rows}

    def delete_patient(self, patient_id: str) -> None:
        with self._tx() as conn:
            cur = conn.execute("DELETE FROM patients WHERE id = ?", (patient_id,))
            conn.execute("DELETE FROM patients_fts WHERE id = ?", (patient_id,))
            if cur.rowcount == 0:
                raise NotFound(f"patient {patient_id!r} not found")

    def count_patients(self) -> int:
        return int(self._conn().execute("SELECT COUNT(*) FROM patients").fetchone()[0])

    def filter_patients(self, filters: PatientFilters) -> frozenset[str]:
        """Ids passing the hard filters, computed in SQL on indexed columns."""
        where, args = ["1=1"], []
        if not filters.include_deceased:
            where.append("deceased = 0")
        if filters.min_age_years is not None:
            # age >= min  <=>  born on or before index_date - min years
            where.append("birth_date IS NOT NULL AND birth_date <= ?")
            args.append(years_before(filters.index_date, filters.min_age_years).isoformat())
        if filters.max_age_years is not None:
            # age <= max (in the limit's unit)  <=>  born after index_date - (max + one step)
            where.append("birth_date IS NOT NULL AND birth_date > ?")
            args.append(age_upper_bound(filters.index_date, filters.max_age_years).isoformat())
        if filters.genders:
            where.append(f"gender IN ({','.join('?' * len(filters.genders))})")
            args.extend(filters.genders)
        if filters.postal_prefixes:
            where.append(
                "(" + " OR ".join("postal_code LIKE ?" for _ in filters.postal_prefixes) + ")"
            )
            args.extend(p.replace("%", "") + "%" for p in filters.postal_prefixes)
        sql = f"SELECT id FROM patients WHERE {' AND '.join(where)}"
        return frozenset(r[0] for r in self._conn().execute(sql, args))

    # --- trials ----------------------------------------------------------------------

    def upsert_trial(self, trial: Trial, text: str, vector: np.ndarray | None) -> Trial:
        """Stores a trial; an existing id becomes a new version (amendment)."""
        with self._tx() as conn:
            row = conn.execute("SELECT version FROM trials WHERE id = ?", (trial.trial_id,))
            prev = row.fetchone()
            trial.version = (prev[0] + 1) if prev else 1
            conn.execute("DELETE FROM trials_fts WHERE id = ?", (trial.trial_id,))
            conn.execute(
                "INSERT INTO trials (id, doc, version, retired, min_age, max_age, sex, vector,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET"
                " doc=excluded.doc, version=excluded.version, retired=excluded.retired,"
                " min_age=excluded.min_age, max_age=excluded.max_age, sex=excluded.sex,"
                " vector=excluded.vector, updated_at=excluded.updated_at",
                (
                    trial.trial_id,
                    json.dumps(trial.to_dict(), separators=(",", ":")),
                    trial.version,
                    int(trial.retired),
                    trial.min_age_years,
                    trial.max_age_years,
                    trial.sex.value,
                    _blob(vector),
                    _now(),
                ),
            )
            conn.execute("INSERT INTO trials_fts (id, text) VALUES (?, ?)", (trial.trial_id, text))
        return trial

    def get_trial(self, trial_id: str) -> Trial:
        return Trial.from_dict(self._doc("trials", trial_id, "trial"))

    def get_trials(self, trial_ids: Iterable[str]) -> dict[str, Trial]:
        rows = self._rows_in("SELECT id, doc FROM trials WHERE id IN", list(trial_ids))
        return {tid: Trial.from_dict(json.loads(doc)) for tid, doc in rows}

    def list_trials(self, include_retired: bool = False, limit: int = 100) -> list[Trial]:
        sql = "SELECT doc FROM trials"
        if not include_retired:
            sql += " WHERE retired = 0"
        sql += " ORDER BY updated_at DESC, id LIMIT ?"
        return [Trial.from_dict(json.loads(r[0])) for r in self._conn().execute(sql, (limit,))]

    def retire_trial(self, trial_id: str) -> Trial:
        with self._tx() as conn:
            row = conn.execute("SELECT doc FROM trials WHERE id = ?", (trial_id,)).fetchone()
            if row is None:
                raise NotFound(f"trial {trial_id!r} not found")
            trial = Trial.from_dict(json.loads(row[0]))
            trial.retired = True
            conn.execute(
                "UPDATE trials SET retired = 1, doc = ?, updated_at = ? WHERE id = ?",
                (json.dumps(trial.to_dict(), separators=(",", ":")), _now(), trial_id),
            )
        return trial

    def filter_trials(self, filters: TrialFilters) -> frozenset[str]:
        where, args = ["1=1"], []
        if not filters.include_retired:
            where.append("retired = 0")
        if filters.age_years is not None:
            # A whole-year limit holds until the next birthday: 65 admits 65 years 3 months.
            where.append(
                "(min_age IS NULL OR min_age <= ?) "
                "AND (max_age IS NULL OR max_age >= ? OR max_age = ?)"
            )
            args += [filters.age_years, filters.age_years, float(int(filters.age_years))]
        if filters.gender in ("male", "female"):
            where.append("sex IN ('all', ?)")
            args.append(filters.gender)
        sql = f"SELECT id FROM trials WHERE {' AND '.join(where)}"
        return frozenset(r[0] for r in self._conn().execute(sql, args))

    # --- text and vectors (used by the retrievers) -------------------------------------

    def bm25(self, table: str, match: str, k: int) -> list[tuple[str, float]]:
        """FTS5 BM25; SQLite's bm25() is lower-is-better, so the sign is flipped."""
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}")
        sql = (
            f"SELECT id, -bm25({table}_fts) AS s FROM {table}_fts WHERE {table}_fts MATCH ?"
            " ORDER BY s DESC LIMIT ?"
        )
        return [(r[0], float(r[1])) for r in self._conn().execute(sql, (match, k))]

    def vectors(self, table: str) -> tuple[list[str], np.ndarray]:
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}")
        rows = (
            self._conn()
            .execute(f"SELECT id, vector FROM {table} WHERE vector IS NOT NULL ORDER BY id")
            .fetchall()
        )
        if not rows:
            return [], np.zeros((0, 0), dtype=np.float32)
        ids = [r[0] for r in rows]
        matrix = np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
        return ids, matrix

    # --- embedding cache -------------------------------------------------------------

    def cached_vectors(self, keys: list[str]) -> dict[str, np.ndarray]:
        rows = self._rows_in("SELECT key, vector FROM embedding_cache WHERE key IN", keys)
        return {key: np.frombuffer(blob, dtype=np.float32) for key, blob in rows}

    def cache_vectors(self, items: dict[str, np.ndarray]) -> None:
        if not items:
            return
        with self._tx(bump=False) as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO embedding_cache (key, vector) VALUES (?, ?)",
                [(k, _blob(v)) for k, v in items.items()],
            )
