"""What the 强智 (jsxsd) simulator shows: page templates and the grade list as HTML table or JSON.

Kept apart from the protocol in :mod:`gradewatch.sim.qiangzhi`. Every shape here is one seen at real
schools (field notes): the login form with a hidden ``loginMethod`` and the message as red ``<font>``
in ``.dlmi`` (``span#errorinfo`` on the old kdjw), the captcha id on the ``<img>`` or on a wrapper, the
grade table with or without 分组名/课程类别, with 总成绩 and component columns, the score inside a
link, the header row in a table of its own, and the newer JSON list ``{"code", "count", "data"}``.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

from gradewatch.grades import Grade

#: Every column the classic grade table can show, in the usual order; ``columns=`` picks a subset.
ALL_COLUMNS = (
    "序号", "开课学期", "课程编号", "课程名称", "成绩", "成绩标识", "学分", "总学时", "绩点",
    "补重学期", "考核方式", "考试性质", "课程属性", "课程性质", "通选课类别",
)  # fmt: skip
#: The 16 columns one school shows: 分组名 after the course name, 课程类别 at the end.
WIDE_COLUMNS = (
    "序号", "开课学期", "课程编号", "课程名称", "分组名", "成绩", "成绩标识", "学分", "总学时", "绩点",
    "补重学期", "考核方式", "考试性质", "课程属性", "课程性质", "课程类别",
)  # fmt: skip
#: Component columns some schools show before the total (then headed 总成绩).
COMPONENTS = ("平时成绩", "期中成绩", "实验成绩", "期末成绩")
#: Table features a school may have (``table=`` of the simulator).
TABLE_FEATURES = ("wide", "components", "linked", "split_header")

#: 成绩标识 of a mark that is not a score.
_STATUS_MARK = {"withdrawn": "退课", "deferred": "缓考", "exempt": "免修", "cancelled": "取消",
                "misconduct": "违纪", "held": "未评教"}

LOGIN_PAGE = """<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta name="Copyright" content="湖南强智科技发展有限公司">
<title>登录</title>
<script type="text/javascript" src="{ctx}/js/jquery-min.js"></script>
<script type="text/javascript" src="{ctx}/js/conwork.js"></script>
</head>
<body>
<div class="dlmi">
<form action="{action}" method="post" name="loginForm" id="loginForm">
<input type="hidden" name="loginMethod" id="loginMethod" value="{login_method}">
<input type="hidden" name="encoded" id="encoded" value="">
<div class="dlmi1"><input type="text" name="userAccount" id="userAccount" value="{username}" placeholder="学号"></div>
<div class="dlmi1"><input type="password" name="userPassword" id="userPassword" value="" placeholder="密码"></div>
{captcha}
{message}
<div><button type="button" id="btnSubmit" onclick="submitForm1()">登 录</button></div>
</form>
</div>
<div class="footer">技术支持：湖南强智科技发展有限公司</div>
</body>
</html>
"""

_CAPTCHA_IMG = """<div class="dlmi1"><input type="text" name="RANDOMCODE" id="RANDOMCODE" maxlength="4"
 placeholder="验证码"><img src="{src}" id="SafeCodeImg" onclick="reloadVerifyCode()" alt="验证码"></div>"""
_CAPTCHA_WRAPPED = """<div class="dlmi1"><input type="text" name="RANDOMCODE" id="RANDOMCODE" maxlength="4"
 placeholder="验证码"><a href="javascript:void(0)" id="SafeCodeImg" onclick="reloadVerifyCode()"><img
 src="{src}" alt="验证码" border="0"></a></div>"""

FRAME = """<!DOCTYPE html>
<html>
<head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><title>{title}</title></head>
<body>
<div class="top"><div class="Nsb_top_menu_nc">{name}({username})</div>
<a href="{ctx}/xk/LoginToXk?method=exit">退出</a></div>
<div class="Nsb_pw">{body}</div>
</body>
</html>
"""

# The short page a lost session gets (about 850 bytes on real servers).
NOT_LOGGED_IN = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>提示</title></head>
<body><div style="margin:40px;font-size:14px;">请先登录系统，或您的账号已在其它地方登录！
<a href="{ctx}/xk/LoginToXk?method=exit" target="_top">重新登录</a></div></body></html>
"""

GRADE_FORM_BODY = """<form action="{ctx}/kscj/cjcx_list" method="post" id="kscjQueryForm" target="cjcx_list_frm">
开课时间：<select name="kksj" id="kksj"><option value="">---请选择---</option>{terms}</select>
课程性质：<select name="kcxz" id="kcxz"><option value="">---请选择---</option></select>
课程名称：<input type="text" name="kcmc" id="kcmc" value="">
显示方式：<select name="xsfs" id="xsfs"><option value="all">显示全部成绩</option>
<option value="max">显示最好成绩</option></select>
<input type="submit" value="查询"></form>
<iframe name="cjcx_list_frm" id="cjcx_list_frm" src="{ctx}/kscj/cjcx_list" frameborder="0"></iframe>"""

