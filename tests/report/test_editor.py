"""The Review Report editor: one working draft kept by autosave, versions only on purpose, prompts, preview."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from incidents.errors import StaleError
from incidents.extensions import db
from incidents.report import service as report_service
from incidents.report.models import Classification, ReportDraft, ReportVersion
from incidents.review import service as review_service
from tests import factories
from tests.review.test_views import (
    SECTIONS,
    XSS,
    assert_neutralised,
    follow_flash,
    hidden,
    refetch,
    url,
)


def counts() -> tuple[int, int]:
    """Return (working drafts, versions) as the database holds them."""
    refetch()
    drafts = db.session.scalar(sa.select(sa.func.count()).select_from(ReportDraft))
    versions = db.session.scalar(sa.select(sa.func.count()).select_from(ReportVersion))
    return drafts or 0, versions or 0


def editor_data(page: str, **sections: str) -> dict[str, str]:
    """Return the editor's form as the page holds it, with ``sections`` typed in."""
    return {**SECTIONS, **sections, "classification": "AMBER", "etag": hidden(page, "etag"),
            "draft": hidden(page, "draft")}


def textarea(page: str, name: str) -> str:
    """Return the text in the page's textarea ``name``."""
    match = re.search(rf'<textarea[^>]*name="{name}"[^>]*>\r?\n?(.*?)</textarea>', page, re.DOTALL)
    assert match, f"no textarea {name}"
    return match.group(1)


# --- The service -----------------------------------------------------------------------------


def test_autosaving_again_and_again_keeps_one_working_draft_and_makes_no_version(case, users, now):
    token = report_service.NO_DRAFT
    for second in range(0, 120, 5):  # two minutes of typing, an autosave every 5 s
        draft = report_service.keep_working_draft(
            incident=case, sections={**SECTIONS, "summary": f"Typed for {second} s."},
            classification=Classification.AMBER, actor=users["dcc"], expected_draft=token,
            now=now + timedelta(seconds=second))
        assert draft is not None
        token = report_service.draft_token(draft)
        db.session.commit()
    assert counts() == (1, 0)
    review = review_service.get_review(case)
    draft = report_service.working_draft(review)
    assert draft is not None and draft.sections["summary"] == "Typed for 115 s."
    assert draft.revision == 24 and draft.base_number is None and draft.updated_at == now + timedelta(seconds=115)
    assert review is not None and report_service.latest(review) is None


def test_saving_a_version_makes_one_and_clears_the_working_draft(case, users, now):
    draft = report_service.keep_working_draft(incident=case, sections=SECTIONS, classification=Classification.GREEN,
                                              actor=users["dcc"], expected_draft=report_service.NO_DRAFT, now=now)
    db.session.commit()
    version = report_service.save_draft(incident=case, sections=SECTIONS, classification=Classification.GREEN,
                                        actor=users["dcc"], expected_draft=report_service.draft_token(draft), now=now)
    db.session.commit()
    assert version.number == 1 and counts() == (0, 1)
    # Typing back to the saved text keeps no draft: there is nothing unsaved.
    kept = report_service.keep_working_draft(incident=case, sections={**SECTIONS, "impact": "More."},
                                             classification=Classification.GREEN, actor=users["dcc"],
                                             expected_draft=report_service.NO_DRAFT, now=now)
    assert kept is not None and kept.base_number == 1
    db.session.commit()
    assert report_service.keep_working_draft(incident=case, sections=SECTIONS, classification=Classification.GREEN,
                                             actor=users["dcc"], expected_draft=str(kept.revision), now=now) is None
    db.session.commit()
    assert counts() == (0, 1)


def test_a_working_draft_someone_else_changed_is_never_overwritten(case, users, now):
    mine = report_service.keep_working_draft(incident=case, sections=SECTIONS, classification=Classification.AMBER,
                                             actor=users["dcc"], expected_draft=report_service.NO_DRAFT, now=now)
    assert mine is not None
    opened = report_service.draft_token(mine)
    db.session.commit()
    theirs = report_service.keep_working_draft(
        incident=case, sections={**SECTIONS, "impact": "A colleague's text."}, classification=Classification.AMBER,
        actor=users["admin"], expected_draft=opened, now=now + timedelta(seconds=30))
    db.session.commit()
    assert theirs is not None
    for attempt in (report_service.keep_working_draft, report_service.save_draft):
        with pytest.raises(StaleError, match="changed the unsaved working draft since you opened it"):
            attempt(incident=case, sections={**SECTIONS, "impact": "Mine."}, classification=Classification.AMBER,
                    actor=users["dcc"], expected_draft=opened, now=now + timedelta(seconds=60))
        db.session.rollback()
    # A page opened before any draft existed is refused too.
    with pytest.raises(StaleError):
        report_service.keep_working_draft(incident=case, sections=SECTIONS, classification=Classification.AMBER,
                                          actor=users["dcc"], expected_draft=report_service.NO_DRAFT, now=now)
    db.session.rollback()
    assert counts() == (1, 0)
    draft = report_service.working_draft(review_service.get_review(case))
    assert draft is not None and draft.sections["impact"] == "A colleague's text."


