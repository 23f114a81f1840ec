"""正方's slider captcha ``zfcaptchaLogin``, passed locally before the normal login POST.

The flow real clients use (school-systems.md §1 and published clients): ``type=resource`` gives a
script holding the ``rtk`` token; ``type=refresh`` the ids of the background (``si``) and the piece
(``mi``) with an image token (``imtk``); ``type=image`` each picture; ``POST type=verify`` sends a
drag track (``mt``: base64 JSON of ``{x, y, t}`` samples) and browser facts (``extend``). JSON
``status`` = ``success`` means the session may now post its login form without a captcha.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import re
import time
from typing import TYPE_CHECKING, Any

from gradewatch.frontdoor.slider import SliderError, find_gap
from gradewatch.schools.errors import WrongCaptcha

if TYPE_CHECKING:
    from gradewatch.schools.base import SchoolAdapter

log = logging.getLogger(__name__)

PATH = "zfcaptchaLogin"
INSTANCE = "zfcaptchaLogin"


def _ms() -> str:
    return str(int(time.time() * 1000))


def drag_track(
    distance: int, rng: random.Random, *, start_x: int | None = None, y: int | None = None
) -> list[dict[str, int]]:
    """A human-like drag: eases out, small vertical wobble, 15–40 ms between samples."""
    x0 = start_x if start_x is not None else rng.randint(20, 60)
    y0 = y if y is not None else rng.randint(300, 340)
    t = int(time.time() * 1000)
    points = [{"x": x0, "y": y0, "t": t}]
    steps = rng.randint(12, 24)
    for i in range(1, steps + 1):
        p = 1 - (1 - i / steps) ** 3
        t += rng.randint(15, 40)
        points.append({"x": x0 + round(distance * p), "y": y0 + rng.randint(-2, 2), "t": t})
    points[-1]["x"] = x0 + distance
    return points


def pass_slider_bounded(adapter: SchoolAdapter, tries: int, rng: random.Random | None = None) -> None:
    """Pass the slider, with a fresh challenge after each refusal, at most ``tries`` times (as the
    captcha tries of a login are bounded). No password has gone out when a slide is refused."""
    for attempt in range(tries):
        try:
            pass_slider(adapter, rng)
            return
        except WrongCaptcha:
            log.info("zf: slider %d/%d refused", attempt + 1, tries)
    raise WrongCaptcha(f"the ZF slider was refused {tries} times")


def pass_slider(adapter: SchoolAdapter, rng: random.Random | None = None) -> None:
    """Solve the ZF slider for the adapter's session. Raises WrongCaptcha when the server refuses."""
    rng = rng or random.Random()
    resource = adapter.get(PATH, params={"type": "resource", "instanceId": INSTANCE, "name": "zfdun_captcha.js"})
    m = re.search(r"rtk\s*:\s*['\"]([^'\"]+)['\"]", adapter.text_of(resource))
    if not m:
        raise adapter.unexpected("the ZF slider script has no rtk token", resource)
    rtk = m[1]
    refresh = adapter.get(PATH, params={"type": "refresh", "rtk": rtk, "time": _ms(), "instanceId": INSTANCE})
    try:
        info: dict[str, Any] = json.loads(adapter.text_of(refresh))
        si, mi, imtk = str(info["si"]), str(info["mi"]), str(info["imtk"])
    except (ValueError, KeyError, TypeError):
        raise adapter.unexpected("the ZF slider refresh is not as expected", refresh) from None
    images = [adapter.get(PATH, params={"type": "image", "id": i, "imtk": imtk, "t": _ms(), "instanceId": INSTANCE})
              for i in (si, mi)]
    try:
        gap = find_gap(images[0].content, images[1].content)
    except SliderError as err:
        raise adapter.unexpected(f"the ZF slider images cannot be read ({err})", images[0]) from None
    extend = {"appName": "Netscape", "userAgent": adapter.client.headers.get("User-Agent", ""),
              "appVersion": adapter.client.headers.get("User-Agent", "").removeprefix("Mozilla/")}
    form = {"type": "verify", "rtk": rtk, "time": _ms(), "instanceId": INSTANCE,
            "mt": base64.b64encode(json.dumps(drag_track(gap, rng)).encode()).decode(),
            "extend": base64.b64encode(json.dumps(extend).encode()).decode()}
    verify = adapter.post(PATH, data=form, no_password=True)
    try:
        ok = json.loads(adapter.text_of(verify)).get("status") == "success"
    except (ValueError, AttributeError):
        raise adapter.unexpected("the ZF slider answer is not JSON", verify) from None
    if not ok:
        raise WrongCaptcha("the ZF slider was refused")
