"""The guided `gradewatch init`: school, student number, password, where to notify — then a test
message and a first check. Every question has a flag, so scripts can answer without a terminal.

Kind to the school as everywhere: the password is checked with exactly one login; when the school
says it is wrong the student is told at once and asked again (a new password, never the same one
resent), and the session of that login is kept so the first check does not log in again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

#: Sending servers of the common mail providers: (host, port, mode). Others are asked for.
MAIL_PROVIDERS = {
    "qq.com": ("smtp.qq.com", 465, "ssl", "QQ 邮箱 → 设置 → 账户 → 开启 POP3/SMTP 服务 → 生成授权码"),
    "foxmail.com": ("smtp.qq.com", 465, "ssl", "QQ 邮箱 → 设置 → 账户 → 开启 POP3/SMTP 服务 → 生成授权码"),
    "163.com": ("smtp.163.com", 465, "ssl", "163 邮箱 → 设置 → POP3/SMTP/IMAP → 开启 SMTP 服务 → 授权密码"),
    "126.com": ("smtp.126.com", 465, "ssl", "126 邮箱 → 设置 → POP3/SMTP/IMAP → 开启 SMTP 服务 → 授权密码"),
    "gmail.com": ("smtp.gmail.com", 587, "starttls", "Google account → Security → 2-Step Verification → App passwords"),
    "outlook.com": ("smtp-mail.outlook.com", 587, "starttls", "Outlook → Settings → Mail → Sync email (app password)"),
    "hotmail.com": ("smtp-mail.outlook.com", 587, "starttls", "Outlook → Settings → Mail → Sync email (app password)"),
}


class WizardError(Exception):
    """A wizard step that cannot go on (non-interactive and no answer, unusable answer)."""


@dataclass
class Answers:
    """What the wizard ends with; each field also has a command-line flag."""

    system: str = ""
    base_url: str = ""
    school_name: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    notify: str = field(default="", repr=False)


def mail_url(address: str, secret: str, server: str | None = None) -> str:
    """A ``mailtos://`` URL that sends from ``address`` to itself, with the provider's defaults
    (or ``server`` as ``host:port`` with an optional ``/mode``: ssl, starttls, insecure)."""
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
        raise WizardError(f"not an e-mail address: {address!r}")
    user, domain = address.split("@", 1)
    if server:
        host_port, _, mode = server.partition("/")
        host, _, port_text = host_port.partition(":")
        port = int(port_text or 465)
        mode = mode or ("ssl" if port == 465 else "starttls")
    elif domain.lower() in MAIL_PROVIDERS:
        host, port, mode, _ = MAIL_PROVIDERS[domain.lower()]
    else:
        raise WizardError(f"no known mail server for {domain}; give it as host:port")
    scheme = "mailto" if mode == "insecure" else "mailtos"
    auth = f"{quote(user, safe='')}:{quote(secret, safe='')}@" if secret else ""
    return (f"{scheme}://{auth}{host}:{port}?mode={mode}&from={quote(address, safe='@')}"
            f"&to={quote(address, safe='@')}" + (f"&user={quote(user, safe='')}" if secret else ""))


def config_text(a: Answers, *, account: str = "me") -> str:
    school = "school"
    name = f"  # {a.school_name}" if a.school_name else ""
    return f"""# Written by `gradewatch init`. Every key is checked; `gradewatch doctor` checks the whole set-up.
database = "sqlite:///gradewatch.db"
key_file = "gradewatch.key"
interval_minutes = 30

[schools.{school}]{name}
system = "{a.system}"
base_url = "{a.base_url}"

[accounts.{account}]
school = "{school}"
username = "{a.username}"
# The password is stored encrypted in the database (gradewatch password set {account} changes it).
notify = ["{a.notify}"]
"""


Ask = Callable[[str], str]


def choose_school(query: str, ask: Ask, say: Callable[[str], None]) -> tuple[str, str, str]:
    """(system, base_url, name) from a name/abbreviation/initials or a URL (then detect)."""
    from gradewatch.directory import search
    from gradewatch.schools.detect import DetectError, detect

    while True:
        if "://" in query or re.match(r"^[\w.-]+\.[a-z]{2,}(:\d+)?(/|$)", query):
            try:
                found, final, title = detect(query, timeout=10)
            except DetectError as err:
                say(f"  {err}")
                query = ask("School or its login page URL")
                continue
            if found is None:
                say(f"  {final} is not a system gradewatch knows" + (f' (title "{title}")' if title else ""))
                query = ask("School or its login page URL")
                continue
            say(f"  {found.title} at {found.base_url}")
            return found.system, found.base_url, ""
        hits = search(query, limit=6)
        if not hits:
            say(f"  No school matches {query!r}.")
            query = ask("School (another spelling) or its login page URL")
            continue
        for i, s in enumerate(hits, 1):
            say(f"  {i}. {s.name}  ({s.system}, {s.base_url}){'' if s.verified else '  [unverified]'}")
        say("  0. none of these: type the login page URL instead")
        pick = ask("Which one? [1]") or "1"
        if pick.isdigit() and 1 <= int(pick) <= len(hits):
            s = hits[int(pick) - 1]
            from gradewatch.schools.detect import fetch

            try:
                fetch(s.base_url + "/", timeout=10)
            except DetectError as err:
                say(f"  {s.name}'s address from the directory does not answer ({err}).")
                query = ask("Its login page URL")
                continue
            return s.system, s.base_url, s.name
        query = ask("The login page URL") if pick == "0" else pick


def _first_match_or_stop(question: str) -> str:
    """Without questions (answers given as flags): the directory's best match, and no second try at
    anything else (each retry would ask again, answered the same, for ever)."""
    if question.startswith("Which one"):
        return "1"
    raise WizardError("the school was not found or does not answer: give --school another name or its login page "
                      "URL, or --system and --base-url")


def verify_login(system: str, base_url: str, username: str, password: str,
                 say: Callable[[str], None]) -> list[dict[str, str]]:
    """One real login; the session cookies on success. Raises the adapter's SchoolError otherwise."""
    from gradewatch.schools import adapter_class
    from gradewatch.schools.base import Credentials

    say("  Logging in once to check the password (captcha read by the model)…")
    with adapter_class(system)(base_url) as adapter:
        adapter.login(Credentials(username, password))
        captcha = adapter.stats.captcha_submissions
        say(f"  Logged in{f' (captcha right at try {captcha})' if captcha else ''}.")
        return adapter.export_cookies()


