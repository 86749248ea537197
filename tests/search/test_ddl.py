"""The migration's frozen full-text statements are the ones create_all runs."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from incidents.search import ddl

MIGRATION = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0022_search.py"


def _migration():
    spec = importlib.util.spec_from_file_location("migration_0022_search", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_migration_builds_and_drops_what_create_all_does(dialect):
    migration = _migration()
    prefix = dialect.upper()
    assert list(getattr(migration, f"{prefix}_CREATE")) == ddl.create_statements(dialect)
    assert list(getattr(migration, f"{prefix}_DROP")) == ddl.drop_statements(dialect)


def test_migration_imports_no_application_module():
    source = MIGRATION.read_text()
    assert "import incidents" not in source and "from incidents" not in source
