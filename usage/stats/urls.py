from django.urls import path

from usage.stats import views

urlpatterns = [
    path("", views.home, name="home"),
]
