"""One primary button per page of the registers: what the page is for; filtering and showing are secondary."""
from __future__ import annotations

import re

import pytest

PRIMARY = re.compile(r'<(?:button|a)\b[^>]*class="button"[^>]*>(.*?)</(?:button|a)>', re.DOTALL)
FILTER = re.compile(r'<button type="submit" class="([^"]*)">(?:Filter|Show)</button>')


@pytest.mark.parametrize(("role", "address", "primary"), [
    ("dcc", "/incidents/", ["Log an incident"]),
    ("secas", "/actions/", ["Raise an action"]),
    ("admin", "/admin/outbox", []),
    ("dcc", "/pmr/2023-04", []),
])
def test_filters_are_secondary_and_the_page_has_at_most_its_one_primary_button(browsers, role, address, primary):
    page = browsers[role].get(address).get_data(as_text=True)
    assert [" ".join(re.sub(r"<[^>]+>", " ", words).split()) for words in PRIMARY.findall(page)] == primary
    assert FILTER.findall(page) == ["button secondary"]
