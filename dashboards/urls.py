from django.urls import path

from . import views

# Included at the root of an organization (/o/<slug>/); the campaign page is in
# campaigns/urls.py (/o/<slug>/campaigns/<id>/) and the overview in kpiboard/urls.py.
urlpatterns = [
    path("kpis/", views.kpi_list, name="kpi_list"),
    path("kpis/<int:kpi_id>/", views.kpi_detail, name="kpi_detail"),
    path("kpis/<int:kpi_id>/benchmarks/", views.benchmarks, name="kpi_benchmarks"),
    path(
        "kpis/<int:kpi_id>/benchmarks/<int:benchmark_id>/delete/",
        views.benchmark_delete,
        name="kpi_benchmark_delete",
    ),
    path("channels/", views.channels, name="channels"),
]
