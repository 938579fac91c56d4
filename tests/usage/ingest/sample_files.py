"""Access to the sample payloads under ``samples/``, written from the providers' public docs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).parent / "samples"


def sample_path(relative: str) -> Path:
    return SAMPLES / relative


def load_json(relative: str) -> Any:
    return json.loads(sample_path(relative).read_text(encoding="utf-8"))


def load_text(relative: str) -> str:
    return sample_path(relative).read_text(encoding="utf-8")


def envelope(request: str, stream: str, **extra: Any) -> dict[str, Any]:
    """An envelope around a sample request body and a sample captured stream."""
    return {"request": load_json(request), "stream": load_text(stream), **extra}
