"""The learning loop on synthetic "field" data whose truth is known: images the default model
never trained on go through a facility's real pipeline, the generator's labels stand in for the
reviewers who decide the audits, and the precision report is set beside the true precision of
every auto-accepted box (`manage.py simulate_field_loop`, docs/learning.md)."""
