"""Full-text search over the record, ranked and highlighted, filtered by what the person may see.

One function answers the search page and the API alike. Each searched table
(``ddl.SOURCES``) is asked for its best matches with the database's own
engine (FTS5 ``bm25`` and ``snippet`` on SQLite; ``ts_rank`` and
``ts_headline`` over ``websearch_to_tsquery`` with English stemming on
PostgreSQL); the best of all of them are then described (which incident,
which page) and checked against the same permission functions the pages use.

A SEC Party is searched only in published editions (the latest edition of
each report, as it was published): never the live record, a draft, a
comment or an unpublished incident.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup, escape

from incidents import permissions, validation
from incidents.action import service as action_service
from incidents.action.models import Action
from incidents.errors import ValidationError
from incidents.extensions import db
from incidents.incident.models import Incident, TimelineEntry
from incidents.report.models import ReportVersion
from incidents.review.models import (
    Comment,
    Decision,
    ExclusionProposal,
    ExclusionReview,
    Publication,
    Review,
)
from incidents.search import ddl
from incidents.timeutil import format_local

MAX_QUERY = 200
DEFAULT_LIMIT = 20
MAX_LIMIT = 50
# Highlight marks as the engines return them: private-use characters, so the snippet can be escaped whole
# and only our own marks become <mark> (text that contains them still cannot open or close a tag).
START, STOP = "\ue000", "\ue001"
SNIPPET_WORDS = 16
# How many of the newest matches of each kind are ranked: a word in nearly every row (a million timeline entries
# say "service") would otherwise be ranked row by row, seconds; among the newest few hundred it takes milliseconds.
RANK_CAP = 50
# PostgreSQL looks for them first among the newest RECENT_ROWS rows of a table, walking its primary key (a common
# word fills the cap there); only a rarer word is looked up in the GIN index, which then finds few rows: fewer
# than RANK_CAP in RECENT_ROWS means at most about one row in a hundred matches.
RECENT_ROWS = 5_000
# Only a table of more rows than this (as the planner last counted them) is walked so: the walk reads at most half
# of it, a millisecond or two for a rare word, where the GIN index would fetch every row of a common one (a word in
# each of 15,000 report versions, each checked to be the latest: tens of milliseconds).
WALK_ROWS = 2 * RECENT_ROWS
INTERNAL_KINDS = ("incident", "timeline", "rationale", "secas_comment", "comment", "report", "decision")


@dataclass(frozen=True)
class Hit:
    """One match: what it is, the incident (or action, or edition) it belongs to, where to read it, the snippet."""

    kind: str
    label: str
    reference: str
    title: str
    endpoint: str
    values: dict[str, Any]
    snippet: Markup
    rank: float


@dataclass(frozen=True)
class Results:
    """The hits for one query, best first."""

    query: str
    hits: list[Hit] = field(default_factory=list)


def visible_kinds(viewer: Any) -> list[str]:
    """Return the kinds of text this person may search: the live record, or published editions only."""
    if permissions.can_view_incidents(viewer):
        kinds = list(INTERNAL_KINDS)
        if permissions.can_view_actions(viewer):
            kinds.append("action")
        return kinds
    if permissions.can_read_published(viewer):
        return ["publication"]
    return []


def check_query(q: Any, limit: Any = None) -> tuple[str, int]:
    """Check the query text and the number of results asked for; raise ValidationError saying what to fix."""
    errors: dict[str, list[str]] = {}
    text = q.strip() if isinstance(q, str) else ""
    if not isinstance(q, str) or not text:
        validation.add(errors, "q", "Enter the words to search for.")
    elif len(text) > MAX_QUERY:
        validation.add(errors, "q", f"Use at most {MAX_QUERY} characters (this has {len(text)}).")
    elif validation.has_nul(text):
        validation.add(errors, "q", f"The search {validation.NUL_MESSAGE}")
    elif not _terms(text):
        validation.add(errors, "q", "Enter at least one word (letters or digits) to search for.")
    count = DEFAULT_LIMIT
    if limit not in (None, ""):
        if isinstance(limit, int) and not isinstance(limit, bool):
            count = limit
        elif isinstance(limit, str) and limit.isdigit() and len(limit) <= 4:
            count = int(limit)
        else:
            count = -1
        if not 1 <= count <= MAX_LIMIT:
            validation.add(errors, "limit", f"Give a whole number of results from 1 to {MAX_LIMIT}.")
    if errors:
        raise ValidationError(errors, "The search needs fixing.")
    return text, count


def search(q: Any, *, viewer: Any, limit: Any = None) -> Results:
    """Return the best matches for ``q`` (web-search syntax: words, "phrases", -excluded, or) the viewer may see."""
    text, count = check_query(q, limit)
    kinds = visible_kinds(viewer)
    postgres = db.session.get_bind().dialect.name == "postgresql"
    sizes = _pg_sizes([ddl.BY_KIND[kind] for kind in kinds]) if postgres and kinds else {}
    found: list[tuple[str, int, float, str]] = []
    for kind in kinds:
        source = ddl.BY_KIND[kind]
        rows = _pg_matches(source, text, count, sizes[kind]) if postgres else _sqlite_matches(source, text, count)
        found += [(kind, int(row[0]), float(row[1]), str(row[2] or "")) for row in rows]
    # Best first; equal ranks in a fixed order, so a page of results is stable.
    found.sort(key=lambda row: (-row[2], row[0], row[1]))
    # Only as many are described (loaded, checked against the permissions) as the page shows, best first; more
    # only when some of those may not be shown.
    hits: list[Hit] = []
    start = 0
    while len(hits) < count and start < len(found):
        batch = found[start:start + count - len(hits)]
        hits += _describe(batch, viewer=viewer)
        start += len(batch)
    return Results(query=text, hits=hits)


# --- The query, for each engine ------------------------------------------------------------------------

_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD = re.compile(r"\w+")


def _terms(text: str) -> list[tuple[bool, list[str]]]:
    """Split web-search syntax into (excluded, words) terms; ``or`` between terms is kept as its own term."""
    terms: list[tuple[bool, list[str]]] = []
    for match in _TOKEN.finditer(text):
        minus, phrase, bare = match.group(1), match.group(2), match.group(3)
        if bare is not None:
            minus, phrase = ("-", bare[1:]) if bare.startswith("-") and len(bare) > 1 else ("", bare)
            if phrase.lower() == "or" and not minus:
                terms.append((False, ["OR"]))
                continue
        words = _WORD.findall(phrase)
        if words:
            terms.append((bool(minus), words))
    while terms and terms[0][1] == ["OR"]:
        terms.pop(0)
    while terms and terms[-1][1] == ["OR"]:
        terms.pop()
    return terms if any(not excluded and words != ["OR"] for excluded, words in terms) else []


def fts5_query(text: str) -> str:
    """Translate web-search syntax into an FTS5 query of quoted words only (nothing the user types is syntax)."""
    positive: list[str] = []
    negative: list[str] = []
    for excluded, words in _terms(text):
        if words == ["OR"]:
            if positive and positive[-1] != "OR":
                positive.append("OR")
            continue
        phrase = '"' + " ".join(words).replace('"', '""') + '"'
        (negative if excluded else positive).append(phrase)
    if positive and positive[-1] == "OR":
        positive.pop()
    query = " ".join(positive)
    for phrase in negative:
        query = f"({query}) NOT {phrase}"
    return query


def _sqlite_extra(source: ddl.Source) -> str:
    """Keep only the text a reader sees: the latest report version, the latest edition of each report."""
    if source.kind == "report":
        return ("AND NOT EXISTS (SELECT 1 FROM report_version AS newer WHERE newer.review_id = t.review_id "
                "AND newer.number > t.number)")
    if source.kind == "publication":
        return ("AND NOT EXISTS (SELECT 1 FROM publication AS newer WHERE newer.review_id = t.review_id "
                "AND newer.id > t.id)")
    return ""


def _sqlite_matches(source: ddl.Source, text: str, count: int) -> list[Any]:
    fts = source.fts
    extra = _sqlite_extra(source)
    join = f'JOIN "{source.table}" AS t ON t.id = {fts}.rowid' if extra else ""
    # The newest RANK_CAP matches are ranked (FTS5 walks them in rowid order and stops); the best ``count`` of
    # them get a snippet, in a second statement that reads only those rows.
    ranked = list(db.session.execute(sa.text(
        f"SELECT id, score FROM (SELECT {fts}.rowid AS id, -bm25({fts}) AS score FROM {fts} {join} "
        f"WHERE {fts} MATCH :q {extra} ORDER BY {fts}.rowid DESC LIMIT :cap) ORDER BY score DESC, id LIMIT :n"),
        {"q": fts5_query(text), "cap": RANK_CAP, "n": count}))
    if not ranked:
        return []
    ids = ", ".join(str(int(row[0])) for row in ranked)
    snippet = f"snippet({fts}, -1, '{START}', '{STOP}', '…', {SNIPPET_WORDS})"
    found = db.session.execute(sa.text(f"SELECT rowid, {snippet} FROM {fts} WHERE {fts} MATCH :q AND rowid IN ({ids})"),
                               {"q": fts5_query(text)})
    snippets = {int(row[0]): str(row[1]) for row in found}
    return [(row[0], row[1], snippets.get(row[0], "")) for row in ranked]


def _pg_headline_text(source: ddl.Source) -> str:
    parts = []
    if source.columns:
        parts.append(ddl.pg_text(source, "t"))
    if source.json_column:
        parts.append(f"coalesce((SELECT string_agg(value, E'\\n') FROM json_each_text({ddl.pg_json(source, 't')})), '')")
    # Our marks taken out of the text first, so only the engine's own marks reach ``highlight``.
    joined = " || E'\\n' || ".join(parts)
    return f"translate({joined}, '{START}{STOP}', '')"


def _pg_sizes(sources: list[ddl.Source]) -> dict[str, tuple[float, int]]:
    """Return each table's size as the planner last counted it, and its newest id, in one statement."""
    parts = [f"SELECT '{source.kind}', (SELECT reltuples FROM pg_class WHERE oid = CAST('\"{source.table}\"' AS "
             f"regclass)), (SELECT max(id) FROM \"{source.table}\")" for source in sources]
    return {str(kind): (float(rows or 0), int(newest or 0))
            for kind, rows, newest in db.session.execute(sa.text(" UNION ALL ".join(parts)))}


