from django.urls import path

from inspection.analytics import views

app_name = "analytics"
urlpatterns = [path("", views.dashboard, name="dashboard")]
