"""OpenTelemetry tracing of runs, following the GenAI semantic conventions (v1.41.0).

Off by default, and then free: nothing is imported and runs are not wrapped. Turn it on with
:func:`enable` or ``SWARMLET_TRACING=otel`` in the environment::

    import swarmlet.tracing
    swarmlet.tracing.enable()            # spans go to the global TracerProvider

Spans go to whatever OpenTelemetry is configured to export to, the standard way
(``OTEL_EXPORTER_OTLP_ENDPOINT`` and friends, ``opentelemetry-instrument``, or your own
``TracerProvider``); swarmlet never sends them anywhere of its own. Message contents and tool
arguments/results are recorded only with ``capture_content=True`` (or
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``).

Needs the ``otel`` extra (``pip install 'swarmlet[otel]'``, the OpenTelemetry API only); the
``otlp`` extra adds the SDK and the OTLP/HTTP exporter used by ``SWARMLET_TRACING=otel``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from swarmlet.exceptions import ConfigurationError
from swarmlet.tracing.semconv import SEMCONV_VERSION

if TYPE_CHECKING:
    from swarmlet.events import Event
    from swarmlet.loop import ModelResolver, RunSpec
    from swarmlet.tracing.spans import TraceSettings

__all__ = ["SEMCONV_VERSION", "disable", "enable", "is_enabled", "observe"]

ENV_SWITCH = "SWARMLET_TRACING"
ENV_CAPTURE = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_OFF_VALUES = frozenset({"", "0", "off", "false", "no", "none"})
_TRUE_VALUES = frozenset({"1", "true", "yes", "on"})

_settings: TraceSettings | None = None
_env_read = False


def enable(tracer_provider: Any = None, *, capture_content: bool | None = None) -> None:
    """Trace every run from now on.

    Args:
        tracer_provider: an OpenTelemetry ``TracerProvider``; ``None`` uses the global one
            (``opentelemetry.trace.set_tracer_provider``), also when it is set later.
        capture_content: record message contents and tool arguments/results on the spans.
            ``None`` reads ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``.

    Raises:
        ConfigurationError: the OpenTelemetry API is not installed.
    """
    global _settings, _env_read
    try:
        from opentelemetry import trace
    except ImportError:
        raise ConfigurationError(
            "tracing needs the OpenTelemetry API: pip install 'swarmlet[otel]'"
        ) from None
    from swarmlet import __version__
    from swarmlet.tracing.semconv import SCHEMA_URL
    from swarmlet.tracing.spans import TraceSettings

    if capture_content is None:
        capture_content = os.environ.get(ENV_CAPTURE, "").strip().lower() in _TRUE_VALUES
    tracer = trace.get_tracer("swarmlet", __version__, tracer_provider, schema_url=SCHEMA_URL)
    _settings = TraceSettings(tracer=tracer, capture_content=capture_content)
    _env_read = True  # an explicit call wins over the environment


def disable() -> None:
    """Stop tracing runs that start from now on (runs already going keep their spans)."""
    global _settings, _env_read
    _settings = None
    _env_read = True


def is_enabled() -> bool:
    """Whether new runs are traced (reads ``SWARMLET_TRACING`` the first time).

    Raises:
        ConfigurationError: ``SWARMLET_TRACING`` has a value other than ``otel`` or off.
    """
    if not _env_read:
        _read_environment()
    return _settings is not None


def observe(
    events: AsyncGenerator[Event, None], spec: RunSpec, resolve: ModelResolver
) -> AsyncGenerator[Event, None]:
    """``events`` with the run traced if tracing is on (the run loop's entry points call this).

    With tracing off this returns ``events`` itself: an off switch costs one function call
    per run and nothing per event.
    """
    if not is_enabled():
        return events
    settings = _settings
    assert settings is not None
    from swarmlet.tracing.observer import observe as traced

    return traced(events, settings, spec, resolve)


def _read_environment() -> None:
    global _env_read
    value = os.environ.get(ENV_SWITCH, "").strip().lower()
    if value in _OFF_VALUES:
        _env_read = True
        return
    if value != "otel":
        raise ConfigurationError(
            f"{ENV_SWITCH}={os.environ[ENV_SWITCH]!r} is not understood: "
            "use 'otel' or leave it unset"
        )
    from swarmlet.tracing.export import configure_from_environment

    configure_from_environment()
    enable()
