"""Each channel gets a body it shows well: a list per grade (no wide table) on phones, Markdown
where the service renders it, HTML for e-mail and PushPlus, titles within the service's limit."""

from __future__ import annotations

from gradewatch.diff import diff_grades, keyed
from gradewatch.notify.channels import channel_for
from gradewatch.notify.layout import fit_title, render_parts
from gradewatch.notify.render import compose

from .helpers import UUID, grades

GS = grades(5)
UPDATE = compose(diff_grades({}, keyed(GS)), [], GS, False, account="me", gpa_line="GPA 3.1 → 3.2")[0]


def test_serverchan_gets_markdown_list_and_short_title():
    [part] = render_parts(UPDATE, channel_for("schan://SCT1a2b3c4d5e6f7g8h9"))
    assert len(part.subject) <= 32 and part.subject.endswith("…") and UPDATE.subject.startswith(part.subject[:-1])
    items = [ln for ln in part.body_text.splitlines() if ln.startswith("- ")]
    assert len(items) == 5 and all("**" in ln for ln in items)  # one list item per grade, bold name and score
    assert "\n\n" in part.body_text  # paragraphs, not one run-on line
    assert "学期" not in part.body_text and "----" not in part.body_text  # not the wide table
    assert "GPA 3.1 → 3.2" in part.body_text


def test_bots_without_title_get_a_heading_in_the_body():
    for url in (f"wecombot://{UUID}", "dingtalk://" + "a1" * 32):
        [part] = render_parts(UPDATE, channel_for(url))
        assert part.body_text.startswith("### ")


def test_plain_text_channels_have_no_markdown():
    [part] = render_parts(UPDATE, channel_for("tgram://123456789:AAEhBP0av28fz5sAAbbbbbbbbbbbbbbbbbb/12345"))
    assert "**" not in part.body_text and "###" not in part.body_text
    assert part.body_text.startswith(UPDATE.subject)  # Telegram shows no title: it opens the text


def test_html_for_pushplus_and_the_full_table_for_mail():
    [pp] = render_parts(UPDATE, channel_for("pushplus://" + "0" * 32))
    assert pp.body_html.count("<b>计算机") == 5 and "<table" not in pp.body_html
    [mail] = render_parts(UPDATE, channel_for("mailto://127.0.0.1:25?mode=insecure&from=a@b.example&to=c@d.example"))
    assert "<table" in mail.body_html and mail.subject == UPDATE.subject


def test_fit_title():
    assert fit_title("短标题", 32) == "短标题"
    long = fit_title("新成绩: " + "很长的课程名" * 10, 32, " (2/3)")
    assert len(long) == 32 and long.endswith("… (2/3)")


def test_a_grade_cut_to_fit_a_part_is_kept_whole_in_the_parts_source():
    import json
    from dataclasses import replace

    from gradewatch.notify.layout import Document, Entry

    huge = Entry("课" * 3000, "95", "2022-2023-1")  # larger than a whole 企业微信 bot message
    doc = Document("intro", (Entry("高等数学", "90"), huge, Entry("线性代数", "88")), "GPA 3.5")
    notice = replace(UPDATE, doc=doc)
    parts = render_parts(notice, channel_for(f"wecombot://{UUID}"))
    kept = [e for p in parts for e in json.loads(p.source)["entries"]]
    assert [e[0] for e in kept] == ["高等数学", "课" * 3000, "线性代数"]  # none lost, the long one whole
    assert [json.loads(p.source)["footer"] for p in parts][-1] == "GPA 3.5"
