"""The 正方 slider captcha (``zfcaptchaLogin``) in front of the ZF simulator's login POST.

``with_zf_slider(sim)`` serves the slider endpoints and refuses a login POST of a session that has
not passed the slider, with the vendor's captcha text, as a school that switched the slider on.
"""

from __future__ import annotations

import base64
import json
import random
import secrets
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from gradewatch.sim.slider import SliderChallenge, make_challenge

CTX = "/jwglxt"
LOGIN = f"{CTX}/xtgl/login_slogin.html"
SLIDER = f"{CTX}/zfcaptchaLogin"
SCRIPT = "(function(){var zfdun={instanceId:'zfcaptchaLogin',rtk:'%s',vs:'1.0'};window.zfdun=zfdun;})();"
REFUSED = "验证码输入错误！"


class _State:
    def __init__(self) -> None:
        self.rtk: dict[str, str] = {}
        self.challenges: dict[str, tuple[str, SliderChallenge, str, str]] = {}  # sid → (imtk, ch, si, mi)
        self.passed: set[str] = set()
        self.verifies = 0
        self.refused_logins = 0


def with_zf_slider(sim: Any, *, refuse_first: int = 0) -> ASGIApp:
    """``refuse_first``: refuse that many verifies however well dragged (a flaky school); the
    simulator's ``reject_captcha`` control refuses every one."""
    inner = sim.app()
    state = _State()
    sim.slider_state = state
    rng = random.Random(sim.seed)

    def sid(request: Request) -> str:
        return request.cookies.get("JSESSIONID", "")

    async def slider(request: Request) -> Response:
        kind = request.query_params.get("type") or (await sim.form(request)).get("type", "")
        key = sid(request)
        if kind == "resource":
            state.rtk[key] = secrets.token_hex(8) + "-" + secrets.token_hex(4)
            return Response(SCRIPT % state.rtk[key], media_type="application/javascript")
        if kind == "refresh":
            ch = make_challenge(rng, width=300, height=180)
            si, mi, imtk = secrets.token_hex(8), secrets.token_hex(8), secrets.token_hex(12)
            state.challenges[key] = (imtk, ch, si, mi)
            return JSONResponse({"si": si, "mi": mi, "imtk": imtk, "t": 1, "vs": "1.0", "status": "success"})
        if kind == "image":
            entry = state.challenges.get(key)
            if entry is None or request.query_params.get("imtk") != entry[0]:
                return Response(b"", 404)
            imtk, ch, si, mi = entry
            # The piece is served as tall as the background, drawn at its row (as the vendor does).
            image = ch.background if request.query_params.get("id") == si else _full_height(ch)
            return Response(image, media_type="image/png")
        if kind == "verify":
            state.verifies += 1
            form = await sim.form(request)
            entry = state.challenges.pop(key, None)
            ok = entry is not None and form.get("rtk") == state.rtk.get(key) and _track_ok(form, entry[1])
            ok = ok and state.verifies > refuse_first and not sim.controls.reject_captcha
            if ok:
                state.passed.add(key)
            return JSONResponse({"status": "success" if ok else "fail", "msg": "" if ok else "验证失败"})
        return JSONResponse({"status": "fail", "msg": "unknown type"}, 400)

    async def login_post(request: Request) -> Response:
        key = sid(request)
        if key not in state.passed:
            state.refused_logins += 1
            return Response(f'<html><head><title>用户登录</title></head><body><input id="yhm">'
                            f'<p id="tips">{REFUSED}</p></body></html>', media_type="text/html;charset=utf-8")
        state.passed.discard(key)  # one pass per login POST
        return await _forward(inner, request)

    async def login_page(request: Request) -> Response:
        resp = await _forward(inner, request)
        marker = f'<script src="{SLIDER}?type=resource&instanceId=zfcaptchaLogin&name=zfdun_captcha.js"></script>'
        body = bytes(resp.body).replace(b"</body>", marker.encode() + b"</body>")
        headers = {k: v for k, v in resp.headers.items() if k.lower() != "content-length"}
        return Response(body, resp.status_code, headers=headers)

    return Starlette(routes=[Route(SLIDER, slider, methods=["GET", "POST"]),
                             Route(LOGIN, login_post, methods=["POST"]), Route(LOGIN, login_page, methods=["GET"]),
                             Mount("/", app=inner)])


async def _forward(app: ASGIApp, request: Request) -> Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=str(request.base_url)) as client:
        upstream = await client.request(request.method, str(request.url), headers=request.headers.raw,
                                        content=await request.body(), follow_redirects=False)
    resp = Response(upstream.content, upstream.status_code)
    for k, v in upstream.headers.multi_items():
        if k.lower() not in ("content-length", "content-encoding", "transfer-encoding"):
            resp.headers.append(k, v)
    return resp


def _full_height(ch: SliderChallenge) -> bytes:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(ch.piece)) as piece, Image.open(io.BytesIO(ch.background)) as bg:
        canvas = Image.new("RGBA", (piece.width, bg.height), (0, 0, 0, 0))
        canvas.paste(piece, (0, ch.y))
    buf = io.BytesIO()
    canvas.save(buf, format="PNG")
    return buf.getvalue()


def _track_ok(form: dict[str, str], ch: SliderChallenge) -> bool:
    try:
        track = json.loads(base64.b64decode(form.get("mt", "")))
        extend = json.loads(base64.b64decode(form.get("extend", "")))
        moved = int(track[-1]["x"]) - int(track[0]["x"])
        times = [int(p["t"]) for p in track]
    except (ValueError, KeyError, TypeError, IndexError):
        return False
    human = len(track) >= 5 and times == sorted(times) and times[-1] - times[0] >= 100
    return human and isinstance(extend, dict) and "userAgent" in extend and abs(moved - ch.gap_x) <= 4
