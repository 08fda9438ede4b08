"""Small HTMX helpers: detect HTMX requests, render a page or one of its blocks, fire events."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Response, g, make_response, render_template, request
from jinja2_fragments.flask import render_block

from hms.redirects import local_target


def is_htmx() -> bool:
    """True for an HTMX request that wants a fragment (not a history restore)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(template: str, block: str | None = None, status: int = 200, **context: Any) -> Response:
    """Render the whole page, or only `block` of it for an HTMX request."""
    if block and is_htmx():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    return make_response(body, status)


def trigger(response: Response, event: str, detail: Any = None) -> Response:
    """Add an HX-Trigger event for the page (merged with any already set)."""
    current = response.headers.get("HX-Trigger")
    events: dict[str, Any] = json.loads(current) if current else {}
    events[event] = detail if detail is not None else True
    response.headers["HX-Trigger"] = json.dumps(events)
    return response


def redirect_to(url: str, *, external: bool = False) -> Response:
    """Send the browser to `url`: HX-Redirect for HTMX, a 303 otherwise. Only a path on this site is
    followed (anything else goes to the home page) unless the caller names an `external` address
    that it made itself (Stripe's checkout page)."""
    if not external:
        url = local_target(url) or "/"
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    response = make_response("", 303)
    response.headers["Location"] = url
    return response


def show_page(page: Callable[[], Response], url: str) -> Response:
    """Answer an HTMX post with the next page itself rather than a redirect to it: one round trip
    fewer (2 s on a slow network). htmx swaps the page's <main> in and puts `url` in the address bar;
    without JavaScript the view redirects as usual. Only <main> is used, so only <main> and the page's
    title are rendered (`main_only`, templates/base.html: no header, footer or bell count, which the
    bell fetches itself when told to); htmx takes the title from the answer."""
    g.main_only = True
    response = page()
    response.headers["HX-Push-Url"] = url
    response.headers["HX-Retarget"] = "#main"
    response.headers["HX-Reselect"] = "#main"
    response.headers["HX-Reswap"] = "outerHTML"
    return trigger(response, "notificationsChanged")
