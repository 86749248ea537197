"""The report's tests share the review page's case (the INC000001001905 shape) and its login-as-a-role helper."""
from tests.review.test_views import as_role, case  # noqa: F401 (fixtures)
