"""The pages: sign-up, sign-in, a student's own pages, the operator's dashboard, WeChat."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from gradewatch.store.web_sign_ins import add_link, drop_link, link_account, spend_link
from gradewatch.web.logins import REFUSED_BEFORE
from gradewatch.web.security import verify_password

if TYPE_CHECKING:
    from gradewatch.config import SchoolConfig
    from gradewatch.web.app import Web

Render = Callable[..., Response]
FormOf = Callable[[Request], Awaitable[dict[str, str] | None]]
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
LINK_TTL = timedelta(minutes=15)
log = logging.getLogger(__name__)


def routes(web: Web, render: Render, form_of: FormOf, forbidden: Callable[[Request], Response]) -> list[Route]:
    from gradewatch.store.accounts import AccountBook, AccountError, NewAccount, validate
    from gradewatch.store.models import Account

    def ip(request: Request) -> str:
        return request.client.host if request.client else "?"

    def schools() -> list[tuple[str, str]]:
        cfg = web.base_config
        return [(name, f"{name} ({s.system})") for name, s in cfg.schools.items()]

    def account_name(school: str, username: str) -> str:
        return f"{school}.{username}"

    def channels_of(name: str) -> list[str]:
        acc = web.config().accounts.get(name)
        return list(acc.notify) if acc else []

    def set_channels(name: str, urls: list[str]) -> None:
        with web.store.session() as s:
            row = s.get(Account, name)
            if row is not None:
                row.notify_urls = web.store.vault.encrypt_json(urls)

    def notify_url(target: str) -> str | None:
        target = target.strip()
        if _EMAIL.fullmatch(target) and web.settings.mail_sender:
            sep = "&" if "?" in web.settings.mail_sender else "?"
            return f"{web.settings.mail_sender}{sep}to={quote(target, safe='@')}"
        from gradewatch.notify.channels import url_from_key

        return url_from_key(target) or (target if "://" in target else None)

    def operators_mailbox(url: str) -> bool:
        """Whether ``url`` is the operator's mailbox with one student's address (as notify_url makes it)."""
        sender = web.settings.mail_sender
        if not sender:
            return False
        head = f"{sender}{'&' if '?' in sender else '?'}to="
        rest = url[len(head):]
        # Exactly as notify_url writes it: one quoted address, no more query (`&smtp=` would move the host).
        return (url.startswith(head) and _EMAIL.fullmatch(unquote(rest)) is not None
                and rest == quote(unquote(rest), safe="@"))

    def channel_from(target: str) -> tuple[str | None, str]:
        """(URL, "") for what a student typed as a channel, or (None, what is wrong with it). An
        e-mail address goes through the operator's mailbox; anything else is checked here."""
        url = notify_url(target)
        if url is None:
            return None, "Give an e-mail address, a Server酱 key or a notification URL."
        if _EMAIL.fullmatch(target.strip()) and web.settings.mail_sender:
            return url, ""
        from gradewatch.web.channel_check import channel_problem

        problem = channel_problem(url, allow_private=web.settings.private_channels)
        return (None, f"That channel cannot be used: {problem}.") if problem else (url, "")

    def still_allowed(url: str) -> str | None:
        """Why a stored channel may not be sent a test now (None: it may); the operator's own
        mailbox (a student's e-mail address) is the operator's to place, private or not."""
        if operators_mailbox(url):
            return None
        from gradewatch.web.channel_check import channel_problem

        return channel_problem(url, allow_private=web.settings.private_channels)

    def owner(request: Request, name: str) -> bool:
        return web.signed_in(request) == name

    # ---- landing, sign-up, sign-in ---------------------------------------------------------
    async def index(request: Request) -> Response:
        me = web.signed_in(request)
        if me:
            return RedirectResponse(f"/accounts/{quote(me)}", 303)
        return render(request, "index.html")

    async def signup(request: Request) -> Response:
        ctx = {"schools": schools(), "email_ok": bool(web.settings.mail_sender),
               "allow_detect": web.settings.allow_detect}
        if request.method == "GET":
            return render(request, "signup.html", **ctx)
        form = await form_of(request)
        if form is None:
            return forbidden(request)
        school, username = form.get("school", ""), form.get("username", "").strip()
        password, target = form.get("password", ""), form.get("notify", "")
        school_url = form.get("school_url", "").strip() if web.settings.allow_detect else ""
        ctx.update(school=school, username=username, notify=target, school_url=school_url)
        if not web.by_ip.allow(ip(request)) or not web.by_account.allow(f"{school or school_url}/{username}"):
            return render(request, "signup.html", 429, error="Too many attempts; wait a few minutes.", **ctx)
        detected = None
        if not school and school_url and username and password:
            from gradewatch.web.detect_school import SchoolUrlError, detect_school

            try:
                detected = await run_in_threadpool(detect_school, school_url, web.base_config.schools,
                                                   allow_private=web.settings.detect_private)
            except SchoolUrlError as err:
                return render(request, "signup.html", 400, error=f"That school address did not work: {err}.", **ctx)
            school = detected.key
        # A detected school joins the shared config only after its one good login (other students
        # sign up meanwhile: a school nobody could log in to must never show up in their list).
        school_cfg = detected.school if detected is not None else web.base_config.schools.get(school)
        if school_cfg is None or not username or not password:
            return render(request, "signup.html", 400, error="Choose your school and give your student number "
                          "and password.", **ctx)
        url, bad = await run_in_threadpool(channel_from, target)  # may look a host up
        if url is None:
            return render(request, "signup.html", 400, error=bad, **ctx)
        name = account_name(school, username)
        if name in web.config().accounts:
            return render(request, "signup.html", 409, error="This student number is already signed up: sign in.",
                          **ctx)
        new = NewAccount(name, school, username, password, (url,))
        try:  # everything checkable is checked before the school sees the password
            validate(web.base_config.model_copy(update={"schools": {**web.base_config.schools, school: school_cfg}}),
                     new)
        except AccountError as err:
            return render(request, "signup.html", 400, error=str(err), **ctx)
        with web.logins.attempt(name, password) as attempt:
            if attempt.state == "refused":
                return render(request, "signup.html", 400, error=REFUSED_BEFORE, **ctx)
            if attempt.state == "limit":
                return render(request, "signup.html", 429, error="This student number has had its tries at the "
                              "school for this hour; wait before trying again (schools lock accounts after a few "
                              "wrong tries).", **ctx)
            if attempt.state == "busy":
                return render(request, "signup.html", 409, error="A sign-up for this student number is being "
                              "checked right now; wait for it.", **ctx)
            # The school's login takes seconds: off the event loop, so the site (and WeChat's 5 s
            # replies) go on meanwhile.
            cookies, problem, refused = await run_in_threadpool(_verify, school_cfg, username, password)
            if refused:
                web.logins.refused(attempt, password)
            if problem is None and detected is not None and detected.new:
                problem = _remember(web, detected, school_url)
            if problem is not None:
                return render(request, "signup.html", 400, error=problem, **ctx)
            if detected is not None and detected.new:
                web.base_config.schools[school] = detected.school
            try:  # with the login's session in the same row: the first check reuses it
                AccountBook(web.store, web.base_config).add(replace(new, session=tuple(cookies)))
            except AccountError as err:
                return render(request, "signup.html", 400, error=str(err), **ctx)
        web.sign_in(request, name)
        web.check_soon(name)
        return RedirectResponse(f"/accounts/{quote(name)}", 303)

    async def signin(request: Request) -> Response:
        ctx = {"schools": schools()}
        if request.method == "GET":
            return render(request, "signin.html", **ctx)
        form = await form_of(request)
        if form is None:
            return forbidden(request)
        school, username = form.get("school", ""), form.get("username", "").strip()
        name = account_name(school, username)
        if not web.by_ip.allow(ip(request)) or not web.by_account.allow(name):
            return render(request, "signin.html", 429, error="Too many attempts; wait a few minutes.", **ctx)
        acc = web.config().accounts.get(name)
        if form.get("link"):
            if acc is not None and acc.notify:
                await run_in_threadpool(_send_link, web, name, acc.notify[0])
            # The same answer whether or not the account exists: nothing to learn by probing.
            return render(request, "message.html", title="Link sent",
                          text="If that account exists, a sign-in link is on its way to its first channel.")
        stored = web.store.stored_password(name) if acc is not None else None
        # Checked against the encrypted copy: signing in never costs the school a login.
        if stored is None or not secrets.compare_digest(stored.encode(), form.get("password", "").encode()):
            return render(request, "signin.html", 401, error="Unknown student number or wrong password.", **ctx)
        web.sign_in(request, name)
        return RedirectResponse(f"/accounts/{quote(name)}", 303)

    async def signin_link(request: Request) -> Response:
        # The link only shows a button; the POST behind it spends the token. A mail scanner that
        # fetches every link spends nothing, and the click from a webmail (another site, so the
        # SameSite=Strict cookie is not sent) gets a page whose same-site POST signs in.
        token = request.path_params["token"]
        account = link_account(web.store, token)
        if account is None:
            return render(request, "message.html", 400, title="Link expired", text="That link is used or expired.")
        if request.method == "GET":
            return render(request, "signin_link.html", token=token, account=account)
        if await form_of(request) is None:
            return forbidden(request)
        account = spend_link(web.store, token)
        if account is None:
            return render(request, "message.html", 400, title="Link expired", text="That link is used or expired.")
        web.sign_in(request, account)
        return RedirectResponse(f"/accounts/{quote(account)}", 303)

    async def signout(request: Request) -> Response:
        form = await form_of(request)
        if form is None:
            return forbidden(request)
        web.sign_out(request)
        return RedirectResponse("/", 303)

    # ---- a student's own pages -------------------------------------------------------------
    async def account_page(request: Request) -> Response:
        name = request.path_params["name"]
        if not owner(request, name) or name not in web.config().accounts:
            return render(request, "message.html", 404, title="Not found", text="No such page.")
        return render(request, "account.html", **_account_view(web, name), bind_code=None, result=None)

    async def account_action(request: Request) -> Response:
        name, action = request.path_params["name"], request.path_params["action"]
        if not owner(request, name) or name not in web.config().accounts:
            return render(request, "message.html", 404, title="Not found", text="No such page.")
        form = await form_of(request)
        if form is None:
            return forbidden(request)
        urls = channels_of(name)
        view: dict[str, Any] = {}
        if action == "add-channel":
            url, bad = await run_in_threadpool(channel_from, form.get("notify", ""))
            if url is None:
                view["result"] = bad
            else:
                set_channels(name, [*urls, url])
                view["result"] = f"Channel {len(urls) + 1} added."
        elif action == "test-channel":
            idx = _index(form.get("index", "0"), 0)
            if 0 <= idx < len(urls):
                from gradewatch.doctor import deliver_test

                # Checked again now: the test shows the host's answer, and a name that was public
                # when the channel was given may point into the club's network since (a changed
                # record; a rebinding name that answers the check and the send differently is not
                # caught: the send resolves it again).
                refused = await run_in_threadpool(still_allowed, urls[idx])
                problem = refused or await run_in_threadpool(deliver_test, name, urls[idx])
                view["result"] = (f"Channel {idx + 1}: confirmed by the service." if problem is None
                                  else f"Channel {idx + 1}: not {'tried' if refused else 'delivered'} — {problem}")
        elif action == "remove-channel":
            idx = _index(form.get("index", ""), -1)
            if 0 <= idx < len(urls) and len(urls) > 1:
                set_channels(name, urls[:idx] + urls[idx + 1:])
                view["result"] = f"Channel {idx + 1} removed."
        elif action in ("pause", "resume"):
            book = AccountBook(web.store, web.base_config)
            try:
                book.pause(name) if action == "pause" else book.resume(name)
            except AccountError as err:
                view["result"] = str(err)
        elif action == "wechat-code":
            view["bind_code"] = web.bindings.code_for(name)
        elif action == "delete":
            if form.get("confirm", "").strip() != web.config().accounts[name].username:
                view["result"] = "Type your student number to confirm the deletion."
            else:
                try:
                    _delete_everything(web, name)
                except AccountError as err:  # e.g. an account of the operator's config file
                    view["result"] = str(err)
                    return render(request, "account.html", **{**_account_view(web, name), "bind_code": None,
                                                               **view})
                web.sign_out(request)  # every copy of its cookie: the name may sign up again
                return render(request, "message.html", title="Deleted",
                              text="Your account, grades, history, channels and notifications are deleted.")
        return render(request, "account.html", **{**_account_view(web, name), "bind_code": None, "result": None,
                                                   **view})

    # ---- the operator ----------------------------------------------------------------------
    async def admin_login(request: Request) -> Response:
        if web.settings.admin_hash is None:
            return render(request, "message.html", 404, title="Not found", text="No dashboard is configured.")
        if request.method == "GET":
            return render(request, "admin_login.html")
        form = await form_of(request)
        if form is None:
            return forbidden(request)
        if not web.by_ip.allow("admin:" + ip(request)):
            return render(request, "admin_login.html", 429, error="Too many attempts; wait a few minutes.")
        if not verify_password(web.settings.admin_hash, form.get("password", "")):
            return render(request, "admin_login.html", 401, error="Wrong password.")
        web.sign_in(request, admin=True)
        return RedirectResponse("/admin", 303)

    async def admin(request: Request) -> Response:
        if not web.is_admin(request):
            return RedirectResponse("/admin/login", 303)
        return render(request, "admin.html", **_dashboard(web))

    async def wechat(request: Request) -> Response:
        from gradewatch.web.wechat import WechatError, parse, reply, signed

        token = web.settings.wechat_token
        params = dict(request.query_params)
        if not token or not signed(token, params):
            return PlainTextResponse("forbidden", 403)
        if request.method == "GET":  # WeChat's URL verification
            return PlainTextResponse(params.get("echostr", ""))
        try:
            msg = parse(await request.body())
        except WechatError:
            return PlainTextResponse("bad request", 400)
        if not web.wechat_replays.fresh(params["timestamp"], params.get("nonce", ""), msg.from_user):
            return PlainTextResponse("forbidden", 403)
        text = _wechat_answer(web, msg.from_user, msg.content if msg.msg_type == "text" else "")
        return Response(reply(msg, text), media_type="application/xml")

    return [
        Route("/", index), Route("/signup", signup, methods=["GET", "POST"]),
        Route("/signin", signin, methods=["GET", "POST"]),
        Route("/signin/link/{token}", signin_link, methods=["GET", "POST"]),
        Route("/signout", signout, methods=["POST"]),
        Route("/accounts/{name}", account_page), Route("/accounts/{name}/{action}", account_action, methods=["POST"]),
        Route("/admin/login", admin_login, methods=["GET", "POST"]), Route("/admin", admin),
        Route("/wechat", wechat, methods=["GET", "POST"]),
    ]


