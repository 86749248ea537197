"""The import page (DCC) and the command: dry run first, then the import; refused for other roles."""
from __future__ import annotations

import io

import sqlalchemy as sa

from incidents.extensions import db
from incidents.incident.models import Incident
from tests.importer.test_service import incident_rows, ref, to_csv


def _post(client, data: bytes, *, dry_run: bool, name: str = "export.csv"):
    form = {"file": (io.BytesIO(data), name)}
    if dry_run:
        form["dry_run"] = "y"
    return client.post("/incidents/import", data=form, content_type="multipart/form-data")


def test_the_dcc_tries_then_imports_an_export(app, users, auth, client):
    auth.login(users["dcc"])
    data = to_csv(incident_rows(1))
    # The incident list links to the import page (the menu keeps to the pages people go to every day).
    assert 'href="/incidents/import"' in client.get("/incidents/").get_data(as_text=True)
    assert client.get("/incidents/import").status_code == 200

    dry = _post(client, data, dry_run=True)

    assert dry.status_code == 200
    assert "Dry run: nothing changed" in dry.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Incident)) == 0

    real = _post(client, data, dry_run=False)

    assert real.status_code == 200
    html = real.get_data(as_text=True)
    assert "Imported" in html and "created" in html
    assert db.session.scalar(sa.select(Incident.reference)) == ref(1)


def test_a_bad_file_is_refused_with_a_message(app, users, auth, client):
    auth.login(users["dcc"])
    answer = _post(client, b"\xff\xfe\x00", dry_run=True)
    assert answer.status_code == 422
    assert "not UTF-8" in answer.get_data(as_text=True)
    assert client.post("/incidents/import", data={}).status_code == 422


def test_other_roles_may_not_import(app, users, auth, client):
    for role in ("secas", "opsg", "party"):
        auth.login(users[role])
        assert client.get("/incidents/import").status_code == 403
        assert _post(client, to_csv(incident_rows(1)), dry_run=False).status_code == 403
        auth.logout()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Incident)) == 0


def test_the_command_dry_runs_then_imports(app, users, runner, tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(to_csv(incident_rows(1)))

    dry = runner.invoke(args=["incidents", "import", str(path), "--dry-run", "--actor", users["dcc"].email])

    assert dry.exit_code == 0, dry.output
    assert "Dry run, nothing changed" in dry.output and "line 2\tINC000000000001\tincident\tcreated" in dry.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Incident)) == 0

    real = runner.invoke(args=["incidents", "import", str(path), "--actor", users["dcc"].email])
    again = runner.invoke(args=["incidents", "import", str(path), "--actor", users["dcc"].email])

    assert real.exit_code == 0 and "Imported:" in real.output
    assert "0 created, 0 changed, 1 unchanged" in again.output
    refused = runner.invoke(args=["incidents", "import", str(path), "--actor", users["party"].email])
    assert refused.exit_code != 0
