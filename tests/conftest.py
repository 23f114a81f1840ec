"""Shared fixtures: a running SSFW simulator on loopback and the shipped SSFW captcha solver.

    def test_something(ssfw_sim):             # RunningSim: base_url, admin, username, password, sim
        ssfw_sim.admin.publish_grade(ssfw_sim.username, Grade(...))
        ssfw_sim.admin.control(reject_captcha=True)
        ssfw_sim.admin.stats(ssfw_sim.username)["login_posts"]

    def test_other(make_ssfw_sim):            # more simulators, or other options
        gbk = make_ssfw_sim(encoding="gbk", session_ttl=5)

    def test_any_system(school_sim):          # parametrised over every variant of every registered simulator
        write_config(..., school_sim.base_url, ..., system=school_sim.system)

    def test_zf(make_school_sim):             # any system, any simulator options
        zf = make_school_sim("zf", captcha=False, notice_for=["2021010001"])

Each simulator is a fresh server (own students, sessions and stats), stopped after the test.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, fields
from functools import partial
from typing import Any

import pytest

# pytest-xdist workers export COLUMNS=80 before this is imported. A rich Console created at import
# time (gradewatch.cli.errors) would freeze that width, and the CLI tests that pass their own
# COLUMNS per invocation would see their tables wrapped at 80 columns. Serial runs have no COLUMNS.
os.environ.pop("COLUMNS", None)

from gradewatch.sim import simulator_class, simulators  # noqa: E402
from gradewatch.sim.server import RunningSim, running
from gradewatch.sim.ssfw import SsfwSimulator
from gradewatch.sim.transcripts import DEMO_USERNAME, seeded_students
from gradewatch.sim.variants import PRESETS


@pytest.fixture
def make_ssfw_sim() -> Iterator[Callable[..., RunningSim]]:
    """Start SSFW simulators: ``make_ssfw_sim(seed=0, students=5, **SsfwSimulator options)``."""
    with ExitStack() as stack:

        def make(*, seed: int = 0, students: int = 5, **options: Any) -> RunningSim:
            sim = SsfwSimulator(seeded_students(seed, students), seed=seed, **options)
            return stack.enter_context(running(sim))

        yield make


@pytest.fixture
def ssfw_sim(make_ssfw_sim: Callable[..., RunningSim]) -> RunningSim:
    """An SSFW simulator with rendered captchas; the demo student is ``ssfw_sim.username`` / ``.password``."""
    return make_ssfw_sim()


@pytest.fixture(scope="session")
def ssfw_solver() -> Any:
    """The shipped ``ssfw`` captcha model, loaded once per test run."""
    from gradewatch.captcha.solver import load_solver

    return load_solver("ssfw")


@dataclass
class SchoolSim(RunningSim):
    """A RunningSim of any system. ``base_url`` is what the config's ``base_url`` must be for that
    system (ZF lives below ``/jwglxt``); ``root_url`` is the server root (the admin API is there)."""

    system: str = ""
    root_url: str = ""
    #: The lines that put the school's front door / transport into ``[schools.uni]`` ("" when direct).
    school_toml: str = ""
    #: The fronted set-up behind this sim (its CAS, WebVPN …), None for a bare system simulator.
    fronted: Any = None

    def adapter(self) -> Any:
        """An adapter for this school as the watcher builds it (through its doors, if any)."""
        if self.fronted is not None:
            return self.fronted.adapter()
        from gradewatch.schools import adapter_class

        return adapter_class(self.system)(self.base_url)


def _simulator_class(system: str) -> Any:
    return simulator_class(system)


@pytest.fixture
def make_school_sim() -> Iterator[Callable[..., SchoolSim]]:
    """Start simulators of any system: ``make_school_sim("zf", seed=0, students=5, **simulator options)``."""
    with ExitStack() as stack:

        def make(system: str, *, seed: int = 0, students: int = 5, **options: Any) -> SchoolSim:
            sim = _simulator_class(system)(seeded_students(seed, students), seed=seed, **options)
            run = stack.enter_context(running(sim))
            base = {f.name: getattr(run, f.name) for f in fields(RunningSim)}
            base["base_url"] = run.base_url + sim.context_path
            return SchoolSim(**base, system=system, root_url=run.base_url)

        yield make


# What the watcher suite runs against: the captcha variant of each system, and for ZF a notice page
# after every login of the demo student (the adapter must get past it).
WATCH_OPTIONS: dict[str, dict[str, Any]] = {
    "ssfw": {},
    "zf": {"captcha": True, "notice_for": [DEMO_USERNAME]},
    "qiangzhi": {"login": "seed", "captcha": True},
}

#: Every simulator variant the watcher suite runs over: id -> (system, simulator options). Each real
#: variant of the field notes appears in at least one; variants that never exclude each other are
#: combined (the named ones of gradewatch.sim.variants), so the whole suite runs over each of them.
#: The adapters get no options: they must tell the variant from the pages.
WATCH_VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "ssfw": ("ssfw", WATCH_OPTIONS["ssfw"]),
    "ssfw-cjxx": ("ssfw", PRESETS["ssfw"]["cjxx"]),
    "zf": ("zf", WATCH_OPTIONS["zf"]),
    "zf-vendor": ("zf", PRESETS["zf"]["vendor"]),
    # Stock kaptcha: runs once the zf model reads it (see _kaptcha_ready).
    "zf-kaptcha": ("zf", PRESETS["zf"]["kaptcha"]),
    "qiangzhi": ("qiangzhi", WATCH_OPTIONS["qiangzhi"]),
    "qiangzhi-ldap": ("qiangzhi", PRESETS["qiangzhi"]["ldap"]),
    "qiangzhi-logonldap": ("qiangzhi", PRESETS["qiangzhi"]["logon-ldap"]),
    "qiangzhi-direct": ("qiangzhi", PRESETS["qiangzhi"]["direct"]),
}
# Every other registered system runs once, with its simulator's own defaults (a new system's file
# is all it takes to join the suite).
# Systems only reachable through a front door (金智 jwapp behind CAS) run in tests/frontdoor instead.
WATCH_VARIANTS |= {name: (name, WATCH_OPTIONS.get(name, {})) for name, cls in sorted(simulators().items())
                   if name not in {system for system, _ in WATCH_VARIANTS.values()}
                   and not getattr(cls, "requires_front_door", False)}


def _kaptcha_ready() -> str:
    """Why the stock-kaptcha variant cannot run yet ("" when it can): the renderer must exist and the
    shipped zf model must be able to output kaptcha's alphabet."""
    try:
        from gradewatch.captcha.render_schools import render_kaptcha  # type: ignore[attr-defined]  # noqa: F401
    except ImportError:
        return "no render_kaptcha in gradewatch.captcha.render_schools yet"
    from gradewatch.captcha.spec import SPECS

    missing = sorted(set("abcde2345678gfynmnpwx") - set(SPECS["zf"].charset))
    return f"the zf model cannot output {''.join(missing)!r} yet (retrain it on kaptcha)" if missing else ""


