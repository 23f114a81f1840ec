"""`gradewatch sim …`: run a school simulator in the foreground."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, help="Run a school-system simulator on this machine (for the demo and tests).")


@app.callback()
def _group() -> None:
    """Run a school-system simulator on this machine (for the demo and tests)."""
    # A callback keeps `ssfw` a subcommand even while it is the only one.


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@app.command()
def ssfw(
    port: int = typer.Option(8080, "--port", help="Port to listen on (0 = any free port)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    captcha_dir: Path | None = typer.Option(
        None, "--captcha-dir", help="Serve real captchas: a folder or .tar.gz of <label>.png (default: rendered)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the random students and captchas."),
    session_ttl: float = typer.Option(1800.0, "--session-ttl", min=0.1, help="Idle seconds before a session expires."),
    admin_token: str | None = typer.Option(None, "--admin-token", help="Admin API token (default: a random one)."),
    encoding: str = typer.Option("utf-8", "--encoding", help="Page encoding: utf-8 or gbk."),
    students: int = typer.Option(20, "--students", min=0, help="Random students besides the demo student."),
) -> None:
    """Wisedu SSFW (师生服务): login.jsp, jwcaptcha.do, j_spring_ids_security_check, jwnavmenu.do."""
    import uvicorn

    from gradewatch.sim.captchas import FileCaptchas
    from gradewatch.sim.server import bind, url_of
    from gradewatch.sim.ssfw import GRADES_MENU_WID, SsfwSimulator
    from gradewatch.sim.transcripts import seeded_students

    try:
        captchas = FileCaptchas.load(captcha_dir, seed=seed) if captcha_dir is not None else None
        sim = SsfwSimulator(
            seeded_students(seed, students),
            captchas=captchas,
            admin_token=admin_token,
            session_ttl=session_ttl,
            seed=seed,
            encoding=encoding,
        )
        if captchas is None:
            sim.default_captchas()  # fail now, not at the first captcha, if the renderer is missing
    except (ValueError, ImportError) as err:
        raise _fail(str(err)) from None
    try:
        sock = bind(host, port)
    except OSError as err:
        raise _fail(f"cannot listen on {host}:{port}: {err.strerror or err}") from None

    base = url_of(sock)
    demo = sim.demo
    assert demo is not None
    typer.echo(f"SSFW simulator on {base}/ssfw/login.jsp")
    typer.echo(f"  base_url     {base}")
    typer.echo(f"  grade page   {base}/ssfw/jwnavmenu.do?menuItemWid={GRADES_MENU_WID}")
    typer.echo(f"  demo login   {demo.username} / {demo.password}")
    typer.echo(f"  admin token  {sim.admin_token}")
    typer.echo(f"  captchas     {'from ' + str(captcha_dir) if captcha_dir else 'rendered'}; seed {seed}")
    config = uvicorn.Config(sim.app(), log_level="info", lifespan="off", timeout_graceful_shutdown=3)
    uvicorn.Server(config).run(sockets=[sock])
