"""A lean HTTP client for the load benchmark's patients: what a browser sends (the session cookie,
Accept-Encoding br/gzip, form posts), written straight on a socket, so that the client spends little
of the CPU that it shares with the server on the benchmark's machine.

The `requests` library spent 2.2 ms of CPU per request of /login on this 2-core machine, http.client
0.5–0.7 ms (both decoding the brotli answer), this client less again: http.client parses every answer's
headers with the email package and checks every header it sends with regular expressions. A real
patient's browser runs on his own machine; here the client's CPU is taken from the server's, so the
lighter it is, the closer the load mix measures HMS alone. It speaks only what the benchmark needs of
HTTP/1.1: one request per connection (gunicorn's sync workers close every connection after its answer,
and the request says `Connection: close`), bodies with a Content-Length, no redirects followed.
`--requests-client` (tests/bench/load.py, limit.py) keeps the `requests` library for comparison."""

from __future__ import annotations

import gzip
import socket
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import brotli

# What makes a request fail, as `requests.RequestException` did for the old client: a refused or
# dropped connection, a timeout (OSError), an answer that is not HTTP (ValueError).
ERRORS = (OSError, ValueError)


@dataclass
class Answer:
    status_code: int
    text: str
    headers: dict[str, str]


@dataclass
class LeanClient:
    """One patient's browser: its cookies, and a new connection for every request."""

    base: str
    timeout: float = 30
    cookies: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        parts = urlsplit(self.base)
        self._address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._host = parts.netloc

    def request(  # type: ignore[no-untyped-def]
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,  # noqa: ARG002 - the client's own timeout applies
        allow_redirects: bool = False,  # noqa: ARG002 - never followed, as the benchmark wants
    ) -> Answer:
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if params:
            path += ("&" if "?" in path else "?") + urlencode(params)
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self._host}",
            "Accept-Encoding: br, gzip",
            "Accept: text/html,*/*",
            "Connection: close",
        ]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        body = b""
        if data is not None:
            body = urlencode(data).encode()
            lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
        raw = self._exchange(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        return self._answer(raw)

    def _exchange(self, sent: bytes) -> bytes:
        """Send one request on a new connection and read the answer until the server closes it."""
        with socket.create_connection(self._address, timeout=self.timeout) as connection:
            connection.sendall(sent)
            # Nothing more to send: say so at once. gunicorn's sync worker, once it has answered, waits
            # for the peer to close its side (RFC 9112's lingering close) before it takes the next
            # request; a client thread waiting for the GIL on the server's own cores kept it waiting
            # (5.5% of the workers' time under the load mix, sampled with py-spy). In production nginx
            # is that peer, and closes at once.
            connection.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)

    def _answer(self, raw: bytes) -> Answer:
        head, separator, body = raw.partition(b"\r\n\r\n")
        if not separator:
            raise ValueError("an answer without the end of its headers")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        version, status, *_reason = status_line.split(" ", 2)
        if not version.startswith("HTTP/1."):
            raise ValueError(f"not an HTTP answer: {status_line[:80]!r}")
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            name, value = name.strip(), value.strip()
            if name.lower() == "set-cookie":
                self._keep_cookie(value)
            headers[name] = value  # the last of repeated headers, as the old client's dict kept
        length = next((v for k, v in headers.items() if k.lower() == "content-length"), None)
        if length is not None and int(length) != len(body):
            raise ValueError(f"an answer cut short: {len(body)} of {length} bytes")
        encoding = next((v for k, v in headers.items() if k.lower() == "content-encoding"), None)
        if encoding == "br":
            body = brotli.decompress(body)
        elif encoding == "gzip":
            body = gzip.decompress(body)
        return Answer(int(status), body.decode("utf-8", "replace"), headers)

    def _keep_cookie(self, header: str) -> None:
        """A Set-Cookie header: keep the cookie's value, or forget it when it is deleted."""
        pair, *attributes = header.split(";")
        name, _, value = pair.strip().partition("=")
        lowered = [a.strip().lower() for a in attributes]
        if "max-age=0" in lowered or any(a.startswith("expires=thu, 01 jan 1970") for a in lowered):
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value  # sent back as it came, as a browser does

    def get(self, url: str, **kwargs) -> Answer:  # type: ignore[no-untyped-def]
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs) -> Answer:  # type: ignore[no-untyped-def]
        return self.request("POST", url, **kwargs)
