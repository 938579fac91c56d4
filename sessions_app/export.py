"""CSV export of the sessions list: the same conventions as the request log's (BOM, formula-safe
text, a totals line), streamed so memory stays flat."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.db.models import QuerySet

from sessions_app.models import Session
from usage.definitions import TOKEN_KINDS_WITH_REASONING
from usage.export import BOM, ROWS_PER_CHUNK, Echo, safe

COLUMNS = (
    "session_id", "user", "key", "api_type", "started", "last_activity", "duration_s", "requests", "errors",
    *TOKEN_KINDS_WITH_REASONING, "cost_usd", "providers", "models",
)  # fmt: skip


def _line(session: Session, providers: dict[int, str]) -> list:
    return [
        safe(session.session_id), safe(session.user.username), safe(session.key.name if session.key else ""),
        session.api_type, session.first_request_at.isoformat(), session.last_request_at.isoformat(),
        round(session.duration.total_seconds()), session.requests, session.errors,
        *(getattr(session, name) for name in TOKEN_KINDS_WITH_REASONING),
        "" if session.cost is None else format(session.cost, "f"),
        safe(" ".join(providers.get(pk, str(pk)) for pk in session.provider_ids)), safe(" ".join(session.model_names)),
    ]  # fmt: skip


def sessions_csv(queryset: QuerySet[Session], providers: dict[int, str]) -> Iterator[str]:
    writer = csv.writer(Echo())
    yield BOM + writer.writerow(COLUMNS)
    totals = dict.fromkeys(("sessions", "requests", "errors", *TOKEN_KINDS_WITH_REASONING), 0)
    cost = None
    chunk: list[str] = []
    for session in queryset.select_related("user", "key").order_by("-last_request_at", "-id").iterator(2000):
        chunk.append(writer.writerow(_line(session, providers)))
        totals["sessions"] += 1
        for name in ("requests", "errors", *TOKEN_KINDS_WITH_REASONING):
            totals[name] += getattr(session, name)
        if session.cost is not None:
            cost = session.cost if cost is None else cost + session.cost
        if len(chunk) >= ROWS_PER_CHUNK:
            yield "".join(chunk)
            chunk = []
    yield "".join(chunk)
    line = ["TOTAL", f"{totals['sessions']} sessions", "", "", "", "", "", totals["requests"], totals["errors"]]
    line += [totals[name] for name in TOKEN_KINDS_WITH_REASONING]
    yield writer.writerow([*line, "" if cost is None else format(cost, "f"), "", ""])