def _index(raw: str, default: int) -> int:
    """A channel's number from a form: ASCII digits only ("²".isdigit() is true, int("²") fails)."""
    return int(raw) if re.fullmatch(r"[0-9]{1,4}", raw) else default


def _verify(cfg: SchoolConfig, username: str, password: str) -> tuple[list[dict[str, Any]], str | None, bool]:
    """One real login through the school's adapter: (cookies, None, False), or ([], what to tell the
    student, whether the school may have refused this password: then it is not sent again)."""
    from gradewatch.frontdoor.access import AccessError, build_adapter
    from gradewatch.schools import adapter_class
    from gradewatch.schools.base import Credentials
    from gradewatch.schools.errors import AccountLocked, SchoolError, UnexpectedPage, WrongCaptcha, WrongPassword

    posted: list[bool] = []  # did the password leave? Only then is an unreadable answer maybe "wrong password"
    try:
        with build_adapter(cfg, adapter_class(cfg.system), options=cfg.options, timeout=cfg.timeout) as adapter:
            adapter.on_password_submit = lambda: posted.append(True)
            adapter.login(Credentials(username, password))
            return adapter.export_cookies(), None, False
    except WrongPassword:
        return [], ("The school says this student number or password is wrong. It was tried once and is not "
                    "sent again; check it before trying another (schools lock accounts after a few wrong tries)."
                    ), True
    except AccountLocked as err:
        return [], f"The school has locked this account: {err}", True
    except WrongCaptcha:
        return [], "The school's captcha could not be read this time; please try again in a minute.", False
    except UnexpectedPage as err:  # e.g. a refusal worded in a way we do not know: it may be a wrong password
        if not posted:
            return [], f"Could not reach your school's system: {err}", False
        said = err.visible_text.replace(password, "***") if password else err.visible_text
        return [], ("The school answered in a way we could not read" + (f": «{said}»" if said else f" ({err})")
                    + ". Check the student number and password before trying again (schools lock accounts "
                    "after a few wrong tries)."), True
    except (SchoolError, AccessError) as err:
        return [], f"Could not reach your school's system: {err}", False


