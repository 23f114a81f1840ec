"""Score words: level grades (优秀…不及格), pass/fail words, and words that mean "no result yet"."""

from __future__ import annotations

import unicodedata
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
    """The canonical form of a score word ("优" → "优秀", "通过" → "合格"); unknown words stripped."""
    return _ALIASES.get(_key(word), word.strip())


Kind = Literal["level", "pass_fail", "no_result", "unknown"]


@dataclass(frozen=True)
class ScoreWord:
    kind: Kind
    word: str  # canonical spelling


def classify(text: str, level_words: frozenset[str] | set[str]) -> ScoreWord:
    """Classify a non-numeric score; ``level_words`` are the (canonical) keys of ``level_scores``."""
    if _key(text) in NO_RESULT:
        return ScoreWord("no_result", text.strip())
    word = canonical(text)
    if word in (PASS, FAIL):
        return ScoreWord("pass_fail", word)
    if word in level_words:
        return ScoreWord("level", word)
    return ScoreWord("unknown", word)
