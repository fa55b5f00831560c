from django.apps import AppConfig


class LabConfig(AppConfig):
    """An app only for its management commands: no models, no migrations, nothing loaded at
    startup (the service's processes import this module and `lab` itself, nothing else)."""

    name = "lab"
    verbose_name = "Model lab"
