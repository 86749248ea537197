"""Attachments kept in S3-compatible object storage (``ATTACHMENT_STORAGE = "s3"``), against a real S3 API.

The server is moto's standalone S3 server, started as a process of its own on loopback: uploads, downloads and
deletions go through the pages and the API over HTTP to it, and the tests read the bucket back with their own
boto3 client. A bucket that does not exist, or an endpoint where nothing answers, is refused with a message that
says what to check, and nothing is stored.
"""
from __future__ import annotations

import hashlib
import io
import re
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import sqlalchemy as sa

from incidents.attachment import service as attachment_service
from incidents.attachment.models import Attachment, AttachmentContent
from incidents.audit.models import AuditEntry
from incidents.extensions import db
from incidents.report import service as report_service
from incidents.review import service as review_service
from incidents.user import service as user_service
from tests import factories
from tests.attachment import files
from tests.document import builders

REGION = "eu-west-2"
KEYS = {"access_key_id": "test-key", "secret_access_key": "test-secret"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start moto's S3 server on a free loopback port for this run; stop it (this process only) at the end."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                  stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(endpoint + "/", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto's S3 server did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.2)
        yield endpoint
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _settings(endpoint: str, bucket: str, **more: Any) -> dict[str, Any]:
    return {"bucket": bucket, "endpoint_url": endpoint, "region": REGION, "prefix": "evidence/", **KEYS, **more}


@pytest.fixture()
def s3(s3_endpoint: str) -> Any:
    """The tests' own client of the server, to look in the bucket behind the app's back."""
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION, aws_access_key_id=KEYS["access_key_id"],
                        aws_secret_access_key=KEYS["secret_access_key"])


@pytest.fixture()
def bucket(s3: Any) -> str:
    """A new, empty bucket for this test."""
    name = f"evidence-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


@pytest.fixture()
def app_config(s3_endpoint: str, bucket: str) -> dict[str, Any]:
    """Attachments go to the test's bucket."""
    return {"ATTACHMENT_STORAGE": "s3", "ATTACHMENT_S3": _settings(s3_endpoint, bucket)}


@pytest.fixture()
def incident(users, now):
    made = factories.incident(actor=users["dcc"], now=now)
    db.session.commit()
    return made


def _client(app, user):
    client = app.test_client()
    assert client.post("/login", data={"email": user.email, "password": factories.PASSWORD}).status_code == 302
    return client


def _upload(client, reference, data, name, target="incident"):
    return client.post(f"/incidents/{reference}/attachments", content_type="multipart/form-data",
                       data={"target": target, "file": (io.BytesIO(data), name)})


def _page(client, reference):
    return client.get(f"/incidents/{reference}/attachments").get_data(as_text=True)


def _rows():
    db.session.expire_all()
    return (db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)),
            db.session.scalar(sa.select(sa.func.count()).select_from(AttachmentContent)))


def _objects(s3, bucket):
    return {item["Key"]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def _audited():
    return [(e.action, e.changes.get("sha256")) for e in db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.entity_type == "attachment").order_by(AuditEntry.id))]


def _dead_endpoint() -> str:
    """A loopback address where nothing listens (the port was free a moment ago)."""
    return f"http://127.0.0.1:{_free_port()}"


def test_an_upload_through_the_page_is_kept_in_the_bucket_and_downloads_as_sent(app, users, incident, s3, bucket):
    dcc = _client(app, users["dcc"])
    data = files.pdf("Carrier notice kept in S3")
    digest = hashlib.sha256(data).hexdigest()

    assert _upload(dcc, incident.reference, data, "carrier notice.pdf").status_code == 302

    attachment = db.session.scalar(sa.select(Attachment))
    assert (attachment.storage, attachment.sha256, attachment.size) == ("s3", digest, len(data))
    assert attachment.storage_key == f"evidence/{attachment.id}-{digest}"
    assert _rows() == (1, 0)  # the bytes are in the bucket, not in the database
    assert _objects(s3, bucket) == {attachment.storage_key: data}
    assert digest in _page(dcc, incident.reference)

    got = dcc.get(f"/incidents/{incident.reference}/attachments/{attachment.id}")
    assert got.status_code == 200 and got.data == data
    assert re.fullmatch(r'attachment; filename="?carrier_notice\.pdf"?', got.headers["Content-Disposition"])
    assert hashlib.sha256(got.data).hexdigest() == digest
    assert got.headers["X-Content-Type-Options"] == "nosniff"


def test_the_api_uploads_to_the_bucket_and_downloads_the_same_bytes(app, users, incident, s3, bucket):
    token = user_service.issue_token(user=users["dcc"])
    db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    data = files.png()

    made = client.post(f"/api/v1/incidents/{incident.reference}/attachments", headers=headers,
                       content_type="multipart/form-data",
                       data={"target": "incident", "file": (io.BytesIO(data), "screen.png")})

    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert list(_objects(s3, bucket).values()) == [data]
    got = client.get(body["download_url"], headers=headers)
    assert got.status_code == 200 and got.data == data
    assert got.headers["Content-Disposition"].startswith("attachment;")


def test_deletion_removes_the_object_is_audited_and_the_hash_stays_in_the_trail(app, users, incident, s3, bucket):
    dcc = _client(app, users["dcc"])
    data = files.csv()
    _upload(dcc, incident.reference, data, "restoration.csv")
    attachment = db.session.scalar(sa.select(Attachment))
    digest, ident = attachment.sha256, attachment.id
    assert len(_objects(s3, bucket)) == 1

    assert dcc.post(f"/incidents/{incident.reference}/attachments/{ident}/delete").status_code == 302

    assert _rows() == (0, 0) and _objects(s3, bucket) == {}
    assert _audited() == [("create", [None, digest]), ("delete", [digest, None])]
    assert digest in dcc.get(f"/incidents/{incident.reference}/audit").get_data(as_text=True)


