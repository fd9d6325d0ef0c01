from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

organization_patterns = [
    path("", views.overview, name="overview"),
    path("campaigns/", include("campaigns.urls")),
    path("data/", include("metrics.urls")),
    path("catalog/", include("metrics.catalog_urls")),
    path("members/", include("kpiboard.member_urls")),
    path("imports/", include("imports.urls")),
    path("", include("dashboards.urls")),
    path("boards/", include("boards.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("organizations/new/", views.organization_new, name="organization_new"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("o/<slug:org_slug>/", include(organization_patterns)),
    path("screen/", include("boards.screen_urls")),
    path("admin/", admin.site.urls),
]
