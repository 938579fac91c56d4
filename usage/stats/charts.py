"""Series for the charts: one x axis (unix seconds) and one line per key, gaps as None."""

from __future__ import annotations


def chart_data(rows: list[dict], measure: str) -> dict:
    xs = sorted({row["bucket"] for row in rows})
    keys = sorted({row.get("key") or "" for row in rows})
    index = {x: i for i, x in enumerate(xs)}
    series = {key: [None] * len(xs) for key in keys}
    for row in rows:
        value = row[measure]
        series[row.get("key") or ""][index[row["bucket"]]] = float(value) if value is not None else None
    return {
        "x": [int(x.timestamp()) for x in xs],
        "labels": [x.isoformat() for x in xs],
        "series": [{"label": key or measure, "values": values} for key, values in series.items()],
        "measure": measure,
        # The same numbers as a table, for readers and screen readers that do not use the chart.
        "rows": [
            [label, *(values[i] for values in series.values())]
            for i, label in enumerate(x.strftime("%Y-%m-%d %H:%M") for x in xs)
        ],
    }
