"""Shared set-up for the notify tests: a real store, one notification URL per service pointing at
its loopback stand-in, and a first check with many grades."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet

import suite_db
from gradewatch.grades import Grade
from gradewatch.notify.render import compose
from gradewatch.notify.targets import Target, account_targets, expander
from gradewatch.secrets import Vault
from gradewatch.store.db import Store

UUID = "693a91f6-7aaa-4bc4-97a0-0ec2afa5aaaa"


def service_url(service: str, base: str) -> str:
    """The URL a student would configure, with ``base`` pointing it at the stand-in."""
    host = base.removeprefix("http://")
    return {
        "serverchan": f"schan://SCT1a2b3c4d5e6f7g8h9?base={base}",
        "serverchan3": f"https://1234.push.ft07.com/send/sctp1234tAbC9dEf8gH7.send?base={base}",
        "pushplus": f"pushplus://0123456789abcdef0123456789abcdef?base={base}",
        "wxpusher": f"wxpusher://AT_qHT0cTQfcZNVtAbCdEf/UID_student1?base={base}",
        "wecombot": f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={UUID}&base={base}",
        "wecomapp": f"wecomapp://ww0123456789abcdef:CORPSECRET@1000002/@all?base={base}",
        "wechatmp": f"wxmp://wx0123456789abcdef:APPSECRET@Tmpl_ABCdef123/oOPENID_student1?base={base}",
        "dingtalk": f"https://oapi.dingtalk.com/robot/send?access_token={'a1' * 32}&secret=SEC{'b2' * 32}&base={base}",
        "feishu": f"https://open.feishu.cn/open-apis/bot/v2/hook/{UUID}?secret=s3cr3t&base={base}",
        "bark": f"bark://ABCdef123456?base={base}",
        "telegram": f"tgram://123456789:AAEhBP0av28fz5sAAbbbbbbbbbbbbbbbbbb/12345?base={base}",
        "ntfy": f"ntfy://gradewatch_test?base={base}",
        "webhook": f"json://{host}/hook?success=code:0&permanent=401",
    }[service]


#: The signing secrets in the URLs above: the stand-ins check the signatures with them.
SECRETS = {"dingtalk": "SEC" + "b2" * 32, "feishu": "s3cr3t"}

SERVICES = ("serverchan", "serverchan3", "pushplus", "wxpusher", "wecombot", "wecomapp", "wechatmp", "dingtalk",
            "feishu", "bark", "telegram", "ntfy", "webhook")


def open_store(tmp: Path) -> Store:
    return Store.open(suite_db.database_url(tmp / "gw.db"), Vault(Fernet.generate_key()))


def grades(n: int) -> list[Grade]:
    terms = ["2021-2022-1", "2021-2022-2", "2022-2023-1", "2022-2023-2"]
    return [Grade(terms[i % 4], f"CS{i:04d}", f"计算机科学导论与程序设计实践({i})", str(60 + i % 40), 3.5,
                  course_nature="必修") for i in range(n)]


def first_check(store: Store, account: str, urls: Sequence[str], n_grades: int = 3) -> list[Target]:
    """A first check of ``n_grades`` grades: writes the outbox rows for every URL as the watcher does."""
    store.ensure_account(account, school="uni", system="ssfw", username=account)
    targets = account_targets(store.vault.fingerprint, urls)
    check = store.start_check(account)

    def make(diff, before, after, first):  # type: ignore[no-untyped-def]
        return compose(diff, before, after, first, account=account)

    store.apply_grades(account, check, grades(n_grades), make, [t.fingerprint for t in targets],
                       expand=expander(targets))
    return targets
