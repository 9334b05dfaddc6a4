"""The ``swarmlet`` command and model selection (``swarmlet.config``)."""

from __future__ import annotations

import json
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import openai
import pytest
from typer.testing import CliRunner

from swarmlet import Agent
from swarmlet.cli import app
from swarmlet.config import OFFLINE_NOTICE, resolve_client
from swarmlet.exceptions import ConfigurationError
from swarmlet.testing import ScriptedModel
from swarmlet.testing.server import ScriptedReply, ScriptedServer

AGENTS = textwrap.dedent(
    """
    from swarmlet import Agent
    from swarmlet.testing import ScriptedModel

    agent = Agent(name="Greeter", model=ScriptedModel(responder=lambda request: "hi"))

    def make_agent():
        return Agent(name="Made", model=ScriptedModel(responder=lambda request: "made here"))

    remote = Agent(name="Remote", model="gpt-test")
    not_an_agent = 42
    """
)


def _invoke(args: list[str], input: str = "") -> Any:
    return CliRunner().invoke(app, args, input=input)


@pytest.fixture
def agents_file(tmp_path: Path) -> Path:
    path = tmp_path / "my_agents.py"
    path.write_text(AGENTS)
    return path


def _one_paragraph_error(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


def test_run_file_agent_with_context_json(agents_file: Path) -> None:
    result = _invoke(
        ["run", f"{agents_file}:agent", "--context", '{"name": "Ada", "n": 1}'],
        input="hello\n/agent\n/context\n",
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:2] == ["Greeter: hi", "Active agent: Greeter"]
    assert json.loads("\n".join(lines[2:])) == {"name": "Ada", "n": 1}


def test_run_context_file_merged_under_context_flag(agents_file: Path, tmp_path: Path) -> None:
    context_file = tmp_path / "ctx.json"
    context_file.write_text('{"name": "Ada", "tier": "gold"}')
    result = _invoke(
        [
            "run",
            f"{agents_file}:agent",
            "--context-file",
            str(context_file),
            "--context",
            '{"name": "Grace"}',
            "--no-stream",
        ],
        input="/context\n",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"name": "Grace", "tier": "gold"}


def test_run_importable_module_with_factory(
    agents_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(agents_file.parent)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "my_agents", raising=False)
    result = _invoke(["run", "my_agents:make_agent"], input="hey\n")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Made: made here"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no_colon", "expected MODULE:AGENT"),
        ("{file}:missing", "has no attribute 'missing'"),
        ("{file}:not_an_agent", "is a int, not a swarmlet Agent"),
        ("/nowhere/x.py:agent", "no such file"),
    ],
)
def test_run_bad_targets_exit_2_without_traceback(
    agents_file: Path, target: str, message: str
) -> None:
    result = _invoke(["run", target.format(file=agents_file)])
    assert result.exit_code == 2
    assert message in _one_paragraph_error(result.output)


@pytest.mark.parametrize("context", ["[1, 2]", "{not json"])
def test_run_bad_context_exits_2(agents_file: Path, context: str) -> None:
    result = _invoke(["run", f"{agents_file}:agent", "--context", context])
    assert result.exit_code == 2
    assert "--context" in _one_paragraph_error(result.output)


def test_missing_gguf_exits_2_with_one_paragraph(agents_file: Path) -> None:
    result = _invoke(["run", f"{agents_file}:agent", "--model", "local:/missing.gguf"])
    assert result.exit_code == 2
    assert _one_paragraph_error(result.output).startswith("Configuration error:")


def test_bad_base_url_exits_2(agents_file: Path) -> None:
    result = _invoke(["run", f"{agents_file}:remote", "--base-url", "not a url"])
    assert result.exit_code == 2
    assert "not a usable URL" in _one_paragraph_error(result.output)


