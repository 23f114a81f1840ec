"""A system simulator's single-sign-on entry: the page CAS redirects to with a ticket.

Real systems behind CAS take ``?ticket=ST-…`` at an entry page (正方 ``xtgl/login_ssologin.html``,
强智's SSO page, ehall's app entry), validate it with the CAS server, open their own session for
that user and redirect to their home page. ``with_sso`` adds that entry to any simulator.
"""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from gradewatch.sim.base import Simulator
from gradewatch.sim.cas import ROOT, parse_validation, validate_ticket_url


def with_sso(sim: Simulator, *, cas_url: str, entry_path: str, home_path: str) -> ASGIApp:
    """``sim``'s app with an SSO entry at ``entry_path`` that trusts the CAS at ``cas_url``."""
    sim.sso_logins = 0  # type: ignore[attr-defined]

    async def entry(request: Request) -> Response:
        service = str(request.url.remove_query_params("ticket"))
        ticket = request.query_params.get("ticket")
        if not ticket:
            return RedirectResponse(f"{cas_url.rstrip('/')}{ROOT}/login?service={service}", 302)
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.get(validate_ticket_url(cas_url, ticket, service))
        user = parse_validation(answer.text)
        student = sim.students.get(user) if user else None
        if student is None:
            return Response("<html><head><title>单点登录失败</title></head><body>票据无效</body></html>", 403,
                            media_type="text/html")
        sess = sim.new_session(sim.scope_of(entry_path))  # the session of the application the entry belongs to
        sess.username = student.username
        student.stats.successful_logins += 1
        sim.sso_logins += 1  # type: ignore[attr-defined]
        resp = RedirectResponse(home_path, 302)
        sim.set_cookie(resp, sess)
        return resp

    return Starlette(routes=[Route(entry_path, entry), Mount("/", app=sim.app())])
