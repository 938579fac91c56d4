"""A fake OpenAI and Anthropic upstream on 127.0.0.1 (random port): the official SDKs call it as
they would call the real APIs, and it remembers what it answered, so a test can compare what the
hub stored with what the provider said.

The model name picks the behaviour: a model ending in ``-429`` is rate limited; ``stream`` and
``tools`` in the request pick a streamed answer or a tool call. Responses carry every token kind
the provider reports (cache reads, cache writes split by TTL, reasoning), a dated model name
different from the one asked for, and a unique response id.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FIRST_CHUNK_DELAY = 0.15  # seconds before a stream's first content chunk: a TTFT worth measuring
OPENAI_MODEL = "gpt-4o-2024-08-06"
ANTHROPIC_MODEL = "claude-sonnet-4-5-20250929"


@dataclass
class Answer:
    """One call as the upstream saw and answered it."""

    api: str  # "openai" | "anthropic"
    kind: str  # "plain" | "stream" | "tool" | "429"
    asked_model: str
    model: str = ""
    response_id: str = ""
    status: int = 200
    usage: dict[str, int] = field(default_factory=dict)  # in the hub's convention
    error_type: str = ""
    arrived_at: datetime | None = None  # when the request reached the upstream


class FakeUpstream:
    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._local = threading.local()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                upstream._local.arrived_at = datetime.now(UTC)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                if self.path.endswith("/chat/completions"):
                    upstream._openai(self, body)
                elif self.path.endswith("/messages"):
                    upstream._anthropic(self, body)
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def _send(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, events: list[str]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                for i, event in enumerate(events):
                    if i == 0:
                        time.sleep(FIRST_CHUNK_DELAY)
                    self.wfile.write(event.encode())
                    self.wfile.flush()
                self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeUpstream:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _remember(self, answer: Answer) -> None:
        answer.arrived_at = self._local.arrived_at
        with self._lock:
            self.answers.append(answer)

    # --- OpenAI Chat Completions ----------------------------------------------------------

    def _openai(self, handler: Any, body: dict) -> None:
        asked = body.get("model", "")
        if asked.endswith("-429"):
            self._remember(Answer("openai", "429", asked, status=429, error_type="rate_limit_exceeded"))
            error = {"message": "Rate limit reached for requests", "type": "requests", "param": None,
                     "code": "rate_limit_exceeded"}  # fmt: skip
            handler._send(429, {"error": error}, {"retry-after": "0"})
            return
        response_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        prompt, cached, completion, reasoning = 1200, 1024, 80, 16
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0},
        }
        kind = "stream" if body.get("stream") else "tool" if body.get("tools") else "plain"
        self._remember(
            Answer("openai", kind, asked, OPENAI_MODEL, response_id, 200,
                   {"input": prompt - cached, "cache_read": cached, "cache_creation": 0, "output": completion,
                    "reasoning": reasoning})
        )  # fmt: skip
        created = int(time.time())
        if kind == "tool":
            message = {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}  # fmt: skip
            finish = "tool_calls"
        else:
            message = {"role": "assistant", "content": "Hello there."}
            finish = "stop"
        if kind != "stream":
            handler._send(200, {
                "id": response_id, "object": "chat.completion", "created": created, "model": OPENAI_MODEL,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage,
                "system_fingerprint": "fp_1",
            })  # fmt: skip
            return

        def chunk(delta: dict, finish_reason: str | None = None, with_usage: bool = False) -> str:
            data = {"id": response_id, "object": "chat.completion.chunk", "created": created, "model": OPENAI_MODEL,
                    "choices": [] if with_usage else [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
                    "usage": usage if with_usage else None}  # fmt: skip
            return f"data: {json.dumps(data)}\n\n"

        events = [chunk({"role": "assistant", "content": ""}), chunk({"content": "Hello"}),
                  chunk({"content": " there."}), chunk({}, "stop")]  # fmt: skip
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append(chunk({}, with_usage=True))
        events.append("data: [DONE]\n\n")
        handler._stream(events)

    # --- Anthropic Messages ---------------------------------------------------------------

    def _anthropic(self, handler: Any, body: dict) -> None:
        asked = body.get("model", "")
        if asked.endswith("-429"):
            self._remember(Answer("anthropic", "429", asked, status=429, error_type="rate_limit_error"))
            handler._send(429, {"type": "error", "error": {"type": "rate_limit_error", "message": "Rate limited"}},
                          {"retry-after": "0", "request-id": "req_429"})  # fmt: skip
            return
        response_id = f"msg_{uuid.uuid4().hex[:24]}"
        fresh, write_5m, write_1h, read, output = 300, 1500, 500, 1800, 120
        usage = {
            "input_tokens": fresh,
            "cache_creation_input_tokens": write_5m + write_1h,
            "cache_read_input_tokens": read,
            "cache_creation": {"ephemeral_5m_input_tokens": write_5m, "ephemeral_1h_input_tokens": write_1h},
            "output_tokens": output,
            "service_tier": "standard",
        }
        kind = "stream" if body.get("stream") else "tool" if body.get("tools") else "plain"
        self._remember(
            Answer("anthropic", kind, asked, ANTHROPIC_MODEL, response_id, 200,
                   {"input": fresh, "cache_read": read, "cache_creation": write_5m + write_1h,
                    "cache_creation_5m": write_5m, "cache_creation_1h": write_1h, "output": output, "reasoning": 0})
        )  # fmt: skip
        if kind == "tool":
            content = [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]
            stop = "tool_use"
        else:
            content = [{"type": "text", "text": "Hello there."}]
            stop = "end_turn"
        message = {"id": response_id, "type": "message", "role": "assistant", "model": ANTHROPIC_MODEL,
                   "content": content, "stop_reason": stop, "stop_sequence": None, "usage": usage}  # fmt: skip
        if kind != "stream":
            handler._send(200, message, {"request-id": f"req_{response_id}"})
            return

        def event(name: str, data: dict) -> str:
            return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n"

        start_usage = {**usage, "output_tokens": 1}
        events = [
            event("message_start", {"message": {**message, "content": [], "stop_reason": None, "usage": start_usage}}),
            event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
            event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "Hello"}}),
            event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": " there."}}),
            event("content_block_stop", {"index": 0}),
            event("message_delta", {"delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                    "usage": {"output_tokens": output}}),
            event("message_stop", {}),
        ]  # fmt: skip
        handler._stream(events)
