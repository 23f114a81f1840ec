"""Named simulator variants (what real schools run, per the field notes), and ``--variant`` parsing.

A variant is a set of simulator constructor options. ``gradewatch sim SYSTEM --variant NAME`` starts a
named one; ``--variant key=value`` sets one option (repeatable, later ones win). The watcher suite runs
over the combined ones (tests/conftest.py).
"""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "ssfw": {
        # Other SSFW schools: zhcx/cjxx.do (课程代码 + 期末总评成绩), mode=db, a portal landing, GBK pages.
        "cjxx": {"grade_page": "cjxx", "code_header": "课程代码", "score_header": "期末总评成绩",
                 "mode": "db", "landing": "portal", "encoding": "gbk"},
        "portal": {"landing": "portal", "mode": "db"},
    },
    "zf": {
        # The vendor framework as shipped: signed modulus, no csrftoken, captcha only after 3 failures,
        # only cjcx_cxDgXscj, sparse items, behind a balancer with a route cookie.
        "vendor": {"captcha_policy": "after_failures", "modulus": "signed", "csrftoken": False,
                   "grade_endpoints": "dg", "fields": "sparse", "route_cookie": True},
        "kaptcha": {"captcha_style": "kaptcha"},
        "signed-modulus": {"modulus": "signed"},
        "no-csrftoken": {"csrftoken": False},
        "dg": {"grade_endpoints": "dg"},
        "sparse": {"fields": "sparse"},
    },
    "qiangzhi": {
        # LoginToXkLdap below /njlgdx, the new home, the JSON list, captcha id on a wrapper, kdjw errors.
        "ldap": {"login": "ldap", "context": "/njlgdx", "home": "framework/xsMain_new.jsp", "grades": "json",
                 "captcha_markup": "wrapper", "error_markup": "errorinfo"},
        # Logon.do?method=logonLdap, xsMainV.htmlx, the 16-column table with 总成绩 + components, linked
        # scores, the header row in its own table.
        "logon-ldap": {"login": "logon_ldap", "home": "framework/xsMainV.htmlx",
                       "table": ["wide", "components", "linked", "split_header"]},
        "direct": {"login": "direct"},
        "json": {"grades": "json"},
    },
}


def _value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if text.lstrip("-").isdigit():
        return int(text)
    if "," in text:
        return [part for part in text.split(",") if part]
    return text


def variant_options(system: str, variants: list[str]) -> dict[str, Any]:
    """Simulator options of ``--variant`` values (names or ``key=value``). Raises ValueError, one line."""
    options: dict[str, Any] = {}
    known = PRESETS.get(system, {})
    for item in variants:
        key, sep, value = item.partition("=")
        if sep:
            options[key.strip().replace("-", "_")] = _value(value.strip())
        elif item in known:
            options.update(known[item])
        else:
            names = ", ".join(known) or "none"
            raise ValueError(f"unknown {system} variant {item!r} (named ones: {names}; or key=value)")
    return options
