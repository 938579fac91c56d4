"""An application instrumented with OpenTelemetry, as a new user would write it: run in its own
process (instrumentations patch the SDKs for good, and an older release lives in its own folder).

    python tests/usage/otel/client.py INSTRUMENTATION UPSTREAM_URL

It makes four calls through the official SDK (plain, streamed with usage, a tool call, a 429)
and exports its spans with the real OTLP/HTTP exporter, configured by the standard
``OTEL_EXPORTER_OTLP_*`` variables only. ``--dump`` prints the spans' attributes instead.
"""

from __future__ import annotations

import contextlib
import json
import sys

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

SESSION = "conversation-42"
TOOLS_OPENAI = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}}}}]  # fmt: skip
TOOLS_ANTHROPIC = [{"name": "get_weather", "input_schema": {
    "type": "object", "properties": {"city": {"type": "string"}}}}]  # fmt: skip


def _instrument(name: str) -> None:
    if name == "openai-v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument()
    elif name.startswith("traceloop-openai"):
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument()
    elif name.startswith("traceloop-anthropic"):
        from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor

        AnthropicInstrumentor().instrument()
    # "anthropic-sdk": the SDK's own tracing, on whenever a tracer provider is registered.


def _openai_calls(url: str) -> None:
    import openai

    client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk-test", max_retries=0)
    messages = [{"role": "user", "content": "Say hello"}]
    client.chat.completions.create(model="gpt-4o", messages=messages)
    stream = client.chat.completions.create(
        model="gpt-4o", messages=messages, stream=True, stream_options={"include_usage": True}
    )
    for _chunk in stream:
        pass
    client.chat.completions.create(model="gpt-4o", messages=messages, tools=TOOLS_OPENAI)
    with contextlib.suppress(openai.RateLimitError):
        client.chat.completions.create(model="gpt-4o-429", messages=messages)


def _anthropic_calls(url: str, *, builtin_only: bool) -> None:
    import anthropic

    options = {"open_telemetry": {"conversation_id": SESSION}} if builtin_only else {}
    client = anthropic.Anthropic(base_url=url, api_key="sk-ant-test", max_retries=0, **options)
    messages = [{"role": "user", "content": "Say hello"}]
    client.messages.create(model="claude-sonnet-4-5", max_tokens=256, messages=messages)
    with client.messages.stream(model="claude-sonnet-4-5", max_tokens=256, messages=messages) as stream:
        for _text in stream.text_stream:
            pass
    client.messages.create(model="claude-sonnet-4-5", max_tokens=256, messages=messages, tools=TOOLS_ANTHROPIC)
    with contextlib.suppress(anthropic.RateLimitError):
        client.messages.create(model="claude-sonnet-4-5-429", max_tokens=256, messages=messages)


def main(argv: list[str]) -> None:
    dump = "--dump" in argv
    instrumentation, url = [arg for arg in argv if not arg.startswith("--")]
    if instrumentation == "zero-code":
        # Started by `opentelemetry-instrument`: the distro set up everything from the environment.
        _anthropic_calls(url, builtin_only=False)
        return
    provider = TracerProvider(resource=Resource.create({"service.name": f"otel-client-{instrumentation}"}))
    if dump:
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        exporter = InMemorySpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()  # endpoint and headers from OTEL_EXPORTER_OTLP_* only
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _instrument(instrumentation)
    if "openai" in instrumentation:
        _openai_calls(url)
    else:
        _anthropic_calls(url, builtin_only=instrumentation == "anthropic-sdk")
    provider.shutdown()
    if dump:
        spans = [
            {"name": span.name, "trace_id": f"{span.context.trace_id:032x}", "start": span.start_time,
             "end": span.end_time, "status": [span.status.status_code.name, span.status.description],
             "attributes": dict(span.attributes or {}),
             "events": [{"name": e.name, "time": e.timestamp, "attributes": dict(e.attributes or {})}
                        for e in span.events]}
            for span in exporter.get_finished_spans()
        ]  # fmt: skip
        json.dump(spans, sys.stdout, indent=1, default=str)


if __name__ == "__main__":
    main(sys.argv[1:])
