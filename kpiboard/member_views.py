"""The members page: admins add people by username or e-mail, change roles, remove people."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from campaigns.forms import add_service_errors

from . import services
from .member_forms import MemberAddForm, MemberRoleForm
from .models import Membership, Role
from .tenancy import org_view


def _members_page(request: HttpRequest, add_form: MemberAddForm, status: int = 200):
    members = (
        Membership.objects.filter(organization=request.organization)
        .select_related("user")
        .order_by("user__username")
    )
    rows = [(m, MemberRoleForm(initial={"role": m.role}, prefix=f"m{m.pk}")) for m in members]
    context = {
        "nav_active": "members",
        "rows": rows,
        "add_form": add_form,
        "admin_count": sum(1 for m in members if m.role == Role.ADMIN),
    }
    return render(request, "kpiboard/members.html", context, status=status)


@org_view("admin")
def members(request: HttpRequest) -> HttpResponse:
    return _members_page(request, MemberAddForm())


@org_view("admin")
@require_POST
def member_add(request: HttpRequest) -> HttpResponse:
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            membership = services.member_add(
                organization=request.organization,
                identifier=form.cleaned_data["identifier"],
                role=form.cleaned_data["role"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("%(name)s joined as %(role)s.")
                % {
                    "name": membership.user.get_username(),
                    "role": membership.get_role_display().lower(),
                },
            )
            return redirect("members", org_slug=request.organization.slug)
    return _members_page(request, form, status=400)


@org_view("admin")
@require_POST
def member_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    organization = request.organization
    membership = get_object_or_404(Membership, organization=organization, pk=membership_id)
    form = MemberRoleForm(request.POST, prefix=f"m{membership.pk}")
    if not form.is_valid():
        messages.error(request, _("Choose a role."))
        return redirect("members", org_slug=organization.slug)
    try:
        membership = services.member_role_change(
            organization=organization, membership=membership, role=form.cleaned_data["role"]
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect("members", org_slug=organization.slug)
    messages.success(
        request,
        _("%(name)s is now %(role)s.")
        % {"name": membership.user.get_username(), "role": membership.get_role_display().lower()},
    )
    if membership.user_id == request.user.pk and membership.role != Role.ADMIN:
        return redirect("overview", org_slug=organization.slug)  # no longer sees this page
    return redirect("members", org_slug=organization.slug)


@org_view("admin")
@require_http_methods(["GET", "POST"])
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    organization = request.organization
    membership = get_object_or_404(
        Membership.objects.select_related("user"), organization=organization, pk=membership_id
    )
    refusal = None
    if request.method == "POST":
        try:
            services.member_remove(organization=organization, membership=membership)
        except ValidationError as error:
            refusal = error.messages[0]
        else:
            name = membership.user.get_username()
            messages.success(
                request,
                _("%(name)s no longer belongs to %(org)s.")
                % {"name": name, "org": organization.name},
            )
            if membership.user_id == request.user.pk:
                return redirect("home")
            return redirect("members", org_slug=organization.slug)
    is_last_admin = (
        membership.role == Role.ADMIN
        and not Membership.objects.filter(organization=organization, role=Role.ADMIN)
        .exclude(pk=membership.pk)
        .exists()
    )
    context = {
        "nav_active": "members",
        "member": membership,
        "refusal": refusal,
        "is_last_admin": is_last_admin,
        "is_self": membership.user_id == request.user.pk,
    }
    return render(request, "kpiboard/members_remove.html", context, status=409 if refusal else 200)
