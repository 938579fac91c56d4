"""Any input gets a clear answer, never a 500: every GET route of the hub, with every parameter
its pages and API read, given values at the edges of what a parser accepts."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from sessions_app.filters import SessionFilterSet
from stats.forms import StatsFilterForm
from stats.periods import PeriodForm
from usage.filters import MessageRequestFilterSet

pytestmark = pytest.mark.django_db

BAD_VALUES = (
    "²", "-1", "99999999999999999999999", "abc", "\x00", "0001-01-01T00:00", "9999-12-31T23:59:59-14:00",
    "2026-02-30", "2026-11-30T12:00+21:30", "9999-12", "x" * 300,
)  # fmt: skip
LOG_PARAMETERS = sorted({*MessageRequestFilterSet.base_filters, "size", "after", "before", "month"})
SESSION_PARAMETERS = sorted({*SessionFilterSet.base_filters, "size", "after", "before"})
STATS_PARAMETERS = sorted({*PeriodForm.base_fields, *StatsFilterForm.base_fields, "by", "window", "provider"})
#: which parameters each family of GET routes reads
FAMILIES = (
    (("/logs/", "/api/v1/requests"), LOG_PARAMETERS),
    (("/sessions/", "/api/v1/sessions"), SESSION_PARAMETERS),
    (("/", "/leaderboard/", "/tokens/", "/api/v1/stats/", "/api/v1/providers/", "/availability/"), STATS_PARAMETERS),
)


def parameters_of(route: str) -> list[str]:
    best = max(((prefix, names) for prefixes, names in FAMILIES for prefix in prefixes if route.startswith(prefix)),
               key=lambda found: len(found[0]), default=None)  # fmt: skip
    # A route outside the families reads no filter: a few names any page might read will do.
    return best[1] if best else ["size", "start", "user", "month"]


def get_routes(patterns=None, prefix="") -> list[str]:
    routes = []
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            routes += get_routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            if route.startswith(("admin/", "^", "i18n/")) or "<" in route and "<int:pk>" not in route:
                continue
            routes.append("/" + route.replace("<int:pk>", "1"))
    return sorted(set(routes))


def test_routes_are_discovered_from_the_url_configuration():
    routes = get_routes()
    assert {"/logs/", "/sessions/", "/tokens/", "/api/v1/requests", "/api/v1/stats/tokens"} <= set(routes)


@pytest.mark.parametrize("value", BAD_VALUES)
def test_no_parameter_value_makes_any_page_or_api_answer_500(client, admin_user, value):
    client.force_login(admin_user)
    client.raise_request_exception = False
    failures = []
    for route in get_routes():
        for name in parameters_of(route):
            response = client.get(route, {name: value})
            if response.status_code >= 500:
                failures.append(f"{route}?{name}={value!r}: {response.status_code}")
    assert failures == []
