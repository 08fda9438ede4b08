"""Online payments: the Stripe gateway and the public, signed webhook."""
