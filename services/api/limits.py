"""Bounded request bodies: anything larger is refused with 413 before it is read into memory."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import send_problem


class BodyLimit:
    """ASGI middleware: 413 problem details for bodies over `max_bytes` (declared or streamed)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        if declared is not None:
            await self.app(scope, receive, send)  # the server stops at the declared length
            return
        # No declared length (chunked): read up to the limit first, then replay what was read.
        messages: list[Message] = []
        seen = 0
        while True:
            message = await receive()
            messages.append(message)
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                await self._refuse(scope, send)
                return
            if message["type"] != "http.request" or not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        detail = f"request bodies are limited to {self.max_bytes} bytes"
        await send_problem(send, 413, "Payload too large", detail, instance=scope.get("path", ""))
