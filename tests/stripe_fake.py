"""A fake Stripe at the HTTP boundary (pytest-httpserver): the few endpoints HMS calls, with Stripe's
idempotency-key behaviour, a trivial hosted "checkout page", and webhook events signed with Stripe's
real signature scheme. The app talks to it through the real stripe library (STRIPE_API_BASE)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

WEBHOOK_SECRET = "whsec_test_secret"
WEBHOOK_URL = "/payments/stripe/webhook"


def _error(status: int, message: str, kind: str = "invalid_request_error") -> Response:
    return Response(
        json.dumps({"error": {"type": kind, "message": message}}), status=status, mimetype="application/json"
    )


def _ok(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=200, mimetype="application/json")


class FakeStripe:
    """State and behaviour of the fake. `calls` records (method, path, idempotency key, form)."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.sessions: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str, str | None, dict[str, str]]] = []
        self.fail: dict[str, int] = {}  # "POST /v1/refunds" -> HTTP status to answer with, once
        self.refund_status = "succeeded"
        self._idempotent: dict[str, tuple[str, dict[str, str], Response]] = {}
        self._lock = threading.Lock()
        server.expect_request(re.compile(r"^/.*")).respond_with_handler(self._handle)

    @property
    def base(self) -> str:
        return self.server.url_for("/").rstrip("/")

    # ------------------------------------------------------------ what the app calls

    def _handle(self, request: Request) -> Response:
        form = {k: v for k, v in request.form.items()}
        key = request.headers.get("Idempotency-Key")
        with self._lock:
            self.calls.append((request.method, request.path, key, form))
            route = f"{request.method} {re.sub(r'/(cs|re)_[A-Za-z0-9_]+', '/{id}', request.path)}"
            if route in self.fail:
                return _error(self.fail.pop(route), "Simulated outage", "api_error")
            if request.path.startswith("/v1/") and not request.headers.get("Authorization", "").startswith(
                "Bearer sk_test_"
            ):
                return _error(401, "Invalid API key", "authentication_error")
            if request.method == "POST" and request.path.startswith("/v1/"):
                if not key:
                    return _error(400, "This fake insists on an Idempotency-Key for every POST")
                if key in self._idempotent:
                    path, params, response = self._idempotent[key]
                    if (path, params) != (request.path, form):
                        return _error(400, "Keys for idempotent requests need the same parameters")
                    return response
            response = self._route(request, form)
            if request.method == "POST" and request.path.startswith("/v1/") and response.status_code < 500:
                self._idempotent[key] = (request.path, form, response)
            return response

    def _route(self, request: Request, form: dict[str, str]) -> Response:
        path = request.path
        if request.method == "POST" and path == "/v1/checkout/sessions":
            return self._create_session(form)
        match = re.fullmatch(r"/v1/checkout/sessions/(cs_\w+)(/expire)?", path)
        if match:
            session = self.sessions.get(match.group(1))
            if session is None:
                return _error(404, "No such checkout.session")
            if match.group(2):
                if session["status"] != "open":
                    return _error(400, "Only Checkout Sessions with a status in [open] can be expired.")
                session["status"] = "expired"
            return _ok(session)
        if request.method == "POST" and path == "/v1/refunds":
            return self._create_refund(form)
        match = re.fullmatch(r"/pay/(cs_\w+)", path)
        if match and match.group(1) in self.sessions:
            session = self.sessions[match.group(1)]
            amount = session["amount_total"]
            return Response(
                f"<!doctype html><title>Fake Stripe Checkout</title><h1>Fake Stripe Checkout</h1>"
                f"<p id='amount'>{amount} {session['currency']}</p>",
                mimetype="text/html",
            )
        return _error(404, f"Unrecognized request URL ({request.method}: {path})")

    def _create_session(self, form: dict[str, str]) -> Response:
        session_id = "cs_test_" + secrets.token_hex(12)
        unit = int(form["line_items[0][price_data][unit_amount]"])
        quantity = int(form.get("line_items[0][quantity]", "1"))
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": form.get("mode"),
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": unit * quantity,
            "currency": form["line_items[0][price_data][currency]"],
            "client_reference_id": form.get("client_reference_id"),
            "customer_email": form.get("customer_email"),
            "metadata": _nested(form, "metadata"),
            "payment_intent": None,
            "success_url": form.get("success_url"),
            "cancel_url": form.get("cancel_url"),
            "expires_at": int(form.get("expires_at") or time.time() + 3600),
            "url": f"{self.base}/pay/{session_id}",
            "livemode": False,
        }
        self.sessions[session_id] = session
        return _ok(session)

    def _create_refund(self, form: dict[str, str]) -> Response:
        intent = form.get("payment_intent")
        session = next((s for s in self.sessions.values() if s["payment_intent"] == intent), None)
        if session is None:
            return _error(400, f"No such payment_intent: '{intent}'")
        amount = int(form.get("amount") or session["amount_total"])
        already = sum(r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent)
        if amount + already > session["amount_total"]:
            return _error(400, "Refund amount is greater than unrefunded amount on charge")
        refund = {
            "id": "re_test_" + secrets.token_hex(12),
            "object": "refund",
            "amount": amount,
            "currency": session["currency"],
            "payment_intent": intent,
            "status": self.refund_status,
            "metadata": _nested(form, "metadata"),
        }
        self.refunds[refund["id"]] = refund
        return _ok(refund)

    # ------------------------------------------------------------ what a test does as Stripe or the patient

    def calls_to(self, method: str, path_start: str) -> list[tuple[str, str, str | None, dict[str, str]]]:
        return [c for c in self.calls if c[0] == method and c[1].startswith(path_start)]

    def only_session(self) -> dict[str, Any]:
        assert len(self.sessions) == 1, self.sessions
        return next(iter(self.sessions.values()))

    def complete(self, session_id: str) -> dict[str, Any]:
        """The patient paid on the checkout page."""
        session = self.sessions[session_id]
        intent = "pi_test_" + secrets.token_hex(8)
        session.update(status="complete", payment_status="paid", payment_intent=intent)
        return session

    def expire(self, session_id: str) -> dict[str, Any]:
        """Stripe closed an abandoned checkout."""
        session = self.sessions[session_id]
        session["status"] = "expired"
        return session


def _nested(form: dict[str, str], name: str) -> dict[str, str]:
    prefix = f"{name}["
    return {k[len(prefix) : -1]: v for k, v in form.items() if k.startswith(prefix) and k.endswith("]")}


def event(kind: str, obj: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or "evt_test_" + secrets.token_hex(12),
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": json.loads(json.dumps(obj))},
    }


def sign(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """Stripe's scheme: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<payload>" with the secret>."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def post_event(client, evt: dict[str, Any], *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):  # type: ignore[no-untyped-def]
    payload = json.dumps(evt)
    return client.post(
        WEBHOOK_URL,
        data=payload,
        headers={"Stripe-Signature": sign(payload, secret, timestamp), "Content-Type": "application/json"},
        csrf=False,
    )


@pytest.fixture
def stripe_fake(app: Flask, httpserver: HTTPServer) -> Iterator[FakeStripe]:
    """Online payments switched on against the fake for one test."""
    fake = FakeStripe(httpserver)
    saved = {k: app.config.get(k) for k in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE")}
    saved_retries = app.config.get("STRIPE_MAX_NETWORK_RETRIES")
    app.config.update(
        STRIPE_SECRET_KEY="sk_test_fake",
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_API_BASE=fake.base,
        STRIPE_MAX_NETWORK_RETRIES=0,
    )
    yield fake
    app.config.update(saved, STRIPE_MAX_NETWORK_RETRIES=saved_retries)
