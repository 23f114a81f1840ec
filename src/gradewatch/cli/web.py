"""`gradewatch web`: serve the student and operator pages (alone, or with the watcher in one process)."""

from __future__ import annotations

import errno
import os
import socket
import threading
from pathlib import Path

import typer

from gradewatch.cli.errors import fail, user_errors


def web_command(
    config: Path = typer.Option(Path("gradewatch.toml"), "--config", "-c", envvar="GRADEWATCH_CONFIG",
                                help="Config file (TOML)."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on (put a TLS proxy in front for the internet)."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
    admin_password_env: str = typer.Option("GRADEWATCH_ADMIN_PASSWORD", help="Environment variable holding the "
                                           "operator's dashboard password (hashed with argon2 at start)."),
    mail_sender_env: str = typer.Option("GRADEWATCH_MAIL_SENDER", help="Environment variable with a mail URL "
                                        "without recipient (the club's sending mailbox): students then give only "
                                        "their e-mail address."),
    wechat_token_env: str = typer.Option("GRADEWATCH_WECHAT_TOKEN", help="Environment variable with the WeChat "
                                         "official account's token (enables /wechat)."),
    https: bool = typer.Option(False, help="Behind TLS: mark cookies Secure."),
    public_url: str = typer.Option("", "--public-url", help="The site's address as students reach it, e.g. "
                                   "https://grades.club.example/ (sign-in links point there). Default: "
                                   "http://HOST:PORT/."),
    with_run: bool = typer.Option(False, "--with-run", help="Also keep checking accounts in this process."),
    review_dir: Path | None = typer.Option(None, "--review-dir", help="The harvest's captcha review queue "
                                           "(DIR-review), shown at /admin/review."),
    review_dataset: Path | None = typer.Option(None, "--review-dataset", help="Where labelled captchas go "
                                               "(default: the queue's folder name without -review)."),
    allow_detect: bool = typer.Option(False, "--allow-detect", help="Let a student whose school is not in the "
                                      "config paste its URL at sign-up: the system is detected, and the school is "
                                      "added to the config after one good login."),
    detect_private: bool = typer.Option(False, "--detect-private", help="With --allow-detect: also accept "
                                        "loopback and private addresses (a campus-internal deployment)."),
    private_channels: bool = typer.Option(False, "--private-channels", help="Let students' channels reach "
                                          "loopback and private addresses (a campus-internal deployment); "
                                          "otherwise only public hosts."),
) -> None:
    """Serve the self-service pages for students and the operator's dashboard."""
    import uvicorn

    from gradewatch.web.app import WebSettings, create_app

    admin = os.environ.get(admin_password_env)
    settings = WebSettings(config_path=config, admin_password=admin or None,
                           mail_sender=os.environ.get(mail_sender_env) or None,
                           wechat_token=os.environ.get(wechat_token_env) or None, https_only=https,
                           public_url=public_url or f"http://{host}:{port}/",
                           review_dir=review_dir, review_dataset=review_dataset,
                           allow_detect=allow_detect, detect_private=detect_private,
                           private_channels=private_channels)
    sock = _listening_socket(host, port)  # first: a port in use must not cost a migration or an import
    with user_errors():
        try:
            app = create_app(settings)
        except BaseException:
            sock.close()
            raise
    stop = threading.Event()
    if with_run:
        from gradewatch.watch.scheduler import Scheduler

        gw = app.state.web.gw
        threading.Thread(target=Scheduler(gw.watcher).run, args=(stop,), name="scheduler", daemon=True).start()
    typer.echo(f"gradewatch web on http://{host}:{port}/" + ("" if admin else
               f" (no dashboard: set {admin_password_env})"))
    try:
        uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning")).run(sockets=[sock])
    finally:
        stop.set()
        app.state.web.close()


def _listening_socket(host: str, port: int) -> socket.socket:
    """The bound socket uvicorn serves on, bound here so that a port in use or an address this host
    does not have is one line and exit code 2 (uvicorn logs it and exits 3, our database code)."""
    # uvicorn's rule: IPv6 only for an address written with ':'; a name (localhost) binds its IPv4.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, UnicodeError) as err:
        fail(f"--host {host}: cannot listen there ({getattr(err, 'strerror', None) or err})")
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart need not wait for TIME_WAIT
        sock.bind(address)
    except OSError as err:
        sock.close()
        hint = " (another program listens there: choose another --port)" if err.errno == errno.EADDRINUSE else ""
        fail(f"cannot listen on {host}:{port}: {err.strerror or err}{hint}")
    sock.set_inheritable(True)
    return sock
