"""Configuration defaults and the layering that overrides them.

Layers, later wins: the defaults below -> ``instance/config.py`` ->
environment (``INCIDENTS_<KEY>``, ``DATABASE_URL``) -> test overrides.
Every rule of the domain is a key here, so an administrator changes a rule
by configuration, never by a code change.
"""
# ruff: noqa: RUF012  (Defaults' lists and dicts are only read, and load() deep-copies them for each app)
from __future__ import annotations

import copy
import enum
import math
import os
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

# Where a SECRET_KEY configured nowhere is generated on the first start and kept (in the instance folder).
SECRET_KEY_FILE = "secret_key"


class Provenance(str, enum.Enum):
    """Where a default rests: the record of the real case, the public SEC material, or an assumption to confirm."""

    MINUTES = "minutes"
    SEC = "sec"
    ASSUMED = "assumed"

    @property
    def label(self) -> str:
        """Say it for the rules page."""
        return PROVENANCE_LABELS[self]


PROVENANCE_LABELS = {
    Provenance.MINUTES: "From the OPSG_97 minutes",
    Provenance.SEC: "From public SEC material",
    Provenance.ASSUMED: "Assumed: to confirm",
}


@dataclass(frozen=True)
class Rule:
    """A configurable rule shown on the settings page."""

    key: str
    label: str
    origin: str
    # Internal rules (how the teams are reminded, and at which addresses) are shown to the teams only,
    # never to SEC Parties.
    is_internal: bool = False
    # A default is marked from the minutes or from SEC material only when all of it rests there; a default that
    # is partly assumed is marked assumed, so an administrator knows to confirm it.
    provenance: Provenance = Provenance.ASSUMED


