"""One error shape for every failure: RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import Message, Send

from trustline.shared.risk.service import Conflict, Forbidden, NotFound, RegistryError

PROBLEM = "application/problem+json"


class Problem(Exception):
    """An error answered as problem details."""

    def __init__(
        self, status: int, title: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra
        self.headers = headers or {}


def problem(status: int, title: str, detail: str, *, instance: str, **extra: Any) -> dict[str, Any]:
    """The problem details document."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, "instance": instance}
    return {**body, **extra}


def problem_response(status: int, title: str, detail: str, request: Request, **extra: Any) -> JSONResponse:
    """The response for one problem."""
    body = problem(status, title, detail, instance=request.url.path, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


async def send_problem(
    send: Send,
    status: int,
    title: str,
    detail: str,
    *,
    instance: str,
    headers: Sequence[tuple[bytes, bytes]] = (),
    **extra: Any,
) -> None:
    """Answer a problem straight from ASGI middleware (outside the routing layer)."""
    body = json.dumps(problem(status, title, detail, instance=instance, **extra)).encode()
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", PROBLEM.encode()),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body})


_REGISTRY_STATUS: dict[type[RegistryError], tuple[int, str]] = {
    NotFound: (404, "Not found"),
    Forbidden: (403, "Forbidden"),
    Conflict: (409, "Conflict"),
}


def install(app: FastAPI) -> None:
    """Answer every error of the app as problem details."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        response = problem_response(exc.status, exc.title, exc.detail, request, **exc.extra)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(RegistryError)
    async def _registry(request: Request, exc: RegistryError) -> JSONResponse:
        status, title = _REGISTRY_STATUS.get(type(exc), (422, "Refused by the registry"))
        return problem_response(status, title, str(exc), request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        return problem_response(
            422, "Invalid request", "the request does not match the schema", request, errors=errors
        )

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        return problem_response(exc.status_code, str(exc.detail), str(exc.detail), request)
