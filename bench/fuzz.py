"""Fuzz every adapter's parsers with Hypothesis, ≥ 10,000 generated answers per system, and count outcomes.

    python bench/fuzz.py                     # 10,000 grade pages per system + 2,000 login answers per system
    python bench/fuzz.py --examples 500      # a quick run

Prints, per parser: examples run, how many parsed, how many ended in the typed error, and every untyped
exception (type and first example). The same strategies run a few hundred times in tests/breakit/test_fuzz.py.
"""

from __future__ import annotations

import argparse
import base64
import json
import time
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradewatch.schools import adapter_class
from gradewatch.schools.base import Credentials
from gradewatch.schools.errors import SchoolError
from gradewatch.testing.faults import FaultProxy
from gradewatch.testing.fuzz import PARSERS, login_answer

LOGIN_POST = {"ssfw": "/ssfw/j_spring_ids_security_check", "zf": "xtgl/login_slogin.html",
              "qiangzhi": "/Logon.do"}  # where the adapter posts before start_login read a form


def _run(name: str, strategy: st.SearchStrategy[Any], one: Any, examples: int) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    untyped: dict[str, str] = {}

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(value=strategy)
    def body(value: Any) -> None:
        try:
            counts[one(value)] += 1
        except Exception as err:  # noqa: BLE001 - counted, not raised: we want the full tally
            key = type(err).__name__
            counts["UNTYPED " + key] += 1
            untyped.setdefault(key, f"{err!s}"[:120] + f" | input {value!r}"[:200])

    start = time.monotonic()
    body()
    return {"parser": name, "examples": sum(counts.values()), "seconds": round(time.monotonic() - start, 1),
            "outcomes": dict(counts), "untyped": untyped}


def _row(r: dict[str, Any]) -> str:
    outcomes = ", ".join(f"{k}: {v:,}" for k, v in sorted(r["outcomes"].items()) if not k.startswith("UNTYPED"))
    untyped = sum(v for k, v in r["outcomes"].items() if k.startswith("UNTYPED"))
    detail = "; ".join(f"{k}: {v}" for k, v in r["untyped"].items())
    return (f"| {r['parser']} | {r['examples']:,} | {r['seconds']} | {outcomes} | {untyped}"
            + (f" ({detail})" if detail else "") + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=10_000)
    ap.add_argument("--login-examples", type=int, default=2_000)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--only", help="comma-separated parsers (e.g. zf,qiangzhi-json; 'login': the login answers only)")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    results: list[dict[str, Any]] = []

    def report(r: dict[str, Any]) -> None:  # each row as soon as it is measured: a long run shows progress
        results.append(r)
        if not args.json:
            print(_row(r), flush=True)

    if not args.json:
        print("| parser | examples | seconds | outcomes | untyped exceptions |")
        print("| --- | --- | --- | --- | --- |", flush=True)
    for system, (strategy, check) in sorted(PARSERS.items()):
        if only is None or system in only:
            report(_run(f"{system} grades", strategy, check, args.examples))
    if only is not None and "login" not in only:
        return

    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key().public_numbers()
    pem = {"modulus": base64.b64encode(key.n.to_bytes(128, "big")).decode(),
           "exponent": base64.b64encode(key.e.to_bytes(3, "big")).decode()}
    with FaultProxy(None) as proxy:
        proxy.inject("xtgl/login_getPublicKey.html", "static", body=json.dumps(pem),
                     content_type="application/json;charset=UTF-8")
        for system, path in LOGIN_POST.items():
            base = proxy.base_url + ("/jwglxt" if system == "zf" else "")
            adapter = adapter_class(system)(base, solver=None, sleep=lambda _s: None,
                                            options={"login": "direct"} if system == "qiangzhi" else None)

            def one(answer: tuple[int, str], adapter: Any = adapter, path: str = path) -> str:
                status, page = answer
                proxy.inject(path, "static", status=status, body=page)
                adapter.client.cookies.clear()
                try:
                    adapter.submit_login(Credentials("2021010001", "pw"), "abcd")
                except SchoolError as err:
                    return err.kind
                return "success"

            report(_run(f"{system} login answer", login_answer(), one, args.login_examples))
            adapter.close()
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
