"""Hostile HTTP requests for the fuzz test: input classes as Hypothesis strategies, requests built byte by
byte (so control characters, invalid UTF-8 and oversize values reach the server as sent) and a raw
HTTP/1.1 exchange over a socket."""

from __future__ import annotations

import http.client
import json
import select
import socket
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, quote_from_bytes

from hypothesis import strategies as st

Path = tuple[str | int, ...]
NASTY_CHARS = "\x00\x01\x08\x0b\x0c\x1b\x7f\x85\x9f\u2028\u2029\u200b\u202e\ufeff\ufffe\uffff\ud800\udfff"


@dataclass(frozen=True)
class Target:
    """Where a hostile value goes: `query`, `path` or `header` (by name), `json` (a leaf of the example
    body, by path) or `body` (the whole raw body)."""

    where: str
    name: str = ""
    path: Path = ()
    instant: bool = False  # takes a date-time

    def __str__(self) -> str:
        return f"{self.where}:{self.name or '/'.join(map(str, self.path))}"


@dataclass(frozen=True)
class Operation:
    """One operation of the OpenAPI document, with a valid request to start from."""

    method: str
    template: str
    targets: tuple[Target, ...]
    body: Any = None  # a valid JSON body, when the operation takes one

    @property
    def id(self) -> str:
        return f"{self.method} {self.template}"


@dataclass(frozen=True)
class Call:
    """One request as bytes."""

    method: str
    path: bytes
    query: bytes = b""
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes | None = None

    def __str__(self) -> str:
        target = self.path + (b"?" + self.query if self.query else b"")
        body = repr(self.body[:300]) + f" ({len(self.body)} bytes)" if self.body is not None else "no body"
        headers = [(k, v[:200]) for k, v in self.headers if k != b"authorization" or b"Bearer" not in v]
        return f"{self.method} {target[:500]!r} headers={headers} body={body}"


