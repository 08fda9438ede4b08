"""The only code that talks to Stripe: Checkout Sessions and refunds, each call with an idempotency key.

`STRIPE_API_BASE` points the library elsewhere (tests run a fake Stripe on a local port). Results come
back as plain dicts; any failure (network, Stripe's refusal) becomes `GatewayError`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import stripe
from flask import current_app


class GatewayError(Exception):
    """Stripe could not be reached or refused the request; `message` is safe to log."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def configured() -> bool:
    """Online payments are on when a secret key is set; without one, bills are paid at the desk."""
    return bool(current_app.config.get("STRIPE_SECRET_KEY"))


def _client() -> stripe.StripeClient:
    config = current_app.config
    base = config.get("STRIPE_API_BASE")
    return stripe.StripeClient(
        config["STRIPE_SECRET_KEY"],
        base_addresses={"api": base.rstrip("/")} if base else None,
        max_network_retries=config.get("STRIPE_MAX_NETWORK_RETRIES", 2),
        http_client=stripe.RequestsClient(timeout=config.get("STRIPE_TIMEOUT_SECONDS", 20)),
    )


def _call(operation, *args: Any, idempotency_key: str, **kwargs: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    try:
        result = operation(*args, options={"idempotency_key": idempotency_key}, **kwargs)
    except stripe.StripeError as error:
        status = getattr(error, "http_status", None)
        current_app.logger.warning("stripe call failed (%s): %s", status, error.user_message or error)
        raise GatewayError(str(error.user_message or error), status=status) from error
    return result.to_dict()


def create_checkout_session(
    *,
    key: str,
    amount_minor: int,
    currency: str,
    name: str,
    bill_id: int,
    email: str,
    success_url: str,
    cancel_url: str,
    expires_at: datetime,
) -> dict[str, Any]:
    """A hosted Checkout page for exactly `amount_minor`; `key` is the payment's idempotency key."""
    client = _client()
    params = {
        "mode": "payment",
        "client_reference_id": key,
        "customer_email": email,
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": currency.lower(),
                    "unit_amount": amount_minor,
                    "product_data": {"name": name},
                },
            }
        ],
        "metadata": {"hms_payment": key, "hms_bill": str(bill_id)},
        "payment_intent_data": {"metadata": {"hms_payment": key, "hms_bill": str(bill_id)}},
        "success_url": success_url,
        "cancel_url": cancel_url,
        "expires_at": int(expires_at.timestamp()),
    }
    return _call(client.v1.checkout.sessions.create, params, idempotency_key=f"hms-checkout-{key}")


def retrieve_checkout_session(session_id: str) -> dict[str, Any]:
    client = _client()
    try:
        return client.v1.checkout.sessions.retrieve(session_id).to_dict()
    except stripe.StripeError as error:
        current_app.logger.warning("stripe retrieve failed: %s", error)
        raise GatewayError(
            str(error.user_message or error), status=getattr(error, "http_status", None)
        ) from error


def expire_checkout_session(session_id: str) -> dict[str, Any]:
    """Close an open Checkout Session; for one that is no longer open, its current state instead."""
    client = _client()
    try:
        return _call(
            client.v1.checkout.sessions.expire, session_id, idempotency_key=f"hms-expire-{session_id}"
        )
    except GatewayError as error:
        if error.status != 400:
            raise
        # Stripe refuses to expire a session that completed or expired meanwhile: ask what it is.
        return retrieve_checkout_session(session_id)


def create_refund(*, key: str, payment_intent: str, amount_minor: int, payment_key: str) -> dict[str, Any]:
    client = _client()
    params = {
        "payment_intent": payment_intent,
        "amount": amount_minor,
        "reason": "requested_by_customer",
        "metadata": {"hms_refund": key, "hms_payment": payment_key},
    }
    return _call(client.v1.refunds.create, params, idempotency_key=f"hms-refund-{key}")
