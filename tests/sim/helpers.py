"""A raw-HTTP "browser" for the SSFW simulator that knows each captcha's answer by its image bytes.

The simulator serves the images from a folder of ``<label>.png`` (the ``--captcha-dir`` path), so
the tests know the answers without asking the simulator.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import httpx
from PIL import Image, ImageDraw

from gradewatch.sim.ssfw import GRADES_MENU_WID

CHARSET = "0123456789abcdefghijklmnopqrstuvwxyz"


def write_captchas(folder: Path, count: int = 40, seed: int = 7) -> dict[bytes, str]:
    """``count`` distinct labelled images in ``folder``; returns image bytes -> label."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    labels: dict[bytes, str] = {}
    while len(labels) < count:
        label = "".join(rng.choices(CHARSET, k=4))
        img = Image.new("RGB", (68, 22), "white")
        ImageDraw.Draw(img).text((4, 4), label, fill=(20, 40, 120))
        path = folder / f"{label}.png"
        img.save(path)
        labels[path.read_bytes()] = label
    return labels


class Browser:
    """One cookie jar talking raw HTTP to the simulator, redirects not followed."""

    def __init__(self, base_url: str, labels: dict[bytes, str]) -> None:
        self.base_url = base_url
        self.labels = labels
        self.http = httpx.Client(base_url=base_url, timeout=10)

    def open_login(self) -> httpx.Response:
        return self.http.get("/ssfw/login.jsp")

    def captcha(self) -> str:
        resp = self.http.get("/ssfw/jwcaptcha.do", params={"_": str(time.time_ns())})
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("image/")
        return self.labels[resp.content]

    def other_captcha(self, than: str) -> str:
        """Fetch captchas until one with a different answer comes (bounded)."""
        for _ in range(50):
            label = self.captcha()
            if label != than:
                return label
        raise AssertionError("the simulator kept serving the same captcha")

    def post(self, username: str, password: str, code: str, *, referer: bool = True) -> httpx.Response:
        headers = {"Referer": f"{self.base_url}/ssfw/login.jsp"} if referer else {}
        data = {"mode": "local", "j_username": username, "j_password": password, "validateCode": code}
        return self.http.post("/ssfw/j_spring_ids_security_check", data=data, headers=headers)

    def login(self, username: str, password: str) -> httpx.Response:
        self.open_login()
        return self.post(username, password, self.captcha())

    def grade_page(self) -> httpx.Response:
        return self.http.get("/ssfw/jwnavmenu.do", params={"menuItemWid": GRADES_MENU_WID})

    def close(self) -> None:
        self.http.close()
