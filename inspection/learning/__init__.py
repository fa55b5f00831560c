"""The learning loop (issue 21): audits of auto-accepted images, and the precision they measure.

- `sampling`: which auto-accepted images are audited (a reproducible draw per image id).
- `audits`: an audit verdict; a correction changes the result and is announced.
- `precision`: Clopper-Pearson bounds and the audits still needed to certify a target.
- `ltt`: the recommended threshold per class, by fixed-sequence Learn then Test.
- `outcomes` and `report`: audit verdicts as per-box observations, and the per-class report.
- `shadow`: a facility's shadow model against its active model (agreement, and precision and
  recall against human verdicts); its writes are in inspection/services/shadow.py.

Design notes: docs/learning.md.
"""
