from .tenancy import user_memberships


def tenancy(request):
    """The organization being viewed, the person's role there, and the switcher's list."""
    organization = getattr(request, "organization", None)
    membership = getattr(request, "membership", None)
    return {
        "organization": organization,
        "membership": membership,
        "can_edit": bool(membership and membership.has_role("editor")),
        "is_admin": bool(membership and membership.has_role("admin")),
        "memberships": getattr(request, "memberships", None)
        or (user_memberships(request.user) if hasattr(request, "user") else []),
    }
