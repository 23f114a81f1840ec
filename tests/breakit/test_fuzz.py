"""Hypothesis fuzzing of every parser: only typed errors, never another exception.

GRADEWATCH_FUZZ_EXAMPLES sets the examples per parser (default 50 here; bench/fuzz.py runs 10,000+).
"""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradewatch.schools import adapter_class
from gradewatch.schools.base import Credentials
from gradewatch.schools.errors import SchoolError
from gradewatch.testing.faults import FaultProxy
from gradewatch.testing.fuzz import PARSERS, login_answer

EXAMPLES = int(os.environ.get("GRADEWATCH_FUZZ_EXAMPLES", "50"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=EXAMPLES < 1000,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("system", sorted(PARSERS))
@FUZZ
@given(data=st.data())
def test_grade_parsers_raise_only_typed_errors(system, data):
    strategy, check = PARSERS[system]
    check(data.draw(strategy))  # check() swallows ValueError only; anything else fails the test


LOGIN_POST = {"ssfw": "/ssfw/j_spring_ids_security_check", "zf": "xtgl/login_slogin.html",
              "qiangzhi": "/Logon.do"}  # where the adapter posts before start_login read a form


@pytest.fixture(scope="module")
def login_proxy():
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key().public_numbers()
    b64 = base64.b64encode
    pem = {"modulus": b64(key.n.to_bytes(128, "big")).decode(), "exponent": b64(key.e.to_bytes(3, "big")).decode()}
    import json

    with FaultProxy(None) as proxy:
        proxy.inject("xtgl/login_getPublicKey.html", "static", body=json.dumps(pem),
                     content_type="application/json;charset=UTF-8")
        yield proxy


@pytest.fixture(scope="module")
def login_adapters(login_proxy):
    """One adapter per system for all examples (building an HTTP client costs more than an exchange)."""
    made = {}
    for system in LOGIN_POST:
        base = login_proxy.base_url + ("/jwglxt" if system == "zf" else "")
        made[system] = adapter_class(system)(base, solver=None, sleep=lambda _s: None,
                                             options={"login": "direct"} if system == "qiangzhi" else None)
    yield made
    for a in made.values():
        a.close()


@pytest.mark.parametrize("system", ["ssfw", "zf", "qiangzhi"])
@settings(FUZZ, max_examples=max(30, EXAMPLES // 3))
@given(answer=login_answer())
def test_login_answer_classification_raises_only_school_errors(login_proxy, login_adapters, system, answer):
    status, page = answer
    login_proxy.inject(LOGIN_POST[system], "static", status=status, body=page)
    adapter = login_adapters[system]
    adapter.client.cookies.clear()
    try:
        adapter.submit_login(Credentials("2021010001", "pw"), "abcd")
    except SchoolError:
        pass