class Defaults:
    """Built-in defaults; every domain rule cites where its default comes from."""

    # None: read from instance/secret_key, written with a random key on the first start (there is no built-in key).
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None
    # On a database server (not SQLite) load() adds pool_pre_ping: a pooled connection the server has closed
    # (a restart, an idle timeout) is replaced when taken from the pool, so it costs no request.
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}
    # SQLite durability: NORMAL is safe with the write-ahead log; tests use OFF for speed.
    SQLITE_SYNCHRONOUS = "NORMAL"
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    # Server-side login sessions: one ends after this long without a request, and this long after login anyway.
    SESSION_IDLE_HOURS = 8
    SESSION_LIFETIME_DAYS = 7
    # Number of reverse proxies in front of the app whose X-Forwarded-* headers to trust (0: none).
    PROXY_FIX_X_FOR = 0
    # Login throttling: failures per source address, and per address and account, in a sliding window.
    LOGIN_THROTTLE_WINDOW_SECONDS = 900
    LOGIN_MAX_FAILURES_PER_ACCOUNT = 5
    LOGIN_MAX_FAILURES_PER_ADDRESS = 30
    # Sign-in with organisations' OpenID Connect providers, by name (README, "Signing in with your organisation");
    # client secrets only in instance/config.py or the environment.
    OIDC_PROVIDERS: dict[str, dict[str, Any]] = {}
    # Roles whose people must sign in with their organisation's provider: the password form refuses them.
    PASSWORD_LOGIN_DISABLED_ROLES: list[str] = []
    # Werkzeug password hashing; scrypt is the modern default.
    PASSWORD_HASH_METHOD = "scrypt"
    PER_PAGE = 25
    MAX_PER_PAGE = 100
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    ENV_NAME = "development"

    # --- Domain rules -------------------------------------------------------
    TIMEZONE = "Europe/London"
    INCIDENT_CATEGORIES = [1, 2, 3, 4, 5]
    # Target Resolution Time per Category: hours for 1-3, working days for 4-5.
    TARGET_RESOLUTION = {
        "1": {"hours": 4},
        "2": {"hours": 8},
        "3": {"hours": 24},
        "4": {"working_days": 3},
        "5": {"working_days": 5},
    }
    # Which recorded time starts the resolution clock: "started" or "detected".
    RESOLUTION_CLOCK_START = "started"
    SUMMARY_REPORT_WORKING_DAYS = 2
    REVIEW_REPORT_WORKING_DAYS = 20
    # holidays package subdivision of the UK: ENG (England and Wales), SCT, NIR.
    HOLIDAY_REGION = "ENG"
    # Extra non-working days (ISO dates) on top of the published bank holidays.
    EXTRA_HOLIDAYS: list[str] = []
    COHORTS = ["CSP N", "CSP C&S", "DSP", "S1SP", "SMKI"]
    CAUSE_CATEGORIES = {
        "dcc": "DCC",
        "dcc_service_provider": "DCC Service Provider",
        "third_party": "Third party outside DCC control",
        "sec_party": "SEC Party / User",
        "unknown": "Not yet known",
    }
    REFERENCE_PATTERN = r"INC\d{12}"
    REFERENCE_HINT = "INC followed by 12 digits, e.g. INC000001001905"
    # Categories at which a newly logged incident is declared a Major Incident (the DCC can declare or undeclare
    # any incident; the review and the Summary and Review Reports follow the declaration).
    REVIEW_CATEGORIES = [1, 2]
    MEETING_PATTERN = r"[A-Z]{2,10}_\d{1,4}"
    MEETING_HINT = "OPSG_97 (group, underscore, meeting number)"
    # Action references as the group minutes them: OPSG 97/04, OPSG 75/ CONF01, OPSG 38x/02. The named groups
    # group, number and item are required (suffix is optional); check() refuses a pattern without them.
    ACTION_REFERENCE_PATTERN = (r"(?P<group>[A-Za-z]{2,10}) (?P<number>\d{1,4})(?P<suffix>[A-Za-z]{0,2})"
                                r"/ ?(?P<item>[A-Za-z]{0,8}\d{2,3})")
    ACTION_REFERENCE_HINT = ("OPSG 97/04: group, space, meeting number (a letter may follow it, as in OPSG 38x/02), "
                             "slash (a space may follow it, as in OPSG 75/ CONF01), then the item: two or three "
                             "digits, letters before them allowed (CONF01)")
    # Organisations that own actions and receive reminders, by code; their names are also shown beside each person
    # of the DCC, SECAS and the Operations Group ("Dana Clarke (DCC)").
    ORGANISATIONS = {"dcc": "DCC", "secas": "SECAS", "opsg": "Operations Group"}
    # PMR measures for incidents: share of incidents resolved within their TRT, per month of resolution.
    PMR_MEASURES = {
        "CPM4": {"label": "Category 1 and 2 incidents resolved within Target Resolution Time",
                 "categories": [1, 2], "target": 100.0, "minimum": 85.0},
        "CPM5": {"label": "Category 3 to 5 incidents resolved within Target Resolution Time",
                 "categories": [3, 4, 5], "target": 90.0, "minimum": 80.0},
    }
    # Reminders: counted in Working Days; sent at a local time on Working Days only.
    REMINDER_RULES = {
        "summary_report": {"before_working_days": [1, 0]},
        "review_report": {"before_working_days": [5, 1, 0], "overdue_every_working_days": 2},
        "secas_review": {"pending_working_days": 5, "every_working_days": 5},
        "opsg_decision": {"before_meeting_working_days": 5, "group": "OPSG"},
        "action": {"before_working_days": [5, 0], "overdue_every_days": 7},
    }
    REMINDER_SEND_TIME = "09:00"
    REMINDER_HORIZON_DAYS = 45
    REMINDER_ADDRESSES = {
        "dcc": "dcc-major-incidents@dcc.example",
        "secas": "secas-team@secas.example",
        "opsg": "opsg-secretariat@secas.example",
    }
    # How long a sweep's claim on a reminder lasts without renewal (any positive number of seconds): counted
    # from each claim and renewed while the sweep sends, so only a sweep that died leaves rows to be taken over.
    REMINDER_LEASE_SECONDS = 300
    REMINDER_BATCH = 500
    # The address people reach the app at: every emailed link starts with it (emails are built by the scheduler,
    # never from a request). The default is where `make run` serves.
    BASE_URL = "http://127.0.0.1:5000"
    # Mail: with no MAIL_SERVER, each email is written as an .eml file under instance/outbox.
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_DEFAULT_SENDER = "SEC Major Incident Reviews <no-reply@incidents.example>"
    MAIL_MESSAGE_ID_DOMAIN = "incidents.example"
    MAIL_TIMEOUT = 20
    MAX_TEXT_LENGTH = 20000
    # Stored Markdown (the Review Report's sections) is drawn into PDFs, whose time grows with every box laid out:
    # at these limits the largest report accepted draws in a few seconds (``make bench`` times it).
    MARKDOWN_MAX_PARTS = 400  # paragraphs, headings, list items, table cells, code blocks, per section
    MARKDOWN_MAX_TABLE_ROWS = 30  # under the header row
    MARKDOWN_MAX_TABLE_COLUMNS = 10
    MARKDOWN_MAX_NESTING = 5  # lists and quotes within each other
    MAX_TITLE_LENGTH = 200
    # The Review Report editor: the guidance shown under each narrative section (section key -> text; a section
    # left out shows none), and how often, in seconds, the editor keeps the text typed as its working draft.
    REPORT_SECTION_PROMPTS = {
        "summary": "In a few sentences for a reader at a SEC Party: what failed, when it started and was resolved "
                   "(UK time), its Category, which cohorts and how many devices or users were affected, and "
                   "whether it was resolved within its Target Resolution Time.",
        "root_cause": "What caused the incident and why it was not prevented or detected sooner. Say whose "
                      "control it was in (the DCC, a DCC Service Provider, a third party outside DCC control, a "
                      "SEC Party), and if the DCC excludes it from the PMR, the facts the exclusion rests on.",
        "impact": "Who and what was affected and for how long: services unavailable, cohorts and devices, how "
                  "SEC Parties and consumers were affected, any workaround offered, and the effect on the PMR "
                  "measure for incidents (CPM4).",
        "lessons_learned": "What the DCC and its Service Providers learned: what worked, what slowed restoration, "
                           "and what changes in the Incident Management process, monitoring or contracts.",
        "actions": "Each action as a list item: what will be done, who owns it (DCC, Service Provider, SECAS, "
                   "OPSG) and by when, with its action reference if the Operations Group raised it (OPSG 97/04).",
    }
    REPORT_AUTOSAVE_SECONDS = 30
    # Attachments (evidence kept with the record): the largest file accepted, in bytes, and the kinds accepted
    # (incidents.attachment.content.KINDS: checked from the content, never the name). Only an upload's request
    # may be this large; every other request keeps MAX_CONTENT_LENGTH.
    ATTACHMENT_MAX_BYTES = 20 * 1000 * 1000
    ATTACHMENT_TYPES = ["pdf", "png", "jpeg", "gif", "webp", "text", "csv", "docx", "xlsx", "pptx", "doc", "xls",
                        "ppt"]
    # Where the files are kept: "database" (a backup holds them; every web host sees them) or "s3", with
    # ATTACHMENT_S3 = {"bucket": ..., "endpoint_url": ..., "region": ..., "access_key_id": ...,
    # "secret_access_key": ..., "prefix": "attachments/"} (needs the s3 extra); optionally "connect_timeout" (5 s),
    # "read_timeout" (30 s), "max_attempts" (3) and "addressing_style" ("auto", "path" or "virtual").
    ATTACHMENT_STORAGE = "database"
    ATTACHMENT_S3: dict[str, Any] = {}
    # The same timeline entry, comment or deferral sent again by the same person this soon is taken
    # for a double submission (a double click, a resent form) and saved once.
    DUPLICATE_SUBMISSION_SECONDS = 10
    # How long the answer to an Idempotency-Key (API) or a form's submission key is kept to replay a repeat.
    IDEMPOTENCY_KEY_HOURS = 24


