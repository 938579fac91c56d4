from rest_framework import serializers

from providers.models import ProviderType

TOKENS = {"min_value": 0, "required": False, "default": 0}


class NativeRecordSerializer(serializers.Serializer):
    """The hub's own record format, for the OpenAPI schema. Validation itself is done by
    ``usage.ingest.native`` so that the API and imports share one definition."""

    request_id = serializers.CharField(
        max_length=128, help_text="Unique per request; with created_at, the idempotency key."
    )
    created_at = serializers.DateTimeField(
        required=False, help_text="ISO-8601 with a zone (Z or an offset), or unix seconds. Default: arrival time."
    )
    model = serializers.CharField(max_length=128, help_text="The model that ran.")
    original_model = serializers.CharField(
        max_length=128, required=False, help_text="The model the client asked for, when a gateway redirected it."
    )
    provider = serializers.CharField(max_length=128, required=False, help_text="A provider's name in the hub.")
    provider_type = serializers.ChoiceField(choices=ProviderType.values, required=False)
    endpoint = serializers.CharField(max_length=255, required=False)
    status_code = serializers.IntegerField(min_value=100, max_value=599, required=False)
    is_stream = serializers.BooleanField(required=False)
    input_tokens = serializers.IntegerField(
        help_text="Billed at the full input rate: WITHOUT cache reads/writes.", **TOKENS
    )
    output_tokens = serializers.IntegerField(help_text="Including reasoning tokens.", **TOKENS)
    cache_creation_tokens = serializers.IntegerField(help_text="Written to the prompt cache (all TTLs).", **TOKENS)
    cache_creation_5m_tokens = serializers.IntegerField(
        help_text="Part of cache_creation_tokens with a 5-minute TTL.", **TOKENS
    )
    cache_creation_1h_tokens = serializers.IntegerField(
        help_text="Part of cache_creation_tokens with a 1-hour TTL.", **TOKENS
    )
    cache_read_tokens = serializers.IntegerField(help_text="Served from the prompt cache.", **TOKENS)
    reasoning_tokens = serializers.IntegerField(help_text="Part of output_tokens spent reasoning.", **TOKENS)
    total_tokens = serializers.IntegerField(
        required=False, help_text="Optional check: must equal input + cache_creation + cache_read + output."
    )
    duration_ms = serializers.IntegerField(min_value=0, required=False)
    ttft_ms = serializers.IntegerField(min_value=0, required=False, help_text="Time to first token, for streams.")
    session_id = serializers.CharField(max_length=128, required=False)
    user = serializers.CharField(
        required=False, help_text="Only with an admin's key: the username, or the end user's key prefix, it belongs to."
    )
    user_agent = serializers.CharField(max_length=512, required=False)
    messages_count = serializers.IntegerField(min_value=0, required=False)
    error_message = serializers.CharField(required=False, help_text="Cut to 4,000 characters.")
    blocked_by = serializers.CharField(max_length=64, required=False)
    blocked_reason = serializers.CharField(required=False)
    provider_chain = serializers.ListField(child=serializers.DictField(), required=False)
    attributes = serializers.DictField(
        required=False,
        help_text="question, answer, tool_calls, reasoning (kept when message storage is on) and custom keys.",
    )
    headers = serializers.DictField(
        child=serializers.CharField(), required=False, help_text="Request headers; a session id is read from them."
    )
