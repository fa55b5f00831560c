"""REST API v1 routes."""

from django.urls import path

urlpatterns: list = []
