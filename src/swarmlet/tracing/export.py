"""``SWARMLET_TRACING=otel``: export spans the standard OpenTelemetry way, from the environment.

If the application (or ``opentelemetry-instrument``) already set a global ``TracerProvider``,
it is used as it is. Otherwise one is built with the SDK: its resource from
``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES``, and the exporter named by
``OTEL_TRACES_EXPORTER`` (default ``otlp``; also ``console`` and ``none``). The OTLP exporter is
the HTTP/protobuf one and reads its own settings (``OTEL_EXPORTER_OTLP_ENDPOINT``,
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, ``..._HEADERS``, ``..._TIMEOUT``...).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from swarmlet.exceptions import ConfigurationError

__all__ = ["configure_from_environment"]

logger = logging.getLogger("swarmlet.tracing")


def configure_from_environment() -> None:
    """Install an SDK ``TracerProvider`` exporting as the ``OTEL_*`` variables say, if none is.

    Raises:
        ConfigurationError: the OpenTelemetry API is missing, or the exporter asked for is
            unknown or not installed.
    """
    try:
        from opentelemetry import trace
    except ImportError:
        raise ConfigurationError(
            "SWARMLET_TRACING=otel needs OpenTelemetry: pip install 'swarmlet[otlp]'"
        ) from None
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return  # the application configured OpenTelemetry itself
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise ConfigurationError(
            "SWARMLET_TRACING=otel needs the OpenTelemetry SDK to export spans: "
            "pip install 'swarmlet[otlp]' (or configure a TracerProvider yourself)"
        ) from None
    provider = TracerProvider(resource=Resource.create())
    for name in _exporter_names():
        provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
    trace.set_tracer_provider(provider)  # the SDK flushes it at interpreter exit


def _exporter_names() -> list[str]:
    names = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").lower().split(",")
    return [name.strip() for name in names if name.strip() and name.strip() != "none"]


def _exporter(name: str) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if name != "otlp":
        raise ConfigurationError(
            f"OTEL_TRACES_EXPORTER={name!r} is not supported here: use otlp, console or none"
        )
    protocol = os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "")
    )
    if protocol.strip() not in ("", "http/protobuf"):
        raise ConfigurationError(
            f"OTLP protocol {protocol!r} is not supported here: swarmlet's otlp extra exports "
            "http/protobuf; for grpc, configure the TracerProvider yourself"
        )
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        raise ConfigurationError(
            "the OTLP exporter is not installed: pip install 'swarmlet[otlp]'"
        ) from None
    return OTLPSpanExporter()
