"""Human review: access by facility membership, task leases, decisions (the audit trail),
queue and reviewer statistics, and exports of reviewed labels for retraining."""
