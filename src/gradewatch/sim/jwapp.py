"""A 金智 ehall/jwapp grade-app simulator (EMAP JSON), entered only through CAS (see sim/sso.py).

``GET /appShow?appId=…`` is the SSO entry (``with_sso``), ``/jwapp/sys/cjcx/*default/index.do`` the
app page, ``POST …/modules/cjcx/xscjcx.do`` the grade list in the real answer shape
(``datas.xscjcx.rows/totalSize/extParams``). Without a session the app sends the browser back to
the CAS, as the real ``MOD_AUTH_CAS`` filter does.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gradewatch.grades import Grade
from gradewatch.sim.base import Simulator
from gradewatch.sim.captchas import CaptchaSource

APP_PAGE = "/jwapp/sys/cjcx/*default/index.do"
GRADES = "/jwapp/sys/cjcx/modules/cjcx/xscjcx.do"
CURRENT_TERM = "/jwapp/sys/cjcx/modules/cjcx/cxdqxnxq.do"
APP_ID = "4768574631264620"


def row_of(g: Grade) -> dict[str, Any]:
    exam = "初修" if g.attempt == "normal" else g.exam_type
    return {"XNXQDM": g.term, "XNXQDM_DISPLAY": g.term, "KCH": g.course_code, "XSKCM": g.course_name,
            "KCM": g.course_name, "KXH": "01", "ZCJ": g.score, "XF": g.credits, "KCXZDM_DISPLAY": g.course_nature,
            "KCLBDM_DISPLAY": g.course_category, "CXCKDM_DISPLAY": exam, "SFJG": "1",
            "JXBID": f"{g.term}-{g.course_code}"}


class JwappSimulator(Simulator):
    system: ClassVar[str] = "jwapp"
    session_cookie: ClassVar[str] = "MOD_AUTH_CAS"

    def __init__(self, students: Any, *, cas_url: str = "", page_cap: int = 0, **kwargs: Any) -> None:
        super().__init__(students, **kwargs)
        self.cas_url = cas_url.rstrip("/")
        #: A server-side cap on pageSize (0: none; real EMAP apps accept the client's size).
        self.page_cap = page_cap

    def default_captchas(self) -> CaptchaSource:
        raise NotImplementedError("jwapp has no captcha of its own (the CAS has)")

    def routes(self) -> list[BaseRoute]:
        return [Route(APP_PAGE, self.app_page), Route(GRADES, self.grades, methods=["POST"]),
                Route(CURRENT_TERM, self.current_term, methods=["POST", "GET"])]

    def _to_cas(self, request: Request) -> Response:
        if not self.cas_url:
            return Response("<html><body>401 Unauthorized</body></html>", 401, media_type="text/html")
        service = f"{request.url.scheme}://{request.url.netloc}/appShow?appId={APP_ID}"
        return RedirectResponse(f"{self.cas_url}/authserver/login?" + urlencode({"service": service}), 302)

    async def app_page(self, request: Request) -> Response:
        if self.student_of(request) is None:
            return self._to_cas(request)
        return Response("<html><head><title>成绩查询</title></head><body><div id='app'></div>"
                        "<script src='/jwapp/sys/cjcx/public/cjcx.js'></script></body></html>",
                        media_type="text/html;charset=utf-8")

    async def grades(self, request: Request) -> Response:
        student = self.student_of(request)
        if student is None:
            return self._to_cas(request)
        if self.controls.broken_grades:
            return Response("<html><head><title>系统维护</title></head><body>维护中</body></html>",
                            media_type="text/html;charset=utf-8")
        form = await self.form(request)
        try:
            size = max(1, int(form.get("pageSize", "10")))
            number = max(1, int(form.get("pageNumber", "1")))
            json.loads(form.get("querySetting", "[]"))
        except ValueError:
            return JSONResponse({"code": "-1", "msg": "参数错误"}, 400)
        if self.page_cap:
            size = min(size, self.page_cap)
        student.stats.grade_fetches += 1
        graded = sorted(student.grades.values(), key=lambda g: (g.term, g.course_code), reverse=True)
        rows = [row_of(g) for g in graded[(number - 1) * size : number * size]]
        return JSONResponse({"code": "0", "datas": {"xscjcx": {
            "totalSize": len(graded), "pageSize": size, "pageNumber": number, "rows": rows,
            "extParams": {"code": 1, "msg": "查询成功", "totalPage": -(-len(graded) // size)}}}})

    async def current_term(self, request: Request) -> Response:
        if self.student_of(request) is None:
            return self._to_cas(request)
        return JSONResponse({"code": "0", "datas": {"cxdqxnxq": {"rows": [{"DM": "2023-2024-2"}]}}})
