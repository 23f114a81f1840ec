"""The admin API every simulator mounts under ``/_admin`` (``Authorization: Bearer <token>``).

    GET  /_admin/students                          usernames and names (never passwords)
    POST /_admin/students    {username, password, name, grades?: [Grade…]}   add or replace a student
    GET  /_admin/grades?username=U                 {username, grades: [Grade…]}
    POST /_admin/grades      {username, grade: {Grade fields}}   add, or replace the grade with the same key
    PUT  /_admin/grades      {username, grades: [Grade…]}        replace the whole transcript
    GET  /_admin/stats[?username=U]                login POSTs, outcomes, lock state, captcha fetches …
    POST /_admin/control     {session_ttl?, reject_captcha?, broken_grades?, down?, wrong_password_text?}
    POST /_admin/expire_sessions  {username?}      → {expired: n}
    POST /_admin/unlock      {username}            clear a lock and the wrong-password count

Grade fields are those of :class:`gradewatch.grades.Grade`; ``attempt`` defaults to what the
``exam_type`` wording says. Errors are JSON ``{"error": "…"}`` with 400, 401 or 404.
"""

from __future__ import annotations

import hmac
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from gradewatch.grades import Grade, attempt_from_text
from gradewatch.sim.transcripts import StudentRecord

if TYPE_CHECKING:
    from gradewatch.sim.base import Simulator, Student

_grade = TypeAdapter(Grade)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ControlIn(_In):
    session_ttl: float | None = Field(default=None, gt=0)
    reject_captcha: StrictBool | None = None
    broken_grades: StrictBool | None = None
    down: StrictBool | None = None
    wrong_password_text: str | None = Field(default=None, max_length=500)


class GradeIn(_In):
    username: str
    grade: dict[str, Any]


class GradesIn(_In):
    username: str
    grades: list[dict[str, Any]]


class StudentIn(_In):
    username: str = Field(min_length=1)
    password: str = Field(min_length=1)
    name: str = ""
    grades: list[dict[str, Any]] = []


class UserIn(_In):
    username: str | None = None


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def parse_grade(data: dict[str, Any]) -> Grade:
    data = dict(data)
    data.setdefault("attempt", attempt_from_text(str(data.get("exam_type", ""))))
    try:
        return _grade.validate_python(data)
    except ValidationError as err:
        raise ApiError(400, f"bad grade: {_first_error(err)}") from None


def _first_error(err: ValidationError) -> str:
    e = err.errors()[0]
    where = ".".join(str(p) for p in e["loc"])
    return f"{where}: {e['msg']}" if where else e["msg"]


def admin_routes(sim: Simulator) -> list[BaseRoute]:
    """The admin endpoints of ``sim``, each behind the bearer token."""

    def authorised(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), sim.admin_token.encode())

    async def body(request: Request, model: type[_In]) -> Any:
        try:
            return model.model_validate_json(await request.body() or b"{}")
        except ValidationError as err:
            raise ApiError(400, _first_error(err)) from None

    def student(username: str | None) -> Student:
        found = sim.students.get(username or "")
        if found is None:
            raise ApiError(404, f"no student {username!r}")
        return found

    def grades_json(s: Student) -> dict[str, Any]:
        return {"username": s.username, "grades": [asdict(g) for g in s.grades.values()]}

    async def students(request: Request) -> dict[str, Any]:
        if request.method == "POST":
            new = await body(request, StudentIn)
            grades = [parse_grade(g) for g in new.grades]
            sim.add_student(StudentRecord(new.username, new.password, new.name, grades))
            return {"username": new.username, "grades": len(grades)}
        return {
            "students": [
                {"username": s.username, "name": s.name, "grades": len(s.grades)} for s in sim.students.values()
            ]
        }

    async def grades(request: Request) -> dict[str, Any]:
        if request.method == "GET":
            return grades_json(student(request.query_params.get("username")))
        if request.method == "PUT":
            whole = await body(request, GradesIn)
            s = student(whole.username)
            new = [parse_grade(g) for g in whole.grades]
            s.grades = {g.key: g for g in new}
            return grades_json(s)
        one = await body(request, GradeIn)
        s = student(one.username)
        g = parse_grade(one.grade)
        created = g.key not in s.grades
        s.grades[g.key] = g
        return {"username": s.username, "key": g.key, "created": created}

    async def stats(request: Request) -> dict[str, Any]:
        username = request.query_params.get("username")
        if username is not None:
            return sim.user_stats(student(username))
        return sim.stats()

    async def control(request: Request) -> dict[str, Any]:
        changes = await body(request, ControlIn)
        for name, value in changes.model_dump(exclude_none=True).items():
            setattr(sim.controls, name, value)
        return asdict(sim.controls)

    async def expire_sessions(request: Request) -> dict[str, Any]:
        who = await body(request, UserIn)
        if who.username is not None:
            student(who.username)
        return {"expired": sim.expire_sessions(who.username)}

    async def unlock(request: Request) -> dict[str, Any]:
        who = await body(request, UserIn)
        s = student(who.username)
        sim.unlock(s)
        return sim.user_stats(s)

    def guarded(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            if not authorised(request):
                return JSONResponse({"error": "admin token required"}, 401, headers={"WWW-Authenticate": "Bearer"})
            try:
                return JSONResponse(await handler(request))
            except ApiError as err:
                return JSONResponse({"error": str(err)}, err.status)

        return endpoint

    return [
        Route("/_admin/students", guarded(students), methods=["GET", "POST"]),
        Route("/_admin/grades", guarded(grades), methods=["GET", "POST", "PUT"]),
        Route("/_admin/stats", guarded(stats), methods=["GET"]),
        Route("/_admin/control", guarded(control), methods=["POST"]),
        Route("/_admin/expire_sessions", guarded(expire_sessions), methods=["POST"]),
        Route("/_admin/unlock", guarded(unlock), methods=["POST"]),
    ]
