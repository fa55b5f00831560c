"""Webhooks: announcing a completed batch to the integrator's URL, signed, retried, once.

- `targets`: which URLs may be registered (http(s) only; no private addresses in production).
- `signing`: the `X-Inspection-Signature` HMAC.
- `payload`: the JSON body.
- `delivery`: creating a delivery with the event, sending attempts, re-queueing.
"""