def leaves(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every scalar of a JSON document with its path."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, (*path, i))
    else:
        yield path, value


def looks_like_instant(value: Any) -> bool:
    try:
        return isinstance(value, str) and datetime.fromisoformat(value) is not None
    except ValueError:
        return False


def operations(doc: dict[str, Any], *, ce_headers: tuple[str, ...]) -> dict[str, Operation]:
    """Every operation of an OpenAPI document, by `METHOD /path`."""
    found: dict[str, Operation] = {}
    for template, methods in doc["paths"].items():
        for method, spec in methods.items():
            targets = [
                Target(p["in"], p["name"], instant='"date-time"' in json.dumps(p["schema"]))
                for p in spec.get("parameters", [])
            ]
            targets += [Target("header", h) for h in ("x-request-id", "authorization", "x-api-key", "host")]
            body = _example_body(doc, spec.get("requestBody"))
            if spec.get("requestBody"):
                targets += [Target("json", path=p, instant=looks_like_instant(v)) for p, v in leaves(body)]
                targets += [Target("body"), Target("header", "content-type")]
                if template == "/api/v1/events":
                    targets += [Target("header", h, instant=h == "ce-time") for h in ce_headers]
            op = Operation(method.upper(), template, tuple(targets), body)
            found[op.id] = op
    return found


def _example_body(doc: dict[str, Any], request_body: dict[str, Any] | None) -> Any:
    if not request_body:
        return None
    media = request_body["content"]["application/json"]
    if "examples" in media:
        return next(iter(media["examples"].values()))["value"]
    name = media["schema"]["$ref"].rsplit("/", 1)[1]
    return doc["components"]["schemas"][name]["examples"][0]


@dataclass(frozen=True)
class RawJson:
    """JSON text placed as is where a value goes (for depths json.dumps cannot write)."""

    text: bytes


def wire(value: Any) -> bytes:
    """A value as bytes on the wire: text as UTF-8 (lone surrogates kept, as invalid UTF-8), bytes as is."""
    if isinstance(value, RawJson):
        return value.text
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogatepass")


def json_with(document: Any, path: Path, value: Any) -> bytes:
    """`document` as JSON text with the leaf at `path` replaced by `value`."""
    if isinstance(value, bytes):  # raw bytes go inside a JSON string
        value = RawJson(b'"' + value + b'"')
    placeholder = f"fuzz-{uuid.uuid4().hex}"
    copy = json.loads(json.dumps(document))
    node = copy
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = placeholder if isinstance(value, RawJson) else value
    text = json.dumps(copy).encode("utf-8", "surrogatepass")
    return text.replace(f'"{placeholder}"'.encode(), value.text) if isinstance(value, RawJson) else text


def _fill(template: str, ids: Mapping[str, str], skip: str = "") -> bytes:
    """The path with every parameter but `skip` set to its id in `ids`, or a fresh one."""
    path = template
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        name = path[start + 1 : end]
        value = "\0" + name + "\1" if name == skip else ids.get(name) or str(uuid.uuid4())
        path = path[:start] + value + path[end + 1 :]
    return path.encode()


def build(
    op: Operation, key: str, target: Target, value: Any, *, host: bytes, ids: Mapping[str, str]
) -> Call:
    """The operation's valid request (path parameters from `ids`) with `value` at `target`."""
    path = _fill(op.template, ids, target.name if target.where == "path" else "")
    query = b""
    headers = {b"host": host, b"authorization": b"Bearer " + key.encode(), b"connection": b"close"}
    body = json.dumps(op.body).encode() if op.body is not None else None
    if op.body is not None:
        headers[b"content-type"] = b"application/json"
    if target.where == "query":
        query = quote(target.name).encode() + b"=" + quote_from_bytes(wire(value), safe="").encode()
    elif target.where == "path":
        marker = ("\0" + target.name + "\1").encode()
        path = path.replace(marker, quote_from_bytes(wire(value), safe="").encode())
    elif target.where == "header":
        if target.name in ("authorization", "x-api-key"):
            headers.pop(b"authorization")
        prefix = b"Bearer " if target.name == "authorization" else b""
        headers[target.name.encode()] = prefix + wire(value)
    elif target.where == "json":
        body = json_with(op.body, target.path, value)
    elif target.where == "body":  # text as a JSON string with its characters raw, the rest as is
        body = wire(json.dumps(value, ensure_ascii=False) if isinstance(value, (str, int, float)) else value)
    return Call(op.method, path, query, tuple(headers.items()), body)


def exchange(address: tuple[str, int], call: Call) -> tuple[int, dict[str, str], bytes]:
    """Send `call` and read the answer; a body the server refuses early is not sent in full."""
    headers = list(call.headers)
    if call.body is not None:
        headers.append((b"content-length", str(len(call.body)).encode()))
    target = call.path + (b"?" + call.query if call.query else b"")
    head = call.method.encode() + b" " + target + b" HTTP/1.1\r\n"
    head += b"".join(k + b": " + v + b"\r\n" for k, v in headers) + b"\r\n"
    with socket.create_connection(address, timeout=120) as sock:
        sock.sendall(head)
        body = call.body or b""
        for start in range(0, len(body), 65536):
            if select.select([sock], [], [], 0)[0]:
                break  # the server has answered already (e.g. 413): stop sending
            try:
                sock.sendall(body[start : start + 65536])
            except (BrokenPipeError, ConnectionResetError):
                break
        answer = http.client.HTTPResponse(sock, method=call.method)
        answer.begin()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()


def verdict(call: Call, status: int, headers: dict[str, str], body: bytes) -> str | None:
    """Why an answer is wrong (None when it is fine): a 5xx, or a 4xx that is not problem details."""
    where = f"{call}\n-> {status} {headers.get('content-type')} {body[:400]!r}"
    if status >= 500:
        return f"server error: {where}"
    if 400 <= status < 500:
        if headers.get("content-type") != "application/problem+json":
            return f"4xx without problem details: {where}"
        try:
            document = json.loads(body)
        except ValueError:
            return f"4xx with a broken problem document: {where}"
        if document.get("status") != status:
            return f"problem document with a wrong status: {where}"
    return None


# -- the input classes ---------------------------------------------------------------------------------

LANDMARK_INSTANTS = [
    "2026-01-01", "2026-01-01T00:00:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:30:00+01:00", "1969-12-31T23:59:59Z", "2200-01-01T00:00:00Z", "9999-12-31",
]  # fmt: skip
_ODD_INSTANTS = [
    "2199-12-31T23:59:59.999999Z", "1970-01-01T00:00:00Z", "0000-00-00", "2026-02-30", "2026-10-01T24:00:00Z",
    "2026-10-01T12:00:00+24:00", "2026-10-01T12:00:00.1234567890123Z", "-2026-01-01", "+12026-01-01", "1e308",
    "99999999999999999999", "-1", "0", "now", "2026-W40", "20261001T120000Z", "2026-10-01 12:00:00",
    "2026-10-01t12:00:00z", "2026-10-01T12:00:00-00:00", "2026-10-01T12:00:00+14:01",
]  # fmt: skip
_OFFSETS = ["", "Z", "z", "+00:00", "-00:00", "+14:00", "-14:00", "+23:59", "-23:59", "+0530"]


@st.composite
def _formatted_instants(draw: st.DrawFn) -> str:
    moment = draw(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)))
    if draw(st.booleans()):
        return moment.date().isoformat()
    separator = draw(st.sampled_from(["T", " ", "t"]))
    return moment.isoformat(sep=separator) + draw(st.sampled_from(_OFFSETS))


