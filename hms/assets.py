"""Static files: two bundles built at setup, content-hashed URLs, precompressed copies, long cache lifetimes.

`make setup` runs `python -m hms.assets` once the npm packages are copied to static/vendor. It writes
static/bundle/app.css (Pico + our CSS, small images inlined) and static/bundle/app.js (htmx + our JS),
each with a brotli (.br) and gzip (.gz) copy beside it, so every page costs HTML + 1 CSS + 1 JS.

Every `url_for("static", filename=...)` gets `?v=<hash of the file's content>`; an answer to a URL with
the current hash may be cached for a year (`immutable`), since a changed file gets a new URL. Any other
static request is answered with `no-cache` and an ETag, so a stale URL never pins an old file."""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import re
import sys
from pathlib import Path

from flask import Flask, Response, abort, current_app, request
from werkzeug.security import safe_join

from hms.compression import COMPRESSIBLE, accepted_encoding, add_vary, encode

STATIC = Path(__file__).resolve().parent.parent / "static"
BUNDLES: dict[str, list[str]] = {
    "bundle/app.css": ["vendor/pico.min.css", "css/app.css"],
    "bundle/app.js": ["vendor/htmx.min.js", "js/app.js"],
}
LONG_CACHE = "public, max-age=31536000, immutable"
# Images referenced from our CSS and smaller than this travel inside the CSS (one request fewer).
INLINE_LIMIT = 4096
_CSS_URL = re.compile(r"url\((['\"]?)(\.\./[^)'\"]+)\1\)")
_cache: dict[Path, tuple[int, int, bytes, str]] = {}
_encoded: dict[tuple[Path, str, str], bytes] = {}


def _inline_images(css: str, css_path: Path, static: Path) -> str:
    root = static.resolve()

    def replace(match: re.Match[str]) -> str:
        target = (css_path.parent / match.group(2)).resolve()
        if not target.is_file() or target.stat().st_size > INLINE_LIMIT or root not in target.parents:
            return match.group(0)
        mime = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        payload = base64.b64encode(target.read_bytes()).decode("ascii")
        return f'url("data:{mime};base64,{payload}")'

    return _CSS_URL.sub(replace, css)


def build(static: Path = STATIC) -> list[Path]:
    """Write the bundles and their .br/.gz copies; files whose content is unchanged are left alone."""
    written = []
    for target, sources in BUNDLES.items():
        parts = []
        for source in sources:
            path = static / source
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".css":
                text = _inline_images(text, path, static)
            parts.append(text.rstrip() + "\n")
        data = "".join(parts).encode("utf-8")
        out = static / target
        out.parent.mkdir(parents=True, exist_ok=True)
        for path, content in [
            (out, data),
            (out.with_name(out.name + ".br"), encode(data, "br", best=True)),
            (out.with_name(out.name + ".gz"), encode(data, "gzip", best=True)),
        ]:
            if not path.exists() or path.read_bytes() != content:
                path.write_bytes(content)
                written.append(path)
    return written


def _stale(static: Path) -> bool:
    for target, sources in BUNDLES.items():
        out = static / target
        if not out.exists():
            return True
        if any((static / s).exists() and (static / s).stat().st_mtime > out.stat().st_mtime for s in sources):
            return True
    return False


def _load(path: Path) -> tuple[bytes, str]:
    """A static file's bytes and content hash, re-read only when the file changes."""
    stat = path.stat()
    cached = _cache.get(path)
    if cached and cached[0] == stat.st_mtime_ns and cached[1] == stat.st_size:
        return cached[2], cached[3]
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:16]
    _cache[path] = (stat.st_mtime_ns, stat.st_size, data, digest)
    return data, digest


def _static_path(filename: str) -> Path | None:
    joined = safe_join(str(current_app.static_folder), filename)
    if joined is None:
        return None
    path = Path(joined)
    return path if path.is_file() else None


def fingerprint(filename: str) -> str | None:
    path = _static_path(filename)
    return _load(path)[1] if path else None


def _encoded_body(path: Path, data: bytes, digest: str, encoding: str) -> bytes:
    """The precompressed copy when it belongs to this content, else compressed once and kept."""
    key = (path, digest, encoding)
    if key not in _encoded:
        sibling = path.with_name(path.name + (".br" if encoding == "br" else ".gz"))
        if sibling.is_file() and sibling.stat().st_mtime_ns >= path.stat().st_mtime_ns:
            _encoded[key] = sibling.read_bytes()
        else:
            _encoded[key] = encode(data, encoding, best=True)
    return _encoded[key]


def serve_static(filename: str) -> Response:
    """Flask's static view, with precompressed bodies and cache lifetimes chosen by fingerprint."""
    path = _static_path(filename)
    if path is None or path.suffix in (".br", ".gz"):
        abort(404)
    data, digest = _load(path)
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = Response(mimetype=mimetype)
    encoding = accepted_encoding() if response.mimetype in COMPRESSIBLE else None
    if encoding:
        response.set_data(_encoded_body(path, data, digest, encoding))
        response.headers["Content-Encoding"] = encoding
    else:
        response.set_data(data)
    if response.mimetype in COMPRESSIBLE:
        add_vary(response, "Accept-Encoding")
    if request.args.get("v") == digest:
        response.headers["Cache-Control"] = LONG_CACHE
    else:
        response.headers["Cache-Control"] = "no-cache"
    response.set_etag(f"{digest}-{encoding or 'identity'}")
    return response.make_conditional(request)


def register(app: Flask) -> None:
    static = Path(str(app.static_folder))
    sources_present = all((static / s).exists() for sources in BUNDLES.values() for s in sources)
    if sources_present and _stale(static):
        try:  # a checkout run without `make setup` (or after editing app.css) still gets fresh bundles
            build(static)
        except OSError as error:  # a read-only install serves what `make setup` built
            app.logger.warning("static bundles not rebuilt: %s", error)
    app.view_functions["static"] = serve_static

    @app.url_defaults
    def add_fingerprint(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = fingerprint(values["filename"])
            if version:
                values["v"] = version


if __name__ == "__main__":
    for written in build():
        print(f"wrote {written.relative_to(STATIC.parent)}", file=sys.stderr)
