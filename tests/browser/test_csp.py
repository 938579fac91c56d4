"""Every page of the hub runs under a Content-Security-Policy with no inline script or style,
and breaks none of it: a real browser reports no violation on any page (the API docs page has a
policy of its own, which Swagger UI needs)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions_app.models import Session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WATCH = ("window.__csp = []; document.addEventListener('securitypolicyviolation', "
         "e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || '')));")  # fmt: skip


def test_no_page_breaks_the_content_security_policy(live_server, log_in, admin_user, alice, make_request_row):
    row = make_request_row(user=alice, created_at=timezone.now() - timedelta(minutes=1), session_id="csp-1",
                           attributes={"question": "q", "tool_calls": [{"name": "f"}]})  # fmt: skip
    session = Session.objects.get(session_id="csp-1")
    page = log_in(admin_user)
    page.add_init_script(WATCH)
    paths = ["/", "/logs/", f"/logs/{row.pk}/", "/sessions/", f"/sessions/{session.pk}/", "/leaderboard/",
             f"/leaderboard/users/{alice.pk}/", "/tokens/", "/keys/", "/admin/", "/admin/hub/apikey/add/",
             "/admin/usage/messagerequest/", "/availability/", "/api/docs/"]  # fmt: skip
    violations = {}
    for path in paths:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        page.wait_for_load_state("networkidle")
        found = page.evaluate("window.__csp")
        if found:
            violations[path] = found
    assert violations == {}
    # The watch itself works: an inline style attribute set now is refused and reported.
    page.goto(f"{live_server.url}/keys/")
    page.evaluate("document.body.setAttribute('style', 'color: red')")
    page.wait_for_timeout(300)
    assert any(found.startswith("style-src") for found in page.evaluate("window.__csp"))
