from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.models import ApiKey


class MeView(APIView):
    """Who the caller is: lets an integrator check a key before sending data with it."""

    @extend_schema(
        operation_id="me",
        tags=["account"],
        summary="Who the caller is",
        responses=inline_serializer(
            "Me",
            {
                "username": serializers.CharField(),
                "role": serializers.CharField(),
                "key_prefix": serializers.CharField(allow_null=True),
                "scopes": serializers.ListField(child=serializers.CharField()),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        key = request.auth if isinstance(request.auth, ApiKey) else None
        return Response(
            {
                "username": request.user.username,
                "role": request.user.role,
                "key_prefix": key.prefix if key else None,
                "scopes": key.scopes if key else ["ingest", "read"],
            }
        )
