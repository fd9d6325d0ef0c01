"""French and English from the first line: every string of ours is translated into French,
and the compiled catalog we ship matches the sources (the install does not compile it)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
SOURCES = ["kpiboard", "campaigns", "metrics", "imports", "dashboards", "boards", "templates",
           "manage.py"]  # fmt: skip


def catalog(path):
    with path.open("rb") as f:
        return read_po(f) if path.suffix == ".po" else read_mo(f)


def entries(path) -> dict:
    """(context, msgid) -> translation, plural forms as tuples."""

    def key(value):
        return tuple(value) if isinstance(value, (list, tuple)) else value

    def context(value):  # Babel reads .mo contexts as bytes
        return value.decode() if isinstance(value, bytes) else value

    return {(context(m.context), key(m.id)): key(m.string) for m in catalog(path) if m.id}


def test_every_french_message_is_translated():
    untranslated = [
        m.id for m in catalog(PO)
        if m.id and not (all(m.string) if isinstance(m.string, (list, tuple)) else m.string)
    ]  # fmt: skip
    fuzzy = [m.id for m in catalog(PO) if m.id and m.fuzzy]
    assert not untranslated, f"{len(untranslated)} untranslated: {untranslated[:10]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy: {fuzzy[:10]}"


def test_the_shipped_compiled_catalog_matches_the_translations():
    assert entries(MO) == entries(PO), (
        "run `make messages` to compile locale/fr/LC_MESSAGES/django.mo"
    )


def test_no_string_of_ours_is_missing_from_the_catalog(tmp_path):
    if not shutil.which("xgettext"):
        pytest.fail("gettext is missing: `make install` installs it.")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name,
                            ignore=shutil.ignore_patterns("__pycache__", "vendor"))  # fmt: skip
        elif source.exists():
            shutil.copy(source, tmp_path / name)
    (tmp_path / "locale" / "fr" / "LC_MESSAGES").mkdir(parents=True)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "fr", "--no-location",
         "--no-obsolete"],
        cwd=tmp_path, check=True, capture_output=True,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "kpiboard.settings",
             "PYTHONPATH": str(tmp_path)},  # the copy, so its settings point at the copy
    )  # fmt: skip
    extracted = set(entries(tmp_path / "locale/fr/LC_MESSAGES/django.po"))
    known = set(entries(PO))
    missing = extracted - known
    assert not missing, f"not in django.po ({len(missing)}): {sorted(missing, key=str)[:10]}"
