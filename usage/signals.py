"""What usage tells the apps to its right (DESIGN: a left app never imports a right one).

``requests_stored``: sent by the one write path (``usage.services.requests_store``) inside
the write transaction, with ``rows``, the ``RequestRow``s that were new (resends left out).
A receiver's writes commit or roll back with the rows themselves.

``requests_purged``: sent by retention inside the transaction that dropped request rows,
with ``before``: every row created before that moment is gone. Listeners drop or recompute
what they derived from those rows.

``rollups_processed``: sent by the rollup task after it recomputed hours (``hours``, how
many; ``now``, the moment it ran for), outside any transaction.
"""

from django.dispatch import Signal

requests_stored = Signal()
rollups_processed = Signal()
requests_purged = Signal()
