"""Ingestion adapters: one pure module per input format, each producing ``CanonicalRecord`` objects.

``detect.parse_record`` dispatches single-record formats; ``openclaw`` and ``otlp`` yield many
records per input and are called directly. Nothing here touches Django or the database.
"""
