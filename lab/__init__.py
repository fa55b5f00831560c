"""The model lab: the synthetic photo generator (`lab.synthetic`) and the training and evaluation
tools of the default model (`lab.training`), with their management commands (generate_dataset,
train_default_model, evaluate_model).

The lab builds on the service (its preprocessing, model loader and threshold calibration in
`inspection.calibration`); the service never imports the lab (tests/test_service_imports.py)."""