def _pg_matches(source: ddl.Source, text: str, count: int, size: tuple[float, int]) -> list[Any]:
    """Return the best ``count`` of the newest RANK_CAP matches in one table: id, rank, headline; one statement.

    Each search runs a statement per table (a busy machine makes every round trip to the server cost
    milliseconds, whatever the statement does).
    """
    extra = _sqlite_extra(source)  # the same SQL holds on PostgreSQL
    config = ddl.PG_CONFIG
    table = f'"{source.table}"'
    vector = f"t.{ddl.PG_COLUMN}"
    # The words are parsed once per use, as a subquery: the same statements run for every search, so the driver
    # soon prepares them and the server plans them once for any words; in such a plan a bare
    # websearch_to_tsquery(:q) is no constant and would be parsed again for every row it is tested against (5,000
    # in the walk below: ten milliseconds and more per table).
    query = f"(SELECT websearch_to_tsquery('{config}', :q))"
    # The newest RANK_CAP matches are sought among the newest rows first, walking the primary key (``coalesce``
    # keeps the GIN index out of that walk: a planner misjudging a word would otherwise fetch every match), and
    # through the GIN index below them only when the newest rows hold too few: the count of the walk's rows is a
    # condition on no row of the index's part, so the server tests it once, first, and when the walk found enough
    # never starts that part. ``id + 0`` keeps the primary key out of the index's part, in its order (walked
    # backwards for a rare word it would read the whole table) and in its bound: the planner cannot estimate a
    # query with an excluded word ("tariff -prepayment") and guesses thousands of matches, for which it would AND
    # the GIN index's few rows with a bitmap of the primary key's whole range below the newest rows (a million
    # entries, tens of milliseconds); as a filter the bound costs nothing on the rows the GIN index found.
    # The bound is a number, read with the table's size: as a subquery its value is unknown when the statement is
    # planned, the planner takes a third of the table to lie above it, and starts parallel workers to walk what
    # are a few thousand rows (ten milliseconds of start-up on a busy machine).
    # A table of a few thousand rows goes to the GIN index at once (the walk would read all of it).
    rows, newest = size
    if rows > WALK_ROWS:
        walked = (f"SELECT t.id FROM {table} AS t WHERE t.id > :floor AND coalesce({vector}, ''::tsvector) @@ "
                  f"{query} {extra} ORDER BY t.id DESC LIMIT :cap")
        below = "AND t.id + 0 <= :floor AND (SELECT count(*) FROM walked) < :cap"
        room = ":cap - (SELECT count(*) FROM walked)"
    else:
        walked, below, room = "SELECT NULL::integer AS id WHERE false", "", ":cap"
    indexed = (f"SELECT t.id FROM {table} AS t WHERE {vector} @@ {query} {below} {extra} "
               f"ORDER BY t.id + 0 DESC LIMIT {room}")
    # They are ranked on their stored vectors; only the best ``count`` get a headline.
    options = (f"StartSel={START}, StopSel={STOP}, MaxWords={SNIPPET_WORDS + 8}, MinWords=6, "
               f"MaxFragments=2, FragmentDelimiter=\" … \"")
    sql = (f"WITH walked AS MATERIALIZED ({walked}), indexed AS MATERIALIZED ({indexed}), "
           f"best AS MATERIALIZED (SELECT t.id, ts_rank({vector}, {query}) AS rank FROM {table} AS t "
           f"WHERE t.id IN (SELECT id FROM walked UNION ALL SELECT id FROM indexed) ORDER BY rank DESC, t.id LIMIT :n) "
           f"SELECT best.id, best.rank, ts_headline('{config}', {_pg_headline_text(source)}, {query}, :options) "
           f"FROM best JOIN {table} AS t ON t.id = best.id ORDER BY best.rank DESC, best.id")
    return list(db.session.execute(sa.text(sql), {"q": text, "n": count, "options": options, "cap": RANK_CAP,
                                                  "floor": newest - RECENT_ROWS}))


