"""`gradewatch sim …`: run a school simulator in the foreground."""

from __future__ import annotations

from pathlib import Path

import typer

from gradewatch.cli.errors import fail

app = typer.Typer(no_args_is_help=True, help="Run a school-system simulator on this machine (for the demo and tests).")


@app.callback()
def _group() -> None:
    """Run a school-system simulator on this machine (for the demo and tests)."""
    # A callback keeps `ssfw` a subcommand even while it is the only one.


_VARIANT_HELP = "A named variant of a real deployment, or key=value of one simulator option (repeatable)."


def _make(cls: type, system: str, variants: list[str], *args: object, **kwargs: object) -> object:
    """The simulator with the ``--variant`` options on top of the others; bad ones are one error line."""
    from gradewatch.sim.variants import variant_options

    try:
        return cls(*args, **{**kwargs, **variant_options(system, variants)})
    except TypeError as err:  # an option the simulator does not have
        fail(f"bad --variant for {system}: {str(err).split(')', 1)[-1].strip() or err}")
    except (ValueError, ImportError) as err:
        fail(str(err))


@app.command()
def ssfw(
    port: int = typer.Option(8080, "--port", min=0, max=65535, help="Port to listen on (0 = any free port)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    captcha_dir: Path | None = typer.Option(
        None, "--captcha-dir", help="Serve real captchas: a folder or .tar.gz of <label>.png (default: rendered)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the random students and captchas."),
    session_ttl: float = typer.Option(1800.0, "--session-ttl", min=0.1, help="Idle seconds before a session expires."),
    admin_token: str | None = typer.Option(None, "--admin-token", help="Admin API token (default: a random one)."),
    encoding: str = typer.Option("utf-8", "--encoding", help="Page encoding: utf-8 or gbk."),
    students: int = typer.Option(20, "--students", min=0, help="Random students besides the demo student."),
    variant: list[str] = typer.Option([], "--variant", help=_VARIANT_HELP + " Named: cjxx, portal."),
) -> None:
    """Wisedu SSFW (师生服务): login.jsp, jwcaptcha.do, j_spring_ids_security_check, jwnavmenu.do."""
    from gradewatch.sim.captchas import FileCaptchas
    from gradewatch.sim.ssfw import GRADES_MENU_WID, SsfwSimulator
    from gradewatch.sim.transcripts import seeded_students

    try:
        captchas = FileCaptchas.load(captcha_dir, seed=seed) if captcha_dir is not None else None
    except (ValueError, ImportError) as err:
        fail(str(err))
    sim = _make(SsfwSimulator, "ssfw", variant, seeded_students(seed, students), captchas=captchas,
                admin_token=admin_token, session_ttl=session_ttl, seed=seed, encoding=encoding)
    _serve(sim, [
        "SSFW simulator on {base}/ssfw/login.jsp",
        "  base_url     {base}",
        "  grade page   {base}/ssfw/jwnavmenu.do?menuItemWid=" + GRADES_MENU_WID,
        f"  captchas     {'from ' + str(captcha_dir) if captcha_dir else 'rendered'}; seed {seed}",
    ], host, port)


def _serve(sim: object, lines: list[str], host: str, port: int) -> None:
    """Bind, print the banner lines (``{base}`` is the listening URL) and serve until interrupted."""
    import uvicorn

    from gradewatch.sim.base import Simulator
    from gradewatch.sim.server import bind, url_of

    assert isinstance(sim, Simulator) and sim.demo is not None
    try:
        sim.default_captchas()  # fail now, not at the first captcha, if the renderer is missing
    except (ValueError, ImportError) as err:
        fail(str(err))
    try:
        sock = bind(host, port)
    except OSError as err:
        fail(f"cannot listen on {host}:{port}: {err.strerror or err}")
    base = url_of(sock)
    for line in lines:
        typer.echo(line.replace("{base}", base))
    typer.echo(f"  demo login   {sim.demo.username} / {sim.demo.password}")
    typer.echo(f"  admin token  {sim.admin_token}")
    config = uvicorn.Config(sim.app(), log_level="info", lifespan="off", timeout_graceful_shutdown=3)
    uvicorn.Server(config).run(sockets=[sock])


