"""Data entry: the monthly grid of a campaign, its cells' history, the activity of the
organization, the targets grid.

A cell is a form of its own, posted by htmx when the person leaves it (Enter, Tab, an
arrow, a click elsewhere): the answer is the cell again (saved, invalid, or in conflict
with someone else's value) plus, out of band, its row's year total and the KPI rows. Every
form also works without JavaScript: the page is rendered again, or redirected to.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext
from django.views.decorators.http import require_GET, require_POST

from campaigns.models import Campaign
from kpiboard.formatting import person_name
from kpiboard.tenancy import org_view

from . import entry_selectors, services
from .forms import (
    ActivityFilterForm,
    EntryCellForm,
    PasteForm,
    TargetCellForm,
    month_from_key,
)
from .models import KPI, Metric

GRID = "metrics/grid.html"
TARGETS = "metrics/targets.html"


def _year(text: str | None, default: int) -> int:
    try:
        year = int(text or "")
    except ValueError:
        return default
    return year if 1900 <= year <= 2999 else default


def _campaign(campaigns: list[Campaign], text: str | None) -> Campaign:
    """The campaign asked for, the first one when none is; 404 for one not listed."""
    if not text:
        return campaigns[0]
    for campaign in campaigns:
        if str(campaign.pk) == text:
            return campaign
    raise Http404("No such campaign.")


def grid_url(organization, campaign: Campaign | None, year: int) -> str:
    query = {"campaign": campaign.pk} if campaign else {}
    query["year"] = year
    return reverse("data_grid", kwargs={"org_slug": organization.slug}) + "?" + urlencode(query)


def _grid_context(request, grid, campaigns, **extra) -> dict:
    return {
        "nav_active": "data",
        "grid": grid,
        "campaign": grid.campaign,
        "campaigns": campaigns,
        "url": grid_url(request.organization, grid.campaign, grid.year),
        **extra,
    }


@org_view()
@require_GET
def grid(request: HttpRequest) -> HttpResponse:
    """A campaign's metrics by month for a year, and the KPIs they feed."""
    organization = request.organization
    campaigns = entry_selectors.campaigns_for_picker(organization=organization)
    if not campaigns:
        return render(request, GRID, {"nav_active": "data", "campaigns": []})
    campaign = _campaign(campaigns, request.GET.get("campaign"))
    year = _year(request.GET.get("year"), entry_selectors.default_year(campaign))
    target = request.htmx.target if request.htmx else None
    if target == "grid-kpis":  # the KPI rows, polled while a recompute runs
        section = entry_selectors.kpi_section(
            organization=organization, campaign=campaign, year=year
        )
        return render(request, GRID + "#kpi_body", _grid_context(request, section, campaigns))
    data = entry_selectors.entry_grid(organization=organization, campaign=campaign, year=year)
    context = _grid_context(request, data, campaigns)
    if target == "grid-metrics":  # a paste preview cancelled
        return render(request, GRID + "#grid_refresh", context)
    return render(request, GRID, context)


def _cell_response(request, cell, campaign, *, total=None, status=200) -> HttpResponse:
    """The cell alone for htmx (with its row total and the KPI rows when it was saved);
    the whole page otherwise."""
    organization = request.organization
    if request.htmx:
        context = {
            "cell": cell,
            "campaign": campaign,
            "total": total,
            "url": grid_url(organization, campaign, cell.month.year),
        }
        if total is not None:
            context["grid"] = entry_selectors.kpi_section(
                organization=organization, campaign=campaign, year=cell.month.year
            )
        return render(request, GRID + "#cell_response", context)
    if cell.state == "saved":
        messages.success(request, gettext("Saved."))
        return redirect(grid_url(organization, campaign, cell.month.year))
    campaigns = entry_selectors.campaigns_for_picker(organization=organization)
    data = entry_selectors.entry_grid(
        organization=organization,
        campaign=campaign,
        year=cell.month.year,
        overrides={(cell.metric.pk, cell.month): cell},
    )
    return render(request, GRID, _grid_context(request, data, campaigns), status=status)


def _conflict_note(state: services.CellState, metric: Metric) -> entry_selectors.ConflictNote:
    return entry_selectors.ConflictNote(
        who=person_name(state.updated_by) or gettext("someone"),
        when=state.updated_at,
        text=entry_selectors.value_text(state.value, metric.kind),
        version=state.version,
    )