def highlight(raw: str) -> Markup:
    """Escape a snippet whole and mark the matched words: indexed text can never add markup of its own."""
    out: list[str] = []
    marked = False
    for piece in re.split(f"([{START}{STOP}])", raw):
        if piece == START and not marked:
            out.append("<mark>")
            marked = True
        elif piece == STOP and marked:
            out.append("</mark>")
            marked = False
        elif piece not in (START, STOP):
            out.append(str(escape(piece)))
    if marked:
        out.append("</mark>")
    return Markup("".join(out))


# --- What each hit is, and whether this person may open it ---------------------------------------------

def _incident_hit(kind: str, label: str, incident: Incident, endpoint: str, values: dict[str, Any],
                  snippet: str, rank: float) -> Hit:
    return Hit(kind=kind, label=label, reference=incident.reference, title=incident.title, endpoint=endpoint,
               values={"reference": incident.reference, **values}, snippet=highlight(snippet), rank=rank)


# A hit needs its rows' own columns only: not the collections the models load eagerly elsewhere (an incident's
# cohorts, an action's revisions and incidents), a statement each per kind of hit.
_BARE = sa.orm.lazyload("*")


def _describe(found: list[tuple[str, int, float, str]], *, viewer: Any) -> list[Hit]:
    ids: dict[str, list[int]] = {}
    for kind, row_id, _, _ in found:
        ids.setdefault(kind, []).append(row_id)
    described: dict[tuple[str, int], Hit | None] = {}

    def rows(model: Any, *joins: Any, kind: str) -> list[tuple[Any, Incident]]:
        if kind not in ids:
            return []
        query = sa.select(model, Incident).select_from(model).options(_BARE)
        for join in joins:
            query = query.join(join)
        return [(row[0], row[1]) for row in db.session.execute(query.where(model.id.in_(ids[kind])))]

    snippets = {(kind, row_id): (snippet, rank) for kind, row_id, rank, snippet in found}

    def add(kind: str, row_id: int, incident: Incident, label: str, endpoint: str, **values: Any) -> None:
        snippet, rank = snippets[(kind, row_id)]
        visible = permissions.can_view_incident(viewer, incident)
        described[(kind, row_id)] = (
            _incident_hit(kind, label, incident, endpoint, values, snippet, rank) if visible else None)

    if "incident" in ids:
        for incident in db.session.scalars(sa.select(Incident).options(_BARE).where(Incident.id.in_(ids["incident"]))):
            add("incident", incident.id, incident, "Incident", "incident.detail")
    for entry, incident in rows(TimelineEntry, Incident, kind="timeline"):
        add("timeline", entry.id, incident, f"Timeline, {format_local(entry.occurred_at)}", "incident.detail")
    for proposal, incident in rows(ExclusionProposal, Review, Incident, kind="rationale"):
        add("rationale", proposal.id, incident, f"PMR treatment, round {proposal.round}", "review.show")
    for answer, incident in rows(ExclusionReview, ExclusionProposal, Review, Incident, kind="secas_comment"):
        add("secas_comment", answer.id, incident, "SECAS review", "review.show")
    for comment, incident in rows(Comment, Review, Incident, kind="comment"):
        add("comment", comment.id, incident, f"Comment by {comment.author_name or 'someone'}", "review.show")
    for version, incident in rows(ReportVersion, Review, Incident, kind="report"):
        add("report", version.id, incident, f"Review Report, version {version.number}", "report.report",
            version=version.number)
    for decision, incident in rows(Decision, Review, Incident, kind="decision"):
        add("decision", decision.id, incident, f"Decision at {decision.meeting}", "review.show")
    if "action" in ids:
        for action in db.session.scalars(sa.select(Action).options(_BARE).where(Action.id.in_(ids["action"]))):
            snippet, rank = snippets[("action", action.id)]
            described[("action", action.id)] = Hit(
                kind="action", label="Action", reference=action.reference, title=action.text[:120],
                endpoint="action.detail", values={"slug": action_service.slug(action.reference)},
                snippet=highlight(snippet), rank=rank)
    if "publication" in ids and permissions.can_read_published(viewer):
        for publication in db.session.scalars(sa.select(Publication).options(_BARE).where(
            Publication.id.in_(ids["publication"]))):
            snippet, rank = snippets[("publication", publication.id)]
            described[("publication", publication.id)] = Hit(
                kind="publication", label=f"Published report, {publication.edition_label}",
                reference=publication.reference, title=publication.title, endpoint="report.published_report",
                values={"reference": publication.reference}, snippet=highlight(snippet), rank=rank)
    return [hit for kind, row_id, _, _ in found if (hit := described.get((kind, row_id))) is not None]
