"""Review UI routes, mounted at /review/."""

from django.urls import path

from inspection.ui import (
    dead_letter_views,
    grid_views,
    precision_views,
    shadow_views,
    task_views,
    views,
)

app_name = "review"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("next/", views.next_task, name="next"),
    path("grid/", grid_views.grid, name="grid"),
    path("grid/accept/", grid_views.accept, name="grid-accept"),
    path("grid/renew/", grid_views.renew, name="grid-renew"),
    path("grid/leave/", grid_views.leave, name="grid-leave"),
    path("undo/", task_views.undo_last, name="undo"),
    path("tasks/<int:task_id>/", task_views.task_page, name="task"),
    path("tasks/<int:task_id>/claim/", task_views.claim, name="claim"),
    path("tasks/<int:task_id>/decide/", task_views.decide_task, name="decide"),
    path("tasks/<int:task_id>/skip/", task_views.skip, name="skip"),
    path("tasks/<int:task_id>/renew/", task_views.renew, name="renew"),
    path("tasks/<int:task_id>/leave/", task_views.leave, name="leave"),
    path("tasks/<int:task_id>/release/", task_views.release, name="release"),
    path("tasks/<int:task_id>/upcoming/", task_views.upcoming, name="upcoming"),
    path("images/<str:image_id>/image.jpg", views.image, name="image"),
    path("images/<str:image_id>/thumb.jpg", views.thumbnail, name="thumbnail"),
    path("stats/", views.stats, name="stats"),
    path("precision/", precision_views.precision_page, name="precision"),
    path("precision/apply/", precision_views.apply, name="precision-apply"),
    path("failed/", dead_letter_views.failed_page, name="failed"),
    path("failed/replay/", dead_letter_views.replay, name="failed-replay"),
    path(
        "precision/drift/<int:alert_id>/acknowledge/",
        precision_views.acknowledge_alert,
        name="drift-acknowledge",
    ),
    path("shadow/", shadow_views.shadow_page, name="shadow"),
    path("shadow/promote/", shadow_views.promote, name="shadow-promote"),
    path("shadow/rollback/", shadow_views.roll_back, name="shadow-rollback"),
    path("exports/", views.exports, name="exports"),
    path("exports/<str:export_id>/download/", views.download_export, name="export-download"),
]
