"""Stripe's webhook: the one public, CSRF-exempt endpoint, trusted only through its signature."""

from __future__ import annotations

import stripe
from flask import Blueprint, Response, current_app, request

from hms.extensions import csrf, db, limiter
from hms.services import billing
from hms.services.errors import DomainError

bp = Blueprint("payments", __name__)

MAX_EVENT_BYTES = 256 * 1024
SIGNATURE_TOLERANCE_SECONDS = 300


def _plain(text: str, status: int) -> Response:
    return Response(text, status=status, mimetype="text/plain")


@bp.post("/stripe/webhook")
@csrf.exempt
@limiter.exempt
def stripe_webhook() -> Response:
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        return _plain("online payments are not configured", 404)
    if (request.content_length or 0) > MAX_EVENT_BYTES:
        return _plain("too large", 413)
    payload = request.get_data(cache=False)
    if len(payload) > MAX_EVENT_BYTES:
        return _plain("too large", 413)
    try:
        signature = request.headers.get("Stripe-Signature")
        if not signature:
            raise ValueError("no Stripe-Signature header")
        event = stripe.Webhook.construct_event(
            payload, signature, secret, tolerance=SIGNATURE_TOLERANCE_SECONDS
        )
    except (ValueError, stripe.SignatureVerificationError) as error:
        current_app.logger.warning(
            "stripe webhook rejected from %s: %s", request.remote_addr, str(error)[:200]
        )
        return _plain("bad signature", 400)
    data = event.to_dict()
    try:
        outcome = billing.process_stripe_event(data)
    except DomainError as error:
        db.session.rollback()
        current_app.logger.warning("stripe webhook %s refused: %s", data.get("id"), error.message)
        return _plain(error.message, 400)
    db.session.commit()
    current_app.logger.info("stripe event %s %s: %s", data.get("id"), data.get("type"), outcome)
    return _plain(outcome, 200)


@bp.after_app_request
def send_billing_work_to_stripe(response: Response) -> Response:
    """Refunds and checkout closings that this request committed go to Stripe now."""
    billing.run_after_commit_tasks()
    return response