#: The watcher suite through front doors (gradewatch.sim.fronted): id -> (system, door settings).
#: The CAS's generation and captcha vary so that each is met; the system keeps its watch options.
DOOR_VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "zf-cas": ("zf", {"cas": True, "generation": "new", "cas_captcha": "always"}),
    "qiangzhi-cas": ("qiangzhi", {"cas": True, "generation": "old", "cas_captcha": "always"}),
    "jwapp-cas": ("jwapp", {"cas": True, "generation": "new", "cas_captcha": "slider"}),
    "jwapp-cas-webvpn": ("jwapp", {"cas": True, "vpn": True, "generation": "old", "cas_captcha": "after_failures"}),
    "zf-slider": ("zf", {"cas": False, "slider": True}),
    "ssfw-webvpn": ("ssfw", {"cas": False, "vpn": True, "generation": "new", "cas_captcha": "always"}),
    "zf-webvpn": ("zf", {"cas": False, "vpn": True, "generation": "old", "cas_captcha": "always"}),
    "qiangzhi-webvpn": ("qiangzhi", {"cas": False, "vpn": True, "generation": "new", "cas_captcha": "after_failures"}),
    "zf_legacy-webvpn": ("zf_legacy", {"cas": False, "vpn": True, "generation": "old", "cas_captcha": "always"}),
    "urp-webvpn": ("urp", {"cas": False, "vpn": True, "generation": "new", "cas_captcha": "always"}),
    "kingosoft-webvpn": ("kingosoft", {"cas": False, "vpn": True, "generation": "new", "cas_captcha": "none"}),
}
#: The system options of a door variant's simulator (the ZF slider replaces ZF's image captcha).
DOOR_BACKEND: dict[str, dict[str, Any]] = {"zf-slider": {"captcha": False}}
#: Watcher tests that only exercise the store and the outbox after login: run on the direct variants.
_STORE_ONLY = {"test_new_process_on_same_database_resends_nothing",
               "test_killed_between_outbox_write_and_send_delivers_once_on_next_start",
               "test_smtp_down_keeps_grades_and_delivers_once_later",
               "test_broken_page_is_a_typed_error_and_corrupts_nothing"}


