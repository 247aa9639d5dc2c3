"""A fault-injecting reverse proxy on 127.0.0.1, between Prefect's client and a real server.

Not a test module. It exists because a SQLite ``prefect server start`` hardly
ever answers 503 on its own (it waits up to 60 s for the database lock first),
so "the server's back-off answers lose nothing" could not be shown without
making the 503s happen on purpose. The proxy forwards every HTTP request and
every websocket to the upstream server unchanged, except that it answers the
*first attempt* of a deterministic share of HTTP requests itself with
``503 Service Unavailable`` and a ``Retry-After`` header, without forwarding
it (as a real server's 503 means: the transaction was rolled back, nothing
was written). Per endpoint (method and path, ids replaced by ``{id}``), the
1st, (k+1)th, (2k+1)th, ... request is answered 503; when the client sends
the same request again (same method, path, query and body), it goes through.
So every request is answered 503 at most once, well within what Prefect's
HTTP client retries (``PREFECT_CLIENT_MAX_RETRIES``, 5 by default).

Websockets (Prefect 3 sends task-run states as events over ``/api/events/in``)
are relayed message by message in both directions and counted; they are
refused (503 to the upgrade request) only with ``refuse_websockets=n``, for the
first n connections, to show what Prefect's events client does then (it does
not retry: its events worker fails and the events it held are lost).
The relay answers the client's pings itself (the ASGI server does), so an
event the client has "checkpointed" has reached the proxy, and the proxy then
forwards it in order before it closes the upstream socket.

The proxy runs on uvicorn in a thread of the test process, and counts what it
saw and what it refused, per endpoint, for the test to assert on.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx
import uvicorn
from realserver import free_port
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_ID = re.compile(r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?=/|$)")

#: Headers that belong to one hop, not to the request or response.
_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
    "host",
}


def endpoint(method: str, path: str) -> str:
    """``POST /api/flow_runs/{id}/set_state`` for any flow run id."""
    return f"{method} {_ID.sub('/{id}', path)}"


class FaultProxy:
    """Forward ``http://127.0.0.1:{port}`` to ``upstream``, answering some requests 503.

    ``every``: the first attempt of every ``every``-th request per endpoint is
    answered 503 (0 turns injection off). ``retry_after``: the header's value,
    in seconds. ``only``: if given, inject only on endpoints for which it
    returns true. ``refuse_websockets``: answer the first n websocket upgrade
    requests per path with 503.
    """

    def __init__(
        self,
        upstream: str,
        every: int = 4,
        retry_after: str = "1",
        only: Callable[[str], bool] | None = None,
        refuse_websockets: int = 0,
    ) -> None:
        self.upstream = upstream.rstrip("/")  # http://127.0.0.1:PORT (no /api)
        self.every = every
        self.retry_after = retry_after
        self.only = only
        self.refuse_websockets = refuse_websockets
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        #: Requests seen (including the refused ones), per endpoint.
        self.requests: Counter[str] = Counter()
        #: Requests answered 503, per endpoint.
        self.refused: Counter[str] = Counter()
        #: Upstream answers that were not 2xx, per endpoint and status.
        self.errors: Counter[tuple[str, int]] = Counter()
        #: Websocket connections and messages relayed client -> server, per path.
        self.ws_connections: Counter[str] = Counter()
        self.ws_messages: Counter[str] = Counter()
        self._pending: set[str] = set()  # requests refused once, not yet retried
        self._lock = threading.Lock()
        self._http: httpx.AsyncClient | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # -- deciding ------------------------------------------------------------------------

    def _refuse(self, key: str, fingerprint: str) -> bool:
        with self._lock:
            n = self.requests[key]
            self.requests[key] += 1
            if fingerprint in self._pending:
                self._pending.discard(fingerprint)  # the client's retry: let it through
                return False
            if self.every <= 0 or (self.only is not None and not self.only(key)):
                return False
            if n % self.every:
                return False
            self._pending.add(fingerprint)
            self.refused[key] += 1
            return True

    # -- the ASGI app ----------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._forward_http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._relay_websocket(scope, receive, send)
        elif scope["type"] == "lifespan":
            # The upstream client lives in the proxy's own event loop.
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self._http = httpx.AsyncClient(
                        base_url=self.upstream,
                        timeout=httpx.Timeout(120.0),
                        limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
                    )
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self._http is not None:
                        await self._http.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    async def _forward_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        method: str = scope["method"]
        path: str = scope["path"]
        query: bytes = scope.get("query_string", b"")
        key = endpoint(method, path)
        digest = hashlib.sha256(body).hexdigest()
        if self._refuse(key, f"{method} {path}?{query.decode()} {digest}"):
            content = b'{"exception_message":"Service Unavailable"}'
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(content)).encode()),
                        (b"retry-after", self.retry_after.encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": content})
            return

        assert self._http is not None
        headers = [(k, v) for k, v in scope["headers"] if k.decode().lower() not in _HOP]
        request = self._http.build_request(
            method, path + (b"?" + query if query else b"").decode(), headers=headers, content=body
        )
        response = await self._http.send(request, stream=True)
        try:
            if response.status_code >= 300:
                with self._lock:
                    self.errors[key, response.status_code] += 1
            out = [(k, v) for k, v in response.headers.raw if k.decode().lower() not in _HOP]
            await send(
                {"type": "http.response.start", "status": response.status_code, "headers": out}
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()

    async def _relay_websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        query: bytes = scope.get("query_string", b"")
        message = await receive()
        assert message["type"] == "websocket.connect", message
        with self._lock:
            self.ws_connections[path] += 1
            refuse = self.ws_connections[path] <= self.refuse_websockets
            if refuse:
                self.refused[f"WS {path}"] += 1
        if refuse:
            # ASGI's websocket denial response: an HTTP answer to the upgrade request.
            content = b'{"exception_message":"Service Unavailable"}'
            await send(
                {
                    "type": "websocket.http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(content)).encode()),
                        (b"retry-after", self.retry_after.encode()),
                    ],
                }
            )
            await send({"type": "websocket.http.response.body", "body": content})
            return
        url = self.upstream.replace("http://", "ws://") + path
        if query:
            url += "?" + query.decode()
        protocols = scope.get("subprotocols") or []
        async with ws_connect(
            url, subprotocols=protocols or None, max_size=None, ping_interval=None
        ) as upstream:
            await send({"type": "websocket.accept", "subprotocol": upstream.subprotocol})

            async def client_to_server() -> None:
                while True:
                    message = await receive()
                    if message["type"] == "websocket.disconnect":
                        return
                    data = message.get("text")
                    data = data if data is not None else message.get("bytes")
                    await upstream.send(data)
                    with self._lock:
                        self.ws_messages[path] += 1

            async def server_to_client() -> None:
                with contextlib.suppress(ConnectionClosed):
                    async for data in upstream:
                        if isinstance(data, str):
                            await send({"type": "websocket.send", "text": data})
                        else:
                            await send({"type": "websocket.send", "bytes": data})
                with contextlib.suppress(Exception):
                    await send({"type": "websocket.close", "code": 1000})

            down = asyncio.create_task(server_to_client())
            try:
                await client_to_server()
            finally:
                # Everything the client sent has been handed to the upstream socket;
                # closing it flushes those frames before the close frame.
                await upstream.close()
                with contextlib.suppress(Exception):
                    await down

    # -- running ---------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> None:
        """Serve in a thread; return once the proxy answers (through to the server)."""
        config = uvicorn.Config(
            self, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="faultproxy", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError(f"fault proxy did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=30)
            assert not self._thread.is_alive(), "fault proxy thread did not stop"
        self._server = None
        self._thread = None

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