def _remember(web: Web, detected: Any, source_url: str) -> str | None:
    """Keep a detected school in the operator's config; what to tell the student if that failed."""
    from gradewatch.config import ConfigError
    from gradewatch.web.detect_school import remember_school

    try:
        remember_school(web.settings.config_path, detected, source_url)
    except (OSError, ConfigError) as err:
        log.error("could not add the detected school %s to %s: %s", detected.key, web.settings.config_path, err)
        return "Your password is right, but the school could not be saved; please tell the operator."
    return None


def _send_link(web: Web, name: str, url: str) -> None:
    """Mail a one-time sign-in link. Built from the configured public address, never from the
    request's Host header: a link asked for with ``Host: evil.example`` would carry a real token
    to the attacker's site."""
    from gradewatch.notify.channels import DeliveryError, Message, deliver

    base = web.settings.public_url
    if not base:
        log.error("no sign-in link sent for %s: the site's public address is not set (gradewatch web --public-url)",
                  name)
        return
    token = secrets.token_urlsafe(24)
    add_link(web.store, token, name, LINK_TTL)
    link = f"{base.rstrip('/')}/signin/link/{token}"
    text = f"Sign in to gradewatch: {link}\nThe link works once, for 15 minutes."
    try:
        deliver(url, Message("gradewatch: your sign-in link", text, f"<p><a href=\"{link}\">Sign in</a></p>",
                             message_id=f"<gradewatch-link-{token[:8]}@gradewatch>"))
    except DeliveryError:
        drop_link(web.store, token)


