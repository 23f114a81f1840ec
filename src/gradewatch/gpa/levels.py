"""Score words: level grades (优秀…不及格), letter grades (A…F), pass/fail words (合格, P/NP), and
words that mean "no result yet"."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

LEVELS = ("优秀", "良好", "中等", "及格", "不及格")
PASS = "合格"
FAIL = "不合格"

#: 百分制 equivalent of each level, used for 加权平均分 and then mapped through the scale (gpa.md §2.10).
DEFAULT_LEVEL_SCORES: dict[str, float] = {
    "优秀": 95.0,
    "良好": 85.0,
    "中等": 75.0,
    "及格": 65.0,
    "不及格": 0.0,
}

#: Letter grade → (points on a 4-point scale, 百分制 equivalent for 加权平均分). The points are the
#: usual US 4.0 table; the scores for A/B/C/D/F match 优秀/良好/中等/及格/不及格 above (gpa.md §2.10)
#: and the +/− grades sit in the middle of the common US bands (A− 90–92 → 91, B+ 87–89 → 88 …).
DEFAULT_LETTER_GRADES: dict[str, tuple[float, float]] = {
    "A+": (4.0, 98.0),
    "A": (4.0, 95.0),
    "A-": (3.7, 91.0),
    "B+": (3.3, 88.0),
    "B": (3.0, 85.0),
    "B-": (2.7, 81.0),
    "C+": (2.3, 78.0),
    "C": (2.0, 75.0),
    "C-": (1.7, 71.0),
    "D+": (1.3, 68.0),
    "D": (1.0, 65.0),
    "D-": (0.7, 61.0),
    "F": (0.0, 0.0),
}

# A letter with an optional sign, after NFKC (which folds full-width Ａ＋－); the dashes are the minus
# signs schools type instead of "-".
_LETTER = re.compile(r"([a-z])\s*([+\-\u2212\u2013]?)")

# Every spelling we recognise → its canonical word. Keys are compared after NFKC + casefold.
_ALIASES: dict[str, str] = {
    "优秀": "优秀",
    "优": "优秀",
    "良好": "良好",
    "良": "良好",
    "中等": "中等",
    "中": "中等",
    "及格": "及格",
    "不及格": "不及格",
    "差": "不及格",
    # absent or disqualified from the exam: the school records a fail
    "缺考": "不及格",
    "旷考": "不及格",
    "作弊": "不及格",
    "舞弊": "不及格",
    "违纪": "不及格",
    # pass/fail courses
    "合格": PASS,
    "通过": PASS,
    "p": PASS,
    "pass": PASS,
    "passed": PASS,
    "不合格": FAIL,
    "未通过": FAIL,
    "不通过": FAIL,
    "n": FAIL,
    "np": FAIL,
    "fail": FAIL,
    "failed": FAIL,
}

#: Words that carry no result: the course never counts.
NO_RESULT = frozenset({"免修", "免考", "缓考", "待定", "未录入", "无", "-", "--", "—", ""})


def _key(word: str) -> str:
    return unicodedata.normalize("NFKC", word).strip().casefold()


def canonical(word: str) -> str:
    """The canonical form of a score word ("优" → "优秀", "通过" → "合格", "a−" → "A-");
    unknown words stripped."""
    key = _key(word)
    if key in _ALIASES:
        return _ALIASES[key]
    if m := _LETTER.fullmatch(key):
        return m[1].upper() + ("-" if m[2] in ("\u2212", "\u2013") else m[2])
    return word.strip()


Kind = Literal["level", "letter", "pass_fail", "no_result", "unknown"]


@dataclass(frozen=True)
class ScoreWord:
    kind: Kind
    word: str  # canonical spelling


def classify(
    text: str, level_words: Collection[str], letter_words: Collection[str] = ()
) -> ScoreWord:
    """Classify a non-numeric score; ``level_words`` are the (canonical) keys of ``level_scores`` and
    ``letter_words`` those of the letter table. A word in both is a level (the school gave it a 百分制
    score to go through the scale)."""
    if _key(text) in NO_RESULT:
        return ScoreWord("no_result", text.strip())
    word = canonical(text)
    if word in (PASS, FAIL):
        return ScoreWord("pass_fail", word)
    if word in level_words:
        return ScoreWord("level", word)
    if word in letter_words:
        return ScoreWord("letter", word)
    return ScoreWord("unknown", word)