@app.command()
def zf(
    port: int = typer.Option(8081, "--port", min=0, max=65535, help="Port to listen on (0 = any free port)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    captcha: bool = typer.Option(True, "--captcha/--no-captcha", help="Login with the kaptcha image, or without."),
    notice: list[str] = typer.Option(
        [], "--notice", help="Username that gets a mandatory notice page after login (repeatable)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the random students and captchas."),
    session_ttl: float = typer.Option(1800.0, "--session-ttl", min=0.1, help="Idle seconds before a session expires."),
    admin_token: str | None = typer.Option(None, "--admin-token", help="Admin API token (default: a random one)."),
    students: int = typer.Option(20, "--students", min=0, help="Random students besides the demo student."),
    variant: list[str] = typer.Option(
        [], "--variant", help=_VARIANT_HELP + " Named: vendor, kaptcha, signed-modulus, no-csrftoken, dg, sparse."
    ),
) -> None:
    """ZF 正方 jwglxt: login_slogin.html (RSA password, kaptcha), cjcx_cxXsgrcj.html grade JSON."""
    from gradewatch.sim.transcripts import seeded_students
    from gradewatch.sim.zf import LOGIN, ZfSimulator

    sim = _make(ZfSimulator, "zf", variant, seeded_students(seed, students), captcha=captcha, notice_for=notice,
                admin_token=admin_token, session_ttl=session_ttl, seed=seed)
    _serve(sim, [
        "ZF simulator on {base}" + LOGIN,
        "  base_url     {base}/jwglxt",
        f"  captcha      {'kaptcha' if captcha else 'none'}; seed {seed}",
    ], host, port)


@app.command()
def qiangzhi(
    port: int = typer.Option(8082, "--port", min=0, max=65535, help="Port to listen on (0 = any free port)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    login: str = typer.Option("seed", "--login", help="seed (Logon.do, server-seed encoded) or direct (LoginToXk)."),
    captcha: bool = typer.Option(True, "--captcha/--no-captcha", help="Login with the RANDOMCODE image, or without."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random students and captchas."),
    session_ttl: float = typer.Option(1800.0, "--session-ttl", min=0.1, help="Idle seconds before a session expires."),
    admin_token: str | None = typer.Option(None, "--admin-token", help="Admin API token (default: a random one)."),
    students: int = typer.Option(20, "--students", min=0, help="Random students besides the demo student."),
    variant: list[str] = typer.Option([], "--variant", help=_VARIANT_HELP + " Named: ldap, logon-ldap, direct, json."),
) -> None:
    """强智 jsxsd: Logon.do or xk/LoginToXk, verifycode.servlet, kscj/cjcx_list grade table."""
    from gradewatch.sim.qiangzhi import QiangzhiSimulator
    from gradewatch.sim.transcripts import seeded_students

    sim = _make(QiangzhiSimulator, "qiangzhi", variant, seeded_students(seed, students), login=login,
                captcha=captcha, admin_token=admin_token, session_ttl=session_ttl, seed=seed)
    assert isinstance(sim, QiangzhiSimulator)
    _serve(sim, [
        "强智 simulator on {base}" + sim.login_url,
        "  base_url     {base}",
        f'  login        {sim.login} ({sim.login_action}); captcha {"on" if sim.captcha else "off"}; seed {seed}',
    ], host, port)


@app.command("captchas")
def captchas(
    system: str = typer.Argument(..., help="The system whose simulator serves the captchas (ssfw, zf …)."),
    out: Path = typer.Argument(..., help="Folder to write into (created)."),
    count: int = typer.Option(1000, "--count", min=1, help="How many captchas."),
    seed: int = typer.Option(1, "--seed", help="Seed of the simulator's captcha stream."),
    variant: list[str] = typer.Option([], "--variant", help=_VARIANT_HELP + " (e.g. zf --variant kaptcha)"),
) -> None:
    """Write captchas exactly as SYSTEM's simulator serves them, as <answer>_<n>.<ext> (for `captcha eval`)."""
    from gradewatch.sim import simulators

    known = simulators()
    if system not in known:
        fail(f"unknown system {system!r} (known: {', '.join(known)})")
    try:
        source = _make(known[system], system, variant, [], seed=seed).default_captchas()  # type: ignore[attr-defined]
        out.mkdir(parents=True, exist_ok=True)
        for n in range(count):
            answer, image, media_type = source.next()
            ext = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif"}.get(media_type, "img")
            (out / f"{answer}_{n:05d}.{ext}").write_bytes(image)
    except (ValueError, ImportError, OSError, NotImplementedError) as err:
        fail(str(err) or f"{system} has no captcha")
    typer.echo(f"wrote {count} {system} captchas to {out}")


_DOOR_SYSTEMS = ("ssfw", "zf", "qiangzhi", "jwapp", "zf_legacy", "urp", "kingosoft")


@app.command("doors")
def doors(
    system: str = typer.Argument(..., help="The system behind the doors: " + ", ".join(_DOOR_SYSTEMS) + "."),
    cas: bool = typer.Option(False, "--cas", help="Enter the system through a CAS identity centre (its SSO entry)."),
    webvpn: bool = typer.Option(False, "--webvpn", help="Reach it through a WebVPN portal (signs in through the CAS)."),
    slider: bool = typer.Option(False, "--slider", help="正方 only: the slider captcha instead of the kaptcha."),
    generation: str = typer.Option("new", "--generation", help="CAS/WebVPN generation: new or old."),
    cas_captcha: str = typer.Option("none", "--cas-captcha",
                                    help="When the CAS asks a captcha: none, always, after_failures or slider."),
    cipher: str = typer.Option("aes", "--cipher", help="How the CAS login page encrypts the password: aes or rsa."),
    single_login: bool = typer.Option(False, "--single-login",
                                      help="The CAS shows its 'already signed in elsewhere' page."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random students and captchas."),
    students: int = typer.Option(3, "--students", min=1, help="Students (the first one is the demo login)."),
) -> None:
    """A system behind its front doors (CAS, WebVPN, 正方 slider), on loopback, with the config lines to use it."""
    import threading
    from contextlib import ExitStack

    from gradewatch.sim.fronted import SSO_ENTRIES, fronted

    if system not in _DOOR_SYSTEMS:
        fail(f"unknown system {system!r} (known: {', '.join(_DOOR_SYSTEMS)})")
    if system == "jwapp" and not cas:
        fail("jwapp (金智 ehall) is only reachable through its CAS: add --cas")
    if cas and system not in SSO_ENTRIES:
        fail(f"{system} has no CAS entry in the simulators (--cas works with {', '.join(SSO_ENTRIES)}); try --webvpn")
    if slider and (system != "zf" or cas):
        fail("--slider is the 正方 (zf) login page's own captcha: use it with zf and without --cas")
    for name, value, allowed in (("--generation", generation, ("new", "old")),
                                 ("--cas-captcha", cas_captcha, ("none", "always", "after_failures", "slider")),
                                 ("--cipher", cipher, ("aes", "rsa"))):
        if value not in allowed:
            fail(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    if not (cas or webvpn or slider):
        fail(f"no door chosen: add --cas, --webvpn or --slider (or run `gradewatch sim {system}` for the bare system)")
    with ExitStack() as stack:
        try:
            set_up = fronted(stack, system, cas=cas, vpn=webvpn, slider=slider, generation=generation,
                             cas_captcha=cas_captcha, cipher=cipher, single_login=single_login, students=students,
                             seed=seed, **({"captcha": False} if slider else {}))  # the slider replaces the kaptcha
        except (OSError, RuntimeError, ValueError) as err:
            fail(f"cannot start the simulators: {err}")
        doors_on = [d for d, on in (("CAS", cas), ("WebVPN", webvpn), ("slider", slider)) if on]
        typer.echo(f"{system} simulator behind {' + '.join(doors_on)}")
        if set_up.cas_url:
            typer.echo(f"  CAS          {set_up.cas_url}/login")
        if set_up.vpn is not None:
            typer.echo(f"  WebVPN       {set_up.vpn.base_url}")
        typer.echo(f"  system       {set_up.root_url}")
        typer.echo(f"  demo login   {set_up.username} / {set_up.password}")
        typer.echo(f"  admin token  {set_up.sim.admin_token} (the system's admin API at {set_up.root_url}/_admin)")
        typer.echo("config lines (paste below your [schools.NAME] header):")
        typer.echo(f'system = "{system}"')
        typer.echo(f'base_url = "{set_up.base_url}"')
        for line in set_up.school_toml.splitlines():
            typer.echo(line)
        typer.echo("(Ctrl-C stops)", err=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


def _option_value(text: str) -> object:
    """A ``--set KEY=VALUE`` value: true/false, an integer or number, else the text."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _generic_command(system: str) -> None:
    """``gradewatch sim SYSTEM`` for a registered simulator without a hand-written command: the common
    flags, ``--set KEY=VALUE`` for its own options, and the banner its class writes."""

    def command(
        port: int = typer.Option(8090, "--port", min=0, max=65535, help="Port to listen on (0 = any free port)."),
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
        seed: int = typer.Option(0, "--seed", help="Seed of the random students and captchas."),
        session_ttl: float = typer.Option(1800.0, "--session-ttl", min=0.1,
                                          help="Idle seconds before a session expires."),
        admin_token: str | None = typer.Option(None, "--admin-token", help="Admin API token (default: a random one)."),
        students: int = typer.Option(20, "--students", min=0, help="Random students besides the demo student."),
        settings: list[str] = typer.Option([], "--set", help="A simulator option KEY=VALUE (repeatable)."),
    ) -> None:
        from gradewatch.sim import simulator_class
        from gradewatch.sim.transcripts import seeded_students

        options: dict[str, object] = {}
        for item in settings:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                fail(f"--set takes KEY=VALUE, not {item!r}")
            options[key.strip().replace("-", "_")] = _option_value(value.strip())
        cls = simulator_class(system)
        if getattr(cls, "requires_front_door", False):
            fail(f"{system} is only reachable through its front door: run `gradewatch sim doors {system} --cas`")
        try:
            sim = cls(seeded_students(seed, students), admin_token=admin_token, session_ttl=session_ttl, seed=seed,
                      **options)
        except TypeError as err:
            fail(f"{system}: not a simulator option: {err}")
        except ValueError as err:
            fail(str(err))
        _serve(sim, sim.banner(), host, port)

    from gradewatch.sim import simulator_class

    cls = simulator_class(system)
    doc = (cls.__doc__ or system).strip().splitlines()[0]
    app.command(system, help=doc)(command)


def _register_generic_commands() -> None:
    from gradewatch.sim import simulators

    taken = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    for system in simulators():
        if system not in taken:
            _generic_command(system)


_register_generic_commands()