BROKEN_PAGE = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>错误</title></head><body><h3>系统出错了</h3>
<p>java.sql.SQLException: ORA-01000: maximum open cursors exceeded</p></body></html>
"""


def captcha_row(src: str, wrapped: bool) -> str:
    return (_CAPTCHA_WRAPPED if wrapped else _CAPTCHA_IMG).format(src=src)


def message_markup(message: str, style: str) -> str:
    """The failed-login message as jsxsd (red ``<font>`` in ``.dlmi``) or the old kdjw (``span#errorinfo``)."""
    if not message:
        return ""
    text = html.escape(message)
    if style == "errorinfo":
        return f'<div class="dlmi1"><span id="errorinfo" style="color:red">{text}</span></div>'
    return f'<div class="dlmi1"><font color="red">{text}</font></div>'


def grade_cells(g: Grade, n: int) -> dict[str, str]:
    numeric = g.numeric_score
    if numeric is not None:
        point = max(0.0, (numeric - 50) / 10) if numeric >= 60 else 0.0
    else:
        point = {"优秀": 4.5, "良好": 3.5, "中等": 2.5, "及格": 1.5, "合格": 3.5, "通过": 3.5}.get(g.score, 0.0)
    credits = "" if g.credits is None else f"{g.credits:g}"
    mark = _STATUS_MARK.get(g.status, "") if g.status else ("" if g.exam_type == "正常考试" else g.exam_type)
    cells = {
        "序号": str(n),
        "开课学期": g.term,
        "课程编号": g.course_code,
        "课程名称": g.course_name,
        "分组名": "",
        "成绩": "" if g.status == "held" else g.score,
        "成绩标识": mark,
        "学分": credits,
        "总学时": str(int((g.credits or 0) * 16)),
        "绩点": "" if g.status else f"{point:.1f}",
        "补重学期": "" if g.exam_type == "正常考试" else g.term,
        "考核方式": "考试" if numeric is not None else "考查",
        "考试性质": g.exam_type,
        "课程属性": g.course_nature,
        "课程性质": g.course_category,
        "通选课类别": "",
        "课程类别": "",
    }
    for name in COMPONENTS:
        cells[name] = g.components.get(name, "")
    return cells


def table_columns(columns: Sequence[str], features: Iterable[str]) -> tuple[str, ...]:
    """The header of the grade table for the chosen columns and table features."""
    feats = set(features)
    cols = list(WIDE_COLUMNS if "wide" in feats else columns)
    if "components" in feats and "成绩" in cols:
        at = cols.index("成绩")
        cols[at:at + 1] = [*COMPONENTS, "总成绩"]
    return tuple(cols)


def grade_table(grades: list[Grade], columns: Sequence[str], features: Iterable[str], ctx: str) -> str:
    feats = set(features)
    cols = table_columns(columns, feats)
    head = "<tr>" + "".join(f'<th class="Nsb_r_list_thb">{c}</th>' for c in cols) + "</tr>"
    rows = []
    for n, g in enumerate(grades, start=1):
        cells = grade_cells(g, n)
        cells["总成绩"] = cells["成绩"]
        tds = []
        for c in cols:
            text = html.escape(cells[c])
            if c in ("成绩", "总成绩") and "linked" in feats and text:
                link = f"{ctx}/kscj/pscj_list.do?xs0101id={g.course_code}&jx0404id={n}"
                text = f"<a href=\"javascript:JsMod('{link}',700,500)\">{text}</a>"
            tds.append(f"<td>{text}</td>")
        rows.append("<tr>" + "".join(tds) + "</tr>")
    if not rows:
        rows.append(f'<tr><td colspan="{len(cols)}">未查询到数据</td></tr>')
    credits = sum(g.credits or 0 for g in grades)
    summary = f"<div>所修总学分：{credits:g}　平均学分绩点：—</div>\n"
    if "split_header" in feats:
        return (summary + f'<table class="Nsb_r_list Nsb_table_first">{head}</table>\n'
                f'<table id="dataList" class="Nsb_r_list Nsb_table">' + "\n".join(rows) + "\n</table>")
    return summary + f'<table id="dataList" class="Nsb_r_list Nsb_table">{head}\n' + "\n".join(rows) + "\n</table>"


def grade_record(g: Grade, n: int) -> dict[str, Any]:
    """One element of the JSON list's ``data``. ``kz`` = 1: held back until 评教 is done (score hidden)."""
    held = g.status == "held"
    numeric = g.numeric_score
    return {
        "xh": n,
        "xnxqid": g.term,
        "kch": g.course_code,
        "kc_mc": g.course_name,
        "zcj": "" if held else (f"{numeric:g}" if numeric is not None else g.score),
        "zcjstr": "" if held else g.score,
        "cjbs": _STATUS_MARK.get(g.status, "") if g.status and not held else "",
        "xf": "" if g.credits is None else f"{g.credits:g}",
        "ksxzmc": g.exam_type,
        "kcsxmc": g.course_nature,
        "kcxzmc": g.course_category,
        "kz": 1 if held else 0,
    }


def grade_json(grades: list[Grade], page: int, size: int) -> dict[str, Any]:
    records = [grade_record(g, n) for n, g in enumerate(grades, start=1)]
    chunk = records[(page - 1) * size : page * size]
    return {"code": 0, "msg": "", "count": len(records), "data": chunk}
