"""What the ZF (jwglxt) simulator shows: page templates and the grade JSON items.

Kept apart from the protocol in :mod:`gradewatch.sim.zf`.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from gradewatch.grades import Grade

if TYPE_CHECKING:
    from gradewatch.sim.base import Student

LOGIN_PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<title>教学管理信息服务平台</title>
<link rel="stylesheet" href="{ctx}/zftal-ui-v5-1.0.2/css/zftal-ui.css">
<script type="text/javascript" src="{ctx}/js/globalweb/login/login.js?ver=26531486"></script>
<script type="text/javascript" src="{ctx}/js/rsa/RSA.js"></script>
</head>
<body>
<div class="container container_1170">
<div class="row sl_log_bor4">
<h5>用户登录</h5>
<form class="form-horizontal" role="form" action="{ctx}/xtgl/login_slogin.html" method="post">
{csrftoken}
<p style="display: none;" id="tips" class="bg_danger sl_danger">{tips}</p>
<div class="form-group"><input type="text" class="form-control" name="yhm" id="yhm" value="{username}"
  placeholder="用户名" autocomplete="off"></div>
<div class="form-group"><input type="password" class="form-control" name="mm" id="mm" value=""
  placeholder="密码" autocomplete="off"></div>
{captcha}
<div class="form-group"><button type="button" class="btn btn-primary btn-block" id="dl">登 录</button></div>
</form>
</div>
</div>
<div class="footer">版权所有&copy; Copyright 1999-2023 正方软件股份有限公司</div>
<script type="text/javascript">
{tips_script}
</script>
</body>
</html>
"""

CAPTCHA_ROW = """<div class="form-group"><input type="text" class="form-control" name="yzm" id="yzm"
  placeholder="验证码" maxlength="6"><img id="yzmPic" src="{ctx}/kaptcha" alt="验证码"
  onclick="this.src='{ctx}/kaptcha?time='+new Date().getTime()"></div>"""

FRAME = """<!DOCTYPE html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>{title}</title></head>
<body>
<div class="navbar"><input type="hidden" id="sessionUserKey" value="{username}"/>
<a href="#" class="dropdown-toggle">{name} {username} 学生</a>
<a href="{ctx}/logout">注销</a></div>
<div class="container">{body}</div>
</body>
</html>
"""

NOTICE_BODY = """<div class="panel panel-default"><div class="panel-heading"><h4>重要通知</h4></div>
<div class="panel-body"><p>根据学校安排，请认真阅读以下通知：本学期期末考试安排已发布，
请在规定时间内完成个人信息核对与教学评价。未阅读本通知将无法使用系统其他功能。</p>
<form id="tzForm" action="{ctx}/xtgl/index_cxXsTzYd.html" method="post">
<input type="hidden" name="tzid" value="{tzid}"/>
<button type="submit" class="btn btn-primary" id="btn_yd">我已阅读并知晓</button>
</form></div></div>"""

MENU_BODY = """<ul class="nav"><li><a href="#">信息查询</a><ul>
<li><a href="{ctx}/cjcx/cjcx_cxDgXscj.html?gnmkdm=N305005&layout=default">学生成绩查询</a></li>
</ul></li></ul><div class="index_welcome">欢迎使用教学管理信息服务平台！</div>"""

ERROR_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>错误提示</title></head>
<body><div class="errorpage"><h3>系统运行异常，请联系管理员！</h3>
<p>java.lang.NullPointerException at com.zfsoft.jwglxt.cjcx.action.CjcxAction.cxXsgrcj(CjcxAction.java:214)</p>
</div></body></html>"""

_TERM_CODE = {"1": "3", "2": "12", "3": "16"}  # xqmmc (shown) -> xqm (code)
_LEVEL_PERCENT = {"优秀": 95, "良好": 85, "中等": 75, "及格": 65, "不及格": 0, "合格": 85, "通过": 85, "不合格": 0}
_EXAM_CODE = {"正常考试": "01", "补考": "11", "重修": "16"}
#: What ``cjbz`` (the remark) says for a mark that is not a score.
_STATUS_REMARK = {"withdrawn": "中期退课", "deferred": "缓考", "exempt": "免修", "cancelled": "取消考试资格",
                  "misconduct": "违纪", "held": "未评教"}
#: The 404 page Tomcat serves for an action the school's deployment does not have.
NOT_FOUND = """<!doctype html><html lang="en"><head><title>HTTP Status 404 – Not Found</title></head>
<body><h1>HTTP Status 404 – Not Found</h1></body></html>"""


def score_percent(score: str) -> str:
    """The 百分制 value ZF shows as ``bfzcj``: the score itself, or the usual value of a level word."""
    if score.replace(".", "", 1).isdigit():
        return score
    return str(_LEVEL_PERCENT.get(score, 0))


def grade_point(score: str) -> str:
    percent = float(score_percent(score))
    return f"{max(0.0, (percent - 50) / 10) if percent >= 60 else 0.0:.2f}"


def grade_item(g: Grade, student: Student, row: int, *, sparse: bool = False) -> dict[str, Any]:
    """One element of ``items`` as the grade JSON carries it (a subset of the real keys). ``sparse``: the
    shape some schools answer, without ``ksxz``, ``xnmmc`` and ``jd`` (the exam type only as ``ksxzdm``)."""
    item = _full_item(g, student, row)
    if g.status:
        item["cjbz"] = _STATUS_REMARK.get(g.status, "")
        item["jd"] = ""
    if sparse:
        for name in ("ksxz", "xnmmc", "jd", "xfjd"):
            item.pop(name, None)
    return item


def _full_item(g: Grade, student: Student, row: int) -> dict[str, Any]:
    year, _, term_no = g.term.rpartition("-")
    xnm = year.split("-")[0]
    credits = "" if g.credits is None else f"{g.credits:.1f}"  # real answers: "5.0", "0.5"
    jd = grade_point(g.score)
    # Each course's grade is submitted at its own time (field notes: tjsj differs per course).
    minute = int(uuid.uuid5(uuid.NAMESPACE_URL, g.course_code).hex[:4], 16) % 600
    # A stable teaching-class id per course and term; a retake sits in another class.
    jxb_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{g.term}/{g.course_code}/{g.exam_type}").hex.upper()
    return {
        "bfzcj": score_percent(g.score),
        "cj": g.score,
        "cjsfzf": "否",
        "jd": jd,
        "jsxm": "",
        "jxb_id": jxb_id,
        "jxbmc": f"({g.term})-{g.course_code}-01",
        "kcbj": "主修",
        "kch": g.course_code,
        "kch_id": g.course_code,
        "kclbmc": g.course_category,
        "kcmc": g.course_name,
        "kcxzmc": g.course_nature,
        "khfsmc": "考试" if g.numeric_score is not None else "考查",
        "kkbmmc": "教务处",
        "ksxz": g.exam_type,
        "ksxzdm": _EXAM_CODE.get(g.exam_type, "01"),
        "cjbz": "",
        "row_id": row,
        "tjrxm": "教务员",
        "tjsj": f"{int(xnm) + (1 if term_no != '1' else 0)}-{'01' if term_no == '1' else '07'}-15 "
                f"{8 + minute // 60:02d}:{minute % 60:02d}:45",
        "xf": credits,
        "xfjd": f"{float(jd) * (g.credits or 0):.2f}",
        "xh": student.username,
        "xm": student.name,
        "xnm": xnm,
        "xnmmc": year,
        "xqm": _TERM_CODE.get(term_no, term_no),
        "xqmmc": term_no,
    }
