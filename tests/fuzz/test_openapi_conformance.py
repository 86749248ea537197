"""Schemathesis drives the API from its own OpenAPI document: no 500, and every answer is the one documented.

Each operation in /api/v1/openapi.json gets valid and invalid requests
generated from its schemas, as an administrator and as the DCC, over the
demo data. Every answer must not be a server error, must carry a status
code and content type the operation documents, and its body (and
documented headers) must match the documented schema, problem details
included.
"""
from __future__ import annotations

import contextvars
from typing import Any

import pytest
import schemathesis
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz.strategies import FUZZ

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
PER_OPERATION = settings(FUZZ, max_examples=min(FUZZ.max_examples, 10))


@pytest.mark.parametrize("role", ["admin", "dcc"])
def test_every_operation_answers_as_its_document_says(app, demo, demo_tokens, role):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {demo_tokens[role]}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30, [op.label for op in operations]
    for operation in operations:
        cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE, headers=headers),
                          operation.as_strategy(GenerationMode.NEGATIVE, headers=headers))

        @PER_OPERATION
        @given(case=cases)
        def call(case: Any) -> None:
            # Its own context per request, as in production: nothing leaks between requests through ``g``.
            contextvars.Context().run(case.call_and_validate, checks=CHECKS)

        call()
