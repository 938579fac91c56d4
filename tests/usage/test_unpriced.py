"""What is unpriced: the model prices admin lists the models billed without a price in the last 30
days, the largest gap first, read from the rollups; the requests admin filters them."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from hub.models import SystemSettings
from providers.models import ModelPrice, Provider
from usage import rollups
from usage.models import MessageRequest
from usage.unpriced import unpriced_models

pytestmark = pytest.mark.django_db
NOW = datetime.now(UTC)


@pytest.fixture
def traffic(alice, bob, make_request_row):
    openai = Provider.objects.create(name="openai-main", type="openai")
    vllm = Provider.objects.create(name="local-vllm", type="other")

    def unpriced(user, model, hours_ago, provider, **fields):
        return make_request_row(user=user, model=model, original_model=fields.pop("original_model", model),
                                provider_id=provider.pk, cost=None, price_missing=True,
                                created_at=NOW - timedelta(hours=hours_ago), **fields)  # fmt: skip

    for hours_ago in (1, 5, 30):
        unpriced(alice, "mystery-model", hours_ago, openai)
    unpriced(bob, "mystery-model", 50, openai)
    unpriced(bob, "llama-3.3-70b-instruct", 2, vllm)
    unpriced(alice, "ran-model", 3, openai, original_model="asked-model")
    unpriced(alice, "too-old-model", 24 * 31, openai)
    make_request_row(user=alice, model="gpt-4o", original_model="gpt-4o", provider_id=openai.pk,
                     cost=Decimal("0.01"), created_at=NOW - timedelta(hours=4))  # fmt: skip
    return {"openai": openai, "vllm": vllm}


def listed(viewer):
    return [
        (item.model, item.provider_type, item.requests)
        for item in unpriced_models(viewer=viewer, since=NOW - timedelta(days=30), until=NOW + timedelta(minutes=1))
    ]


EXPECTED = {("mystery-model", "openai", 4), ("llama-3.3-70b-instruct", "other", 1), ("ran-model", "openai", 1)}


def test_unpriced_models_are_counted_exactly_before_and_after_the_rollup(admin_user, traffic):
    assert set(listed(admin_user)) == EXPECTED
    for row in MessageRequest.objects.all():
        rollups.rollup_hour(rollups.floor_hour(row.created_at))
    assert set(listed(admin_user)) == EXPECTED


def test_the_billed_name_follows_the_setting(admin_user, traffic):
    settings_row = SystemSettings.get()
    settings_row.bill_original_model = True
    settings_row.save()
    assert ("asked-model", "openai", 1) in listed(admin_user)


def test_the_model_prices_admin_lists_the_largest_gap_first(admin_client, traffic):
    html = admin_client.get(reverse("admin:providers_modelprice_changelist")).content.decode()
    panel = html[html.index('id="unpriced-models"') :]
    assert panel.index("mystery-model") < panel.index("llama-3.3-70b-instruct")
    assert "too-old-model" not in panel and ">gpt-4o<" not in panel
    assert "/logs/?no_price=true&amp;model=mystery-model&amp;range=last_30_days" in panel
    assert "/admin/providers/modelprice/add/?model=mystery-model&amp;provider_type=openai" in panel


def test_a_model_priced_since_is_shown_with_the_reprice_command(admin_client, traffic):
    ModelPrice.objects.create(model="mystery-model", provider_type="openai", input_price=1, output_price=2,
                              effective_from=date(2020, 1, 1))  # fmt: skip
    html = admin_client.get(reverse("admin:providers_modelprice_changelist")).content.decode()
    assert "manage.py reprice --since" in html and "--model mystery-model" in html


def test_with_nothing_unpriced_the_admin_says_so(admin_client):
    html = admin_client.get(reverse("admin:providers_modelprice_changelist")).content.decode()
    assert "Every model seen in the last 30 days has a price." in html


def test_the_requests_admin_filters_rows_without_a_price(admin_client, traffic):
    response = admin_client.get(reverse("admin:usage_messagerequest_changelist"), {"price_missing__exact": "1"})
    shown = {row.model for row in response.context["cl"].result_list}
    assert "gpt-4o" not in shown and "mystery-model" in shown
