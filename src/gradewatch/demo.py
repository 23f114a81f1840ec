"""`gradewatch demo`: the whole product in a temporary folder, against a local simulator and SMTP sink."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from gradewatch.app import open_app
from gradewatch.config import config_from_dict
from gradewatch.grades import Grade
from gradewatch.notify.sink import ReceivedMail, SmtpSink
from gradewatch.sim.server import running
from gradewatch.sim.ssfw import SsfwSimulator
from gradewatch.sim.transcripts import seeded_students

NEW_GRADE = Grade(term="2022-2023-2", course_code="0802101", course_name="操作系统", score="95", credits=3.5,
                  exam_type="正常考试", course_nature="必修", course_category="专业核心课")


def _show_mail(console: Console, mail: ReceivedMail, title: str) -> None:
    console.print(Panel(f"[bold]Subject:[/] {mail.subject}\n[bold]To:[/] {', '.join(mail.rcpt_tos)}\n\n{mail.text}",
                        title=title, title_align="left", expand=False))


def run_demo(console: Console, *, keep: bool = False) -> None:
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="gradewatch-demo-"))
    try:
        with SmtpSink() as sink, running(SsfwSimulator(seeded_students(seed=0, count=5))) as sim:
            console.print(f"SSFW simulator at {sim.base_url}, SMTP sink at 127.0.0.1:{sink.port}, data in {tmp}")
            cfg = config_from_dict({
                "database": "sqlite:///gradewatch.db",
                "schools": {"demo-university": {"system": "ssfw", "base_url": sim.base_url}},
                "accounts": {"li-ming": {"school": "demo-university", "username": sim.username,
                                         "password": sim.password, "notify": [sink.url()]}},
            }, base_dir=tmp)
            app = open_app(cfg)
            try:
                _round(console, app, sink, 1, "1. First check: every grade, mailed once")
                console.print(f"\n2. The school publishes a grade: {NEW_GRADE.course_name} {NEW_GRADE.score}")
                sim.admin.publish_grade(sim.username, NEW_GRADE)
                _round(console, app, sink, 2, "3. Second check: only the new grade")
            finally:
                app.close()
        console.print(f"\nDemo finished in {time.monotonic() - started:.1f} s.")
    finally:
        if keep:
            console.print(f"Kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _round(console: Console, app, sink: SmtpSink, expect_mails: int, title: str) -> None:  # type: ignore[no-untyped-def]
    from gradewatch.cli.checks import print_reports

    console.rule(title)
    with console.status("Logging in (solving the captcha), reading grades…"):
        reports = app.watcher.check_all()
        app.watcher.send_pending()
    print_reports(reports)
    if expect_mails == 1:
        table = Table(title="Stored grades", title_justify="left")
        for col in ("学期", "课程名称", "学分", "成绩", "考试性质"):
            table.add_column(col)
        for g in app.store.grades("li-ming"):
            table.add_row(g.term, g.course_name, f"{g.credits:g}" if g.credits else "", g.score, g.exam_type)
        console.print(table)
    mails = sink.wait_for(expect_mails, timeout=15)
    if len(mails) < expect_mails:
        console.print("[red]No mail arrived; see the check table above.[/]")
        return
    _show_mail(console, mails[expect_mails - 1], f"Mail {expect_mails}")