@dataclass
class Flags:
    """The non-interactive answers (None: ask)."""

    school: str | None = None
    system: str | None = None
    base_url: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    notify: str | None = field(default=None, repr=False)
    email: str | None = None
    smtp_code: str | None = field(default=None, repr=False)
    smtp_server: str | None = None
    interactive: bool = True


def run(path: Path, flags: Flags, *, ask: Ask, ask_secret: Ask, say: Callable[[str], None]) -> Answers:
    from gradewatch.schools.errors import SchoolError, WrongPassword

    def need(value: str | None, question: str, secret: bool = False) -> str:
        if value is not None:
            return value
        if not flags.interactive:
            raise WizardError(f"no answer for {question!r}: give its flag (see gradewatch init --help)")
        return (ask_secret if secret else ask)(question).strip()

    a = Answers()
    say("Your school")
    if flags.system is not None:
        from gradewatch.schools import systems

        if flags.system not in systems():
            raise WizardError(f"--system: no system {flags.system!r} (known: {', '.join(sorted(systems()))})")
    if flags.system and flags.base_url:
        a.system, a.base_url = flags.system, flags.base_url.rstrip("/")
    else:
        query = need(flags.school, "School (name, abbreviation like 建大, pinyin initials) or its login page URL")
        pick: Ask = ask if flags.interactive else _first_match_or_stop
        a.system, a.base_url, a.school_name = choose_school(query, pick, say)
    a.username = need(flags.username, "Student number")
    cookies: list[dict[str, str]] = []
    password = flags.password
    while True:
        a.password = need(password, "Password (hidden)", secret=True)
        try:
            cookies = verify_login(a.system, a.base_url, a.username, a.password, say)
            break
        except WrongPassword:
            say("  The school says this username or password is wrong. It was sent once; gradewatch never "
                "resends a rejected password (schools lock accounts).")
            if not flags.interactive:
                raise WizardError("the school rejected the password") from None
            password = None
        except SchoolError as err:
            raise WizardError(f"could not log in: {err}") from None
    say("Where to tell you about new grades")
    if flags.notify:
        a.notify = flags.notify
    else:
        target = need(flags.email, "E-mail address, or a push service key/URL (Server酱, PushPlus …)")
        if "@" in target and "://" not in target:
            domain = target.split("@", 1)[1].lower()
            server = flags.smtp_server
            if domain not in MAIL_PROVIDERS and not server:
                server = need(None, f"Sending server for {domain} (host:port, add /starttls, /ssl or /insecure)")
            hint = MAIL_PROVIDERS.get(domain, ("", 0, "", "your mail provider's SMTP password"))[3]
            given = flags.smtp_code if flags.interactive or flags.smtp_code is not None else ""
            code = need(given, f"SMTP authorisation code ({hint}; empty if the server needs none)",
                        secret=True)
            a.notify = mail_url(target, code, server)
        else:
            from gradewatch.notify.channels import url_from_key

            a.notify = url_from_key(target) or target  # a bare Server酱 key, as users copy it, or a URL
    return _finish(path, a, cookies, say)


def _finish(path: Path, a: Answers, cookies: list[dict[str, str]], say: Callable[[str], None]) -> Answers:
    import tomllib

    from gradewatch.app import open_app
    from gradewatch.config import ConfigError, config_from_dict
    from gradewatch.doctor import deliver_test

    text = config_text(a)
    try:
        config_from_dict(tomllib.loads(text), base_dir=path.resolve().parent, source=path)
    except ConfigError as err:
        raise WizardError(str(err)) from None
    path.write_text(text, encoding="utf-8")
    say(f"Wrote {path}.")
    gw = open_app(path)
    try:
        acc = gw.config.accounts["me"]
        gw.store.ensure_account("me", school=acc.school, system=a.system, username=a.username)
        gw.store.set_password("me", a.password)
        gw.store.save_cookies("me", cookies)
        problem = deliver_test("me", a.notify)
        say("  Test message: " + ("confirmed by the channel." if problem is None else f"NOT delivered: {problem}"))
        say("First check…")
        [report] = gw.watcher.check_all(["me"])
        sent = gw.watcher.send_pending()
        if report.ok:
            say(f"  {report.grades} grades read ({'logged in' if report.logged_in else 'session reused'}); "
                f"{sent.sent} notification(s) sent.")
        else:
            say(f"  The first check did not work: {report.outcome}: {report.message}")
    finally:
        gw.close()
    say(f"Done. `gradewatch run -c {path}` keeps watching; `gradewatch doctor -c {path}` checks the set-up.")
    return a
