"""manage.py reprice: stored costs follow a price change, through the rollups, idempotently."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from providers.models import ModelPrice, Provider
from usage import rollups
from usage.models import MessageRequest, RollupHour
from usage.repricing import requests_reprice

pytestmark = pytest.mark.django_db
NOW = datetime.now(UTC).replace(microsecond=0)
SINCE = (NOW - timedelta(days=3)).date().isoformat()


@pytest.fixture
def stored(alice, make_request_row):
    """Rows stored while their models had no price, rolled up."""
    openai = Provider.objects.create(name="openai-main", type="openai", cost_multiplier=Decimal("0.5"))
    rows = []
    for i, model in enumerate(["mystery-model", "mystery-model", "gpt-4o-2024-08-06", "other-model"]):
        rows.append(
            make_request_row(
                user=alice,
                model=model,
                original_model=model,
                provider_id=openai.pk,
                cost=None,
                price_missing=True,
                cost_breakdown={"model": model, "unpriced": True},
                input_tokens=1000,
                output_tokens=500,
                cost_multiplier=Decimal("0.5"),
                created_at=NOW - timedelta(hours=2 + i),
            )  # fmt: skip
        )
    for row in rows:
        rollups.rollup_hour(rollups.floor_hour(row.created_at))
    return rows


def cost_total(viewer) -> Decimal | None:
    (row,) = rollups.totals(viewer=viewer, start=NOW - timedelta(days=1), end=NOW, fields=("cost", "priced"))
    return row["cost"], row["priced"]


def test_a_new_price_reaches_stored_rows_and_every_aggregate(admin_user, stored, capsys):
    assert cost_total(admin_user) == (None, 0)
    price = ModelPrice.objects.create(model="mystery-model", provider_type="", input_price=2, output_price=8,
                                      effective_from=date(2020, 1, 1))  # fmt: skip
    call_command("reprice", since=SINCE)
    assert "changed 3" in capsys.readouterr().out  # two mystery rows and the dated gpt-4o
    mystery = MessageRequest.objects.filter(model="mystery-model")
    assert {row.cost for row in mystery} == {Decimal("0.0030000000")}  # (1000 x $2 + 500 x $8) / 10^6 x 0.5
    assert not mystery.filter(price_missing=True).exists()
    assert {row.cost_breakdown["price"]["model_price_id"] for row in mystery} == {price.pk}
    dated = MessageRequest.objects.get(model="gpt-4o-2024-08-06")
    assert dated.cost_breakdown["price"]["model"] == "gpt-4o" and not dated.price_missing
    # The touched hours were rolled up again: the totals follow, with no dirty hour left.
    assert cost_total(admin_user) == (Decimal("0.006") + dated.cost, 3)
    assert not RollupHour.objects.filter(dirty=True).exists()


def test_running_it_again_changes_nothing(admin_user, stored):
    first = requests_reprice(since=NOW - timedelta(days=3), until=NOW)
    versions = dict(RollupHour.objects.values_list("hour", "version"))
    again = requests_reprice(since=NOW - timedelta(days=3), until=NOW)
    assert (first.changed, again.changed, again.scanned) == (1, 0, 4)
    assert dict(RollupHour.objects.values_list("hour", "version")) == versions  # no hour marked again


def test_model_picks_the_rows_billed_as_that_model_under_any_name(stored):
    ModelPrice.objects.create(model="gpt-4o", provider_type="openai", input_price=1, output_price=1,
                              effective_from=date(2020, 1, 1))  # fmt: skip
    ModelPrice.objects.create(model="other-model", provider_type="", input_price=1, output_price=1,
                              effective_from=date(2020, 1, 1))  # fmt: skip
    result = requests_reprice(since=NOW - timedelta(days=3), until=NOW, model="gpt-4o")
    assert (result.scanned, result.changed, result.newly_priced) == (1, 1, 1)
    assert MessageRequest.objects.get(model="gpt-4o-2024-08-06").cost == Decimal("0.0007500000")
    assert MessageRequest.objects.get(model="other-model").cost is None  # not asked for
    assert requests_reprice(since=NOW - timedelta(days=3), until=NOW, model="no-such-model").scanned == 0


def test_a_dry_run_counts_and_writes_nothing(stored):
    result = requests_reprice(since=NOW - timedelta(days=3), until=NOW, dry_run=True)
    assert result.changed == 1 and result.newly_priced == 1
    assert MessageRequest.objects.filter(cost__isnull=False).count() == 0
    assert not RollupHour.objects.filter(dirty=True).exists()


def test_small_batches_give_the_same_result(alice, make_request_row):
    moment = NOW - timedelta(hours=1)
    for _ in range(7):  # one instant: the keyset must page on the id as well
        make_request_row(user=alice, model="gpt-4o", created_at=moment, cost=None, price_missing=True)
    result = requests_reprice(since=NOW - timedelta(days=1), until=NOW, batch_size=2)
    assert (result.scanned, result.changed) == (7, 7)
    assert not MessageRequest.objects.filter(cost__isnull=True).exists()


def test_the_window_is_respected(alice, make_request_row):
    make_request_row(user=alice, model="gpt-4o", created_at=NOW - timedelta(days=5), cost=None, price_missing=True)
    assert requests_reprice(since=NOW - timedelta(days=3), until=NOW).scanned == 0


def test_rows_stored_as_not_billed_stay_not_billed(alice, make_request_row):
    refused = make_request_row(user=alice, model="gpt-4o", status_code=429, cost=Decimal(0), cost_breakdown=None,
                               created_at=NOW - timedelta(hours=1))  # fmt: skip
    assert requests_reprice(since=NOW - timedelta(days=1), until=NOW).changed == 0
    refused.refresh_from_db()
    assert refused.cost == 0 and refused.cost_breakdown is None


def test_the_command_refuses_bad_dates():
    with pytest.raises(CommandError, match="not a date"):
        call_command("reprice", since="yesterday")
    with pytest.raises(CommandError, match="after"):
        call_command("reprice", since="2026-03-02", until="2026-03-01")


def test_model_follows_the_billing_rule_for_redirected_rows(alice, make_request_row):
    from hub.models import SystemSettings

    make_request_row(user=alice, model="ran-model", original_model="asked-model", cost=None, price_missing=True,
                     created_at=NOW - timedelta(hours=1))  # fmt: skip
    ModelPrice.objects.create(model="asked-model", provider_type="", input_price=1, output_price=1,
                              effective_from=date(2020, 1, 1))  # fmt: skip
    window = {"since": NOW - timedelta(days=1), "until": NOW}
    assert requests_reprice(**window, model="asked-model").changed == 0  # billed as the model that ran
    settings_row = SystemSettings.get()
    settings_row.bill_original_model = True
    settings_row.save()
    assert requests_reprice(**window, model="asked-model").changed == 1
