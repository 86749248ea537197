"""Hypothesis strategies for hostile input, and the oracles every answer must pass.

The values are what people and scripts really send by mistake or on purpose:
huge text, every kind of Unicode, NUL and control characters, numbers
written as text, integers past 64 bits, dates that do not exist, the UK
clock-change hours, keys sent twice and fields left out.
"""
from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import quote, quote_from_bytes

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

PROBLEM = "application/problem+json"
MISSING = object()  # a field left out of the request altogether

# Modest by default so the fuzz suite stays near a minute and a half; FUZZ_EXAMPLES=200 FUZZ_RANDOM=1 explores more.
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "25")),
    deadline=None,
    database=None,
    # Fixed by default so CI is reproducible; FUZZ_RANDOM=1 draws new examples on every run.
    derandomize=not os.environ.get("FUZZ_RANDOM"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                           HealthCheck.function_scoped_fixture],
    print_blob=True,
)

# --- Values ----------------------------------------------------------------------

NASTY_TEXT = [
    "", " ", "\t", "\x00", "a\x00b", "\x01\x02\x07\x08\x0b\x0c\x1b[31m\x7f", "\r\n\r\n", "line\nbreak", "\u2028\u2029",
    "\u202eoverride", "\ufeffbom", "\u200b", "é✓😀", "𝕏" * 50, "\U0010ffff", "\ufffd", "Ω" * 3, "ﬁ", "ß",
    "<script>alert(1)</script>", "' OR 1=1 --", "%s%n%x", "{{7*7}}", "${jndi:x}", "../../etc/passwd", "\\", "%",
    "_", "=1+1", "@SUM(A1)", "null", "None", "undefined", "true", "false", "[]", "{}",
    # Numbers as text.
    "0", "1", "-1", "+1", "01", "1.5", "1e3", "1,000", "1 000", "0x10", "NaN", "inf", "-0", "²", "٣", "０１", "๑",
    "99999999999999999999", "-99999999999999999999", "9" * 400, "2147483648", "9223372036854775808",
    # Dates and times, including the ones that do not exist and the hour that happens twice.
    "2023-04-04 10:40", "2023-04-04T10:40", "2023-04-04 10:40 BST", "2023-04-04 10:40 GMT", "4/4/2023 10:40",
    "2023-10-29 01:30", "2023-10-29 01:30 BST", "2023-10-29 01:30 GMT", "2023-10-29 01:30 bst",
    "2023-03-26 01:30", "2023-03-26 01:30 GMT", "2023-03-26 01:30 BST", "2023-02-29 10:00", "2024-02-29 10:00",
    "2023-02-30 10:00", "2023-04-31 10:00", "2023-13-01 10:00", "2023-00-10 10:00", "2023-04-04 24:00",
    "2023-04-04 23:60", "2023-04-04 10:40:61", "0000-01-01 00:00", "0001-01-01 00:00", "1899-12-31 23:59",
    "1989-12-31 23:59", "3000-01-01 00:00", "9999-12-31 23:59", "99999-01-01 00:00", "2023-04-04 10:40 CET",
    "2023-04-04", "2023-06-26", "2023-6-6", "0001-01-01", "9999-12-31", "2023-02-29", "2023-02-30", "1900-01-01",
    "2999-12-31", "3000-01-01", "26/06/2023", "2023-06-26T00:00:00Z", "١٩٩٠-٠١-٠١",
    # References and codes near the real ones.
    "INC000001001905", "inc000001001905", " INC000001001905 ", "INC0000010019050", "OPSG_97", "opsg_97", "OPSG_0",
    "OPSG_99999", "OPSG 97/04", "OPSG 97-04", "OPSG 97/4", "third-party-infrastructure", "force-majeure", "x" * 61,
]


def huge_text() -> st.SearchStrategy[str]:
    """Text far past every column and limit (kept under the 2 MiB body limit)."""
    return st.builds(lambda ch, n: ch * n, st.sampled_from(["x", "é", "😀", "\x00", " "]),
                     st.sampled_from([201, 1001, 20001, 100_000]))


