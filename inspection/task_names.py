"""The names of the Celery tasks that are not pipeline stages (the stages' are in
pipeline/stages.py). Workers register the tasks by these names (tasks/), publishers send them,
and beat schedules them (config/celery_config.py). No imports: Celery's configuration reads this
before Django's apps are loaded."""

SWEEP_STALLED = "inspection.sweep_stalled"
DELIVER_WEBHOOK = "inspection.deliver_webhook"
REPUBLISH_WEBHOOKS = "inspection.republish_due_webhooks"
BUILD_EXPORT = "inspection.build_export"
SWEEP_EXPORTS = "inspection.sweep_exports"
CHECK_DRIFT = "inspection.check_drift"