def test_an_attachment_of_a_submitted_version_stays_in_the_bucket_unchanged(app, users, now, s3, bucket):
    incident = factories.incident(actor=users["dcc"], now=now)
    review_service.propose(incident=incident, exclude=False, rationale="Counted.", actor=users["dcc"], now=now)
    report_service.save_draft(incident=incident, sections=builders.SECTIONS, classification="AMBER",
                              actor=users["dcc"], now=now)
    db.session.commit()
    dcc = _client(app, users["dcc"])
    data = files.pdf("SP report")
    assert _upload(dcc, incident.reference, data, "sp-report.pdf", "report_version:1").status_code == 302
    report_service.save_draft(incident=incident, sections={**builders.SECTIONS, "impact": "Revised."},
                              classification="AMBER", actor=users["dcc"], now=now)
    report_service.submit(incident=incident, actor=users["dcc"], now=now)
    db.session.commit()
    attachment = db.session.scalar(sa.select(Attachment))
    assert attachment_service.target_name(attachment) == "report_version:2" and attachment_service.frozen(attachment)
    kept = _objects(s3, bucket)

    dcc.post(f"/incidents/{incident.reference}/attachments/{attachment.id}/delete")
    _upload(dcc, incident.reference, files.pdf("Late"), "late.pdf", "report_version:2")

    assert "frozen with its attachments" in _page(dcc, incident.reference)
    assert _rows() == (1, 0) and _objects(s3, bucket) == kept == {attachment.storage_key: data}
    assert dcc.get(f"/incidents/{incident.reference}/attachments/{attachment.id}").data == data


def test_a_missing_bucket_is_named_in_the_refusal_and_nothing_is_stored(app, users, incident, s3, s3_endpoint):
    app.config["ATTACHMENT_S3"] = _settings(s3_endpoint, "no-such-evidence-bucket")
    dcc = _client(app, users["dcc"])

    assert _upload(dcc, incident.reference, files.pdf(), "notice.pdf").status_code == 302

    page = _page(dcc, incident.reference)
    assert "The attachment store has no bucket named &#39;no-such-evidence-bucket&#39;, so nothing was stored" in page
    assert "correct &#39;bucket&#39; in ATTACHMENT_S3" in page
    assert _rows() == (0, 0) and _audited() == []
    assert "no-such-evidence-bucket" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]

    token = user_service.issue_token(user=users["dcc"])
    db.session.commit()
    api = app.test_client().post(f"/api/v1/incidents/{incident.reference}/attachments",
                                 headers={"Authorization": f"Bearer {token}"}, content_type="multipart/form-data",
                                 data={"target": "incident", "file": (io.BytesIO(files.pdf()), "notice.pdf")})
    assert api.status_code == 503 and api.mimetype == "application/problem+json"
    assert "no bucket named 'no-such-evidence-bucket', so nothing was stored" in api.get_json()["detail"]
    assert _rows() == (0, 0) and _audited() == []


def test_an_endpoint_that_does_not_answer_is_reported_and_nothing_is_stored(app, users, incident, s3, bucket):
    dead = _dead_endpoint()
    app.config["ATTACHMENT_S3"] = _settings(dead, bucket, max_attempts=1, connect_timeout=2)
    dcc = _client(app, users["dcc"])

    started = time.monotonic()
    assert _upload(dcc, incident.reference, files.pdf(), "notice.pdf").status_code == 302
    assert time.monotonic() - started < 10  # bounded waits: the person hears of it in seconds

    page = _page(dcc, incident.reference)
    assert f"The attachment store at {dead} is not answering, so nothing was stored" in page
    assert "check &#39;endpoint_url&#39; in ATTACHMENT_S3" in page
    assert _rows() == (0, 0) and _audited() == [] and _objects(s3, bucket) == {}


def test_a_store_that_stops_answering_refuses_downloads_and_deletions_clearly_and_keeps_the_record(
        app, users, incident, s3, bucket, s3_endpoint):
    dcc = _client(app, users["dcc"])
    data = files.pdf()
    _upload(dcc, incident.reference, data, "notice.pdf")
    attachment = db.session.scalar(sa.select(Attachment))
    url = f"/incidents/{incident.reference}/attachments/{attachment.id}"
    app.config["ATTACHMENT_S3"] = _settings(_dead_endpoint(), bucket, max_attempts=1, connect_timeout=2)

    got = dcc.get(url)
    assert got.status_code == 503
    assert "is not answering, so the file cannot be downloaded now" in got.get_data(as_text=True)
    assert dcc.post(f"{url}/delete").status_code == 302
    assert "is not answering, so nothing was deleted" in _page(dcc, incident.reference)
    assert _rows() == (1, 0) and [action for action, _ in _audited()] == ["create"]
    assert list(_objects(s3, bucket).values()) == [data]

    # Back again: the file is served as it was.
    app.config["ATTACHMENT_S3"] = _settings(s3_endpoint, bucket)
    assert dcc.get(url).data == data


def test_an_object_removed_behind_the_apps_back_is_reported_not_served(app, users, incident, s3, bucket):
    dcc = _client(app, users["dcc"])
    _upload(dcc, incident.reference, files.pdf(), "notice.pdf")
    attachment = db.session.scalar(sa.select(Attachment))
    s3.delete_object(Bucket=bucket, Key=attachment.storage_key)

    got = dcc.get(f"/incidents/{incident.reference}/attachments/{attachment.id}")

    assert got.status_code == 409
    assert "The stored copy of notice.pdf is missing from the attachment store" in got.get_data(as_text=True)
