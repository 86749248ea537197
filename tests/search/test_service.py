"""Full-text search: ranked, stemmed, highlighted safely, in step with edits, and filtered as the pages are."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from incidents.errors import ValidationError
from incidents.extensions import db
from incidents.incident.models import TimelineEntry, TimelineKind
from incidents.report import service as report_service
from incidents.report.models import Classification
from incidents.review import service as review_service
from incidents.review.models import ExclusionReview
from incidents.search import service as search_service
from incidents.user import service as user_service
from tests import factories

REAL_CASE = "INC000001001905"


def _demo_user(role: str):
    user = user_service.find_by_email(f"{role}@demo.example")
    assert user is not None
    return user


def test_more_mentions_rank_higher_and_words_match_by_stem(app, users):
    dcc = users["dcc"]
    weak = factories.incident(actor=dcc, title="Router fault in the north",
                              cause="A router fault; a reboot of the gateway fixed it.", impact="Some delay.")
    strong = factories.incident(actor=dcc, title="Gateway reboots failed", cause="Gateway rebooted twice; gateways "
                                "kept rebooting.", impact="Gateway reboot needed on site.")
    db.session.commit()

    hits = search_service.search("gateway reboot", viewer=dcc).hits

    assert [hit.reference for hit in hits[:2]] == [strong.reference, weak.reference]
    assert hits[0].rank > hits[1].rank
    # "reboot" found "reboots", "rebooted" and "rebooting": English stemming on both engines.
    assert "<mark>" in str(hits[0].snippet)


def test_snippet_is_escaped_and_only_matched_words_are_marked(app, users):
    factories.incident(actor=users["dcc"], title="<script>alert(1)</script> carrier <mark>x</mark>",
                       cause="The carrier's <b>core</b> failed \ue001 \ue000 & recovered.")
    db.session.commit()

    hits = search_service.search("carrier", viewer=users["dcc"]).hits

    snippet = str(hits[0].snippet)
    assert "<script>" not in snippet and "<b>" not in snippet
    # SQLite shows the text as written, escaped; PostgreSQL's parser drops tags from a headline altogether.
    assert "&lt;script&gt;" in snippet or "script" not in snippet
    assert "<mark>carrier</mark>" in snippet
    # Marks are ours alone and always balanced, whatever private-use characters the text holds.
    assert snippet.count("<mark>") == snippet.count("</mark>")


def test_edits_and_deletes_are_searchable_at_once(app, users):
    dcc = users["dcc"]
    incident = factories.incident(actor=dcc, title="Heartbeat loss")
    db.session.add(TimelineEntry(incident=incident, occurred_at=incident.started_at + timedelta(minutes=5),
                                 kind=TimelineKind.UPDATE, text="Fibre cut near Swindon confirmed."))
    db.session.commit()
    assert [h.kind for h in search_service.search("swindon", viewer=dcc).hits] == ["timeline"]

    incident.title = "Firmware rollback"
    db.session.execute(sa.delete(TimelineEntry).where(TimelineEntry.incident_id == incident.id))
    db.session.commit()

    assert search_service.search("heartbeat", viewer=dcc).hits == []
    assert search_service.search("swindon", viewer=dcc).hits == []
    assert [h.reference for h in search_service.search("rollback", viewer=dcc).hits] == [incident.reference]


def test_only_the_latest_report_version_is_searched(app, demo):
    dcc = _demo_user("dcc")
    incident = factories.incident(actor=dcc, category=1)
    db.session.commit()
    report_service.save_draft(incident=incident, sections={"summary": "Kestrel draft wording."},
                              classification=Classification.AMBER, actor=dcc)
    db.session.commit()
    assert [h.kind for h in search_service.search("kestrel", viewer=dcc).hits] == ["report"]
    etag = report_service.report_etag(review_service.get_review(incident))
    report_service.save_draft(incident=incident, sections={"summary": "Osprey wording."},
                              classification=Classification.AMBER, actor=dcc, expected=etag)
    db.session.commit()

    assert search_service.search("kestrel", viewer=dcc).hits == []
    [hit] = search_service.search("osprey", viewer=dcc).hits
    assert hit.label == "Review Report, version 2" and hit.values == {"reference": incident.reference, "version": 2}


def test_a_party_finds_only_published_editions(app, demo):
    party, secas = _demo_user("party"), _demo_user("secas")

    hits = search_service.search("power cut", viewer=party).hits  # the live demo's published report

    assert hits and {hit.kind for hit in hits} == {"publication"}
    assert {hit.endpoint for hit in hits} == {"report.published_report"}
    # The internal record holds far more: the incident, its timeline, rationales, SECAS reviews, decisions.
    inside = {hit.kind for hit in search_service.search("carrier", viewer=secas).hits}
    assert {"incident", "timeline", "rationale"} <= inside


def test_a_secas_comment_is_invisible_to_a_party(app, demo):
    party, secas = _demo_user("party"), _demo_user("secas")
    answer = db.session.scalars(sa.select(ExclusionReview).order_by(ExclusionReview.id)).first()
    assert answer is not None
    answer.comment = "Ptarmigan question for the DCC."
    db.session.commit()

    assert [hit.kind for hit in search_service.search("ptarmigan", viewer=secas).hits] == ["secas_comment"]
    assert search_service.search("ptarmigan", viewer=party).hits == []


def test_an_unpublished_incident_and_a_draft_are_invisible_to_a_party(app, demo):
    party, dcc = _demo_user("party"), _demo_user("dcc")
    incident = factories.incident(actor=dcc, title="Merganser outage", category=1)
    db.session.commit()
    report_service.save_draft(incident=incident, sections={"summary": "Merganser draft."}, classification=Classification.AMBER,
                              actor=dcc)
    db.session.commit()

    assert {h.kind for h in search_service.search("merganser", viewer=dcc).hits} == {"incident", "report"}
    assert search_service.search("merganser", viewer=party).hits == []


@pytest.mark.parametrize(("q", "field", "message"), [
    ("", "q", "Enter the words"),
    ("   ", "q", "Enter the words"),
    ("x" * 201, "q", "at most 200"),
    ("a\x00b", "q", "null character"),
    ('"" - -', "q", "at least one word"),
])
def test_a_bad_query_says_what_to_fix(app, users, q, field, message):
    with pytest.raises(ValidationError) as caught:
        search_service.search(q, viewer=users["dcc"])
    assert message in caught.value.errors[field][0]


def test_search_syntax_never_reaches_the_engine_as_syntax(app, users):
    factories.incident(actor=users["dcc"], title="Carrier NEAR outage")
    db.session.commit()
    for q in ['carrier OR', 'NEAR(carrier outage)', 'title:carrier', 'carrier*', '"carrier', "carrier -", "carrier '; --",
              "carrier or outage", '-"national grid" carrier', "^carrier AND"]:
        results = search_service.search(q, viewer=users["dcc"])
        assert all(hit.kind == "incident" for hit in results.hits), q


def test_a_phrase_and_an_excluded_word(app, users):
    dcc = users["dcc"]
    both = factories.incident(actor=dcc, title="Carrier outage north", cause="Core network failure.")
    other = factories.incident(actor=dcc, title="Outage of the carrier", cause="Core network failure south.")
    db.session.commit()

    assert [h.reference for h in search_service.search('"carrier outage"', viewer=dcc).hits] == [both.reference]
    assert [h.reference for h in search_service.search("carrier -south", viewer=dcc).hits] == [both.reference]
    assert {h.reference for h in search_service.search("north or south", viewer=dcc).hits} == {both.reference,
                                                                                                other.reference}


def test_only_the_newest_matches_are_ranked_whichever_way_they_are_found(app, users, monkeypatch):
    dcc = users["dcc"]
    made = [factories.incident(actor=dcc, title=f"Gateway reboot {n}", cause="A gateway reboot.") for n in range(4)]
    db.session.commit()
    # Two ranked, found among the newest row (walking the table) and below it (the index): the two newest.
    monkeypatch.setattr(search_service, "RANK_CAP", 2)
    monkeypatch.setattr(search_service, "RECENT_ROWS", 1)
    monkeypatch.setattr(search_service, "WALK_ROWS", -2)

    hits = search_service.search("gateway", viewer=dcc).hits

    assert {hit.reference for hit in hits if hit.kind == "incident"} == {made[2].reference, made[3].reference}


@pytest.mark.parametrize("walked", [False, True], ids=["index", "walk-then-index"])
def test_an_excluded_word_leaves_out_every_row_that_holds_it_however_the_rows_are_found(app, users, monkeypatch,
                                                                                         walked):
    dcc = users["dcc"]
    made = [factories.incident(actor=dcc, title=f"Tariff update {n} delayed",
                               cause=("Prepayment meters missed the new prices." if n % 3 == 0 else
                                      "Credit meters missed the new prices." if n % 3 == 1 else
                                      "Two prepayments were refused."))
            for n in range(9)]
    db.session.commit()
    credit_only = [m.reference for n, m in enumerate(made) if n % 3 == 1]
    if walked:
        # PostgreSQL walks the newest two rows, then asks the GIN index for the rest below them.
        monkeypatch.setattr(search_service, "RECENT_ROWS", 2)
        monkeypatch.setattr(search_service, "WALK_ROWS", -2)

    def found(q):
        return sorted(h.reference for h in search_service.search(q, viewer=dcc, limit=50).hits if h.kind == "incident")

    # The excluded word is stemmed as the text is: "prepayment" also leaves out "prepayments".
    # Run each query many times: the driver prepares statements it sees often, and the server may then plan them
    # once for any words; the answers must not change.
    for _ in range(4):
        assert found("tariff -prepayment") == sorted(credit_only)
        assert found("tariff -credit") == sorted(m.reference for n, m in enumerate(made) if n % 3 != 1)
        assert found('tariff -"new prices"') == sorted(m.reference for n, m in enumerate(made) if n % 3 == 2)
        assert found("delayed -tariff") == []
        assert found("meters -prepayment -credit") == []
