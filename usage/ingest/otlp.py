"""OpenTelemetry traces (OTLP/HTTP, JSON or protobuf) whose spans follow the GenAI conventions.

One record per model-call span: a span with at least one ``gen_ai.*`` attribute naming a model or
a token count. Spans without GenAI attributes are ignored, and so are agent and tool spans
(``gen_ai.operation.name`` invoke_agent, create_agent, invoke_workflow, execute_tool): an agent
span sums the model calls below it, which are recorded on their own, and a tool span has no
tokens. A span that cannot be read gives a RecordError in its place in the result list.

Token mapping. ``gen_ai.usage.input_tokens`` (deprecated: ``prompt_tokens``) SHOULD include
cached tokens, reads and writes alike, so:

* input = input_tokens - cache_read.input_tokens - cache_creation.input_tokens (also spelled
  cache_write.input_tokens), cache_read / cache_creation as given, 5m / 1h cache writes from
  anthropic.usage.cache_creation.ephemeral_*_input_tokens, output = output_tokens (deprecated:
  completion_tokens, includes reasoning), reasoning = reasoning.output_tokens.
* An instrumentation that reports the cache beside input_tokens shows it when the cache counts
  exceed input_tokens; input_tokens is then taken as is rather than losing tokens.

So input + cache_creation + cache_read + output equals input_tokens + output_tokens.

Other fields: request_id = gen_ai.response.id (the provider's id: two instrumentations tracing
one call report it under different traces, and the hub keeps the first, see
``CanonicalRecord.same_request_within``), else "<trace id>-<span id>"; created_at = start time,
duration = end - start; stream = gen_ai.request.stream (gen_ai.is_streaming, llm.is_streaming);
time to first token = gen_ai.response.time_to_first_chunk, else the first chunk event's time;
session = gen_ai.conversation.id (else session.id, else a session header recorded as
http.request.header.*); provider = gen_ai.provider.name (else gen_ai.system) in one spelling;
failure = error.type or status code 2 (ERROR), its HTTP status from http.response.status_code,
else the error type or status message (``provider_name``, ``_status_of_failure``).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from usage.ingest._common import (
    MAX_LENGTHS,
    array,
    finish,
    format_error,
    load_json,
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
_CACHE_WRITE = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_write.input_tokens",  # the anthropic SDK's own tracing
    "gen_ai.usage.cache_creation_input_tokens",
)
_CACHE_WRITE_5M = ("anthropic.usage.cache_creation.ephemeral_5m_input_tokens",)
_CACHE_WRITE_1H = ("anthropic.usage.cache_creation.ephemeral_1h_input_tokens",)
_REASONING = ("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens")
_STREAM = ("gen_ai.request.stream", "gen_ai.is_streaming", "llm.is_streaming")
# Seconds from the request to the first chunk of a streamed answer (GenAI semantic conventions).
_TIME_TO_FIRST_CHUNK = ("gen_ai.response.time_to_first_chunk", "gen_ai.server.time_to_first_token")
# Span events some instrumentations add per streamed chunk (Traceloop: current, then older releases).
_CHUNK_EVENTS = frozenset({"gen_ai.content.completion.chunk", "llm.content.completion.chunk"})
# Two instrumentations tracing one call (the anthropic SDK's own spans and a library's) report the
# same provider response id under different trace ids: that id, not the span, names the request,
# and a row of the same owner with it, started this close in time, is that request
# (usage.services). Both spans start when the call does; the margin covers clocks of two hosts.
# Shorter ids are not trusted to be unique (some local servers number their answers, chatcmpl-123).
RESPONSE_ID_WINDOW = timedelta(minutes=5)
MIN_RESPONSE_ID_LENGTH = 16
_MAX_SECONDS = (2**31 - 1) / 1000  # ttft_ms is a PostgreSQL integer

# Provider names as instrumentations spell them, squashed (lower case, no separators), onto the
# semantic conventions' well-known gen_ai.provider.name values; anything else is kept lower-cased.
_PROVIDER_NAMES = {
    "anthropic": "anthropic",
    "openai": "openai",
    "awsbedrock": "aws.bedrock",
    "bedrock": "aws.bedrock",
    "azureaiinference": "azure.ai.inference",
    "azaiinference": "azure.ai.inference",
    "azureaiopenai": "azure.ai.openai",
    "azaiopenai": "azure.ai.openai",
    "azureopenai": "azure.ai.openai",
    "cohere": "cohere",
    "deepseek": "deepseek",
    "gcpgemini": "gcp.gemini",
    "gemini": "gcp.gemini",
    "googlegemini": "gcp.gemini",
    "gcpvertexai": "gcp.vertex_ai",
    "vertexai": "gcp.vertex_ai",
    "vertex": "gcp.vertex_ai",
    "gcpgenai": "gcp.gen_ai",
    "googlegenai": "gcp.gen_ai",
    "groq": "groq",
    "ibmwatsonxai": "ibm.watsonx.ai",
    "watsonx": "ibm.watsonx.ai",
    "watsonxai": "ibm.watsonx.ai",
    "mistralai": "mistral_ai",
    "mistral": "mistral_ai",
    "perplexity": "perplexity",
    "xai": "x_ai",
}
_SEPARATORS = re.compile(r"[\s._\-]+")

# Statuses for failures a span names only by its error type: the SDKs' exception classes and the
# providers' documented error types and codes (OpenAI, Anthropic, Google), compared squashed.
_ERROR_STATUSES = {
    "badrequesterror": 400, "invalidrequesterror": 400, "invalidargument": 400, "contextlengthexceeded": 400,
    "authenticationerror": 401, "invalidapikey": 401, "unauthenticated": 401,
    "billingerror": 402,
    "permissiondeniederror": 403, "permissionerror": 403, "permissiondenied": 403,
    "notfounderror": 404, "notfound": 404, "modelnotfound": 404,
    "conflicterror": 409,
    "requesttoolarge": 413,
    "unprocessableentityerror": 422,
    "ratelimiterror": 429, "ratelimitexceeded": 429, "ratelimit": 429, "insufficientquota": 429,
    "resourceexhausted": 429, "toomanyrequests": 429,
    "internalservererror": 500, "apierror": 500, "internal": 500, "servererror": 500,
    "serviceunavailableerror": 503, "unavailable": 503, "serviceunavailable": 503,
    "deadlineexceeded": 504,  # Google's code; a client's own time-out has no upstream status, so 500
    "overloadederror": 529,
}  # fmt: skip
# "Error code: 429 - ..." (the openai and anthropic SDKs' exception text), "HTTP 503", "status 429".
_STATUS_IN_MESSAGE = re.compile(r"\b(?:error code|status(?: code)?|http)\s*[:=]?\s*([1-5]\d\d)\b", re.IGNORECASE)


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
        scopes = array(resource_span.get("scopeSpans")) if isinstance(resource_span, dict) else []
        for j, scope in enumerate(scopes):
            spans = array(scope.get("spans")) if isinstance(scope, dict) else []
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


def count_otlp_items(signal: str, raw: bytes, *, protobuf: bool) -> int:
    """How many metric data points (``signal`` "metrics") or log records ("logs") an OTLP export
    holds: the hub stores neither, and says how many it did not store. ValueError when unreadable."""
    if protobuf:
        from google.protobuf.message import DecodeError

        if signal == "metrics":
            from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

            request = ExportMetricsServiceRequest()
        else:
            from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

            request = ExportLogsServiceRequest()
        try:
            request.ParseFromString(raw)
        except DecodeError:
            raise ValueError(f"not a valid OTLP protobuf {type(request).__name__}") from None
        body = _message_as_dict(request)
    else:
        body = json.loads(raw.decode("utf-8"))
        if not isinstance(body, dict):
            raise ValueError(f"must be a JSON object, got {type_name(body)}")
    if signal == "metrics":
        return sum(
            len(_list(sub(metric, kind).get("dataPoints")))
            for resource in _list(body.get("resourceMetrics"))
            for scope in _list(_obj(resource).get("scopeMetrics"))
            for metric in _list(_obj(scope).get("metrics"))
            for kind in ("gauge", "sum", "histogram", "exponentialHistogram", "summary")
        )
    return sum(
        len(_list(_obj(scope).get("logRecords")))
        for resource in _list(body.get("resourceLogs"))
        for scope in _list(_obj(resource).get("scopeLogs"))
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _message_as_dict(message: Any) -> dict[str, Any]:
    from google.protobuf.json_format import MessageToDict

    return MessageToDict(message)


# --- span to record -------------------------------------------------------------------------


def _span_record(span: Any, resource: dict[str, Any]) -> CanonicalRecord | None:
    if not isinstance(span, dict):
        raise RecordError("span", f"must be an object, got {type_name(span)}")
    attrs = _attributes(span.get("attributes"))
    if not any(key.startswith("gen_ai.") for key in attrs):
        return None
    operation = attrs.get("gen_ai.operation.name")
    if isinstance(operation, str) and operation in IGNORED_OPERATIONS:
        return None
    request_model = _text(attrs.get("gen_ai.request.model"))
    response_model = _text(attrs.get("gen_ai.response.model"))
    has_usage = any(name in attrs for name in _INPUT + _OUTPUT + _CACHE_READ + _CACHE_WRITE)
    if not (request_model or response_model or has_usage):
        return None

    record = CanonicalRecord()
    trace_id = _hex_id(span.get("traceId"), 16, "traceId")
    span_id = _hex_id(span.get("spanId"), 8, "spanId")
    response_id = _text(attrs.get("gen_ai.response.id")).strip()
    if MIN_RESPONSE_ID_LENGTH <= len(response_id) <= MAX_LENGTHS["request_id"]:
        record.request_id = response_id
        record.same_request_within = RESPONSE_ID_WINDOW
        record.attributes.update({"otel.trace_id": trace_id, "otel.span_id": span_id})
    else:
        record.request_id = f"{trace_id}-{span_id}"
    start = read_opt_int(span.get("startTimeUnixNano"), "startTimeUnixNano")
    end = read_opt_int(span.get("endTimeUnixNano"), "endTimeUnixNano")
    record.created_at = time_from_unix(start, "startTimeUnixNano", divisor=10**9)
    record.created_at_field = "startTimeUnixNano"
    if start and end and end >= start:
        record.duration_ms = (end - start) // 10**6

    record.model = response_model or request_model
    record.original_model = request_model if request_model != record.model else ""
    raw_provider = _text(attrs.get("gen_ai.provider.name")) or _text(attrs.get("gen_ai.system"))
    record.provider_name = provider_name(raw_provider)
    record.provider_type = provider_type_from_name(record.provider_name)

    _read_tokens(record, attrs)

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
    _read_stream(record, attrs, span.get("events"), start)
    _read_status(record, attrs, sub(span, "status"), span.get("events"))

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


def provider_name(name: str) -> str:
    """One spelling per provider: ``OpenAI``, ``openai`` and ``az.ai.openai`` style variants map onto the
    semantic conventions' well-known values (``openai``, ``azure.ai.openai``); others are lower-cased."""
    name = name.strip()
    squashed = _SEPARATORS.sub("", name.lower())
    return _PROVIDER_NAMES.get(squashed, name.lower())


