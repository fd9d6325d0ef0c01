from django.urls import path

from . import views

urlpatterns = [
    path("", views.import_list, name="import_list"),
    path("new/", views.import_upload, name="import_upload"),
    path("<int:pk>/", views.import_detail, name="import_detail"),
    path("<int:pk>/preview/", views.import_preview, name="import_preview"),
    path("<int:pk>/apply/", views.import_apply, name="import_apply"),
    path("<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("<int:pk>/undo/", views.import_undo, name="import_undo"),
]
