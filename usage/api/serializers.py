"""The native record format as the OpenAPI document shows it, built from the table the
adapter validates against (``usage.ingest.native.NATIVE_FIELDS``): documented and enforced
limits cannot drift apart."""

from rest_framework import serializers

from usage.ingest._common import TRUNCATED_LENGTHS, Field
from usage.ingest.canonical import PROVIDER_TYPES
from usage.ingest.native import NATIVE_FIELDS


def _documented(spec: Field) -> serializers.Field:
    options = {"required": False, "help_text": spec.help}
    if spec.kind == "string":
        return serializers.CharField(max_length=spec.max_length, **options)
    if spec.kind == "text":
        limit = TRUNCATED_LENGTHS[spec.attribute]
        options["help_text"] = f"{spec.help} Cut to {limit:,} characters.".strip()
        return serializers.CharField(**options)
    if spec.kind == "integer":
        return serializers.IntegerField(min_value=spec.minimum, max_value=spec.maximum, **options)
    if spec.kind == "boolean":
        return serializers.BooleanField(**options)
    if spec.kind == "timestamp":
        return serializers.DateTimeField(**options)
    if spec.kind == "provider_type":
        return serializers.ChoiceField(choices=PROVIDER_TYPES, **options)
    if spec.kind == "list":
        return serializers.ListField(child=serializers.DictField(), **options)
    if spec.kind == "headers":
        return serializers.DictField(child=serializers.CharField(), **options)
    if spec.kind == "object":
        return serializers.DictField(**options)
    raise ValueError(f"no documentation for a field of kind {spec.kind!r}")


NativeRecordSerializer = type(
    "NativeRecordSerializer",
    (serializers.Serializer,),
    {
        "__doc__": "The hub's own record format. Every field is optional; null means not given.",
        **{name: _documented(spec) for name, spec in NATIVE_FIELDS.items()},
    },
)