def _read_tokens(record: CanonicalRecord, attrs: dict[str, Any]) -> None:
    def count(names: tuple[str, ...]) -> int:
        return read_count(_first(attrs, names), _first_name(attrs, names))

    prompt = count(_INPUT)
    record.output_tokens = count(_OUTPUT)
    record.cache_read_tokens = count(_CACHE_READ)
    record.cache_creation_5m_tokens = count(_CACHE_WRITE_5M)
    record.cache_creation_1h_tokens = count(_CACHE_WRITE_1H)
    split = record.cache_creation_5m_tokens + record.cache_creation_1h_tokens
    record.cache_creation_tokens = count(_CACHE_WRITE) if _first(attrs, _CACHE_WRITE) is not None else split
    record.reasoning_tokens = count(_REASONING)
    record.input_tokens = _uncached(prompt, record.cache_read_tokens, record.cache_creation_tokens)


def _read_stream(record: CanonicalRecord, attrs: dict[str, Any], events: Any, start: int | None) -> None:
    """Stream flag and time to first token: from attributes, else from the first chunk event."""
    flag = _first(attrs, _STREAM)
    if isinstance(flag, str) and flag.strip().lower() in ("true", "false"):
        flag = flag.strip().lower() == "true"
    if isinstance(flag, bool):
        record.is_stream = flag
    seconds = _first(attrs, _TIME_TO_FIRST_CHUNK)
    if seconds is not None:
        field = _first_name(attrs, _TIME_TO_FIRST_CHUNK)
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float, str)):
            raise RecordError(field, f"must be a number of seconds, got {type_name(seconds)}")
        try:
            value = float(seconds)
        except ValueError:
            raise RecordError(field, f"must be a number of seconds, got {seconds[:40]!r}") from None
        if not math.isfinite(value) or value < 0 or value > _MAX_SECONDS:
            raise RecordError(field, "must be a non-negative number of seconds")
        record.ttft_ms = round(value * 1000)
        return
    first_chunk = min(
        (
            read_int(event.get("timeUnixNano"), "events.timeUnixNano")
            for event in (events if isinstance(events, list) else [])
            if isinstance(event, dict) and event.get("name") in _CHUNK_EVENTS and event.get("timeUnixNano")
        ),
        default=None,
    )
    if first_chunk is not None:
        record.is_stream = True
        if start and first_chunk >= start:
            record.ttft_ms = (first_chunk - start) // 10**6


