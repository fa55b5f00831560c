"""Model registry (register, activate, build a dev model) and the per-process inference runtime."""