def test_refused_key_from_a_real_server_exits_2(
    agents_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    with ScriptedServer([ScriptedReply(status=401)]) as server:
        result = _invoke(
            ["run", f"{agents_file}:remote", "--base-url", server.base_url, "--model", "m1"],
            input="hello\nnever sent\n",
        )
        requests = list(server.requests)
    assert result.exit_code == 2
    line = _one_paragraph_error(result.output)
    assert "refused the API key (HTTP 401)" in line
    assert len(requests) == 1 and requests[0]["model"] == "m1"


def test_demo_list_names_every_example() -> None:
    from swarmlet.examples import NAMES

    result = _invoke(["demo", "--list"])
    assert result.exit_code == 0
    starts = [line.split()[0] for line in result.output.splitlines() if line.strip()]
    for name in NAMES:
        assert name in starts


def test_demo_runs_an_example_in_the_repl(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("swarmlet.examples")
    agent = Agent(name="Demo Agent", model=ScriptedModel(["demo reply"]))
    example = types.SimpleNamespace(
        name="fake", description="d", agent=agent, context_variables={"k": 1}, eval_cases={}
    )
    fake.NAMES = ["fake"]  # type: ignore[attr-defined]
    fake.load = lambda name: example  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "swarmlet.examples", fake)
    result = _invoke(["demo", "fake"], input="hi\n/context\n")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Demo Agent: demo reply\n")
    assert json.loads(result.output.split("\n", 1)[1]) == {"k": 1}
    assert example.context_variables == {"k": 1}  # the example's own dict is not mutated


# -- model selection ----------------------------------------------------------------------


def test_flags_beat_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    resolved = resolve_client("flag-model", "http://127.0.0.1:2/v1")
    assert isinstance(resolved.client, openai.AsyncOpenAI)
    assert str(resolved.client.base_url) == "http://127.0.0.1:2/v1/"
    assert resolved.client.api_key == "sk-env"
    assert resolved.model_override == "flag-model"
    assert resolved.notice is None


def test_model_flag_uses_env_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:3/v1")
    resolved = resolve_client("qwen", None)
    assert str(resolved.client.base_url) == "http://127.0.0.1:3/v1/"
    assert resolved.model_override == "qwen"


def test_model_flag_without_any_endpoint_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError, match="needs an endpoint"):
        resolve_client("gpt-4o", None)


def test_environment_beats_offline_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    _fake_local(monkeypatch, fail=False)
    resolved = resolve_client(None, None)
    assert isinstance(resolved.client, openai.AsyncOpenAI)
    assert resolved.client.api_key == "sk-env"
    assert resolved.model_override is None and resolved.notice is None


def test_dotenv_file_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("OPENAI_BASE_URL=http://127.0.0.1:4/v1\n")
    monkeypatch.chdir(tmp_path)
    _fake_local(monkeypatch, fail=False)
    resolved = resolve_client(None, None)
    assert str(resolved.client.base_url) == "http://127.0.0.1:4/v1/"
    assert resolved.notice is None


def _fake_local(monkeypatch: pytest.MonkeyPatch, *, fail: bool) -> type:
    """Stand in for ``swarmlet.models.local`` (llama.cpp may not be installed)."""

    class FakeLocalModel(ScriptedModel):  # a provider (Model subclass) with no replies
        def __init__(self, model_path: str | None = None) -> None:
            if fail:
                raise ConfigurationError("LocalModel needs llama-cpp-python")
            super().__init__([])
            self.model_path = model_path

    module = types.ModuleType("swarmlet.models.local")
    module.LocalModel = FakeLocalModel  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "swarmlet.models.local", module)
    return FakeLocalModel


def test_offline_default_when_nothing_is_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    fake = _fake_local(monkeypatch, fail=False)
    resolved = resolve_client(None, None)
    assert isinstance(resolved.client, fake)
    assert resolved.client.model_path is None
    assert resolved.notice == OFFLINE_NOTICE
    assert "OPENAI_API_KEY" in OFFLINE_NOTICE and "--model local:PATH" in OFFLINE_NOTICE


def test_model_local_path_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")  # the flag wins over the environment
    fake = _fake_local(monkeypatch, fail=False)
    resolved = resolve_client("local:/models/big.gguf", None)
    assert isinstance(resolved.client, fake)
    assert resolved.client.model_path == "/models/big.gguf"
    assert resolve_client("local", None).client.model_path is None
    with pytest.raises(ConfigurationError, match="cannot be combined"):
        resolve_client("local", "http://127.0.0.1:5/v1")


def test_offline_default_unavailable_explains_how_to_configure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, agents_file: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    _fake_local(monkeypatch, fail=True)
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY") as caught:
        resolve_client(None, None)
    assert "llama-cpp-python" in str(caught.value)
    result = _invoke(["run", f"{agents_file}:remote"])
    assert result.exit_code == 2
    assert "No model endpoint configured" in _one_paragraph_error(result.output)


def test_offline_notice_is_printed_when_the_default_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, agents_file: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    _fake_local(monkeypatch, fail=False)
    result = _invoke(["run", f"{agents_file}:remote"], input="/agent\n")
    assert result.exit_code == 0, result.output
    assert OFFLINE_NOTICE in result.output.replace("\n", " ")
    assert "Active agent: Remote" in result.output
