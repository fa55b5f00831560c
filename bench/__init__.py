"""Benchmarks for the targets in DESIGN.md, measured side by side in one run (`python -m bench
run`). See bench/README.md for what each one measures and how to read the ratios."""
