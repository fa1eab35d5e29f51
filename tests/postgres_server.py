"""A real PostgreSQL server for the tests: Debian's ``postgresql`` binaries, a temporary cluster, loopback only.

``initdb`` and ``pg_ctl`` refuse to run as root, and the suite runs as root in CI: the cluster then belongs
to the ``postgres`` system user (created by the Debian package) or, failing that, ``nobody``. The cluster
listens on 127.0.0.1 at a free port with trust authentication, which is safe only because nothing but
loopback reaches it and it lives for one test session. ``scripts/install-system-deps.sh`` installs it.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from evidencectl.registry import SCHEMA_VERSION, Registry

SUPERUSER = "evidencectl"


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    pytest.fail("PostgreSQL is not installed: run scripts/install-system-deps.sh (Debian package postgresql)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """One running cluster: its folder, port and the account it runs as."""

    folder: Path
    port: int
    uid: int
    gid: int
    bindir: Path

    @classmethod
    def start(cls) -> PostgresServer:
        """initdb a cluster in a fresh temporary folder and start it on a free loopback port."""
        bindir = _bindir()
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                account = pwd.getpwnam("nobody")
            uid, gid = account.pw_uid, account.pw_gid
        else:
            uid, gid = os.getuid(), os.getgid()
        # Under /tmp itself, not pytest's tmp_path: root's pytest folders are 0700 and the server's account
        # must reach its data directory.
        folder = Path(tempfile.mkdtemp(prefix="evidencectl-pg-"))
        os.chown(folder, uid, gid)
        server = cls(folder, 0, uid, gid, bindir)
        server._run("initdb", "-D", str(folder / "data"), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                    "--locale=C", "--no-sync")  # fmt: skip
        for _attempt in range(3):  # a port found free can be taken before the server binds it
            server.port = _free_port()
            done = server._start()
            if done.returncode == 0:
                return server
        log = (folder / "log").read_text(errors="replace") if (folder / "log").exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {done.stderr}\n{log[-2000:]}")

    def _start(self) -> subprocess.CompletedProcess[str]:
        # -l: the server's output goes to a file, never to the pipe this process waits on.
        # max_connections: room for many tests' databases at once; each server process itself holds at most
        # its [registry] pool (8 by default; docs/service.md, PostgreSQL setup).
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.folder}"
                   " -c max_connections=300")  # fmt: skip
        data, log = str(self.folder / "data"), str(self.folder / "log")
        return self._run("pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "start", check=False)

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(self.bindir / tool), *args],
            user=self.uid,
            group=self.gid,
            extra_groups=[] if os.geteuid() == 0 else None,
            cwd=self.folder,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and done.returncode != 0:
            pytest.fail(f"{tool} failed: {done.stdout}{done.stderr}")
        return done

    def url(self, dbname: str = "postgres") -> str:
        """A connection URL for database ``dbname``."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def new_database(self) -> str:
        """Create an empty database and return its URL."""
        import psycopg  # here, not at the top: this module is loaded by every test session

        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[call-overload]
        return self.url(name)

    def restart(self) -> None:
        """Restart the server (fast shutdown: open connections are cut)."""
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")
        done = self._start()
        if done.returncode != 0:
            pytest.fail(f"PostgreSQL did not restart: {done.stderr}")

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for this session (each test gets a database of its own)."""
    server = PostgresServer.start()
    yield server
    server.stop()


@dataclass
class Target:
    """An empty registry of one backend: how to open it, and raw SQL access behind the registry's back."""

    kind: str
    url: str
    base: Path

    def open(self, upto: int = SCHEMA_VERSION) -> Registry:
        """Open the registry, migrating it to version ``upto``."""
        if self.kind == "postgres":
            from evidencectl.registry.postgres import PostgresRegistry

            return PostgresRegistry(self.url, upto=upto)
        from evidencectl.registry.sqlite import SQLiteRegistry

        return SQLiteRegistry(self.base / "registry.sqlite", upto=upto)

    def raw(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run SQL (``?`` placeholders) directly on the database, as a tamperer or an old release would."""
        if self.kind == "postgres":
            import psycopg

            with psycopg.connect(self.url, autocommit=True) as conn:
                cur = conn.execute(sql.replace("?", "%s"), params)  # type: ignore[call-overload]
                return list(cur.fetchall()) if cur.description else []
        conn2 = sqlite3.connect(self.base / "registry.sqlite", isolation_level=None)
        try:
            return list(conn2.execute(sql, params).fetchall())
        finally:
            conn2.close()


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    """An empty registry, once per backend."""
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres")
        return Target("postgres", server.new_database(), tmp_path)
    return Target("sqlite", f"sqlite:///{tmp_path / 'registry.sqlite'}", tmp_path)