RULES = [
    Rule("TIMEZONE", "Time zone for people (storage is UTC)",
         "OPSG_97 minutes: times are UK local time (the CSP N reset at 10:40 BST)", provenance=Provenance.MINUTES),
    Rule("INCIDENT_CATEGORIES", "Incident Categories",
         "Incident Management Policy (SEC Section H9): Categories 1 (most severe) to 5 (least)",
         provenance=Provenance.SEC),
    Rule("TARGET_RESOLUTION", "Target Resolution Time per Category",
         "Assumed: 4 h (Cat 1), 8 h (Cat 2), 24 h (Cat 3), 3 and 5 Working Days (Cat 4, 5); confirm against the "
         "Incident Management Policy"),
    Rule("RESOLUTION_CLOCK_START", "Resolution time is measured from",
         "Product default: the incident start time; set to 'detected' to measure from detection"),
    Rule("SUMMARY_REPORT_WORKING_DAYS", "Major Incident Summary Report due (Working Days after resolution)",
         "Assumed: 2 Working Days after resolution; confirm against the Incident Management Policy"),
    Rule("REVIEW_REPORT_WORKING_DAYS", "Major Incident Review Report due (Working Days after resolution)",
         "Assumed: 20 Working Days after resolution; confirm against the Incident Management Policy"),
    Rule("HOLIDAY_REGION", "Bank holiday calendar (ENG = England and Wales, SCT, NIR)",
         "Assumed: bank holidays of England and Wales, one-off holidays included (a Working Day is not a weekend "
         "or bank holiday, as the SEC defines it; the region is a choice)"),
    Rule("EXTRA_HOLIDAYS", "Extra non-working days",
         "Product default: none; add one-off closures not yet in the published calendar"),
    Rule("COHORTS", "Cohorts (groups of service affected together)",
         "Public SEC material: the DCC's Service Providers CSP N, CSP C&S, DSP, S1SP, and SMKI",
         provenance=Provenance.SEC),
    Rule("CAUSE_CATEGORIES", "Cause categories",
         "Assumed: DCC, DCC Service Provider, third party, SEC Party/User, not yet known"),
    Rule("REVIEW_CATEGORIES", "Categories declared Major Incidents when logged (the DCC may declare or undeclare)",
         "OPSG_97 minutes: the Major Incidents reported were Category 1 and 2", provenance=Provenance.MINUTES),
    Rule("MEETING_PATTERN", "Meeting reference pattern (regular expression)",
         "OPSG_97 minutes: meetings are numbered, e.g. OPSG_97", provenance=Provenance.MINUTES),
    Rule("ACTION_REFERENCE_PATTERN", "Action reference pattern (regular expression)",
         "OPSG_97 minutes: actions are written OPSG 97/04, OPSG 75/ CONF01 and OPSG 38x/02",
         provenance=Provenance.MINUTES),
    Rule("PMR_MEASURES", "PMR measures (Target / Minimum Service Level)",
         "Performance Measurement Methodology (2018): CPM4 (Cat 1-2) and CPM5 (Cat 3-5) computed from "
         "incidents; the service levels (100 % / 85 %, 90 % / 80 %) are assumed: confirm them"),
    Rule("REMINDER_RULES", "Reminder schedule (Working Days)",
         "Product defaults: Summary 1 WD before and on the day; Review 5, 1, 0 WD then every 2 WD overdue; "
         "SECAS review after 5 WD then every 5; OPSG 5 WD before the next meeting; actions 5 WD before, on the day, "
         "then weekly", is_internal=True),
    Rule("REMINDER_SEND_TIME", "Reminders are sent at (UK local time, Working Days only)", "Product default: 09:00",
         is_internal=True),
    Rule("REMINDER_ADDRESSES", "Team addresses that receive reminders", "Set per deployment", is_internal=True),
    Rule("ATTACHMENT_MAX_BYTES", "Largest attachment accepted (bytes)",
         "Product default: 20 MB, enough for a Service Provider's report with screenshots"),
    Rule("ATTACHMENT_TYPES", "Attachment kinds accepted (checked from the content)",
         "Product default: PDF, images (PNG, JPEG, GIF, WebP), text, CSV, Office documents"),
    Rule("REFERENCE_PATTERN", "Incident reference pattern (regular expression)",
         "OPSG_97 minutes: INC000001001905 (INC and 12 digits)", provenance=Provenance.MINUTES),
]