def text(*, surrogates: bool = False) -> st.SearchStrategy[str]:
    """Any text a client could send: the nasty list, random Unicode, control characters and huge strings."""
    categories = st.characters(codec=None if surrogates else "utf-8")
    return st.one_of(
        st.sampled_from(NASTY_TEXT),
        st.text(categories, max_size=40),
        st.text(st.characters(min_codepoint=0, max_codepoint=0x1f), max_size=10),
        huge_text(),
    )


def integers() -> st.SearchStrategy[int]:
    """Integers around every boundary: zero, the categories, 32 and 64 bits, and far beyond."""
    return st.one_of(st.sampled_from([0, 1, 2, 5, 6, -1, 2**31 - 1, 2**31, 2**63, -(2**63) - 1, 10**30, -(10**30)]),
                     st.integers())


# --- Form posts ----------------------------------------------------------------------

def field_value(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """One form field: left out, a plausible value, a hostile one, or sent two or three times."""
    # NUL gets its own branch: PostgreSQL refuses it anywhere in text, even in a lookup.
    one = st.one_of(good, text(surrogates=True), st.sampled_from(["\x00", "a\x00b@example.org"]), st.binary(max_size=8))
    return st.one_of(st.just(MISSING), one, st.lists(one, min_size=2, max_size=3))


def form_fields(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[list[tuple[str, Any]]]:
    """Build a whole form body as (name, value) pairs.

    Half the bodies are a plausible form with up to three fields spoilt (so
    the services' own rules get exercised), half are anything at all; either
    may carry an unknown or misspelt field.
    """
    names = sorted(fields)
    anything = st.fixed_dictionaries({name: field_value(good) for name, good in fields.items()})

    @st.composite
    def nearly_good(draw: st.DrawFn) -> dict[str, Any]:
        values = {name: draw(good) for name, good in fields.items()}
        if names:
            for name in draw(st.lists(st.sampled_from(names), max_size=3, unique=True)):
                values[name] = draw(field_value(st.nothing()))
        return values

    extras = st.lists(st.tuples(st.sampled_from(["zzz", "csrf_token", "version", "id", "x[]", "", "é"]), text()),
                      max_size=2)

    def pairs(values: dict[str, Any], extra: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        for name, value in values.items():
            if value is MISSING:
                continue
            for item in value if isinstance(value, list) else [value]:
                out.append((name, item))
        return out + extra

    return st.builds(pairs, st.one_of(nearly_good(), anything), extras)


def encode_form(pairs: list[tuple[str, Any]]) -> bytes:
    """URL-encode the pairs ourselves, so raw bytes that are not UTF-8 reach the server as they are."""
    parts = []
    for name, value in pairs:
        raw = value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")
        parts.append(f"{quote(name, safe='')}={quote_from_bytes(raw, safe='')}")
    return "&".join(parts).encode("ascii")


def post_form(client: Any, path: str, pairs: list[tuple[str, Any]], **kwargs: Any) -> TestResponse:
    """POST a form body built from ``pairs``."""
    return client.post(path, data=encode_form(pairs), content_type="application/x-www-form-urlencoded", **kwargs)


# --- JSON bodies ----------------------------------------------------------------------

def json_value(*, depth: int = 2) -> st.SearchStrategy[Any]:
    """Any JSON value, hostile text and boundary numbers included."""
    leaves = st.one_of(st.none(), st.booleans(), integers(), st.floats(allow_nan=False, allow_infinity=False),
                       text())
    if depth <= 0:
        return leaves
    return st.one_of(leaves, st.lists(json_value(depth=depth - 1), max_size=3),
                     st.dictionaries(st.sampled_from(["name", "text", "x", "", "reference", "kind"]),
                                     json_value(depth=depth - 1), max_size=3))


def json_body(base: dict[str, Any], extra_keys: tuple[str, ...] = ()) -> st.SearchStrategy[Any]:
    """A body near ``base``: some fields changed to hostile values, some left out, some unknown ones added."""
    keys = list(base) + list(extra_keys) + ["version", "zzz"]

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        if draw(st.integers(0, 9)) == 0:
            return draw(json_value())
        body = json.loads(json.dumps(base))
        for _ in range(draw(st.integers(0, 3))):
            key = draw(st.sampled_from(keys))
            action = draw(st.integers(0, 4))
            if action == 0:
                body.pop(key, None)
            else:
                body[key] = draw(json_value())
        return body

    return build()


def raw_json(body: Any) -> st.SearchStrategy[bytes]:
    """Serialise ``body`` the way a careless client might: duplicated keys, lone surrogates, BOM, bad bytes."""

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        text_ = json.dumps(body)
        how = draw(st.integers(0, 9))
        if how == 0 and isinstance(body, dict) and body:
            # The same key twice, the second value hostile.
            key = draw(st.sampled_from(sorted(body)))
            extra = json.dumps({key: draw(json_value(depth=0))})[1:-1]
            text_ = text_[:-1] + ", " + extra + "}"
        elif how == 1:
            text_ = text_.replace('"', '"\\ud800', 1)  # a lone surrogate escape
        elif how == 2:
            return b"\xef\xbb\xbf" + text_.encode()
        elif how == 3:
            return text_.encode()[: draw(st.integers(0, max(0, len(text_) - 1)))]  # cut short
        elif how == 4:
            return text_.encode().replace(b'"', b'"\xff\xfe', 1)  # not UTF-8
        elif how == 5:
            return b"[" * 3000 + b"]" * 3000
        return text_.encode()

    return build()


# --- Oracles ----------------------------------------------------------------------------

# A field's message, the error summary, an error flash, the "someone else saved it" panel, or the error page.
_HTML_MESSAGE = re.compile(r'class="(errors|error-summary|flash flash-error|panel stale-panel)"|<h1>\d{3} · ')


def assert_html_answer(response: TestResponse, *, what: str = "") -> None:
    """A page never fails: a refusal is a 4xx whose page says what is wrong (by a field, in the summary, or why)."""
    body = response.get_data(as_text=True)
    assert response.status_code < 500, f"{what}: {response.status_code}\n{body[:2000]}"
    if response.status_code >= 400:
        if response.mimetype in (PROBLEM, "application/json"):
            assert_problem(response, what=what)
        else:
            assert _HTML_MESSAGE.search(body), f"{what}: {response.status_code} without a message\n{body[:3000]}"
    elif 300 <= response.status_code < 400:
        location = response.headers.get("Location", "")
        assert location.startswith(("/", "http://localhost/")), location


def assert_problem(response: TestResponse, *, what: str = "") -> dict[str, Any]:
    """An API refusal is problem+json whose status matches and which says what is wrong."""
    body_text = response.get_data(as_text=True)
    assert response.status_code < 500, f"{what}: {response.status_code}\n{body_text[:2000]}"
    assert response.mimetype == PROBLEM, f"{what}: {response.status_code} {response.mimetype}\n{body_text[:500]}"
    body = json.loads(body_text)
    assert body["status"] == response.status_code and body["title"]
    assert body.get("errors") or body.get("detail"), body
    for key, messages in (body.get("errors") or {}).items():
        assert isinstance(key, str) and messages and all(isinstance(m, str) and m for m in messages), body
    return body


def assert_api_answer(response: TestResponse, *, what: str = "") -> None:
    """An API answer is a success with JSON (or nothing), or a problem; never a server error."""
    assert response.status_code < 500, f"{what}: {response.status_code}\n{response.get_data(as_text=True)[:2000]}"
    if response.status_code >= 400:
        assert_problem(response, what=what)
    elif 300 <= response.status_code < 400 and response.status_code != 304:
        # Werkzeug's canonical-URL redirects (an empty path segment: /incidents//timeline).
        assert response.headers.get("Location"), what
    elif response.status_code not in (204, 304) and response.get_data():  # OPTIONS answers with no body
        assert response.mimetype == "application/json", f"{what}: {response.mimetype}"
        json.loads(response.get_data(as_text=True))
