from django.urls import path

from . import catalog_views as views

urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("metrics/new/", views.metric_create, name="catalog_metric_create"),
    path("metrics/<int:metric_id>/edit/", views.metric_edit, name="catalog_metric_edit"),
    path("metrics/<int:metric_id>/delete/", views.metric_delete, name="catalog_metric_delete"),
    path("kpis/new/", views.kpi_create, name="catalog_kpi_create"),
    path("kpis/check/", views.formula_check, name="catalog_formula_check"),
    path("kpis/<int:kpi_id>/edit/", views.kpi_edit, name="catalog_kpi_edit"),
    path("kpis/<int:kpi_id>/delete/", views.kpi_delete, name="catalog_kpi_delete"),
]