@org_view("editor")
@require_POST
def cell_save(request: HttpRequest) -> HttpResponse:
    """Save one cell if nobody changed it since it was shown (optimistic concurrency)."""
    organization = request.organization
    form = EntryCellForm(request.POST, organization=organization, language=get_language())
    form.is_valid()
    if form.misplaced:
        return HttpResponseBadRequest("Unknown cell.")
    data = form.cleaned_data
    campaign, metric, month = data["campaign"], data["metric"], data["month"]
    typed = request.POST.get("value", "")

    def current():
        cell, total = entry_selectors.grid_cell(
            organization=organization, campaign=campaign, metric=metric, month=month
        )
        return cell, total

    if "value" in form.errors:
        cell, _total = current()
        cell.text, cell.state, cell.error = typed, "invalid", form.errors["value"][0]
        cell.version = data["version"]
        return _cell_response(request, cell, campaign, status=400)
    if data.get("resolve") == "theirs":
        cell, total = current()
        return _cell_response(request, cell, campaign, total=total)
    expected = data["version"]
    if data.get("resolve") == "overwrite" and data.get("current_version") is not None:
        expected = data["current_version"]
    try:
        services.entry_set(
            organization=organization,
            campaign=campaign,
            metric=metric,
            month=month,
            value=data["number"],
            expected_version=expected,
            user=request.user,
        )
    except services.Conflict as conflict:
        cell, _total = current()
        cell.text, cell.state, cell.version = typed, "conflict", data["version"]
        cell.conflict = _conflict_note(conflict.current, metric)
        return _cell_response(request, cell, campaign, status=409)
    except ValidationError as error:
        cell, _total = current()
        cell.text, cell.state, cell.error = typed, "invalid", error.messages[0]
        cell.version = data["version"]
        return _cell_response(request, cell, campaign, status=400)
    cell, total = current()
    cell.state = "saved"
    return _cell_response(request, cell, campaign, total=total)


# ------------------------------------------------------------------------------ paste


def _seen(cells) -> str:
    return ";".join(f"{c.metric.pk}:{c.month:%Y-%m}:{c.version}" for c in cells)


@org_view("editor")
@require_POST
def paste(request: HttpRequest) -> HttpResponse:
    """A block pasted from a spreadsheet: checked and shown (step "check"), then saved as
    one change (step "save"), all its cells or none."""
    organization = request.organization
    form = PasteForm(request.POST, organization=organization, language=get_language())
    valid = form.is_valid()
    if form.misplaced:
        return HttpResponseBadRequest("Unknown cell.")
    campaign, start, month = (form.cleaned_data[k] for k in ("campaign", "metric", "month"))
    campaigns = entry_selectors.campaigns_for_picker(organization=organization)
    data = entry_selectors.entry_grid(organization=organization, campaign=campaign, year=month.year)
    cells = {(c.metric.pk, c.month): c for row in data.rows for c in row.cells}
    bar = {"start": cells[(start.pk, month)], "text": form.data.get("text", "")}
    context = _grid_context(request, data, campaigns, paste=bar)
    if not valid:
        errors = form.errors.get("__all__") or form.errors.get("text") or []
        bar["error"] = errors[0] if errors else gettext("The pasted text cannot be read.")
        return _paste_response(request, context)
    block = form.cleaned_data["block"]
    shown = [cells[(c.metric.pk, c.month)] for c in block.cells]
    bar.update(rows=block.rows, columns=block.columns, invalid=[], conflicts=[])
    if block.errors or form.cleaned_data.get("step") != "save":
        _paste_preview(bar, block, shown)
        return _paste_response(request, context)
    seen = form.seen_versions()
    writes = [
        services.CellWrite(c.metric.pk, c.month, c.value, seen.get((c.metric.pk, c.month), 0))
        for c in block.cells
    ]
    try:
        result = services.entries_paste(
            organization=organization, campaign=campaign, cells=writes, user=request.user
        )
    except services.Conflict as conflict:
        _paste_conflicts(bar, block, shown, conflict)
        return _paste_response(request, context)
    except ValidationError as error:  # the catalog changed since the check
        bar["error"] = error.messages[0]
        return _paste_response(request, context)
    # Saved: the grid as now stored, the pasted cells marked.
    data = entry_selectors.entry_grid(organization=organization, campaign=campaign, year=month.year)
    cells = {(c.metric.pk, c.month): c for row in data.rows for c in row.cells}
    for pasted in block.cells:
        cells[(pasted.metric.pk, pasted.month)].state = "saved"
    bar["saved"] = result.created + result.updated + result.deleted
    bar["start"] = cells[(start.pk, month)]
    return _paste_response(request, _grid_context(request, data, campaigns, paste=bar))


