"""OpenTelemetry traces (OTLP/HTTP, JSON or protobuf) whose spans follow the GenAI conventions.

One record per model-call span: a span with at least one ``gen_ai.*`` attribute naming a model or
a token count. Spans without GenAI attributes are ignored, and so are agent and tool spans
(``gen_ai.operation.name`` invoke_agent, create_agent, invoke_workflow, execute_tool): an agent
span sums the model calls below it, which are recorded on their own, and a tool span has no
tokens. A span that cannot be read gives a RecordError in its place in the result list.

Token mapping. ``gen_ai.usage.input_tokens`` (deprecated: ``prompt_tokens``) SHOULD include
cached tokens, reads and writes alike, so:

* input = input_tokens - cache_read.input_tokens - cache_creation.input_tokens,
  cache_read / cache_creation as given, output = output_tokens (deprecated: completion_tokens,
  includes reasoning), reasoning = reasoning.output_tokens.
* An instrumentation that reports the cache beside input_tokens shows it when the cache counts
  exceed input_tokens; input_tokens is then taken as is rather than losing tokens.

So input + cache_creation + cache_read + output equals input_tokens + output_tokens.
Other fields: request_id = "<trace id>-<span id>", created_at = start time, duration = end -
start, session = gen_ai.conversation.id (else session.id, else a session header recorded as
http.request.header.*), failure = error.type or status code 2 (ERROR).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any
from urllib.parse import urlsplit

from usage.ingest._common import (
    finish,
    format_error,
    provider_type_from_name,
    read_count,
    read_headers,
    read_int,
    read_opt_int,
    read_str,
    session_from_headers,
    sub,
    time_from_unix,
    tool_call,
    type_name,
)
from usage.ingest.canonical import CanonicalRecord, RecordError

IGNORED_OPERATIONS = frozenset({"invoke_agent", "create_agent", "invoke_workflow", "execute_tool"})
STATUS_ERROR = 2
_HEX = re.compile(r"[0-9a-fA-F]+")
_HEADER_PREFIX = "http.request.header."

# (canonical meaning, attribute names newest first)
_INPUT = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
_OUTPUT = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
_CACHE_READ = ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens")
_CACHE_WRITE = ("gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_creation_input_tokens")
_REASONING = ("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens")


def parse_otlp_json(obj: dict[str, Any]) -> list[CanonicalRecord | RecordError]:
    """Records of an ExportTraceServiceRequest in OTLP's JSON encoding."""
    if not isinstance(obj, dict):
        raise RecordError("body", f"must be a JSON object, got {type_name(obj)}")
    resource_spans = obj.get("resourceSpans")
    if resource_spans is None:
        return []
    if not isinstance(resource_spans, list):
        raise RecordError("resourceSpans", f"must be an array, got {type_name(resource_spans)}")
    results: list[CanonicalRecord | RecordError] = []
    for i, resource_span in enumerate(resource_spans):
        resource = _attributes(sub(resource_span, "resource").get("attributes"))
        scopes = (resource_span.get("scopeSpans") or []) if isinstance(resource_span, dict) else []
        for j, scope in enumerate(scopes):
            spans = (scope.get("spans") or []) if isinstance(scope, dict) else []
            for k, span in enumerate(spans):
                where = f"resourceSpans[{i}].scopeSpans[{j}].spans[{k}]"
                try:
                    record = _span_record(span, resource)
                except RecordError as error:
                    results.append(RecordError(f"{where}.{error.field}", error.reason))
                else:
                    if record is not None:
                        results.append(record)
    return results


def parse_otlp_protobuf(data: bytes) -> list[CanonicalRecord | RecordError]:
    """Records of an ExportTraceServiceRequest in OTLP's protobuf encoding."""
    # Imported here so the JSON path works where the protobuf runtime is not installed.
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(data)
    except DecodeError:
        raise RecordError("body", "not a valid OTLP protobuf ExportTraceServiceRequest") from None
    return parse_otlp_json(_request_as_json(request))


# --- span to record -------------------------------------------------------------------------


