"""Review UI routes, mounted at /review/."""

from django.urls import path

from inspection.ui import views

app_name = "review"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("next/", views.next_task, name="next"),
    path("tasks/<int:task_id>/", views.task_page, name="task"),
    path("tasks/<int:task_id>/claim/", views.claim, name="claim"),
    path("tasks/<int:task_id>/decide/", views.decide_task, name="decide"),
    path("tasks/<int:task_id>/renew/", views.renew, name="renew"),
    path("tasks/<int:task_id>/release/", views.release, name="release"),
    path("images/<str:image_id>/image.jpg", views.image, name="image"),
    path("stats/", views.stats, name="stats"),
    path("exports/", views.exports, name="exports"),
    path("exports/<str:export_id>/download/", views.download_export, name="export-download"),
]
