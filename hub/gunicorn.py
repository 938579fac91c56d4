"""gunicorn's settings for the hub's web workers: ``gunicorn -c python:hub.gunicorn hub.wsgi``."""


def post_worker_init(worker) -> None:
    """Load, as the worker boots, what its first requests would otherwise load on the way: every
    view with what it imports (the URLconf), and what the apps warm on ``worker_warming``.
    Measured without it: a fresh worker's first 1,000-record ingest took 650 ms, the next 110.

    Then everything loaded so far (Django, the views, the price catalogue: objects that live as
    long as the worker) is moved out of the garbage collector's sight (``gc.freeze``), so its
    collections walk only what requests allocate: an ingest of 1,000 records allocates tens of
    thousands of objects and set off collections that walked the whole heap each time
    (4-7 ms of its ~110 ms, measured at 10M rows)."""
    import gc

    from django.urls import get_resolver

    from hub.signals import worker_warming

    get_resolver().url_patterns  # noqa: B018  (importing every view is the point)
    worker_warming.send(sender=None)
    gc.freeze()
