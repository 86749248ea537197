"""Tests of the JSON API v1."""
