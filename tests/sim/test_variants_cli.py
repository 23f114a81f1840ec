"""`gradewatch sim SYSTEM --variant …`: named variants and key=value options reach the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gradewatch.sim.cli import app
from gradewatch.sim.qiangzhi import QiangzhiSimulator
from gradewatch.sim.ssfw import SsfwSimulator
from gradewatch.sim.variants import PRESETS, variant_options
from gradewatch.sim.zf import ZfSimulator


def test_variant_options() -> None:
    assert variant_options("zf", ["vendor", "fields=full", "route-cookie=false"]) == {
        **PRESETS["zf"]["vendor"], "fields": "full", "route_cookie": False}
    assert variant_options("qiangzhi", ["table=wide,linked", "context=/njlgdx"]) == {
        "table": ["wide", "linked"], "context": "/njlgdx"}
    with pytest.raises(ValueError, match="unknown zf variant 'bogus'"):
        variant_options("zf", ["bogus"])


@pytest.mark.parametrize(("cls", "system"), [(SsfwSimulator, "ssfw"), (ZfSimulator, "zf"),
                                             (QiangzhiSimulator, "qiangzhi")])
def test_every_named_variant_builds(cls: type, system: str) -> None:
    for name, options in PRESETS[system].items():
        if options.get("captcha_style") == "kaptcha":
            continue  # needs the kaptcha renderer (helper "gpa"); its error is tested below
        assert cls([], **options) is not None, name


def test_cli_variant_reaches_the_simulator(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "caps"
    res = runner.invoke(app, ["captchas", "qiangzhi", str(out), "--count", "2", "--variant", "ldap"])
    assert res.exit_code == 0, res.output
    assert len(list(out.iterdir())) == 2
    bad = runner.invoke(app, ["captchas", "qiangzhi", str(out), "--variant", "login=sso"])
    assert bad.exit_code == 2 and "login must be one of" in bad.output and "Traceback" not in bad.output
    unknown = runner.invoke(app, ["captchas", "zf", str(out), "--variant", "no_such_option=1"])
    assert unknown.exit_code == 2 and "bad --variant for zf" in unknown.output


def test_kaptcha_variant_without_the_renderer_is_a_clear_error(tmp_path: Path) -> None:
    try:
        from gradewatch.captcha.render_schools import render_kaptcha  # type: ignore[attr-defined]  # noqa: F401
    except ImportError:
        res = CliRunner().invoke(app, ["captchas", "zf", str(tmp_path), "--variant", "kaptcha"])
        assert res.exit_code == 2 and "render_kaptcha" in res.output
    else:  # the renderer exists: the variant serves 4 characters of kaptcha's default alphabet
        answer, image, media = ZfSimulator([], captcha_style="kaptcha").default_captchas().next()
        assert len(answer) == 4 and set(answer) <= set("abcde2345678gfynmnpwx") and media == "image/jpeg"