def _read_status(record: CanonicalRecord, attrs: dict[str, Any], status: dict[str, Any], events: Any) -> None:
    """HTTP status: the span's http.response.status_code, else what its error type or status message
    says (a 429 reported only as ``openai.RateLimitError`` is a 429), and 500 only when nothing does."""
    error_type = _error_type_name(_text(attrs.get("error.type")) or _exception_type(events))
    message = status.get("message") if isinstance(status.get("message"), str) else ""
    failed = bool(error_type) or status.get("code") in (STATUS_ERROR, "STATUS_CODE_ERROR", str(STATUS_ERROR))
    http_status = attrs.get("http.response.status_code")
    if http_status is not None:
        record.status_code = read_int(http_status, "http.response.status_code", minimum=100, maximum=599)
        failed = failed or record.status_code >= 400
    elif failed:
        record.status_code = _status_of_failure(error_type, message)
    else:
        record.status_code = 200
    if failed:
        record.error_message = (
            format_error(error_type, message) if error_type or message else f"HTTP {record.status_code}"
        )


def _error_type_name(value: str) -> str:
    """``<class 'openai.RateLimitError'>`` (how one instrumentation writes it) as ``openai.RateLimitError``."""
    value = value.strip()
    match = re.fullmatch(r"<class '([^']+)'>", value)
    return match.group(1) if match else value


