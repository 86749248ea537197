"""JSON API v1: bearer tokens, pydantic schemas, problem details, ETags."""