def _door_skip(variant: str, test: str, params: dict[str, Any]) -> str:
    """Why a watcher test does not run on a door variant ("" when it does)."""
    _, door = DOOR_VARIANTS[variant]
    if test in _STORE_ONLY:
        return "covered on the direct variant; the door does not touch the outbox"
    if params.get("db_url") == "postgresql":
        return "door variants run on SQLite; the direct variants run both databases (the door does not touch the store)"
    if test == "test_wrong_captcha_at_most_three_tries":
        if door.get("slider"):
            return "the ZF slider is refused before any login POST (tests/frontdoor covers its bounded retries)"
        if door.get("cas_captcha") == "after_failures":
            return "this CAS asks no captcha on a fresh account (tests/frontdoor covers its captcha policy)"
        if door.get("cas_captcha", "none") == "none":
            return "this CAS asks no captcha (the other door variants run it)"
    return ""


@pytest.fixture
def make_door_sim() -> Iterator[Callable[..., SchoolSim]]:
    """A system simulator behind doors, as a SchoolSim: ``make_door_sim("zf", cas=True, vpn=True)``."""
    from gradewatch.sim.fronted import fronted

    with ExitStack() as stack:

        def make(system: str, **settings: Any) -> SchoolSim:
            f = fronted(stack, system, students=5, **settings)
            return SchoolSim(base_url=f.base_url, admin=f.admin, username=f.username, password=f.password,  # type: ignore[arg-type]
                             sim=f.sim, system=system, root_url=f.root_url, school_toml=f.school_toml, fronted=f)

        yield make


@pytest.fixture(params=list(WATCH_VARIANTS) + list(DOOR_VARIANTS))
def school_sim(request: pytest.FixtureRequest, make_school_sim: Callable[..., SchoolSim]) -> SchoolSim:
    """One simulator per variant of each school system, directly and behind its front doors (the test
    runs once for each); ``.system`` is its config id, ``.school_toml`` its door settings."""
    if request.param in DOOR_VARIANTS:
        params = getattr(getattr(request.node, "callspec", None), "params", {})
        if reason := _door_skip(request.param, request.node.originalname, params):
            pytest.skip(reason)
        system, door = DOOR_VARIANTS[request.param]
        backend = DOOR_BACKEND.get(request.param, WATCH_OPTIONS.get(system, {}))
        return request.getfixturevalue("make_door_sim")(system, **door, **backend)
    system, options = WATCH_VARIANTS[request.param]
    if options.get("captcha_style") == "kaptcha" and (reason := _kaptcha_ready()):
        pytest.skip(reason)
    if options.get("captcha_policy") == "after_failures" and request.node.name.startswith("test_wrong_captcha"):
        pytest.skip("the vendor checks no captcha on a fresh session (tests/sim covers its captcha policy)")
    return make_school_sim(system, **options)


# ---- databases ---------------------------------------------------------------------------------
# The store and watcher tests run on SQLite and on a real PostgreSQL: a throwaway cluster started
# once per test session (Debian's server binaries, as the `postgres` user, on a free loopback port,
# its socket in the cluster's temp dir), one fresh database per test.

_PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"


@dataclass
class PgCluster:
    host: str
    port: int
    _n: int = 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@{self.host}:{self.port}/{database}"

    def _admin(self) -> Any:
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user="postgres", dbname="postgres",
                               autocommit=True)

    def new_database(self, template: str | None = None) -> str:
        """A new database: empty, or a copy of ``template`` (a database name)."""
        self._n += 1
        name = f"gw_test_{os.getpid()}_{self._n}"
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL tests cannot run in CI: {reason}")
    pytest.skip(f"PostgreSQL not available: {reason}")