def _exception_type(events: Any) -> str:
    for event in events if isinstance(events, list) else []:
        if isinstance(event, dict) and event.get("name") == "exception":
            return _text(_attributes(event.get("attributes")).get("exception.type"))
    return ""


def _status_of_failure(error_type: str, message: str) -> int:
    if error_type.isdigit() and 400 <= int(error_type) <= 599:
        return int(error_type)
    found = _STATUS_IN_MESSAGE.search(message)
    if found and int(found.group(1)) >= 400:
        return int(found.group(1))
    # The last dotted part: openai.RateLimitError, anthropic.RateLimitError, google.api_core...ResourceExhausted.
    squashed = _SEPARATORS.sub("", error_type.rsplit(".", 1)[-1].lower())
    return _ERROR_STATUSES.get(squashed, 500)


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
            for part in array(message.get("parts")):
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
            value = load_json(value)
        except ValueError:  # not JSON, or nested too deep (RecordError is a ValueError)
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
        return [_any_value(item) for item in array(sub(value, "arrayValue").get("values"))]
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
                                "events": [
                                    {
                                        "name": event.name,
                                        "timeUnixNano": str(event.time_unix_nano),
                                        "attributes": _proto_attributes(event.attributes),
                                    }
                                    for event in span.events
                                ],
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
