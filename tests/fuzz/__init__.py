"""Bad input: hostile values (Hypothesis) at every form and API endpoint; Schemathesis over the OpenAPI document."""
