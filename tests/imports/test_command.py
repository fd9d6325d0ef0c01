"""manage.py import_metrics: exit 0 with the counts, or exit 1 with every problem and
nothing written."""

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from imports.models import ImportBatch

from .conftest import FILES, snapshot, values

pytestmark = pytest.mark.django_db

D = Decimal


def command(*args):
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command("import_metrics", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(*args):
    from io import StringIO

    err = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import_metrics", *map(str, args), stdout=StringIO(), stderr=err)
    assert caught.value.returncode == 1
    return str(caught.value), err.getvalue()


def test_it_applies_a_file_and_prints_the_counts(org):
    out, err = command(
        FILES / "wine_shop_long_en.csv",
        "--org",
        "acme",
        "--create-campaigns",
        "--channel",
        "paid_social",
    )

    assert out.strip() == (
        "Applied wine_shop_long_en.csv: 144 new, 0 changed, 0 unchanged values (144 read;"
        " 2 campaign(s) created)."
    )
    assert err == ""
    assert len(values(org)) == 144
    batch = ImportBatch.objects.get(organization=org)
    assert (batch.status, batch.created_by, batch.filename) == (
        "applied",
        None,
        "wine_shop_long_en.csv",
    )


def test_a_second_run_changes_nothing(org):
    path = FILES / "wine_shop_long_en.csv"
    command(path, "--org", "acme", "--create-campaigns")

    out, _err = command(path, "--org", "acme", "--create-campaigns")

    assert "0 new, 0 changed, 144 unchanged" in out


def test_it_refuses_with_every_problem_and_writes_nothing(org, campaign, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "Month,Campaign,Clicks,Leads\n2025-01,Spring sale,1,2\nsomeday,Spring sale,x,1\n2025-02,Spring sale,3,-4\n"
    )
    before = snapshot(org)

    message, err = refused(path, "--org", "acme")

    assert err.splitlines() == [
        'line 3, column "Month": "someday": month cannot be read (write it like 2025-01, 01/2025 or janvier 2025)',
        'line 4, column "Leads": A count cannot be negative.',
    ]
    assert message == "Refused: 2 problem(s) in bad.csv; nothing was written."
    assert snapshot(org) == before
    assert ImportBatch.objects.get(organization=org).status == "refused"


def test_every_problem_is_printed_even_beyond_the_page_s_limit(org, campaign, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "Month,Campaign,Clicks\n" + "".join(f"2025-01,Spring sale,x{n}\n" for n in range(1500))
    )

    message, err = refused(path, "--org", "acme")

    assert len(err.splitlines()) == 1500
    assert "1500 problem(s)" in message


def test_a_dry_run_counts_and_writes_nothing(org, campaign, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text("Month,Clicks\n2025-01,3\n2025-02,4\n")
    before = snapshot(org)

    out, _err = command(path, "--org", "acme", "--campaign", "spring sale", "--dry-run")

    assert (
        out.strip()
        == "Dry run of ok.csv, nothing written: 2 new, 0 changed, 0 unchanged values (2 read)."
    )
    assert snapshot(org) == before
    assert not ImportBatch.objects.exists()


def test_a_dry_run_of_a_bad_file_exits_1(org, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text("Month,Clicks\n2025-01,3\n")

    _message, err = refused(path, "--org", "acme", "--dry-run")

    assert "choose the campaign" in err
    assert not ImportBatch.objects.exists()


def test_a_file_without_campaign_column_goes_to_the_campaign_named(org, campaign, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text("Mois;Clics\njanv. 2025;3\n")

    command(path, "--org", "acme", "--campaign", "Spring sale")

    assert values(org) == {("Spring sale", "clicks", "2025-01"): D("3")}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--org", "nope"], "No organization"),
        (["--org", "acme", "--campaign", "Nope"], "No campaign named"),
    ],
)
def test_it_says_what_it_cannot_find(org, args, message):
    text, _err = refused(FILES / "wine_shop_long_en.csv", *args)

    assert message in text


def test_it_says_when_the_file_is_missing(org, tmp_path):
    text, _err = refused(tmp_path / "missing.csv", "--org", "acme")

    assert "No such file" in text


@pytest.mark.django_db(transaction=True)
def test_the_process_exits_0_when_applied_and_1_when_refused(tmp_path):
    import os
    import subprocess
    import sys

    from django.conf import settings
    from django.db import connection

    from kpiboard.services import organization_create

    organization_create(name="Acme", slug="acme", currency="EUR", language="en")
    database = settings.DATABASES["default"]
    url = (
        f"postgres://{database['USER']}:{database.get('PASSWORD') or ''}@{database['HOST']}:"
        f"{database.get('PORT') or 5432}/{connection.settings_dict['NAME']}"
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("Month,Campaign,Clicks\n2025-01,Nope,1\n")
    env = os.environ | {"DATABASE_URL": url, "LOG_LEVEL": "WARNING"}

    def run(path, *extra):
        return subprocess.run(
            [sys.executable, "manage.py", "import_metrics", str(path), "--org", "acme", *extra],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    applied = run(FILES / "wine_shop_long_en.csv", "--create-campaigns")
    refused_run = run(bad)

    assert applied.returncode == 0, applied.stderr
    assert "Applied wine_shop_long_en.csv: 144 new" in applied.stdout
    assert refused_run.returncode == 1
    assert 'line 2, column "Campaign": "Nope" is not a campaign' in refused_run.stderr