def _span_record(span: Any, resource: dict[str, Any]) -> CanonicalRecord | None:
    if not isinstance(span, dict):
        raise RecordError("span", f"must be an object, got {type_name(span)}")
    attrs = _attributes(span.get("attributes"))
    if not any(key.startswith("gen_ai.") for key in attrs):
        return None
    operation = attrs.get("gen_ai.operation.name")
    if operation in IGNORED_OPERATIONS:
        return None
    request_model = _text(attrs.get("gen_ai.request.model"))
    response_model = _text(attrs.get("gen_ai.response.model"))
    has_usage = any(name in attrs for name in _INPUT + _OUTPUT + _CACHE_READ + _CACHE_WRITE)
    if not (request_model or response_model or has_usage):
        return None

    record = CanonicalRecord()
    trace_id = _hex_id(span.get("traceId"), 16, "traceId")
    span_id = _hex_id(span.get("spanId"), 8, "spanId")
    record.request_id = f"{trace_id}-{span_id}"
    start = read_opt_int(span.get("startTimeUnixNano"), "startTimeUnixNano")
    end = read_opt_int(span.get("endTimeUnixNano"), "endTimeUnixNano")
    record.created_at = time_from_unix(start, "startTimeUnixNano", divisor=10**9)
    if start and end and end >= start:
        record.duration_ms = (end - start) // 10**6

    record.model = response_model or request_model
    record.original_model = request_model if request_model != record.model else ""
    provider = _text(attrs.get("gen_ai.provider.name")) or _text(attrs.get("gen_ai.system"))
    record.provider_name = provider
    record.provider_type = provider_type_from_name(provider)

    prompt = read_count(_first(attrs, _INPUT), _first_name(attrs, _INPUT))
    record.output_tokens = read_count(_first(attrs, _OUTPUT), _first_name(attrs, _OUTPUT))
    record.cache_read_tokens = read_count(_first(attrs, _CACHE_READ), _first_name(attrs, _CACHE_READ))
    record.cache_creation_tokens = read_count(_first(attrs, _CACHE_WRITE), _first_name(attrs, _CACHE_WRITE))
    record.reasoning_tokens = read_count(_first(attrs, _REASONING), _first_name(attrs, _REASONING))
    record.input_tokens = _uncached(prompt, record.cache_read_tokens, record.cache_creation_tokens)

    headers = {
        key[len(_HEADER_PREFIX) :]: _header_value(value)
        for key, value in attrs.items()
        if key.startswith(_HEADER_PREFIX)
    }
    record.headers = read_headers({key: value for key, value in headers.items() if value})
    record.session_id = (
        _text(attrs.get("gen_ai.conversation.id"))
        or _text(attrs.get("session.id"))
        or session_from_headers(record.headers)
    )
    record.user_agent = _text(attrs.get("user_agent.original"))
    url_path = _text(attrs.get("url.path")) or urlsplit(_text(attrs.get("url.full"))).path
    record.endpoint = url_path
    if isinstance(attrs.get("gen_ai.request.stream"), bool):
        record.is_stream = attrs["gen_ai.request.stream"]

    status = sub(span, "status")
    error_type = _text(attrs.get("error.type"))
    failed = bool(error_type) or status.get("code") in (STATUS_ERROR, "STATUS_CODE_ERROR", str(STATUS_ERROR))
    http_status = attrs.get("http.response.status_code")
    if http_status is not None:
        record.status_code = read_int(http_status, "http.response.status_code", minimum=100, maximum=599)
        failed = failed or record.status_code >= 400
    elif failed:
        record.status_code = int(error_type) if error_type.isdigit() and 400 <= int(error_type) <= 599 else 500
    else:
        record.status_code = 200
    if failed:
        message = status.get("message")
        record.error_message = (
            format_error(error_type, message) if error_type or message else f"HTTP {record.status_code}"
        )

    _read_messages(record, attrs)
    extra = {
        "gen_ai.operation.name": operation,
        "otel.span_name": span.get("name"),
        "service.name": resource.get("service.name"),
    }
    record.attributes.update({key: value for key, value in extra.items() if isinstance(value, str) and value})
    return finish(record)


def _uncached(prompt: int, cache_read: int, cache_write: int) -> int:
    if cache_read + cache_write <= prompt:
        return prompt - cache_read - cache_write
    return prompt


