"""A web worker loads, as it boots, what its first requests would otherwise load on the way."""

import gc

import pytest

from hub import gunicorn
from providers import pricing


@pytest.fixture
def booted_worker():
    pricing._catalogue.cache_clear()
    pricing._supplement.cache_clear()
    gunicorn.post_worker_init(worker=None)
    yield
    gc.unfreeze()


def test_a_booting_web_worker_loads_the_price_catalogue(booted_worker):
    assert pricing._catalogue.cache_info().currsize == 1
    assert pricing._supplement.cache_info().currsize == 1
    # and the first price asked for is found in it without loading anything more
    assert pricing.catalogue_model("gpt-4o-2024-08-06", "openai") is not None
    assert pricing._catalogue.cache_info().misses == 1


def test_what_a_worker_loaded_at_boot_is_out_of_the_collectors_sight(booted_worker):
    # Django, the views and the catalogue: collections walk only what requests allocate
    assert gc.get_freeze_count() > 10_000
