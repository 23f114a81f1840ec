"""金智 (Wisedu) ehall + jwapp "新教务" grades (EMAP JSON behind CAS), docs/school-systems.md §6b.

There is no login form of its own: a school with this system always says ``front_door = "cas"``.
``base_url`` is the ehall root (``https://ehall.example.edu.cn``). Options: ``app_id`` — the grade
app's id in that school's ehall (``appShow?appId=…``; default the one school-systems.md names).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gradewatch.grades import Grade, attempt_from_text
from gradewatch.schools import register
from gradewatch.schools.base import Credentials, SchoolAdapter
from gradewatch.schools.errors import SessionExpired, UnexpectedPage

APP_PAGE = "/jwapp/sys/cjcx/*default/index.do"
GRADES = "/jwapp/sys/cjcx/modules/cjcx/xscjcx.do"
DEFAULT_APP_ID = "4768574631264620"
PAGE_SIZE = 100


@register
class JwappAdapter(SchoolAdapter):
    system = "jwapp"
    title = "金智 ehall / jwapp 成绩 (behind CAS)"
    login_path = APP_PAGE
    sso_entry = "/appShow?appId=" + DEFAULT_APP_ID
    requires_front_door = True
    captcha_model = None

    @classmethod
    def sso_service(cls, base_url: str, options: Mapping[str, Any]) -> str:
        return f"{base_url}/appShow?appId={options.get('app_id') or DEFAULT_APP_ID}"

    def native_login(self, creds: Credentials) -> None:
        raise UnexpectedPage("金智 jwapp has no login form of its own; set front_door = \"cas\" for this school")

    # ---- grades ------------------------------------------------------------------------------
    def fetch_grades(self) -> list[Grade]:
        grades: list[Grade] = []
        page, total = 1, None
        while total is None or (page - 1) * PAGE_SIZE < total:
            data = self._page(page)
            rows, total = parse_page(data)
            grades.extend(g for g in (grade_of(r) for r in rows) if g is not None)
            page += 1
            if page > 50:  # 5,000 rows: no transcript is that long; a server that says so is wrong
                raise UnexpectedPage("the jwapp grade list does not end")
        return grades

    def _page(self, page: int) -> dict[str, Any]:
        setting = [{"name": "SFYX", "value": "1", "linkOpt": "and", "builder": "m_value_equal"}]
        form = {"querySetting": json.dumps(setting, ensure_ascii=False), "*order": "-XNXQDM,-KCH",
                "pageSize": str(PAGE_SIZE), "pageNumber": str(page)}
        resp = self.post(GRADES, data=form, headers={"X-Requested-With": "XMLHttpRequest",
                                                     "Referer": self.base_url + APP_PAGE})
        # A lost session shows as 401/403 or as redirects through the CAS back to the app page.
        if resp.status_code in (401, 403) or resp.history or not str(resp.url.path).endswith(GRADES):
            raise SessionExpired("the jwapp session has expired")
        try:
            data = json.loads(self.text_of(resp))
        except ValueError:
            raise self.unexpected(f"the jwapp grade query is not JSON (HTTP {resp.status_code})", resp) from None
        if not isinstance(data, dict):
            raise UnexpectedPage("the jwapp grade answer is not a JSON object")
        return data

    @classmethod
    def recognise(cls, url: str, html: str) -> bool:
        return "/jwapp/sys/" in url or "jwapp/sys/cjcx" in html


def parse_page(data: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """(rows, totalSize) of one ``xscjcx.do`` answer. Raises UnexpectedPage when it is not one."""
    block = (data.get("datas") or {}).get("xscjcx") if isinstance(data.get("datas"), dict) else None
    if not isinstance(block, dict):
        raise UnexpectedPage("the jwapp grade answer has no datas.xscjcx")
    ext = block.get("extParams") or {}
    if isinstance(ext, dict) and str(ext.get("code", "1")) != "1":
        raise UnexpectedPage(f"the jwapp grade app says: {str(ext.get('msg') or ext.get('code'))[:120]}")
    rows = block.get("rows")
    if not isinstance(rows, list):
        raise UnexpectedPage("the jwapp grade answer has no rows")
    try:
        total = int(block.get("totalSize", len(rows)))
    except (TypeError, ValueError):
        raise UnexpectedPage("the jwapp totalSize is not a number") from None
    return [r for r in rows if isinstance(r, dict)], total


def grade_of(row: dict[str, Any]) -> Grade | None:
    term = str(row.get("XNXQDM") or "").strip()
    code = str(row.get("KCH") or "").strip()
    name = str(row.get("XSKCM") or row.get("KCM") or "").strip()
    score = str(row.get("ZCJ") if row.get("ZCJ") is not None else "").strip()
    if not term or not code or not name:
        raise UnexpectedPage("a jwapp grade row lacks its term, course code or name")
    if not score:
        return None
    try:
        credits = float(row["XF"]) if row.get("XF") not in (None, "") else None
    except (TypeError, ValueError):
        credits = None
    exam = str(row.get("CXCKDM_DISPLAY") or "初修")
    return Grade(term=term, course_code=code, course_name=name, score=score, credits=credits,
                 exam_type="正常考试" if exam == "初修" else exam, attempt=attempt_from_text(exam),
                 course_nature=str(row.get("KCXZDM_DISPLAY") or ""),
                 course_category=str(row.get("KCLBDM_DISPLAY") or ""))

