"""Static files in production: hashed addresses from the manifest, each computed once."""

import json

from kpiboard.storage import StaticFilesStorage


def test_a_static_address_is_hashed_and_computed_once(tmp_path, settings):
    settings.DEBUG = False
    (tmp_path / "staticfiles.json").write_text(
        json.dumps({"version": "1.1", "paths": {"css/app.css": "css/app.0123abcd.css"}})
    )
    storage = StaticFilesStorage(location=tmp_path, base_url="/static/")
    assert storage.url("css/app.css") == "/static/css/app.0123abcd.css"
    storage.hashed_files = {}  # the manifest is not read again
    assert storage.url("css/app.css") == "/static/css/app.0123abcd.css"
