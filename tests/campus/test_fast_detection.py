"""Database-defined accounts checked by the real watcher against the SSFW simulator, mails at a real
SMTP sink, and fast detection: a classmate's new grade moves the other's next check to now."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from gradewatch.app import open_app
from gradewatch.config import load_config
from gradewatch.grades import Grade
from gradewatch.notify.sink import SmtpSink
from gradewatch.secrets import Vault
from gradewatch.sim.transcripts import TERMS
from gradewatch.store.accounts import AccountBook, NewAccount
from gradewatch.store.db import Store, utcnow
from gradewatch.store.models import Account, Enrolment

PHYSICS = Grade(term=TERMS[3], course_code="1301002", course_name="大学物理(2)", score="88", credits=4.0,
                course_nature="必修", course_category="公共基础课")
CLASSMATE, CLASSMATE_PW = "2021019999", "classmate-pass-1"


def _config(tmp: Path, base_url: str) -> Path:
    cfg = tmp / "gradewatch.toml"
    cfg.write_text(f"""
database = "sqlite:///state/gw.db"
key_file = "state/gw.key"

[schools.uni]
system = "ssfw"
base_url = "{base_url}"
""", encoding="utf-8")
    return cfg


def _next_check(store: Store, name: str) -> Any:
    with store.session() as s:
        return s.scalars(select(Account.next_check_at).where(Account.id == name)).one()


def test_db_accounts_are_checked_mailed_and_classmates_expedited(make_ssfw_sim: Any, ssfw_solver: Any,
                                                                 tmp_path: Path) -> None:
    sim = make_ssfw_sim(students=1)
    demo_grades = sim.admin.grades(sim.username)
    sim.admin.add_student(CLASSMATE, CLASSMATE_PW, "王芳", demo_grades)  # same class: same courses so far
    with SmtpSink() as sink:
        cfg = _config(tmp_path, sim.base_url)
        config = load_config(cfg)
        store = Store.open(config.database_url, Vault.open(config.key_path))
        book = AccountBook(store, config)
        book.add(NewAccount("alice", "uni", sim.username, sim.password, (sink.url("alice@example.edu"),)))
        book.add(NewAccount("bob", "uni", CLASSMATE, CLASSMATE_PW, (sink.url("bob@example.edu"),)))
        store.close()

        app = open_app(cfg, solver=ssfw_solver, logging=False)
        assert set(app.config.accounts) == {"alice", "bob"}
        reports = app.watcher.check_all()
        assert [r.outcome for r in reports] == ["ok", "ok"]
        assert app.watcher.send_pending().sent == 2
        mails = sink.wait_for(2)
        assert {m.rcpt_tos for m in mails} == {("alice@example.edu",), ("bob@example.edu",)}
        assert all(f"共 {len(demo_grades)} 门" in m.subject for m in mails)

        with app.store.session() as s:  # the timetable gave the exam period's ungraded courses
            taken = set(s.scalars(select(Enrolment.course_code).where(Enrolment.account_id == "bob",
                                                                    Enrolment.term == TERMS[3])))
        assert "1301002" in taken

        later = utcnow() + timedelta(hours=1)  # both next due in an hour
        with app.store.session() as s:
            s.execute(update(Account).values(next_check_at=later))
        sim.admin.publish_grade(sim.username, PHYSICS)
        sim.admin.publish_grade(CLASSMATE, PHYSICS)

        before = utcnow()
        [r] = app.watcher.check_all(["alice"])
        assert (r.outcome, r.new) == ("ok", 1)
        moved = _next_check(app.store, "bob")
        assert before <= moved <= utcnow() + timedelta(seconds=1), moved  # due now, not in an hour
        assert _next_check(app.store, "alice") == later  # the finder itself is left alone

        [r] = app.watcher.check_all(["bob"])
        assert (r.outcome, r.new) == ("ok", 1)
        assert _next_check(app.store, "alice") == later  # alice has the grade: not expedited again
        app.watcher.send_pending()
        news = [m for m in sink.wait_for(4) if "大学物理(2)" in m.subject]
        assert {m.rcpt_tos for m in news} == {("alice@example.edu",), ("bob@example.edu",)}
        app.close()
