from django.urls import path

from dashboards.views import campaign_dashboard

from . import views

# <int:campaign_id>/ itself is kept for the campaign dashboard.
urlpatterns = [
    path("", views.campaign_list, name="campaign_list"),
    path("<int:campaign_id>/", campaign_dashboard, name="campaign_dashboard"),
    path("new/", views.campaign_create, name="campaign_create"),
    path("<int:campaign_id>/edit/", views.campaign_edit, name="campaign_edit"),
    path("<int:campaign_id>/delete/", views.campaign_delete, name="campaign_delete"),
    path("objectives/", views.objective_list, name="objective_list"),
    path("objectives/new/", views.objective_create, name="objective_create"),
    path("objectives/assist/", views.objective_assist, name="objective_assist"),
    path("objectives/<int:objective_id>/edit/", views.objective_edit, name="objective_edit"),
    path("objectives/<int:objective_id>/delete/", views.objective_delete, name="objective_delete"),
]
