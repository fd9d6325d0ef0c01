"""Import pages: the history, the upload, the preview (mapping, campaigns, problems, what
will change), the applied import with its KPI recompute progress, the undo.

Upload and preview update in place with htmx; every form also works without JavaScript
(the page is rendered again, or redirected to).
"""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kpiboard.tenancy import org_view

from . import selectors, services
from .forms import IGNORE, MAP_PREFIX, NOT_MATCHED, OptionsForm, UploadForm
from .models import ImportBatch
from .parsing import ParseError

CHANGES_SHOWN = 100  # values an applied import lists as replaced (the activity has them all)

LIST = "imports/import_list.html"
UPLOAD = "imports/import_upload.html"
PREVIEW = "imports/import_preview.html"
DETAIL = "imports/import_detail.html"
UNDO = "imports/import_undo.html"


def _batch(request: HttpRequest, pk: int) -> ImportBatch:
    return get_object_or_404(ImportBatch, organization=request.organization, pk=pk)


def _preview_url(request: HttpRequest, batch: ImportBatch) -> str:
    return reverse("import_preview", kwargs={"org_slug": request.organization.slug, "pk": batch.pk})


def _detail_url(request: HttpRequest, batch: ImportBatch) -> str:
    return reverse("import_detail", kwargs={"org_slug": request.organization.slug, "pk": batch.pk})


@org_view()
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    """Every import of the organization, newest first (viewers see it too)."""
    page = Paginator(selectors.import_list(organization=request.organization), 25).get_page(
        request.GET.get("page")
    )
    pending = []
    if request.membership.has_role("editor"):  # viewers see what was applied only
        pending = selectors.pending_imports(organization=request.organization)
    return render(request, LIST, {"nav_active": "imports", "page": page, "pending": pending})


@org_view("editor")
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    """Choose a file; it is kept, checked, and its preview shown."""
    organization = request.organization
    form = UploadForm(request.POST or None, request.FILES or None, organization=organization)
    problems = []
    if request.method == "POST" and form.is_valid():
        try:
            batch = services.import_upload(
                organization=organization,
                user=request.user,
                upload=form.cleaned_data["file"],
                campaign=form.cleaned_data["campaign"],
            )
        except ParseError as error:
            problems = error.problems
        else:
            if request.htmx:
                response = _render_preview(request, batch, partial=True)
                response["HX-Push-Url"] = _preview_url(request, batch)
                return response
            return redirect(_preview_url(request, batch))
    context = {
        "nav_active": "imports",
        "form": form,
        "problems": problems,
        "max_megabytes": round(settings.IMPORT_MAX_BYTES / 1_048_576),
    }
    if request.htmx:
        return render(request, UPLOAD + "#upload_result", context)
    return render(request, UPLOAD, context)


def _render_preview(
    request: HttpRequest, batch: ImportBatch, *, partial: bool, status: int = 200
) -> HttpResponse:
    organization = request.organization
    try:
        check = services.import_preview(organization=organization, batch=batch)
    except services.ImportActionError as error:
        messages.error(request, error.message)
        return redirect("import_upload", org_slug=organization.slug)
    metrics = sorted(check.metrics.values(), key=lambda m: (m.position, m.code))
    campaigns = organization.campaigns.order_by("name").only("pk", "name")
    context = {
        "nav_active": "imports",
        "batch": batch,
        "check": check,
        "metrics": metrics,
        "campaigns": campaigns,
        "channels": OptionsForm.base_fields["new_campaign_channel"].choices,
        "same_file": selectors.same_file_imports(organization=organization, batch=batch),
        "MAP_PREFIX": MAP_PREFIX,
        "IGNORE": IGNORE,
        "NOT_MATCHED": NOT_MATCHED,
    }
    template = PREVIEW + "#preview" if partial else PREVIEW
    return render(request, template, context, status=status)


@org_view("editor")
@require_http_methods(["GET", "POST"])
def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """What the file holds, what is wrong with it, what applying it would change.

    POST saves the choices (mapping, campaign, campaigns to create) and checks again.
    """
    batch = _batch(request, pk)
    if not batch.can_preview:
        return redirect(_detail_url(request, batch))
    if request.method == "POST":
        form = OptionsForm(
            request.POST,
            organization=request.organization,
            metric_codes=request.organization.metrics.values_list("code", flat=True),
        )
        if form.is_valid():
            services.import_options_save(
                organization=request.organization, batch=batch, options=form.options()
            )
        if not request.htmx:
            return redirect(_preview_url(request, batch))
    return _render_preview(request, batch, partial=bool(request.htmx))


@org_view("editor")
@require_POST
def import_apply(request: HttpRequest, pk: int) -> HttpResponse:
    """Write every value of the file in one transaction, or nothing."""
    batch = _batch(request, pk)
    if not batch.can_preview:
        return redirect(_detail_url(request, batch))
    try:
        result = services.import_apply(
            organization=request.organization, batch=batch, user=request.user
        )
    except services.ImportActionError as error:
        messages.error(request, error.message)
        return redirect(_preview_url(request, batch))
    if not result.applied:
        messages.error(request, gettext("The file has problems: nothing was written."))
        return redirect(_preview_url(request, batch))
    return redirect(_detail_url(request, batch))


def _detail_context(request: HttpRequest, batch: ImportBatch) -> dict:
    return {
        "nav_active": "imports",
        "batch": batch,
        "progress": selectors.import_progress(organization=request.organization),
    }


@org_view()
@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An import as it went: counts, the values it changed, the KPIs catching up."""
    batch = _batch(request, pk)
    if batch.status == ImportBatch.Status.PENDING:
        if request.membership.has_role("editor"):
            return redirect(_preview_url(request, batch))
        raise Http404("No such import.")
    context = _detail_context(request, batch)
    context["changes"] = selectors.batch_changes(batch=batch, limit=CHANGES_SHOWN)
    return render(request, DETAIL, context)


@org_view()
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar alone, polled by htmx until the KPIs are fresh."""
    batch = _batch(request, pk)
    if batch.status == ImportBatch.Status.PENDING:
        raise Http404("No such import.")
    if not request.htmx:
        return redirect(_detail_url(request, batch))
    return render(request, DETAIL + "#progress", _detail_context(request, batch))


@org_view("editor")
@require_http_methods(["GET", "POST"])
def import_undo(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask, then put back every value the import replaced and remove those it added."""
    batch = _batch(request, pk)
    if batch.status != ImportBatch.Status.APPLIED:
        return redirect(_detail_url(request, batch))
    if request.method == "POST":
        try:
            result = services.import_undo(
                organization=request.organization, batch=batch, user=request.user
            )
        except services.ImportActionError as error:
            messages.error(request, error.message)
        else:
            message = gettext("Import undone: %(count)s values put back as they were.") % {
                "count": result.restored
            }
            if result.kept:
                message += " " + gettext(
                    "%(count)s values changed since the import keep their later value."
                ) % {"count": result.kept}
            messages.success(request, message)
        return redirect(_detail_url(request, batch))
    return render(request, UNDO, {"nav_active": "imports", "batch": batch})
