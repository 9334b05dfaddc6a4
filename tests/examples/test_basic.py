"""The example registry (``swarmlet.examples``) and the ``basic`` example."""

from __future__ import annotations

import datetime
import fnmatch
import sys
from pathlib import Path

import pytest

from swarmlet import Agent, Swarm
from swarmlet.examples import NAMES, Example, basic, data_dir, load
from swarmlet.exceptions import UsageError
from swarmlet.testing import ScriptedModel, reply, tool_call

USER = [{"role": "user", "content": "hi"}]
EXAMPLES_DIR = Path(basic.__file__).parent.parent


@pytest.fixture(autouse=True)
def _data_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWARMLET_DATA_DIR", str(tmp_path / "data"))


@pytest.mark.parametrize("name", NAMES)
def test_every_example_loads_with_the_contract(name: str) -> None:
    example = load(name)
    assert isinstance(example, Example)
    assert example.name == name
    assert isinstance(example.agent, Agent)
    assert example.description and "\n" not in example.description
    assert all(path.is_file() for path in example.eval_cases.values())
    assert (EXAMPLES_DIR / name / "README.md").read_text().count(f"swarmlet demo {name}") >= 1


def test_loading_does_not_touch_the_data_dir(tmp_path: Path) -> None:
    for name in NAMES:
        load(name)
    assert not (tmp_path / "data").exists()


def test_unknown_example_is_a_usage_error_listing_the_names() -> None:
    with pytest.raises(UsageError) as info:
        load("no_such_example")
    assert all(name in str(info.value) for name in NAMES)


def test_data_dir_prefers_override_then_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert data_dir(tmp_path / "x") == tmp_path / "x"
    assert data_dir() == tmp_path / "data"
    monkeypatch.delenv("SWARMLET_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    if sys.platform != "win32":
        assert data_dir() == tmp_path / "xdg" / "swarmlet"


def test_every_non_python_example_file_is_declared_package_data() -> None:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the same parser, from PyPI (dev extra)
        import tomli as tomllib
    pyproject = tomllib.loads((EXAMPLES_DIR.parents[2] / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["swarmlet"]
    files = [p for p in EXAMPLES_DIR.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")]
    assert any(p.suffix == ".sql" for p in files) and any(p.suffix == ".md" for p in files)
    for path in files:
        relative = path.relative_to(EXAMPLES_DIR.parent).as_posix()
        assert any(fnmatch.fnmatch(relative, g) for g in globs), relative


def test_mini_demo_agents_are_importable_and_wired() -> None:
    assert basic.hello_agent.functions == []
    assert basic.function_agent.functions == [basic.get_time, basic.add]
    assert basic.transfer_to_korean() is basic.korean_agent
    assert basic.english_agent.functions == [basic.transfer_to_korean]
    assert load("basic").agent is basic.greeter
    names = {f.__name__ for f in basic.greeter.functions}
    assert names == {"get_time", "add", "greet", "remember_name", "transfer_to_korean"}


def test_tools() -> None:
    stamp = datetime.datetime.fromisoformat(basic.get_time())
    assert stamp.tzinfo is not None
    assert abs(stamp - datetime.datetime.now(datetime.timezone.utc)).total_seconds() < 5
    assert basic.add(2, 3.5) == 5.5
    assert basic.greet({}) == "Hello! What should I call you?"
    assert "Robin" in basic.greet({"user_name": "Robin"})
    result = basic.remember_name("Robin")
    assert result.context_variables == {"user_name": "Robin"}


def test_function_calling_runs_the_tool() -> None:
    model = ScriptedModel([tool_call("add", {"a": 17.5, "b": 24}), "41.5"])
    response = Swarm(client=model).run(basic.function_agent, USER)
    assert response.messages[1]["content"] == "41.5"
    assert response.messages[-1]["content"] == "41.5"
    model.assert_all_consumed()


def test_context_variables_flow_from_tool_to_tool_and_instructions() -> None:
    model = ScriptedModel(
        [tool_call("remember_name", {"name": "Robin"}), tool_call("greet"), "Hi Robin!"]
    )
    response = Swarm(client=model).run(basic.context_agent, USER, context_variables={})
    assert response.context_variables == {"user_name": "Robin"}
    assert response.messages[3]["content"] == "Hello, Robin! Nice to see you again."
    # The callable instructions re-render with the updated context on the next turn.
    assert "unknown" in model.requests[0].messages[0]["content"]
    assert "Robin" in model.requests[1].messages[0]["content"]


def test_greeter_tools_and_handoff_to_korean() -> None:
    model = ScriptedModel(
        [
            reply(None, tool_call("remember_name", {"name": "Min"}), tool_call("get_time")),
            tool_call("transfer_to_korean"),
            "안녕하세요, Min 님!",
        ]
    )
    response = Swarm(client=model).run(load("basic").agent, USER)
    assert response.agent is basic.korean_agent
    assert response.context_variables["user_name"] == "Min"
    assert [r.agent_name for r in model.requests] == ["Greeter", "Greeter", "Korean Agent"]
    assert model.requests[2].tools == []  # the Korean agent has no tools of its own
    assert response.messages[-1]["sender"] == "Korean Agent"
    model.assert_all_consumed()