def _paste_preview(bar: dict, block, shown) -> None:
    """Put the pasted values in their cells (bad ones flagged), count what would change."""
    changes = 0
    for pasted, cell in zip(block.cells, shown, strict=True):
        if pasted.error:
            cell.text, cell.state, cell.error = pasted.text, "invalid", pasted.error
            cell.readonly = True
            bar["invalid"].append(cell)
        else:
            changes += cell.value != pasted.value
            _show_pasted(cell, pasted)
    bar["cells"], bar["changes"] = len(block.cells), changes
    bar["seen"] = _seen(shown)


def _paste_conflicts(bar: dict, block, shown, conflict: services.Conflict) -> None:
    """Show the block again, each cell someone changed meanwhile with their value; saving
    again now replaces the values shown (their versions are the ones sent back)."""
    states = {(s.metric_id, s.month): s for s in conflict.cells}
    for pasted, cell in zip(block.cells, shown, strict=True):
        _show_pasted(cell, pasted)
        state = states.get((cell.metric.pk, cell.month))
        if state is not None:
            cell.state = "conflict"
            cell.conflict = _conflict_note(state, cell.metric)
            bar["conflicts"].append(cell)
    bar["seen"] = _seen(shown)


def _show_pasted(cell, pasted) -> None:
    cell.was = cell.text
    cell.text = entry_selectors.value_text(pasted.value, cell.metric.kind)
    cell.state, cell.readonly = "pasted", True


def _paste_response(request, context) -> HttpResponse:
    if request.htmx:
        return render(request, GRID + "#grid_refresh", context)
    return render(request, GRID, context)


# ------------------------------------------------------------------------------ history


def _cell_from_query(request):
    organization = request.organization
    campaign = get_object_or_404(
        Campaign, organization=organization, pk=_int(request.GET.get("campaign"))
    )
    metric = get_object_or_404(
        Metric, organization=organization, pk=_int(request.GET.get("metric"))
    )
    month = month_from_key(request.GET.get("month", ""))
    if month is None:
        raise Http404("No such month.")
    return campaign, metric, month


def _int(text: str | None) -> int:
    try:
        return int(text or "")
    except ValueError:
        raise Http404("Not a number.") from None


@org_view()
@require_GET
def history(request: HttpRequest) -> HttpResponse:
    """Every change to one cell: who, when, from where, from what to what."""
    campaign, metric, month = _cell_from_query(request)
    organization = request.organization
    cell, _total = entry_selectors.grid_cell(
        organization=organization, campaign=campaign, metric=metric, month=month
    )
    context = {
        "nav_active": "data",
        "campaign": campaign,
        "metric": metric,
        "month": month,
        "cell": cell,
        "changes": entry_selectors.cell_history(
            organization=organization, campaign=campaign, metric=metric, month=month
        ),
        "limit": entry_selectors.HISTORY_LIMIT,
        "back": grid_url(organization, campaign, month.year),
    }
    if request.htmx:
        return render(request, "metrics/history.html#panel", context)
    return render(request, "metrics/history.html", context)


@org_view()
@require_GET
def activity(request: HttpRequest) -> HttpResponse:
    """The organization's value changes, filterable by person, campaign and source."""
    organization = request.organization
    people = entry_selectors.people(organization=organization)
    form = ActivityFilterForm(request.GET or None, organization=organization, people=people)
    filters = form.cleaned_data if form.is_valid() else {}
    changes = entry_selectors.activity(
        organization=organization,
        person=filters.get("person") or None,
        campaign=filters["campaign"].pk if filters.get("campaign") else None,
        source=filters.get("source") or None,
    )
    page = Paginator(changes, 50).get_page(request.GET.get("page"))
    context = {
        "nav_active": "activity",
        "form": form,
        "page": page,
        "rows": entry_selectors.activity_rows(page.object_list),
        "filtered": bool(filters and any(filters.values())),
    }
    return render(request, "metrics/activity.html", context)


