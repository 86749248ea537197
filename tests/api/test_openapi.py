"""The OpenAPI document: valid OpenAPI 3, generated from the same pydantic models the API uses."""
from __future__ import annotations

import re

import pytest

from incidents.api import openapi, schemas
from incidents.api.views import PREFIX


@pytest.fixture()
def document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def test_document_is_valid_openapi(document):
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(document)
    assert document["openapi"] == "3.1.0"


def test_component_schemas_are_exactly_the_pydantic_ones(document):
    components = document["components"]["schemas"]
    for mode, models in (("validation", openapi.REQUEST_MODELS), ("serialization", openapi.RESPONSE_MODELS)):
        for model in models:
            schema = model.model_json_schema(ref_template=openapi.REF, mode=mode)
            for name, sub in schema.pop("$defs", {}).items():
                assert components[name] == sub
            assert components[model.__name__] == schema
    create = components["IncidentCreate"]
    assert create["required"] == ["reference", "title", "category", "started_at"]
    assert create["additionalProperties"] is False
    assert create["properties"]["category"]["type"] == "integer"
    assert create["properties"]["dcc_responsible"]["type"] == "boolean"
    assert create["properties"]["started_at"]["format"] == "date-time"
    assert "required" not in components["IncidentPatch"]
    assert components["Incident"]["properties"]["duration_minutes"]["readOnly"] is True
    assert set(components["Incident"]["required"]) == set(schemas.Incident.model_fields)


def test_every_route_is_documented_and_every_path_exists(app, document):
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule).removeprefix(PREFIX)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes.add((path, method.lower()))
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert routes == documented


def test_references_resolve(document):
    text = str(document)
    for kind, name in re.findall(r"#/components/(\w+)/(\w+)", text):
        assert name in document["components"][kind], (kind, name)


def test_security_is_bearer_and_errors_are_problem_details(document):
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "An API token issued by an administrator."}
    assert document["security"] == [{"bearerAuth": []}]
    assert document["paths"]["/openapi.json"]["get"]["security"] == []
    invalid = document["components"]["responses"]["Invalid"]
    assert invalid["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert document["components"]["schemas"]["Problem"]["required"] == ["title", "status"]
    patch = document["paths"]["/incidents/{reference}"]["patch"]
    assert {"$ref": "#/components/parameters/IfMatch"} in patch["parameters"]
    assert set(patch["responses"]) >= {"200", "401", "403", "404", "409", "412", "422", "428"}