def load(app: Flask, test_config: dict[str, Any] | None) -> dict[str, str]:
    """Apply the config layers to ``app`` and return the source of each rule key."""
    # A copy per app: the lists and dicts of the defaults must never be shared between apps.
    app.config.from_mapping({key: copy.deepcopy(getattr(Defaults, key)) for key in dir(Defaults) if key.isupper()})
    sources = {rule.key: "default" for rule in RULES}

    before = dict(app.config)
    app.config.from_pyfile("config.py", silent=True)
    _mark_changed(before, app.config, sources, "instance/config.py")

    before = dict(app.config)
    app.config.from_prefixed_env("INCIDENTS")
    _mark_changed(before, app.config, sources, "environment")
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]

    if test_config:
        before = dict(app.config)
        app.config.update(test_config)
        _mark_changed(before, app.config, sources, "test override")

    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        # An installed package's instance folder (under the environment's prefix) may not exist yet.
        os.makedirs(app.instance_path, exist_ok=True)
        path = os.path.join(app.instance_path, "incidents.sqlite")
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True, **app.config["SQLALCHEMY_ENGINE_OPTIONS"]}
    app.config["TARGET_RESOLUTION"] = {
        str(k): v for k, v in app.config["TARGET_RESOLUTION"].items()
    }
    app.config["REMINDER_LEASE_SECONDS"] = positive_seconds("REMINDER_LEASE_SECONDS",
                                                            app.config["REMINDER_LEASE_SECONDS"])
    app.config["REPORT_AUTOSAVE_SECONDS"] = positive_seconds("REPORT_AUTOSAVE_SECONDS",
                                                             app.config["REPORT_AUTOSAVE_SECONDS"])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
    return sources


def positive_seconds(key: str, value: Any) -> float:
    """Read a duration in seconds that must be a positive number (from code, instance/config.py or the
    environment, where it arrives as text); refuse anything else with a message saying what to set."""
    seconds: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = float(value.strip())
        except ValueError:
            seconds = None
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{key} must be a positive number of seconds, such as 300 or 7.5; it is {value!r}.")
    return seconds


