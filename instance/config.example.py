# Copy to instance/config.py. Every key can also be set as an environment variable
# INCIDENTS_<KEY> (JSON values, e.g. INCIDENTS_REVIEW_REPORT_WORKING_DAYS=20).

# Signs session cookies. Unset, a random key is written to instance/secret_key on the first start and used from then
# on; set it (at least 32 characters in production) to share one key between hosts, e.g. from
# `python -c "import secrets; print(secrets.token_hex(32))"`.
# SECRET_KEY = "..."
# ENV_NAME = "production"

# Login sessions end after this many hours without a request, and this many days after login anyway.
# SESSION_IDLE_HOURS = 8
# SESSION_LIFETIME_DAYS = 7

# Database: SQLite in instance/ by default; or set DATABASE_URL in the environment.
# SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://incidents@127.0.0.1:5432/incidents"

# Rules (defaults shown; see the Rules page in the app for where each default comes from).
# TARGET_RESOLUTION = {"1": {"hours": 4}, "2": {"hours": 8}, "3": {"hours": 24},
#                      "4": {"working_days": 3}, "5": {"working_days": 5}}
# SUMMARY_REPORT_WORKING_DAYS = 2
# REVIEW_REPORT_WORKING_DAYS = 20
# HOLIDAY_REGION = "ENG"        # ENG = England and Wales, SCT = Scotland, NIR = Northern Ireland
# EXTRA_HOLIDAYS = ["2026-12-29"]
# COHORTS = ["CSP N", "CSP C&S", "DSP", "S1SP", "SMKI"]
# REFERENCE_PATTERN = r"INC\d{12}"

# The address people reach the app at. Every link in a reminder or notification email (and the calendar feed)
# starts with it; emails are built by the scheduler, never from a web request. The default is where `make run`
# serves.
# BASE_URL = "https://major-incidents.secas.example"
