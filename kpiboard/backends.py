"""Authentication: the person with their memberships, in one query.

Every organization page needs both the person (the session names them) and their memberships
(which organizations, with what role, and each organization's data version, which keys the
cached pages): this backend reads them together when the session is opened. The query is
written in SQL once, from the models' metadata: on a page served from the cache, composing
two ORM queries would take longer than everything else the request does.
"""

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import connection

from .models import DataVersion, Membership, Organization


class MembershipsBackend(ModelBackend):
    """ModelBackend (same log-in, same permissions) whose user arrives with
    `loaded_memberships`, which kpiboard.tenancy.user_memberships returns."""

    def get_user(self, user_id):
        user = user_with_memberships(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


def user_with_memberships(user_id):
    """The user (None if there is none) with `loaded_memberships`: theirs, each with its
    organization and that organization's data version, by organization name."""
    sql, converters = _query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id])
        rows = [_split(row, converters) for row in cursor.fetchall()]
    if not rows:
        return None
    user = get_user_model().from_db(connection.alias, None, rows[0][0])
    user.loaded_memberships = []
    for _user, membership, organization, version in rows:
        if membership[0] is None:  # the LEFT JOIN's row of someone with no membership
            continue
        m = Membership.from_db(connection.alias, None, membership)
        o = Organization.from_db(connection.alias, None, organization)
        v = DataVersion.from_db(connection.alias, None, version) if version[0] else None
        Organization.data_version.related.set_cached_value(o, v)  # None: no row yet
        m.user, m.organization = user, o
        user.loaded_memberships.append(m)
    return user


def _split(row, models) -> list[list]:
    """The row cut into each model's values, converted as the ORM converts them (SQLite, the
    embedded mode, returns dates and decimals as text)."""
    result, start = [], 0
    for converters in models:
        values = list(row[start : start + len(converters)])
        start += len(converters)
        for index, (column, functions) in enumerate(converters):
            for function in functions:
                values[index] = function(values[index], column, connection)
        result.append(values)
    return result


@cache
def _query():
    """The SQL, and for each model its columns with their converters (a process uses one
    database)."""
    qn = connection.ops.quote_name
    user_model = get_user_model()
    models = ((user_model, "u"), (Membership, "m"), (Organization, "o"), (DataVersion, "v"))
    columns, converters = [], []
    for model, alias in models:
        converters.append([])
        for field in model._meta.concrete_fields:
            columns.append(f"{alias}.{qn(field.column)}")
            column = field.get_col(alias)
            functions = connection.ops.get_db_converters(column)
            converters[-1].append((column, functions + column.get_db_converters(connection)))
    user_id = qn(user_model._meta.pk.column)
    sql = (
        f"SELECT {', '.join(columns)} FROM {qn(user_model._meta.db_table)} u"  # noqa: S608
        f" LEFT JOIN {qn(Membership._meta.db_table)} m ON m.user_id = u.{user_id}"
        f" LEFT JOIN {qn(Organization._meta.db_table)} o ON o.id = m.organization_id"
        f" LEFT JOIN {qn(DataVersion._meta.db_table)} v ON v.organization_id = o.id"
        f" WHERE u.{user_id} = %s ORDER BY o.name, m.id"
    )
    return sql, converters
