"""Threshold calibration, as `manage.py calibrate_thresholds` runs it: read a labelled YOLO data
set (`dataset`, `yolo_layout`), predict it the way the workers do (`predict`), match predictions
to the labels and find per class the lowest threshold reaching a precision target (`scoring`,
`thresholds`, `targets`), and preview the review load (`calibrate`); `report` prints the result,
`offline` and `threads` keep ultralytics off the network and on every core.

The model lab (`lab.training`) builds its evaluation on these modules; nothing here imports the
lab (tests/test_service_imports.py checks it)."""
