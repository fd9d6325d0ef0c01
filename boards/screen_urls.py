"""The share-link screen, outside /o/<slug>/: no login, no session, one board only."""

from django.urls import path

from . import views

urlpatterns = [
    path("<str:token>/", views.screen, name="board_screen"),
    path("<str:token>/refresh/", views.screen_refresh, name="board_screen_refresh"),
]
