"""The analytics page and its API: throughput, latency, confidence against the thresholds,
review backlog, decisions, overrides and failures per facility, camera and period. Read from the
pipeline's own tables, except latency, the model's boxes and overrides, which come from hourly
rollups of those tables (`models`, `rollups`)."""