def _as_postgres(*cmd: str) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return list(cmd)  # already an unprivileged user: run the server as ourselves


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    import glob
    import shutil
    import socket
    import subprocess
    import tempfile

    bins = sorted(glob.glob(_PG_BIN_GLOB))
    if not bins or not os.path.exists(os.path.join(bins[-1], "initdb")):
        _pg_unavailable(f"no initdb under {_PG_BIN_GLOB} (apt-get install postgresql)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _pg_unavailable("the psycopg driver is not installed (pip install '.[postgres]')")
    bin_dir = bins[-1]
    root = tempfile.mkdtemp(prefix="gw-pg-")
    data = os.path.join(root, "data")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    run = partial(subprocess.run, capture_output=True, text=True, timeout=120, check=False)
    out = run(_as_postgres(f"{bin_dir}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                           "--no-sync"))
    if out.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        _pg_unavailable(f"initdb failed: {out.stderr.strip()[:300]}")
    opts = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB")
    out = run(_as_postgres(f"{bin_dir}/pg_ctl", "-D", data, "-o", opts, "-l", os.path.join(root, "log"),
                           "-w", "-t", "60", "start"))
    if out.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        _pg_unavailable(f"the server did not start: {out.stdout.strip()[-300:]} {out.stderr.strip()[-300:]}")
    try:
        yield PgCluster("127.0.0.1", port)
    finally:
        run(_as_postgres(f"{bin_dir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"))
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """A fresh, empty database on each backend (the test runs once for each)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gw-state' / 'gradewatch.db'}"
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    return cluster.new_database()


# ---- the whole suite on PostgreSQL -------------------------------------------------------------
# GRADEWATCH_TEST_DATABASE=postgresql (what CI sets) runs the suite on PostgreSQL: each test that
# has a folder of its own (``tmp_path``, where its config lives) and does not choose its backends
# itself (``db_url``) gets an empty, migrated database of the throwaway cluster through the
# environment variable the product reads, so the test's subprocesses use it too.
# ``@pytest.mark.sqlite_only`` marks the tests about the SQLite file itself.
# Databases are copied once from a migrated template and emptied for reuse after each test (a
# fresh copy per test costs a CREATE and a checkpointing DROP: minutes over the suite).

SUITE_DATABASE = os.environ.get("GRADEWATCH_TEST_DATABASE", "sqlite").strip().lower()
if SUITE_DATABASE not in {"sqlite", "postgresql"}:
    raise pytest.UsageError(f"GRADEWATCH_TEST_DATABASE must be sqlite or postgresql, not {SUITE_DATABASE!r}")


class PgPool:
    """Migrated databases to lend one test at a time, emptied between tests."""

    def __init__(self, cluster: PgCluster) -> None:
        from gradewatch.store.engine import make_engine, migrate

        self.cluster = cluster
        url = cluster.new_database()
        engine = make_engine(url)
        try:
            migrate(engine)
        finally:
            engine.dispose()
        self.template = url.rsplit("/", 1)[1]
        self.free: list[str] = []

    def lend(self) -> str:
        return self.free.pop() if self.free else self.cluster.new_database(template=self.template)

    def give_back(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with self.cluster._admin() as admin:  # a process the test left behind must not write on
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                          "AND pid <> pg_backend_pid()", (name,))
        try:
            with psycopg.connect(host=self.cluster.host, port=self.cluster.port, user="postgres", dbname=name,
                                 autocommit=True) as conn:
                conn.execute("SET lock_timeout = '5s'")
                tables = [r[0] for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")]
                versions = conn.execute("SELECT version_num FROM alembic_version").fetchall()
                template_versions = self._template_versions()
                if versions != template_versions:  # a test changed the schema: not reusable
                    raise psycopg.Error("schema changed")
                if tables:
                    conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
        except psycopg.Error:
            self.cluster.drop_database(url)
            return
        self.free.append(url)

    def _template_versions(self) -> list[tuple[str]]:
        import psycopg

        if not hasattr(self, "_versions"):
            with psycopg.connect(host=self.cluster.host, port=self.cluster.port, user="postgres",
                                 dbname=self.template) as conn:
                self._versions = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        return self._versions


@pytest.fixture(scope="session")
def pg_pool(pg_cluster: PgCluster) -> PgPool:
    return PgPool(pg_cluster)


@pytest.fixture(autouse=True)
def _suite_database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    if (SUITE_DATABASE != "postgresql" or "tmp_path" not in request.fixturenames
            or "db_url" in request.fixturenames or request.node.get_closest_marker("sqlite_only")):
        yield
        return
    pool: PgPool = request.getfixturevalue("pg_pool")
    url = pool.lend()
    monkeypatch.setenv("GRADEWATCH_DATABASE_URL", url)
    try:
        yield
    finally:
        pool.give_back(url)


@pytest.fixture(autouse=True)
def _no_leftover_log_handlers() -> Iterator[None]:
    """A CLI test run with ``-vv`` installs gradewatch's stderr handler at DEBUG on the root logger;
    left there, the next test's background threads (aiosmtpd, simulators) would log through it
    outside any capture and flood the CI output."""
    import logging

    yield
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_gradewatch", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(logging.WARNING)