def instance_secret_key(instance_path: str) -> str:
    """Return the key kept in the instance folder, writing a random one (owner-only) if there is none yet."""
    path = os.path.join(instance_path, SECRET_KEY_FILE)
    if not os.path.exists(path):
        os.makedirs(instance_path, exist_ok=True)
        # Written whole to a private file, then linked into place: workers starting together agree on one key
        # (a link fails where the name exists), and no one ever reads a half-written key.
        temporary = f"{path}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process wrote it first: use theirs
        finally:
            os.unlink(temporary)
    with open(path) as handle:
        key = handle.read().strip()
    if len(key) < 32:
        raise RuntimeError(f"The secret key in {path} is empty or too short: delete the file to make a new one, "
                           "or set INCIDENTS_SECRET_KEY.")
    return key


def _mark_changed(before: dict[str, Any], after: Any, sources: dict[str, str], label: str) -> None:
    for key in sources:
        if before.get(key) != after.get(key):
            sources[key] = label


def _normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def check(app: Flask) -> None:
    """Refuse to start with settings that cannot work: say which key and what to set it to."""
    for key in ("SESSION_IDLE_HOURS", "SESSION_LIFETIME_DAYS"):
        value = app.config.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise RuntimeError(f"{key} must be a positive number (it is {value!r}); "
                               f"the default is {getattr(Defaults, key)}.")
    _check_action_reference_pattern(app.config.get("ACTION_REFERENCE_PATTERN"))
    _check_base_url(app.config.get("BASE_URL"))
    _check_report_prompts(app.config.get("REPORT_SECTION_PROMPTS"))
    from incidents.auth import oidc

    problems = oidc.config_problems(app.config.get("OIDC_PROVIDERS")) + oidc.password_roles_problems(
        app.config.get("PASSWORD_LOGIN_DISABLED_ROLES"))
    if problems:
        raise RuntimeError("Sign-in settings cannot work:\n- " + "\n- ".join(problems))
    if app.config.get("ENV_NAME") == "production" and len(app.config["SECRET_KEY"]) < 32:
        # A short key can be guessed; the generated one has 64 hex digits.
        raise RuntimeError("Refusing to start in production with a SECRET_KEY shorter than 32 characters: set "
                           "INCIDENTS_SECRET_KEY (python3 -c 'import secrets; print(secrets.token_hex(32))'), "
                           "or leave it unset to use the random key kept in the instance folder.")


def _check_base_url(url: Any) -> None:
    """Refuse a BASE_URL that cannot start a link people can follow from an email."""
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise RuntimeError(f"BASE_URL must be the address people reach the app at, such as "
                           f"https://major-incidents.example or {Defaults.BASE_URL} (it is {url!r}): every link "
                           "in a reminder or notification email starts with it.")


def _check_report_prompts(prompts: Any) -> None:
    """Refuse editor prompts that are not text per section of the Review Report (a misspelt section shows none)."""
    # The report's sections are named there, once (the models import nothing of the services).
    from incidents.report.models import SECTION_KEYS

    hint = (f"REPORT_SECTION_PROMPTS must map sections of the Review Report ({', '.join(SECTION_KEYS)}) to the "
            "guidance shown under each, as text; leave a section out to show none")
    if prompts is None:
        return
    if not isinstance(prompts, dict):
        raise RuntimeError(f"{hint}. It is {prompts!r}.")  # noqa: TRY004 (a setting to fix, as the other checks)
    unknown = sorted(str(key) for key in prompts if key not in SECTION_KEYS)
    if unknown:
        raise RuntimeError(f"{hint}. It names {', '.join(unknown)}, which the report has not.")
    wrong = sorted(str(key) for key, text in prompts.items() if not isinstance(text, str))
    if wrong:
        raise RuntimeError(f"{hint}. The guidance for {', '.join(wrong)} is not text.")


ACTION_REFERENCE_GROUPS = frozenset({"group", "number", "item"})


def _check_action_reference_pattern(pattern: Any) -> None:
    """Refuse an action reference pattern that is no regular expression or lacks the parts a reference has."""
    hint = ("ACTION_REFERENCE_PATTERN must be a regular expression with the named groups group, number and item "
            f"(and optionally suffix); the default is {Defaults.ACTION_REFERENCE_PATTERN!r}")
    try:
        compiled = re.compile(pattern, re.ASCII)
    except (re.error, TypeError) as exc:
        raise RuntimeError(f"{hint}. It is {pattern!r}, which does not compile ({exc}).") from None
    missing = sorted(ACTION_REFERENCE_GROUPS - set(compiled.groupindex))
    if missing:
        raise RuntimeError(f"{hint}. It lacks {', '.join(missing)}.")
