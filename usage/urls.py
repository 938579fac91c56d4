"""Request log pages."""

urlpatterns: list = []
