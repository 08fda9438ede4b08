"""Compress text responses (HTML pages and fragments, CSV, JSON) with brotli or gzip, as accepted."""

from __future__ import annotations

import gzip

import brotli
from flask import Flask, Response, request

# Below this a compressed body is hardly smaller, and the header costs as much as it saves.
MIN_SIZE = 512
COMPRESSIBLE = {
    "text/html",
    "text/css",
    "text/csv",
    "text/plain",
    "text/calendar",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/fhir+json",
    "image/svg+xml",
}
# Pages are compressed on every request: brotli 5 and gzip 6 are fast and within a few percent of the best.
BROTLI_QUALITY = 5
GZIP_LEVEL = 6


def accepted_encoding() -> str | None:
    """The best encoding the browser accepts: "br", then "gzip", else None."""
    accepted = request.accept_encodings
    for encoding in ("br", "gzip"):
        if accepted[encoding] > 0:
            return encoding
    return None


def encode(data: bytes, encoding: str, *, best: bool = False) -> bytes:
    if encoding == "br":
        return brotli.compress(data, quality=11 if best else BROTLI_QUALITY)
    return gzip.compress(data, compresslevel=9 if best else GZIP_LEVEL, mtime=0)


def add_vary(response: Response, header: str) -> None:
    if header.lower() not in {v.strip().lower() for v in response.headers.get("Vary", "").split(",")}:
        response.vary.add(header)


def compress_response(response: Response) -> Response:
    if (
        response.direct_passthrough
        or response.is_streamed
        or "Content-Encoding" in response.headers
        or response.status_code < 200
        or response.status_code in (204, 206, 304)
        or response.mimetype not in COMPRESSIBLE
    ):
        return response
    add_vary(response, "Accept-Encoding")
    data = response.get_data()
    encoding = accepted_encoding()
    if encoding is None or len(data) < MIN_SIZE:
        return response
    response.set_data(encode(data, encoding))
    response.headers["Content-Encoding"] = encoding
    etag, weak = response.get_etag()
    if etag and not weak:
        response.set_etag(etag, weak=True)
    return response


def register(app: Flask) -> None:
    """Register before every other after_request hook, so that compression runs last."""
    app.after_request(compress_response)
