"""Token usage: what each model call cost, and the sum over a run.

Providers put the endpoint's report on each reply as a :class:`ModelUsage` (prompt and
completion tokens; cached and reasoning tokens where the endpoint reports them; streamed
replies get it from the usage chunk, see :mod:`swarmlet.models.wire`). The run loop adds every
model call to the run's :class:`Usage`, in total and per agent, and it is returned as
``Response.usage``. Agents used as tools and guardrail agents are part of the run: their
sub-runs' usage is added too. ``requests`` counts model calls, also those whose endpoint
reported no usage (their tokens then count as zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

__all__ = ["ModelUsage", "Usage", "model_usage"]


@dataclass(frozen=True, slots=True)
class ModelUsage:
    """The token counts one model call reported.

    Attributes:
        input_tokens: prompt tokens.
        output_tokens: completion tokens.
        total_tokens: as reported (input + output when the endpoint does not say).
        cached_tokens: prompt tokens served from the endpoint's cache, if reported.
        reasoning_tokens: completion tokens spent on reasoning, if reported.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None


def model_usage(raw: Any) -> ModelUsage | None:
    """A :class:`ModelUsage` from an OpenAI-style ``usage`` (dict or SDK object), if any."""
    if raw is None:
        return None
    prompt = _count(_get(raw, "prompt_tokens"))
    completion = _count(_get(raw, "completion_tokens"))
    total = _count(_get(raw, "total_tokens")) or prompt + completion
    return ModelUsage(
        input_tokens=prompt,
        output_tokens=completion,
        total_tokens=total,
        cached_tokens=_detail(raw, "prompt_tokens_details", "cached_tokens"),
        reasoning_tokens=_detail(raw, "completion_tokens_details", "reasoning_tokens"),
    )


class Usage(BaseModel):
    """Token usage summed over a run's model calls.

    Attributes:
        requests: model calls made.
        input_tokens: prompt tokens.
        output_tokens: completion tokens.
        total_tokens: input plus output, as the endpoints reported.
        cached_tokens: prompt tokens served from a cache (where reported).
        reasoning_tokens: completion tokens spent on reasoning (where reported).
        by_agent: the same counts per agent name (their ``by_agent`` is empty).
    """

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    by_agent: dict[str, Usage] = Field(default_factory=dict)

    def add(self, agent: str, usage: ModelUsage | None) -> None:
        """Count one model call of ``agent`` that reported ``usage`` (``None``: no report)."""
        per_agent = self.by_agent.get(agent)
        if per_agent is None:
            per_agent = self.by_agent[agent] = Usage()
        self._count(usage)
        per_agent._count(usage)

    def _count(self, usage: ModelUsage | None) -> None:
        # Straight into __dict__: every model call passes here, pydantic's __setattr__ costs
        # about a microsecond per field, and these plain ints have no validation to run.
        fields = self.__dict__
        fields["requests"] += 1
        if usage is not None:
            fields["input_tokens"] += usage.input_tokens
            fields["output_tokens"] += usage.output_tokens
            fields["total_tokens"] += usage.total_tokens
            fields["cached_tokens"] += usage.cached_tokens or 0
            fields["reasoning_tokens"] += usage.reasoning_tokens or 0

    def snapshot(self) -> Usage:
        """A deep copy (what ``model_copy(deep=True)`` gives, without ``copy.deepcopy``'s cost).

        Every field but ``by_agent`` is an int, so a shallow copy with the per-agent entries
        copied the same way is a full copy; it runs once per finished run.
        """
        clone = self.model_copy()
        # Through __dict__: setting the attribute would mark by_agent as explicitly set.
        clone.__dict__["by_agent"] = {name: u.snapshot() for name, u in self.by_agent.items()}
        return clone

    def merge(self, other: Usage) -> None:
        """Add another run's usage (a sub-run's) to this one, per agent too."""
        for name, part in other.by_agent.items():
            mine = self.by_agent.setdefault(name, Usage())
            mine._plus(part)
        self._plus(other)

    def _plus(self, other: Usage) -> None:
        self.requests += other.requests
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.total_tokens += other.total_tokens
        self.cached_tokens += other.cached_tokens
        self.reasoning_tokens += other.reasoning_tokens

    def summary(self) -> str:
        """One line for logs: requests and tokens, then per agent."""
        text = (
            f"{self.requests} requests, {self.input_tokens} in + {self.output_tokens} out = "
            f"{self.total_tokens} tokens"
        )
        if self.cached_tokens or self.reasoning_tokens:
            text += f" ({self.cached_tokens} cached, {self.reasoning_tokens} reasoning)"
        agents = "; ".join(
            f"{name}: {u.requests} req, {u.total_tokens} tok" for name, u in self.by_agent.items()
        )
        return f"{text} [{agents}]" if agents else text


def _get(raw: Any, name: str) -> Any:
    return raw.get(name) if isinstance(raw, dict) else getattr(raw, name, None)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _detail(raw: Any, group: str, name: str) -> int | None:
    details = _get(raw, group)
    value = _get(details, name) if details is not None else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
