"""Dead letters: the failed images (retries or attempts exhausted, inference errors, bad
uploads), listed with their reasons for the page and the API (`selectors`), and replayed by one
image, one batch or every failed image of a reason, optionally against another model version,
idempotently and audited (`replays`). The reset itself is inspection.pipeline.replay."""