def test_a_save_that_names_no_draft_leaves_the_working_draft_in_place(case, users, now):
    """The API saves without seeing the editor's draft: the draft's text is kept, not thrown away."""
    report_service.keep_working_draft(incident=case, sections={**SECTIONS, "impact": "Unsaved."},
                                      classification=Classification.AMBER, actor=users["dcc"], now=now)
    report_service.save_draft(incident=case, sections=SECTIONS, classification=Classification.AMBER,
                              actor=users["admin"], now=now)
    db.session.commit()
    assert counts() == (1, 1)


# --- The pages -------------------------------------------------------------------------------


def test_autosave_posts_keep_one_working_draft_that_the_editor_restores(client, case, as_role, users):
    as_role("dcc")
    page = client.get(url(case, "report/edit")).text
    data = editor_data(page)
    for n in range(12):  # a minute of typing at the default 5 s... or two minutes at 10 s: always one draft
        data["summary"] = f"Summary typed, round {n}."
        response = client.post(url(case, "report/autosave"), data=data, headers={"Accept": "application/json"})
        assert response.status_code == 200, response.text
        body = response.get_json()
        assert body["kept"] is True and body["number"] is None and body["saved_at"]
        data.update(etag=body["etag"], draft=body["draft"])
    assert counts() == (1, 0)

    page = client.get(url(case, "report/edit")).text
    assert textarea(page, "summary") == "Summary typed, round 11."
    assert "Unsaved working draft" in page and hidden(page, "draft") == data["draft"]
    assert re.search(r"The form holds the working draft saved at <time[^>]*>[^<]*</time> by DCC \(DCC\)\.", page)
    versions = client.get(url(case, "report/versions")).text
    assert "Unsaved working draft, saved at" in versions and "No version saved yet." in versions
    assert 'id="version-1"' not in versions

    # Save version: one version, and the working draft is gone (its text is the version's now).
    page = follow_flash(client, client.post(url(case, "report/edit"), data={**data, "action": "save"}))
    assert "Saved draft version 1." in page and "Unsaved working draft" not in page
    assert counts() == (0, 1)
    versions = client.get(url(case, "report/versions")).text
    assert 'id="version-1"' in versions and "Unsaved working draft" not in versions


def test_a_second_editor_is_told_instead_of_overwriting_the_working_draft(client, case, as_role, users):
    as_role("dcc")
    page = client.get(url(case, "report/edit")).text
    first, second = editor_data(page, impact="First editor."), editor_data(page, impact="Second editor.")
    assert client.post(url(case, "report/autosave"), data=first).status_code == 200
    response = client.post(url(case, "report/autosave"), data=second)
    assert response.status_code == 412 and response.mimetype == "application/problem+json"
    assert "changed the unsaved working draft since you opened it" in response.get_json()["detail"]
    # Saving a version from the stale page is refused too, with the text kept in the form.
    response = client.post(url(case, "report/edit"), data={**second, "action": "save"})
    assert response.status_code == 409
    assert "changed the unsaved working draft" in response.text and "Second editor." in response.text
    assert counts() == (1, 0)
    draft = report_service.working_draft(review_service.get_review(case))
    assert draft is not None and draft.sections["impact"] == "First editor."
    # The page answered with fresh tokens: saving again on purpose keeps the second editor's text as a version.
    page = follow_flash(client, client.post(url(case, "report/edit"), data={
        **second, "etag": hidden(response.text, "etag"), "draft": hidden(response.text, "draft")}))
    assert "Saved draft version 1." in page and counts() == (0, 1)