def _read_messages(record: CanonicalRecord, attrs: dict[str, Any]) -> None:
    """question / answer / reasoning / tool_calls from gen_ai.input.messages and output.messages."""
    inputs = _json_list(attrs.get("gen_ai.input.messages"))
    outputs = _json_list(attrs.get("gen_ai.output.messages"))
    if inputs is not None:
        record.messages_count = len(inputs)
        for message in reversed(inputs):
            if isinstance(message, dict) and message.get("role") == "user":
                text = _parts_text(message.get("parts"), "text")
                if text:
                    record.attributes["question"] = text
                    break
    if outputs:
        answers, thoughts, calls = [], [], []
        for message in outputs:
            if not isinstance(message, dict):
                continue
            answers.append(_parts_text(message.get("parts"), "text"))
            thoughts.append(_parts_text(message.get("parts"), "reasoning"))
            for part in message.get("parts") or []:
                if isinstance(part, dict) and part.get("type") == "tool_call":
                    calls.append(tool_call(part.get("id") or "", part.get("name") or "", part.get("arguments") or {}))
        built = {
            "answer": "\n".join(text for text in answers if text),
            "reasoning": "\n".join(text for text in thoughts if text),
            "tool_calls": calls,
        }
        record.attributes.update({key: value for key, value in built.items() if value})


def _parts_text(parts: Any, kind: str) -> str:
    if not isinstance(parts, list):
        return ""
    texts = [
        part["content"]
        for part in parts
        if isinstance(part, dict) and part.get("type") == kind and isinstance(part.get("content"), str)
    ]
    return "\n".join(text for text in texts if text)


def _json_list(value: Any) -> list[Any] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, list) else None


# --- OTLP JSON values -----------------------------------------------------------------------


def _any_value(value: Any) -> Any:
    if not isinstance(value, dict):
        return None
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return value["boolValue"]
    if "intValue" in value:
        return value["intValue"]  # int64 travels as a JSON string; read_count accepts both
    if "doubleValue" in value:
        return value["doubleValue"]
    if "arrayValue" in value:
        return [_any_value(item) for item in sub(value, "arrayValue").get("values") or []]
    if "kvlistValue" in value:
        return _attributes(sub(value, "kvlistValue").get("values"))
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def _attributes(items: Any) -> dict[str, Any]:
    if not isinstance(items, list):
        return {}
    return {
        item["key"]: _any_value(item.get("value"))
        for item in items
        if isinstance(item, dict) and isinstance(item.get("key"), str)
    }


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _first(attrs: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if attrs.get(name) is not None:
            return attrs[name]
    return None


def _first_name(attrs: dict[str, Any], names: tuple[str, ...]) -> str:
    return next((name for name in names if attrs.get(name) is not None), names[0])


def _header_value(value: Any) -> str:
    # Semantic conventions record a request header as an array of its values.
    if isinstance(value, list):
        value = ", ".join(str(item) for item in value if item is not None)
    return value.strip() if isinstance(value, str) else ""


def _hex_id(value: Any, size: int, field: str) -> str:
    """Trace/span ids are hex in OTLP JSON; some exporters write protobuf's base64 instead."""
    text = read_str(value, field) if value is not None else ""
    if len(text) == size * 2 and _HEX.fullmatch(text):
        return text.lower()
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == size and any(raw):
        return raw.hex()
    raise RecordError(field, f"must be {size * 2} hex digits")


# --- protobuf to the JSON shape ------------------------------------------------------------


def _proto_value(value: Any) -> dict[str, Any]:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return {"stringValue": value.string_value}
    if kind == "bool_value":
        return {"boolValue": value.bool_value}
    if kind == "int_value":
        return {"intValue": str(value.int_value)}
    if kind == "double_value":
        return {"doubleValue": value.double_value}
    if kind == "array_value":
        return {"arrayValue": {"values": [_proto_value(item) for item in value.array_value.values]}}
    if kind == "kvlist_value":
        return {"kvlistValue": {"values": _proto_attributes(value.kvlist_value.values)}}
    if kind == "bytes_value":
        return {"bytesValue": base64.b64encode(value.bytes_value).decode()}
    return {}


def _proto_attributes(items: Any) -> list[dict[str, Any]]:
    return [{"key": item.key, "value": _proto_value(item.value)} for item in items]


def _request_as_json(request: Any) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": _proto_attributes(resource_span.resource.attributes)},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": span.trace_id.hex(),
                                "spanId": span.span_id.hex(),
                                "name": span.name,
                                "startTimeUnixNano": str(span.start_time_unix_nano),
                                "endTimeUnixNano": str(span.end_time_unix_nano),
                                "attributes": _proto_attributes(span.attributes),
                                "status": {"code": span.status.code, "message": span.status.message},
                            }
                            for span in scope_span.spans
                        ]
                    }
                    for scope_span in resource_span.scope_spans
                ],
            }
            for resource_span in request.resource_spans
        ]
    }
