"""Exit 0 when PostgreSQL answers at the URL given, 1 otherwise (used by `make test`)."""
import sys

import psycopg

url = sys.argv[1].replace("postgresql+psycopg://", "postgresql://", 1)
try:
    with psycopg.connect(url, connect_timeout=3) as conn:
        conn.execute("SELECT 1")
except psycopg.Error as exc:
    print(f"PostgreSQL: {exc}".strip(), file=sys.stderr)
    sys.exit(1)
sys.exit(0)