def test_the_editor_warns_when_a_version_was_saved_after_the_draft_began(client, case, as_role, users, now):
    as_role("dcc")
    report_service.keep_working_draft(incident=case, sections={**SECTIONS, "impact": "Unsaved."},
                                      classification=Classification.AMBER, actor=users["dcc"], now=now)
    report_service.save_draft(incident=case, sections=SECTIONS, classification=Classification.AMBER,
                              actor=users["admin"], now=now)
    db.session.commit()
    page = client.get(url(case, "report/edit")).text
    assert "Version 1 was saved after this draft was started" in page
    assert textarea(page, "impact") == "Unsaved."


def test_preview_renders_through_the_sanitiser_and_saves_nothing(client, case, as_role):
    as_role("dcc")
    page = client.get(url(case, "report/edit")).text
    data = editor_data(page, summary=f"**Bold** and {XSS}", impact="[a link](javascript:alert(3))")
    response = client.post(url(case, "report/edit"), data={**data, "action": "preview"})
    assert response.status_code == 200
    preview = response.text.split('id="preview"', 1)[1].split("</section>", 1)[0]
    assert "<strong>Bold</strong>" in preview and "href=\"javascript:" not in preview.lower()
    assert_neutralised(preview)
    assert response.text.lower().count("<script") == 1  # the editor's own script only
    assert textarea(response.text, "summary").startswith("**Bold** and &lt;script&gt;")

    response = client.post(url(case, "report/preview"), data=data, headers={"Accept": "application/json"})
    assert response.status_code == 200
    sections = response.get_json()["sections"]
    assert "<strong>Bold</strong>" in sections["summary"]
    for html in sections.values():
        assert_neutralised(html)
        assert "href=\"javascript:" not in html.lower()
    assert counts() == (0, 0)


def test_preview_refuses_text_past_the_limits_with_what_to_fix(client, case, as_role, app):
    as_role("dcc")
    page = client.get(url(case, "report/edit")).text
    data = editor_data(page, summary="x" * (app.config["MAX_TEXT_LENGTH"] + 1))
    response = client.post(url(case, "report/edit"), data={**data, "action": "preview"})
    assert response.status_code == 422 and "Shorten it." in response.text
    response = client.post(url(case, "report/preview"), data=data)
    assert response.status_code == 422 and "sections.summary" in response.get_json()["errors"]


@pytest.mark.parametrize("role", ["secas", "opsg", "party"])
def test_only_the_report_writers_may_preview_or_autosave(client, case, as_role, role):
    as_role(role)
    data = {**SECTIONS, "classification": "AMBER"}
    for path in ("report/preview", "report/autosave"):
        response = client.post(url(case, path), data=data, headers={"Accept": "application/json"})
        assert response.status_code in (403, 404), (path, response.status_code)
    assert counts() == (0, 0)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_preview_needs_the_forms_token(client, case, users):
    login_page = client.get("/login").text
    client.post("/login", data={"email": users["dcc"].email, "password": factories.PASSWORD,
                                "csrf_token": hidden(login_page, "csrf_token")})
    editor = client.get(url(case, "report/edit")).text
    data = editor_data(editor)
    assert client.post(url(case, "report/preview"), data=data).status_code == 400
    response = client.post(url(case, "report/preview"), data=data, headers={"X-CSRFToken": hidden(editor, "csrf_token")})
    assert response.status_code == 200


@pytest.mark.parametrize("app_config", [{"REPORT_SECTION_PROMPTS": {"summary": "Say what broke, for SEC Parties."},
                                         "REPORT_AUTOSAVE_SECONDS": "2.5"}])
def test_the_editor_shows_the_configured_prompts_and_autosave_interval(client, case, as_role):
    as_role("dcc")
    page = client.get(url(case, "report/edit")).text
    assert '<div class="hint" id="summary-hint">Say what broke, for SEC Parties.</div>' in page
    assert 'id="root_cause-hint"' not in page  # no prompt configured for it
    assert 'data-autosave-ms="2500"' in page


def test_the_editor_shows_the_default_prompts_and_the_generated_sections(client, case, as_role, app):
    as_role("dcc")
    page = client.get(url(case, "report/edit")).text
    for key, prompt in app.config["REPORT_SECTION_PROMPTS"].items():
        assert f'id="{key}-hint">{prompt.replace("&", "&amp;").replace(chr(39), "&#39;")}</div>' in page, key
    aside = page.split('class="editor-aside"', 1)[1]
    assert "Generated from the record" in aside and "restoration-figure" in aside and "<svg" in aside
    assert "CSP N" in aside and "Timeline" in aside
    assert 'data-autosave-ms="30000"' in page
