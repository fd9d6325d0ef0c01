from django.urls import path

from . import views

urlpatterns = [
    path("", views.board_list, name="board_list"),
    path("new/", views.board_create, name="board_create"),
    path("<int:board_id>/", views.board_detail, name="board_detail"),
    path("<int:board_id>/edit/", views.board_edit, name="board_edit"),
    path("<int:board_id>/delete/", views.board_delete, name="board_delete"),
    path("<int:board_id>/slides/add/", views.slide_add, name="board_slide_add"),
    path("<int:board_id>/slides/<int:slide_id>/move/", views.slide_move, name="board_slide_move"),
    path(
        "<int:board_id>/slides/<int:slide_id>/remove/",
        views.slide_remove,
        name="board_slide_remove",
    ),
    path("<int:board_id>/links/new/", views.share_link_create, name="board_link_create"),
    path(
        "<int:board_id>/links/<int:link_id>/revoke/",
        views.share_link_revoke,
        name="board_link_revoke",
    ),
    path("<int:board_id>/present/", views.present, name="board_present"),
    path("<int:board_id>/present/refresh/", views.present_refresh, name="board_present_refresh"),
]
