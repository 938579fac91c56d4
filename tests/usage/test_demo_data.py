from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Max, Q

from hub.models import ApiKey
from providers.models import Provider
from usage import demo
from usage.models import MessageRequest

pytestmark = pytest.mark.django_db
END = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def loaded():
    stored = demo.load(rows=3000, days=7, seed=11, end=END)
    return stored


def test_demo_data_writes_the_rows_asked_for_inside_the_window(loaded):
    assert loaded == 3000 == MessageRequest.objects.count()
    window = MessageRequest.objects.filter(created_at__gt=datetime(2026, 6, 8, 11, 0, tzinfo=UTC), created_at__lt=END)
    assert window.count() == 3000


def test_demo_data_covers_what_the_pages_need(loaded):
    rows = MessageRequest.objects.all()
    assert rows.values("user").distinct().count() >= 5
    assert set(Provider.objects.values_list("type", flat=True)) == {
        "claude", "openai", "gemini", "qwen", "deepseek", "openai-compatible", "other",
    }  # fmt: skip
    sessions = rows.exclude(session_id="").values("session_id").annotate(n=Count("id"))
    assert sessions.filter(n__gte=3).exists()
    assert rows.filter(is_stream=True, ttft_ms__isnull=False).exists()
    assert rows.filter(cache_read_tokens__gt=0).exists() and rows.filter(cache_creation_1h_tokens__gt=0).exists()
    assert rows.exclude(original_model=F("model")).exists()
    assert rows.filter(status_code__gte=400, status_code__lt=500).exclude(error_message="").exists()
    assert rows.filter(status_code__gte=500).exclude(error_message="").exists()
    assert rows.exclude(blocked_by="").exists()
    assert rows.filter(reasoning_tokens__gt=0).exists()
    assert rows.filter(provider_chain__1__isnull=False).exists()  # a failover hop


def test_demo_keys_were_last_used_when_their_newest_request_was_sent(loaded):
    newest = MessageRequest.objects.filter(key__isnull=False).values("key").annotate(last=Max("created_at"))
    assert newest
    for row in newest:
        assert ApiKey.objects.get(pk=row["key"]).last_used_at == row["last"]


def test_unpriced_models_have_no_cost_never_a_zero(loaded):
    unpriced = MessageRequest.objects.filter(model="llama-3.3-70b-instruct")
    assert unpriced.exists() and not unpriced.filter(cost__isnull=False).exists()
    priced_ok = MessageRequest.objects.filter(model="claude-sonnet-4-5", status_code=200)
    assert not priced_ok.filter(Q(cost__isnull=True) | Q(cost=0)).exists()


def test_redirected_rows_are_billed_by_the_same_rule_as_ingestion():
    from hub.models import SystemSettings

    def redirected_billing() -> set[str]:
        world = demo.ensure_world()
        rows = demo.generate_rows(world, rows=3000, days=7, seed=11, end=END)
        # (model ran, model asked, status, breakdown): gpt-4o is redirected to gpt-4.1, priced apart
        return {row[18]["model"] for row in rows if (row[5], row[6], row[8]) == ("gpt-4.1", "gpt-4o", 200)}

    assert redirected_billing() == {"gpt-4.1"}  # the default: the model that ran
    settings_row = SystemSettings.get()
    settings_row.bill_original_model = True
    settings_row.save()
    assert redirected_billing() == {"gpt-4o"}


def test_same_seed_gives_the_same_rows():
    world = demo.ensure_world()
    first = list(demo.generate_rows(world, rows=500, days=3, seed=5, end=END))
    second = list(demo.generate_rows(world, rows=500, days=3, seed=5, end=END))
    other = list(demo.generate_rows(world, rows=500, days=3, seed=6, end=END))
    assert first == second and first != other


def test_running_it_again_adds_nothing(loaded):
    assert demo.load(rows=3000, days=7, seed=11, end=END) == 0
    assert MessageRequest.objects.count() == 3000


def test_command_refuses_bad_arguments_and_skips_a_loaded_database(loaded, capsys):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="--days"):
        call_command("demo_data", days=0)
    call_command("demo_data", if_empty=True)
    assert "no demo data loaded" in capsys.readouterr().out
