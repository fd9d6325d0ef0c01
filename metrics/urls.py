from django.urls import path

from . import views

urlpatterns = [
    path("", views.grid, name="data_grid"),
    path("cell/", views.cell_save, name="data_cell"),
    path("paste/", views.paste, name="data_paste"),
    path("history/", views.history, name="data_history"),
    path("activity/", views.activity, name="data_activity"),
    path("targets/", views.targets, name="data_targets"),
    path("targets/cell/", views.target_save, name="data_target_cell"),
]
