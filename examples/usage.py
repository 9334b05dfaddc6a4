"""Token usage of a run, per agent and in total, from a real (local, scripted) HTTP endpoint.

Run it with ``python examples/usage.py``. It starts swarmlet's scripted OpenAI-compatible
server on 127.0.0.1, so it runs offline; against a real endpoint the numbers are the
endpoint's own.
"""

from __future__ import annotations

from swarmlet import Agent, Swarm
from swarmlet.models.fast_http import FastHTTPModel
from swarmlet.testing.server import ScriptedReply, ScriptedServer


def main() -> None:
    replies = [
        ScriptedReply(tool_calls=[{"name": "to_billing", "arguments": {}}]),
        ScriptedReply(content="Your balance is 12 EUR."),
    ]
    with ScriptedServer(replies) as server:
        model = FastHTTPModel(server.base_url, "sk-local")
        billing = Agent(name="Billing", model=model)

        def to_billing() -> Agent:
            return billing

        triage = Agent(name="Triage", model=model, functions=[to_billing])
        response = Swarm(client=model).run(triage, [{"role": "user", "content": "balance?"}])
    usage = response.usage
    print(f"requests: {usage.requests}")
    print(f"tokens: {usage.input_tokens} in + {usage.output_tokens} out = {usage.total_tokens}")
    for name, part in usage.by_agent.items():
        print(f"  {name}: {part.requests} request(s), {part.total_tokens} tokens")


if __name__ == "__main__":
    main()
