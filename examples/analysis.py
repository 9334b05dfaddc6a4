"""The `analysis` example in one run: a coordinator and three analysts, in parallel, on real data.

With OPENAI_API_KEY (or OPENAI_BASE_URL) set it uses your endpoint; without, swarmlet's scripted
stand-in plays every agent from the real query results, so this runs offline too.

    python examples/analysis.py ["your question"]
"""

from __future__ import annotations

import asyncio
import os
import sys

from swarmlet import Swarm
from swarmlet.events import RunCompleted, ToolCallFinished, ToolCallStarted
from swarmlet.examples.analysis import QUESTION, Report, WeatherData, make_agents, scripted_model


async def main(question: str) -> None:
    if os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"):
        agents = make_agents(WeatherData())
    else:
        print("No OPENAI_API_KEY set: using swarmlet's scripted stand-in model.")
        agents = make_agents(WeatherData(), model=scripted_model())
    messages = [{"role": "user", "content": question}]
    async for event in Swarm().stream(agents.coordinator, messages):
        indent = "  " * len(event.path)
        if isinstance(event, ToolCallStarted):
            print(f"{indent}{event.agent.name} -> {event.name}({event.arguments})")
        elif isinstance(event, ToolCallFinished) and event.error:
            print(f"{indent}  failed: {event.error}")
        elif isinstance(event, RunCompleted) and not event.path:
            report = event.response.output
            assert isinstance(report, Report)
            print(f"\n{report.title}\n{report.headline}")
            for finding in report.findings:
                print(f"- {finding.topic}: {finding.summary}")
            for caveat in report.caveats:
                print(f"  (caveat: {caveat})")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else QUESTION))
