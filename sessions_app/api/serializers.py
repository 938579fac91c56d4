from rest_framework import serializers

from sessions_app.models import Session
from usage.api.logs import MessageRequestSerializer

MONEY = {"max_digits": 28, "decimal_places": 10, "allow_null": True}


class SessionSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username")
    key = serializers.CharField(source="key.name", allow_null=True, default=None, read_only=True)
    active = serializers.SerializerMethodField()
    duration_seconds = serializers.SerializerMethodField()
    total_tokens = serializers.IntegerField()
    cost = serializers.DecimalField(**MONEY, help_text="null: no request of the session had a price")
    avg_duration_ms = serializers.FloatField(allow_null=True)
    avg_ttft_ms = serializers.FloatField(allow_null=True)

    class Meta:
        model = Session
        fields = (
            "id", "session_id", "user_id", "user", "key_id", "key", "api_type", "active", "first_request_at",
            "last_request_at", "duration_seconds", "requests", "errors", "input_tokens", "output_tokens",
            "cache_creation_tokens", "cache_read_tokens", "reasoning_tokens", "total_tokens", "cost",
            "avg_duration_ms", "avg_ttft_ms", "provider_ids", "model_names",
        )  # fmt: skip
        # Output only, and every field is in every answer: the document says each is required.
        read_only_fields = fields

    def get_active(self, session: Session) -> bool:
        return session.last_request_at >= self.context["active_since"]

    def get_duration_seconds(self, session: Session) -> int:
        return round(session.duration.total_seconds())


class SessionProviderSerializer(serializers.Serializer):
    provider_id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField(allow_null=True)
    requests = serializers.IntegerField()
    errors = serializers.IntegerField()
    models = serializers.ListField(child=serializers.CharField())


class TurnSerializer(serializers.Serializer):
    request_id = serializers.IntegerField(help_text="the id of the request in /api/v1/requests/{id}")
    created_at = serializers.DateTimeField()
    question = serializers.JSONField(allow_null=True)
    answer = serializers.JSONField(allow_null=True)
    tool_calls = serializers.JSONField(allow_null=True)
    reasoning = serializers.JSONField(allow_null=True)


class SessionDetailSerializer(serializers.Serializer):
    session = SessionSerializer()
    providers = SessionProviderSerializer(many=True)
    requests = MessageRequestSerializer(many=True, help_text="oldest first; at most 1,000")
    more_requests = serializers.IntegerField(help_text="requests of the session not listed")
    messages_stored = serializers.BooleanField()
    messages_expire_at = serializers.DateTimeField(allow_null=True)
    conversation = TurnSerializer(many=True)
