"""Webhooks: announcing a completed batch to the integrator's URL, signed, retried, once; and,
for a batch that completed with images in review, announcing once more when reviewers have
decided the last of them (`batch.reviewed`, see `review.batch_reviewed.announce_if_reviewed`).

- `targets`: which URLs may be registered (http(s) only; no private addresses in production).
- `signing`: the `X-Inspection-Signature` HMAC.
- `payload`: the JSON body.
- `delivery`: creating a delivery with the event, sending attempts, re-queueing.
"""