INSTANTS: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(LANDMARK_INSTANTS + _ODD_INSTANTS),
    _formatted_instants(),
    st.integers(min_value=-(2**70), max_value=2**70),  # epochs, in bodies as numbers
    st.floats(allow_nan=True, allow_infinity=True),
)


@st.composite
def _control_text(draw: st.DrawFn) -> str:
    around = st.text(alphabet="abc-_ 0", max_size=8)
    middle = draw(
        st.text(alphabet=st.sampled_from(NASTY_CHARS) | st.characters(max_codepoint=0x1F), min_size=1)
    )
    return draw(around) + middle + draw(around)


CONTROL = st.one_of(st.sampled_from(["a\x00b", "\x00", "line\r\nX-Injected: 1", "\t", "\x7f", "\ud800"]),
                    _control_text())  # fmt: skip

BAD_UTF8 = [
    b"\xff",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    b"\xc0\xaf",
    b"\xf8\x88\x80\x80\x80",
    b"\xe2\x82",
    b"\x80",
]


@st.composite
def _invalid_utf8(draw: st.DrawFn) -> bytes:
    around = st.binary(max_size=6).filter(lambda b: all(0x20 <= c < 0x7F for c in b))
    return draw(around) + draw(st.sampled_from(BAD_UTF8)) + draw(around)


INVALID_UTF8 = st.one_of(st.sampled_from(BAD_UTF8), _invalid_utf8())


def nested(depth: int, kind: str) -> RawJson:
    """A JSON value nested `depth` levels deep."""
    if kind == "array":
        return RawJson(b"[" * depth + b"1" + b"]" * depth)
    return RawJson(b'{"a":' * depth + b"1" + b"}" * depth)


NESTING = st.builds(
    nested,
    st.sampled_from([1, 2, 64, 500, 990, 1000, 5000, 100_000]) | st.integers(1, 3000),
    st.sampled_from(["array", "object"]),
)

OVERSIZE: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from([1_000, 8_000, 70_000, 1_100_000]).map(lambda n: "x" * n),
    st.integers(min_value=1, max_value=300).map(lambda n: "9" * (n * 20)),
    st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**400, 1e308, float("inf"), float("-inf"), float("nan")]),
)
