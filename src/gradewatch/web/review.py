"""/admin/review: the captcha review queue inside the dashboard, on the same ReviewQueue the CLI's
`gradewatch captcha review` uses, so a label given here lands in the same dataset folder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gradewatch.captcha.errors import DatasetError
from gradewatch.captcha.review import ReviewQueue, default_dataset_for

PER_PAGE = 30


def routes(web: Any, render: Callable[..., Response], form_of: Callable[..., Any],
           forbidden: Callable[[Request], Response]) -> list[Route]:
    def queue() -> ReviewQueue | str:
        """The configured queue, or why there is none (shown on the page)."""
        qdir = web.settings.review_dir
        if qdir is None:
            return "No review queue configured: start `gradewatch web --review-dir DIR`."
        dataset = web.settings.review_dataset or default_dataset_for(qdir)
        if dataset is None:
            return f"{qdir}: name the dataset folder with --review-dataset (the queue is not called DIR-review)."
        try:
            return ReviewQueue(qdir, dataset)
        except DatasetError as err:
            return str(err)

    async def page(request: Request) -> Response:
        if not web.is_admin(request):
            return RedirectResponse("/admin/login", 303)
        q = queue()
        if isinstance(q, str):
            return render(request, "admin_review.html", problem=q, items=[], total=0)
        names = q.items()
        items = [(n, q.prediction(n)) for n in names[:PER_PAGE]]
        return render(request, "admin_review.html", problem=None, items=items, total=len(names),
                      note=request.query_params.get("note", ""))

    async def image(request: Request) -> Response:
        if not web.is_admin(request):
            return Response("forbidden", 403)
        q = queue()
        if isinstance(q, str):
            return Response("no queue", 404)
        try:
            path = q.path(request.path_params["name"])  # only files that are in the queue
        except DatasetError:
            return Response("not in the queue", 404)
        media = "image/png" if path.suffix.lower() == ".png" else "image/jpeg" if path.suffix.lower() in (
            ".jpg", ".jpeg") else "application/octet-stream"
        return Response(path.read_bytes(), media_type=media, headers={"Cache-Control": "no-store"})

    async def submit(request: Request) -> Response:
        if not web.is_admin(request):
            return RedirectResponse("/admin/login", 303)
        form = await form_of(request)
        if form is None:
            return forbidden(request)
        q = queue()
        if isinstance(q, str):
            return render(request, "admin_review.html", 409, problem=q, items=[], total=0)
        name = form.get("name", "")
        try:
            if form.get("action") == "discard":
                q.discard(name)
                note = f"{name}: discarded"
            else:
                dest = q.label(name, form.get("label", ""))
                note = f"{name}: saved as {dest.name}"
        except DatasetError as err:
            names = q.items()
            return render(request, "admin_review.html", 400, problem=None, error=str(err), total=len(names),
                          items=[(n, q.prediction(n)) for n in names[:PER_PAGE]])
        from urllib.parse import quote

        return RedirectResponse("/admin/review?note=" + quote(note), 303)

    return [Route("/admin/review", page), Route("/admin/review/image/{name}", image),
            Route("/admin/review/label", submit, methods=["POST"])]