# ------------------------------------------------------------------------------ targets


def targets_url(organization, campaign: Campaign | None, year: int) -> str:
    query = {"campaign": campaign.pk if campaign else "", "year": year}
    return reverse("data_targets", kwargs={"org_slug": organization.slug}) + "?" + urlencode(query)


def _targets_context(request, campaign, year, campaigns, overrides=None) -> dict:
    organization = request.organization
    return {
        "nav_active": "data",
        "campaign": campaign,
        "campaigns": campaigns,
        "year": year,
        "heads": entry_selectors.month_heads(entry_selectors.year_months(year)),
        "rows": entry_selectors.target_grid(
            organization=organization, campaign=campaign, year=year, overrides=overrides
        ),
        "grid_link": grid_url(organization, campaign, year) if campaign else None,
    }


@org_view()
@require_GET
def targets(request: HttpRequest) -> HttpResponse:
    """Targets per KPI per month, for all campaigns or for one, in the grid's style."""
    campaigns = entry_selectors.campaigns_for_picker(organization=request.organization)
    text = request.GET.get("campaign")
    campaign = _campaign(campaigns, text) if text else None
    year = _year(request.GET.get("year"), timezone.localdate().year)
    return render(request, TARGETS, _targets_context(request, campaign, year, campaigns))


def _target_response(request, cell, campaign, status=200) -> HttpResponse:
    if request.htmx:
        return render(request, TARGETS + "#target_cell", {"cell": cell, "campaign": campaign})
    year = cell.month.year
    if cell.state == "saved":
        messages.success(request, gettext("Saved."))
        return redirect(targets_url(request.organization, campaign, year))
    campaigns = entry_selectors.campaigns_for_picker(organization=request.organization)
    context = _targets_context(
        request, campaign, year, campaigns, overrides={(cell.kpi.pk, cell.month): cell}
    )
    return render(request, TARGETS, context, status=status)


@org_view("editor")
@require_POST
def target_save(request: HttpRequest) -> HttpResponse:
    """Save one target if it is still the one shown (no one changed it meanwhile)."""
    organization = request.organization
    form = TargetCellForm(request.POST, organization=organization, language=get_language())
    form.is_valid()
    if form.misplaced:
        return HttpResponseBadRequest("Unknown cell.")
    data = form.cleaned_data
    kpi: KPI = data["kpi"]
    campaign, month = data.get("campaign"), data["month"]
    typed = request.POST.get("value", "")

    def current():
        return entry_selectors.target_cell(
            organization=organization, kpi=kpi, campaign=campaign, month=month
        )

    if "value" in form.errors:
        cell = current()
        cell.text, cell.state, cell.error = typed, "invalid", form.errors["value"][0]
        cell.value = data.get("expected")
        return _target_response(request, cell, campaign, status=400)
    if data.get("resolve") == "theirs":
        return _target_response(request, current(), campaign)
    expected = data.get("expected")
    if data.get("resolve") == "overwrite":
        expected = data.get("current")
    try:
        services.target_set(
            organization=organization,
            kpi=kpi,
            campaign=campaign,
            month=month,
            value=data["number"],
            expected=expected,
        )
    except services.Conflict as conflict:
        cell = current()
        theirs = entry_selectors.target_text(conflict.value)
        cell.conflict = entry_selectors.ConflictNote(
            who="", when=None, text=theirs, version=conflict.version
        )
        cell.current = cell.expected  # what "overwrite" replaces
        cell.value = data.get("expected")
        cell.text, cell.state = typed, "conflict"
        return _target_response(request, cell, campaign, status=409)
    except ValidationError as error:
        cell = current()
        cell.text, cell.state, cell.error = typed, "invalid", error.messages[0]
        cell.value = data.get("expected")
        return _target_response(request, cell, campaign, status=400)
    cell = current()
    cell.state = "saved"
    return _target_response(request, cell, campaign)
