"""A lean HTTP client for the load benchmark's patients: what a browser sends (the session cookie,
Accept-Encoding br/gzip, form posts), on http.client, so that the client spends little of the CPU that
it shares with the server on the benchmark's machine.

The `requests` library spent 2.2 ms of CPU per request of /login on this 2-core machine, this client
0.7 ms (both decoding the brotli answer): with `requests`, the load benchmark's own client took about a
third of the CPU the server had for itself, and the load mix measured the client as much as HMS. A real
patient's browser runs on his own machine. `--requests-client` (tests/bench/load.py, limit.py) keeps the
old client for comparison."""

from __future__ import annotations

import gzip
import http.client
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

import brotli

# What makes a request fail, as `requests.RequestException` did for the old client: a refused or
# dropped connection, a timeout, an answer that is not HTTP.
ERRORS = (OSError, http.client.HTTPException)


@dataclass
class Answer:
    status_code: int
    text: str
    headers: dict[str, str]


@dataclass
class LeanClient:
    """One patient's browser: its cookies and a connection, reopened whenever the server closed it
    (gunicorn's sync workers close every connection after its answer)."""

    base: str
    timeout: float = 30
    cookies: dict[str, str] = field(default_factory=dict)
    _connection: http.client.HTTPConnection | None = None

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
        sent = {"Accept-Encoding": "br, gzip", "Accept": "text/html,*/*"} | (headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urlencode(data).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        connection = self._connection or http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port or 80, timeout=self.timeout
        )
        self._connection = None
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            raw = response.read()
        except ERRORS:
            connection.close()
            raise
        for header in response.headers.get_all("Set-Cookie") or ():
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or morsel["expires"].startswith("Thu, 01 Jan 1970"):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        if response.will_close:
            connection.close()
        else:
            self._connection = connection
        encoding = response.getheader("Content-Encoding")
        if encoding == "br":
            raw = brotli.decompress(raw)
        elif encoding == "gzip":
            raw = gzip.decompress(raw)
        return Answer(response.status, raw.decode("utf-8", "replace"), dict(response.headers.items()))

    def get(self, url: str, **kwargs) -> Answer:  # type: ignore[no-untyped-def]
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs) -> Answer:  # type: ignore[no-untyped-def]
        return self.request("POST", url, **kwargs)
