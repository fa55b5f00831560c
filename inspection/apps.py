from django.apps import AppConfig


class InspectionConfig(AppConfig):
    name = "inspection"
    verbose_name = "Inspection"

    def ready(self) -> None:
        from inspection.observability import load_counters

        load_counters.install()
