"""Ingestion endpoints: records in any single-record format, OTLP traces, OpenClaw files."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.authentication import ApiKeyAuthentication, HasScope
from hub.openapi import ERROR
from hub.throttling import IngestRateThrottle
from usage.api.body import BodyError, parse_records, read_raw
from usage.api.serializers import NativeRecordSerializer
from usage.ingest._common import load_json
from usage.ingest.canonical import FORMATS
from usage.ingest.openclaw import parse_openclaw_lines, should_skip_file
from usage.ingest.otlp import count_otlp_items, parse_otlp_json, parse_otlp_protobuf
from usage.services import MAX_RECORDS_PER_CALL, IngestResult, records_ingest

INGEST_RESULT = inline_serializer(
    "IngestResult",
    {
        "stored": serializers.IntegerField(),
        "duplicates": serializers.IntegerField(),
        "conflicts": serializers.IntegerField(
            help_text="Records naming a stored request with other values: not stored; the first version stays."
        ),
        "rejected": serializers.IntegerField(),
        "duplicate_indexes": serializers.ListField(child=serializers.IntegerField()),
        "conflict_details": serializers.ListField(
            child=inline_serializer(
                "IngestConflict",
                {
                    "index": serializers.IntegerField(),
                    "fields": serializers.ListField(
                        child=serializers.CharField(), help_text="The fields whose values differ from the stored ones."
                    ),
                },
            )
        ),
        "detail": serializers.CharField(required=False, help_text="Why nothing was read, when a file was skipped."),
        "errors": serializers.ListField(
            child=inline_serializer(
                "IngestError",
                {
                    "index": serializers.IntegerField(),
                    "field": serializers.CharField(),
                    "reason": serializers.CharField(),
                },
            )
        ),
    },
)


class IngestView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAuthenticated, HasScope]
    throttle_classes = [IngestRateThrottle]
    required_scope = "ingest"

    def body_error(self, error: BodyError) -> Response:
        return Response({"detail": error.detail}, status=error.status)


class IngestRecordsView(IngestView):
    @extend_schema(
        operation_id="ingest_records",
        tags=["ingest"],
        summary="Push request records",
        description=(
            "Up to 5,000 records per call as a JSON array, a single record object, "
            '`{"format": ..., "records": [...]}`, or NDJSON (optionally gzip-compressed). '
            "Each record is in one format: `native` (the fields below), `higress`, `openai`, "
            "`anthropic` or `gemini`, named by `?format=`, a `format` field in the record, or "
            "detected from its shape. Idempotent per owner on `request_id` (with `created_at`): a record "
            "sent again is counted as a duplicate, not stored twice; sent again with other values it "
            "is a conflict (its index and the fields that differ), and the first stored version stays. "
            "Another user's ids never touch your records. A bad record never fails its neighbours; "
            "the answer lists each rejected record's index, field and reason."
        ),
        parameters=[OpenApiParameter("format", str, enum=[f for f in FORMATS if f not in ("openclaw", "otlp")])],
        request={"application/json": NativeRecordSerializer(many=True), "application/x-ndjson": OpenApiTypes.STR},
        responses={200: INGEST_RESULT, 400: ERROR, 401: ERROR, 403: ERROR, 413: ERROR, 429: ERROR},
        examples=[
            OpenApiExample(
                "One native record",
                request_only=True,
                value=[
                    {
                        "request_id": "req_01J9Z3",
                        "created_at": "2026-11-22T08:15:30.120Z",
                        "model": "claude-sonnet-4-5",
                        "provider": "anthropic-main",
                        "endpoint": "/v1/messages",
                        "status_code": 200,
                        "is_stream": True,
                        "input_tokens": 1200,
                        "cache_read_tokens": 18000,
                        "output_tokens": 640,
                        "duration_ms": 8200,
                        "ttft_ms": 900,
                        "session_id": "sess_42",
                    }
                ],
            )
        ],
    )
    def post(self, request) -> Response:
        fmt = request.query_params.get("format") or None
        if fmt is not None and fmt not in FORMATS:
            return Response({"detail": _("format: unknown format %(f)r") % {"f": fmt}}, status=400)
        try:
            raw = read_raw(request)
            batch = parse_records(raw, content_type=request.content_type or "", max_records=MAX_RECORDS_PER_CALL)
        except BodyError as error:
            return self.body_error(error)
        result = records_ingest(
            owner=request.user, api_key=request.auth, items=batch.items, fmt=fmt or batch.fmt, body_bytes=len(raw)
        )
        return Response(result.as_dict(), status=status.HTTP_200_OK)


class OpenClawUploadView(IngestView):
    @extend_schema(
        operation_id="ingest_openclaw",
        tags=["ingest"],
        summary="Upload an OpenClaw session file",
        description=(
            "The body is one agent session JSONL file; `?filename=` gives its name (the session id "
            "is read from it when the file does not carry one). Files named `.broken.`, `.reset.`, "
            "`.deleted.` or `.bak.` are skipped. Uploading the same file again adds nothing."
        ),
        parameters=[OpenApiParameter("filename", str, required=True)],
        request={"application/x-ndjson": OpenApiTypes.STR},
        responses={200: INGEST_RESULT, 400: ERROR, 413: ERROR},
    )
    def post(self, request) -> Response:
        name = request.query_params.get("filename", "").strip()
        if not name:
            return Response({"detail": "filename: required (the session file's name)"}, status=400)
        if should_skip_file(name):
            skipped = f"skipped: {name} is a broken, reset, deleted or backup file"
            return Response({**IngestResult().as_dict(), "detail": skipped})
        try:
            raw = read_raw(request)
        except BodyError as error:
            return self.body_error(error)
        outcomes = parse_openclaw_lines(raw.splitlines(), source_name=name)
        result = records_ingest(owner=request.user, api_key=request.auth, records=outcomes)
        return Response(result.as_dict())


class OtlpTracesView(IngestView):
    """OTLP/HTTP: any OpenTelemetry-instrumented application reports here with no custom code."""

    @extend_schema(
        operation_id="otlp_traces",
        tags=["ingest"],
        summary="Receive OTLP traces (GenAI spans)",
        description=(
            "An OTLP/HTTP trace export, `application/x-protobuf` or `application/json`, optionally "
            "gzip-compressed. Spans with OpenTelemetry GenAI attributes (`gen_ai.*`) become request "
            "records; other spans are ignored. Point an exporter at `<hub>/api/v1/otlp` with the "
            "header `Authorization=Bearer <key>` and the protocol `http/protobuf` (there is no gRPC). A "
            "span carrying `gen_ai.response.id` is stored under that id, so a second instrumentation "
            "tracing the same call adds nothing. The answer is OTLP's, `partialSuccess` naming rejected spans."
        ),
        request={"application/x-protobuf": OpenApiTypes.BINARY, "application/json": OpenApiTypes.OBJECT},
        # The answer is in the body's encoding: OTLP's protobuf reply to a protobuf export.
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "application/x-protobuf"): OpenApiTypes.BINARY,
            400: ERROR,
        },
    )
    def post(self, request):
        protobuf = "protobuf" in (request.content_type or "")
        try:
            raw = read_raw(request)
            outcomes = parse_otlp_protobuf(raw) if protobuf else parse_otlp_json(load_json(raw, "body"))
        except BodyError as error:
            return self.body_error(error)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            return Response({"detail": f"not an OTLP trace export: {exc}"}, status=400)
        result = records_ingest(owner=request.user, api_key=request.auth, records=enumerate(outcomes))
        rejected = len(result.rejected)
        # A conflicting resend is not lost data (its first version is stored): OTLP's way to say
        # so is a partial success that rejects nothing but carries a message.
        message = "; ".join(
            [f"span {r.index}: {r.field}: {r.reason}" for r in result.rejected[:20]]
            + [
                f"span {c.index}: sent before with other {', '.join(c.fields)}; the first version stays"
                for c in result.conflicts[:20]
            ]
        )
        if protobuf:
            reply = ExportTraceServiceResponse()
            if message:
                reply.partial_success.rejected_spans = rejected
                reply.partial_success.error_message = message
            return HttpResponse(reply.SerializeToString(), content_type="application/x-protobuf")
        body = {"partialSuccess": {"rejectedSpans": rejected, "errorMessage": message}} if message else {}
        return Response(body)


class OtlpNotStoredView(IngestView):
    """OTLP metrics and logs: answered, never stored. ``opentelemetry-instrument`` and the Node SDK
    export them by default to the same base URL as the traces; a 404 there would make exporters log
    a failure on every interval, so the answer is OTLP's own partial success: nothing failed, these
    items were not kept, and how to stop sending them."""

    signal = ""  # "metrics" | "logs"
    items = ""
    reply_class: type = ExportMetricsServiceResponse
    rejected_field = ""
    rejected_json = ""
    throttle_classes: list = []  # they store nothing: they must not use up the key's ingest rate

    def post(self, request):
        protobuf = "protobuf" in (request.content_type or "")
        try:
            count = count_otlp_items(self.signal, read_raw(request), protobuf=protobuf)
        except BodyError as error:
            return self.body_error(error)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            return Response({"detail": f"not an OTLP {self.signal} export: {exc}"}, status=400)
        message = (
            f"the hub stores traces only; {count} {self.items} not stored "
            f"(set OTEL_{self.signal.upper()}_EXPORTER=none to stop sending them)"
        )
        if protobuf:
            reply = self.reply_class()
            setattr(reply.partial_success, self.rejected_field, count)
            reply.partial_success.error_message = message
            return HttpResponse(reply.SerializeToString(), content_type="application/x-protobuf")
        return Response({"partialSuccess": {self.rejected_json: count, "errorMessage": message}})


def _not_stored_schema(signal: str, rejected_json: str) -> dict:
    return {
        "operation_id": f"otlp_{signal}",
        "tags": ["ingest"],
        "summary": f"Accept OTLP {signal} without storing them",
        "description": (
            f"The hub stores GenAI spans (traces) only. An OTLP/HTTP {signal} export, protobuf or JSON, is "
            f"answered 200 with OTLP's partial success: `{rejected_json}` counts what was not stored and "
            f"`errorMessage` says so, so an exporter pointed at `<hub>/api/v1/otlp` (which sends traces, "
            f"metrics and logs) does not log a failure every interval. Set `OTEL_{signal.upper()}_EXPORTER=none` "
            "in the application to stop sending them. An unreadable body is a 400."
        ),
        "request": {"application/x-protobuf": OpenApiTypes.BINARY, "application/json": OpenApiTypes.OBJECT},
        "responses": {
            (200, "application/x-protobuf"): OpenApiTypes.BINARY,  # the reply to a protobuf export
            (200, "application/json"): inline_serializer(
                f"Otlp{signal.title()}NotStored",
                {
                    "partialSuccess": inline_serializer(
                        f"Otlp{signal.title()}PartialSuccess",
                        {rejected_json: serializers.IntegerField(), "errorMessage": serializers.CharField()},
                    )
                },
            ),
            400: ERROR,
            401: ERROR,
            403: ERROR,
        },
    }


class OtlpMetricsView(OtlpNotStoredView):
    signal = "metrics"
    items = "metric data points"
    reply_class = ExportMetricsServiceResponse
    rejected_field = "rejected_data_points"
    rejected_json = "rejectedDataPoints"

    @extend_schema(**_not_stored_schema(signal, rejected_json))
    def post(self, request):
        return super().post(request)


class OtlpLogsView(OtlpNotStoredView):
    signal = "logs"
    items = "log records"
    reply_class = ExportLogsServiceResponse
    rejected_field = "rejected_log_records"
    rejected_json = "rejectedLogRecords"

    @extend_schema(**_not_stored_schema(signal, rejected_json))
    def post(self, request):
        return super().post(request)