def _account_view(web: Web, name: str) -> dict[str, Any]:
    from gradewatch.gpa import compute
    from gradewatch.notify.channels import redact
    from gradewatch.web.chart import gpa_trend_svg

    cfg = web.config()
    acc = cfg.accounts[name]
    state = web.store.account_state(name)
    grades = web.store.grades(name)
    by_term: dict[str, list[Any]] = {}
    for g in grades:
        by_term.setdefault(g.term, []).append(g)
    settings = cfg.gpa_settings(name)
    report = compute(grades, None, settings)
    history = [h for h in web.store.history(name) if h.change != "new" or h.old is not None][-20:]
    chart = gpa_trend_svg([(t.term or "", t.gpa) for t in report.terms], top=report.scale.points(100) or 4.0)
    return {"name": name, "acc": acc, "state": state, "terms": sorted(by_term.items(), reverse=True),
            "report": report, "chart": chart, "channels": [redact(u) for u in acc.notify], "history": history,
            "checked": state.last_check_at is not None}


def _delete_everything(web: Web, name: str) -> None:
    from gradewatch.store.accounts import AccountBook

    AccountBook(web.store, web.base_config).remove(name)  # the row; grades, history, outbox, checks cascade
    web.bindings.forget_account(name)


def _dashboard(web: Web) -> dict[str, Any]:
    from gradewatch.store.models import Account, Check, OutboxMessage, SchoolState

    now = web.store.now()
    day = now - timedelta(hours=24)
    cfg = web.config()
    rows = []
    from gradewatch.store.captcha_tries import first_try_accuracy

    first_try = first_try_accuracy(web.store, day)
    with web.store.session() as s:
        states = {st.school: st for st in s.scalars(select(SchoolState))}
        for school in cfg.schools:
            ids = [n for n, a in cfg.accounts.items() if a.school == school]
            checks = list(s.scalars(select(Check).where(Check.account_id.in_(ids), Check.started_at >= day)
                                    .order_by(Check.id.desc()))) if ids else []
            done = [c for c in checks if c.outcome not in ("running", "skipped")]
            ok = sum(c.outcome == "ok" for c in done)
            last_err = next((f"{c.outcome}: {c.message}" for c in done if c.outcome != "ok"), "")
            st = states.get(school)
            recent_bad = bool(done) and done[0].outcome != "ok"
            took, sent = first_try.get(school, (0, 0))
            rows.append({"school": school, "system": cfg.schools[school].system, "accounts": len(ids),
                         "captcha": f"{100 * took / sent:.0f} % of {sent}" if sent else "–",
                         "per_hour": round(len(done) / 24, 2), "success": f"{100 * ok / len(done):.0f} %" if done
                         else "–", "last_error": last_err[:160], "bad": recent_bad,
                         "backoff": (st.backoff_until.strftime("%Y-%m-%d %H:%M") if st is not None and st.backoff_until
                                     and st.backoff_until > now else "")})
        attention = [a for a in s.scalars(select(Account).where(Account.status != "ok").order_by(Account.id))]
        outbox = list(s.scalars(select(OutboxMessage).where(OutboxMessage.status.in_(("pending", "failed")))
                                .order_by(OutboxMessage.id.desc()).limit(50)))
        counts = dict(s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    return {"schools": rows, "attention": attention, "outbox": outbox, "counts": counts}


def _wechat_answer(web: Web, openid: str, text: str) -> str:
    from gradewatch.gpa import compute

    text = text.strip()
    m = re.fullmatch(r"(?:绑定|bind)\s*(\d{6})", text)
    if m:
        if not web.bind_tries.allow(openid):  # 10^6 codes: guessing one must not be a matter of minutes
            return "尝试次数过多，请 10 分钟后再试。"
        account = web.bindings.bind(openid, m[1])
        if account is None:
            return "绑定码无效或已过期，请在网页上重新获取。"
        return f"已绑定 {account}。发送「成绩」「绩点」或「新成绩」查询。"
    account = web.bindings.account_of(openid)
    if account is None or account not in web.config().accounts:
        return "请先在 gradewatch 网页上获取绑定码，然后发送「绑定 123456」。"
    grades = web.store.grades(account)
    if text == "成绩":
        latest = sorted(grades, key=lambda g: (g.term, g.course_name), reverse=True)[:15]
        return "\n".join(f"{g.term} {g.course_name}: {g.score}" for g in latest) or "还没有成绩。"
    if text == "绩点":
        report = compute(grades, None, web.config().gpa_settings(account))
        c = report.cumulative
        gpa = f"{c.gpa:.2f}" if c.gpa is not None else "–"
        avg = f"{c.average:.2f}" if c.average is not None else "–"
        return f"{report.scale.name}: {gpa}（{c.credits:g} 学分），加权平均分 {avg}"
    if text == "新成绩":
        recent = [h for h in web.store.history(account) if h.new is not None][-10:]
        return "\n".join(f"{h.new['course_name']}: {h.new['score']}" for h in recent if h.new) or "最近没有新成绩。"
    return "发送「成绩」「绩点」或「新成绩」。"
