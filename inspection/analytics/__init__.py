"""The analytics page: throughput, outcomes, failure reasons, confidence and review backlog per
facility over time, read from the pipeline's own tables (no separate store)."""
