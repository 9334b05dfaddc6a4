"""The OpenTelemetry names swarmlet's spans use: GenAI semantic conventions v1.41.0.

The GenAI conventions are at "Development" status and still change between releases, so the
names live here, once, with the version they follow. They are plain strings on purpose: the
``opentelemetry-semantic-conventions`` package keeps them in a private ``_incubating`` module
whose contents change with each release, and importing it would cost every traced process an
extra dependency for a handful of constants.
"""

from __future__ import annotations

SEMCONV_VERSION = "1.41.0"
"""The version of the OpenTelemetry semantic conventions the span names and attributes follow."""

SCHEMA_URL = f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"

# Operation names (gen_ai.operation.name) and the span names built from them.
INVOKE_WORKFLOW = "invoke_workflow"
INVOKE_AGENT = "invoke_agent"
CHAT = "chat"
EXECUTE_TOOL = "execute_tool"

OPERATION_NAME = "gen_ai.operation.name"
PROVIDER_NAME = "gen_ai.provider.name"
WORKFLOW_NAME = "gen_ai.workflow.name"
AGENT_NAME = "gen_ai.agent.name"
REQUEST_MODEL = "gen_ai.request.model"
REQUEST_STREAM = "gen_ai.request.stream"
RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
OUTPUT_MESSAGES = "gen_ai.output.messages"
INPUT_MESSAGES = "gen_ai.input.messages"
SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_TYPE = "gen_ai.tool.type"
TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
TOOL_CALL_RESULT = "gen_ai.tool.call.result"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
ERROR_TYPE = "error.type"

# Request parameters from Agent.model_settings that have a conventional attribute.
REQUEST_SETTINGS = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
    "seed": "gen_ai.request.seed",
}

# swarmlet's own span events and attributes (no convention covers them yet).
HANDOFF_EVENT = "swarmlet.handoff"
HANDOFF_FROM = "swarmlet.handoff.from_agent"
HANDOFF_TO = "swarmlet.handoff.to_agent"
GUARDRAIL_EVENT = "swarmlet.guardrail"
GUARDRAIL_KIND = "swarmlet.guardrail.kind"
GUARDRAIL_NAME = "swarmlet.guardrail.name"
GUARDRAIL_TRIPPED = "swarmlet.guardrail.tripped"
GUARDRAIL_REPLACED = "swarmlet.guardrail.replaced"
APPROVAL_REQUESTED_EVENT = "swarmlet.approval.requested"
APPROVAL_REJECTED_EVENT = "swarmlet.approval.rejected"
INTERRUPTED_EVENT = "swarmlet.run.interrupted"
INTERRUPTED_REASON = "swarmlet.run.interrupted.reason"
INTERRUPTED_CALLS = "swarmlet.run.interrupted.call_ids"
RUN_RESUMED = "swarmlet.run.resumed"
RUN_TURNS = "swarmlet.run.turns"
LINK_TYPE = "swarmlet.link.type"
