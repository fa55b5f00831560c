"""Synthetic warehouse photos for training and demonstrating the parcel detector.

Pure numpy/OpenCV (no Django): `generate_dataset` writes a seeded, deterministic YOLO dataset of
conveyor, floor and racking scenes with parcels, shipping labels and damage, degraded by capture
problems in configurable proportions; `demo_samples` writes the bundled demo batch.
"""

from lab.synthetic.dataset import Summary, generate_dataset, generate_example
from lab.synthetic.plan import TINY_RESOLUTIONS, GeneratorConfig
from lab.synthetic.problems import ProblemMix

__all__ = [
    "TINY_RESOLUTIONS",
    "GeneratorConfig",
    "ProblemMix",
    "Summary",
    "generate_dataset",
    "generate_example",
]
