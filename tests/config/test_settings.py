"""Settings: defaults < config file < environment < flags, origins, validation, secrets kept hidden.

Checked through `jira-brief config` (what a user reads) and `jira_brief.settings.load_settings`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jira_brief.config.load import load_settings
from jira_brief.forges.github.api import token_from
from tests.conftest import assert_one_line_error

pytestmark = pytest.mark.usefixtures("isolated_env")

ROW = re.compile(r"^(\S+)\s+(.*?)\s+\[(.*)\]$")


def config_rows(stdout: str) -> dict[str, tuple[str, str]]:
    """`jira-brief config` output as {name: (value, origin)}."""
    rows = {}
    for line in stdout.splitlines():
        if line.startswith("# "):  # the config files read, and whether each is trusted
            continue
        match = ROW.match(line)
        assert match, f"unexpected config line: {line!r}"
        rows[match.group(1)] = (match.group(2), match.group(3))
    return rows


def run_config(invoke) -> dict[str, tuple[str, str]]:
    result = invoke("config")
    assert result.exit_code == 0, result.output
    return config_rows(result.stdout)


def write_config(folder: Path, text: str) -> Path:
    path = folder / ".jira-brief.toml"
    path.write_text(text, encoding="utf-8")
    return path


def repo_dir(tmp_path: Path, name: str = "repo") -> Path:
    path = tmp_path / name
    (path / ".git").mkdir(parents=True)
    return path


# --- precedence --------------------------------------------------------------------------------


class TestPrecedence:
    def test_each_layer_overrides_the_one_below(self, tmp_path: Path) -> None:
        folder = repo_dir(tmp_path)
        config = write_config(folder, 'max-keys = 3\nlanguage = "en"\nprojects = ["PAY"]\n')
        environ = {"JIRA_BRIEF_MAX_KEYS": "4", "JIRA_BRIEF_PROJECTS": "WEB,OPS"}
        flags = {"max_keys": 5}

        empty = repo_dir(tmp_path, "empty")
        defaults = load_settings({}, {}, empty)
        assert (defaults.max_keys, defaults.language, defaults.projects) == (10, "fr", ())
        assert defaults.origin("max_keys") == "default"

        from_file = load_settings({}, {}, folder)
        assert (from_file.max_keys, from_file.language, from_file.projects) == (3, "en", ("PAY",))
        assert str(config) in from_file.origin("max_keys") and "max-keys" in from_file.origin("max_keys")

        from_env = load_settings({}, environ, folder)
        assert (from_env.max_keys, from_env.language, from_env.projects) == (4, "en", ("WEB", "OPS"))
        assert from_env.origin("max_keys") == "environment JIRA_BRIEF_MAX_KEYS"
        assert str(config) in from_env.origin("language")

        from_flag = load_settings(flags, environ, folder)
        assert (from_flag.max_keys, from_flag.projects) == (5, ("WEB", "OPS"))
        assert from_flag.origin("max_keys") == "flag --max-keys"

    def test_unset_flags_do_not_override(self, tmp_path: Path) -> None:
        folder = repo_dir(tmp_path)
        write_config(folder, "max-keys = 3\n")
        settings = load_settings({"max_keys": None, "projects": None}, {}, folder)
        assert settings.max_keys == 3

    def test_config_command_shows_each_origin(self, invoke, plain_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        config = write_config(plain_dir, 'max-keys = 3\nlanguage = "en"\nmodel = "file-model"\n')
        monkeypatch.setenv("JIRA_BRIEF_MODEL", "env-model")
        monkeypatch.setenv("JIRA_BRIEF_CONCURRENCY", "7")
        rows = run_config(invoke)
        assert rows["max-keys"][0] == "3" and str(config) in rows["max-keys"][1]
        assert rows["language"][0] == "en" and str(config) in rows["language"][1]
        assert rows["model"] == ("env-model", "environment JIRA_BRIEF_MODEL")
        assert rows["concurrency"] == ("7", "environment JIRA_BRIEF_CONCURRENCY")
        assert rows["timeout"][1] == "default"

    def test_config_command_without_any_setting(self, invoke, plain_dir: Path) -> None:
        rows = run_config(invoke)
        assert rows["max-keys"] == ("10", "default")
        assert rows["projects"] == ("(none)", "default")
        assert {origin for _, origin in rows.values()} == {"default"}

    def test_pyproject_tool_table(self, invoke, plain_dir: Path) -> None:
        (plain_dir / "pyproject.toml").write_text(
            '[project]\nname = "demo"\n\n[tool.jira-brief]\nprojects = ["pay", "web"]\nmax-keys = 6\n',
            encoding="utf-8",
        )
        rows = run_config(invoke)
        assert rows["projects"][0] == "PAY, WEB"
        assert rows["max-keys"][0] == "6"
        assert str(plain_dir / "pyproject.toml") in rows["max-keys"][1]

    def test_config_file_found_from_a_subdirectory(self, tmp_path: Path) -> None:
        folder = repo_dir(tmp_path)
        write_config(folder, "max-keys = 3\n")
        deep = folder / "src" / "pkg"
        deep.mkdir(parents=True)
        assert load_settings({}, {}, deep).max_keys == 3

    def test_search_stops_at_the_repository_root(self, tmp_path: Path) -> None:
        write_config(tmp_path, "max-keys = 7\n")  # above the repository: not this project's
        folder = repo_dir(tmp_path)
        sub = folder / "sub"
        sub.mkdir()
        assert load_settings({}, {}, sub).max_keys == 10
        assert load_settings({}, {}, tmp_path).max_keys == 7

    def test_pyproject_without_tool_table_does_not_hide_the_root_config(self, tmp_path: Path) -> None:
        folder = repo_dir(tmp_path)
        write_config(folder, 'projects = ["PAY"]\n')
        package = folder / "packages" / "app"
        package.mkdir(parents=True)
        (package / "pyproject.toml").write_text(
            '[project]\nname = "app"\n\n[project.optional-dependencies]\ndev = ["jira-brief>=0.1"]\n',
            encoding="utf-8",
        )
        assert load_settings({}, {}, package).projects == ("PAY",)

    def test_environment_list_forms(self, tmp_path: Path) -> None:
        folder = repo_dir(tmp_path)
        for value in ("PAY,WEB", "PAY WEB", "pay, web"):
            assert load_settings({}, {"JIRA_BRIEF_PROJECTS": value}, folder).projects == ("PAY", "WEB")


# --- errors ------------------------------------------------------------------------------------


class TestErrors:
    @pytest.mark.parametrize("command", [["config"], ["keys", "PAY-1"]])
    def test_unknown_setting_in_config_file(self, invoke, plain_dir: Path, command: list[str]) -> None:
        config = write_config(plain_dir, 'colour = "blue"\n')
        result = invoke(*command)
        assert result.exit_code == 2
        assert result.stdout == ""
        assert_one_line_error(result.stderr, "colour", str(config))

    @pytest.mark.parametrize("command", [["config"], ["keys", "PAY-1"]])
    def test_unknown_environment_variable(
        self, invoke, plain_dir: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
    ) -> None:
        monkeypatch.setenv("JIRA_BRIEF_FOO", "1")
        result = invoke(*command)
        assert result.exit_code == 2
        assert result.stdout == ""
        assert_one_line_error(result.stderr, "JIRA_BRIEF_FOO")

    def test_bad_value_in_config_file(self, invoke, plain_dir: Path) -> None:
        config = write_config(plain_dir, 'max-keys = "many"\n')
        result = invoke("config")
        assert result.exit_code == 2
        assert_one_line_error(result.stderr, "max-keys", str(config))

    def test_bad_value_in_environment(self, invoke, plain_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("JIRA_BRIEF_MAX_KEYS", "many")
        result = invoke("keys", "PAY-1")
        assert result.exit_code == 2
        assert_one_line_error(result.stderr, "max-keys", "JIRA_BRIEF_MAX_KEYS")

    @pytest.mark.parametrize(
        ("setting", "value"), [("stream", '"maybe"'), ("llm", '"gpt"'), ("timeout", "0"), ("projects", '["P"]')]
    )
    def test_other_bad_values_name_the_setting(self, invoke, plain_dir: Path, setting: str, value: str) -> None:
        config = write_config(plain_dir, f"{setting} = {value}\n")
        result = invoke("config")
        assert result.exit_code == 2
        assert_one_line_error(result.stderr, setting, str(config))

    def test_invalid_toml(self, invoke, plain_dir: Path) -> None:
        config = write_config(plain_dir, "max-keys = = 3\n[broken\n")
        result = invoke("config")
        assert result.exit_code == 2
        assert_one_line_error(result.stderr, str(config))

    def test_invalid_toml_in_a_real_process(self, run_process, plain_dir: Path) -> None:
        config = write_config(plain_dir, 'projects = ["PAY"\n')
        done = run_process("keys", "PAY-1", cwd=plain_dir)
        assert done.returncode == 2
        assert done.stdout == ""
        assert_one_line_error(done.stderr, str(config))

    @pytest.mark.parametrize(
        ("setting", "variable"),
        [
            ("llm-api-key", "JIRA_BRIEF_LLM_API_KEY"),
            ("github-token", "JIRA_BRIEF_GITHUB_TOKEN"),
            ("gitlab-token", "JIRA_BRIEF_GITLAB_TOKEN"),
        ],
    )
    def test_secret_in_config_file_is_refused(self, invoke, plain_dir: Path, setting: str, variable: str) -> None:
        config = write_config(plain_dir, f'{setting} = "sk-file-secret"\n')
        result = invoke("config")
        assert result.exit_code == 2
        assert "sk-file-secret" not in result.output
        assert_one_line_error(result.stderr, setting, str(config), variable)


# --- secrets -----------------------------------------------------------------------------------

SECRETS = {
    "OPENAI_API_KEY": ("sk-secret-123", "llm-api-key", "llm_api_key"),
    "GITHUB_TOKEN": ("ghp_secret", "github-token", "github_token"),
    "GITLAB_TOKEN": ("glpat-secret", "gitlab-token", "gitlab_token"),
    "JIRA_BRIEF_PROXY": ("http://user:pw-secret@proxy:8080", "proxy", "proxy"),
    "JIRA_BRIEF_MCP_HEADERS": ("Authorization: Token tok-secret", "mcp-headers", "mcp_headers"),
}
SECRET_PARTS = ("sk-secret-123", "ghp_secret", "glpat-secret", "pw-secret", "tok-secret")


class TestSecrets:
    @pytest.fixture
    def secret_env(self, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
        environ = {variable: value for variable, (value, _, _) in SECRETS.items()}
        for variable, value in environ.items():
            monkeypatch.setenv(variable, value)
        return environ

    def test_config_says_set_but_never_shows_them(self, invoke, plain_dir: Path, secret_env) -> None:
        result = invoke("config")
        assert result.exit_code == 0
        for part in SECRET_PARTS:
            assert part not in result.output
        rows = config_rows(result.stdout)
        for variable, (_, row, _) in SECRETS.items():
            value, origin = rows[row]
            assert value != "(unset)" and "*" in value
            assert origin == f"environment {variable}"

    def test_unset_secrets_are_shown_unset(self, invoke, plain_dir: Path) -> None:
        rows = run_config(invoke)
        for _, row, _ in SECRETS.values():
            assert rows[row][0] == "(unset)"

    def test_repr_of_settings_hides_them(self, tmp_path: Path, secret_env) -> None:
        settings = load_settings({}, secret_env, repo_dir(tmp_path))
        # They were loaded...
        assert settings.llm_api_key.reveal() == "sk-secret-123"
        token = token_from(secret_env)
        assert token is not None and token.reveal() == "ghp_secret"
        assert "ghp_secret" not in repr(token)
        assert settings.proxy.reveal() == "http://user:pw-secret@proxy:8080"
        assert [(name, value.reveal()) for name, value in settings.mcp_headers] == [
            ("Authorization", "Token tok-secret")
        ]
        # ...and never printed.
        for text in (repr(settings), str(settings), f"{settings}", repr(settings.origins)):
            for part in SECRET_PARTS:
                assert part not in text

    def test_config_masks_passwords_in_urls(self, invoke, plain_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("JIRA_BRIEF_MCP_URL", "https://bob:pw-url@jira.example/mcp")
        monkeypatch.setenv("OPENAI_BASE_URL", "https://u:pw-base@llm.example/v1")
        result = invoke("config")
        assert result.exit_code == 0
        assert "pw-url" not in result.output and "pw-base" not in result.output
        rows = config_rows(result.stdout)
        assert "jira.example/mcp" in rows["mcp-url"][0] and "bob" in rows["mcp-url"][0]
        assert "llm.example/v1" in rows["llm-base-url"][0]

    def test_repr_hides_passwords_in_urls(self, tmp_path: Path) -> None:
        environ = {
            "JIRA_BRIEF_MCP_URL": "https://bob:pw-url@jira.example/mcp",
            "OPENAI_BASE_URL": "https://u:pw-base@llm.example/v1",
        }
        settings = load_settings({}, environ, repo_dir(tmp_path))
        assert settings.mcp_url == environ["JIRA_BRIEF_MCP_URL"]  # loaded as given...
        assert "pw-url" not in repr(settings) and "pw-base" not in repr(settings)  # ...never printed

    def test_jira_brief_variable_overrides_openai_one(self, tmp_path: Path) -> None:
        settings = load_settings({}, {"OPENAI_API_KEY": "sk-a", "JIRA_BRIEF_LLM_API_KEY": "sk-b"}, repo_dir(tmp_path))
        assert settings.llm_api_key.reveal() == "sk-b"
        assert settings.origin("llm_api_key") == "environment JIRA_BRIEF_LLM_API_KEY"

    def test_bad_secret_value_error_does_not_leak_it(
        self, invoke, plain_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("JIRA_BRIEF_MCP_HEADERS", "Token tok-secret")  # no "Name:" part
        result = invoke("config")
        assert result.exit_code == 2
        assert "tok-secret" not in result.output
        assert_one_line_error(result.stderr, "mcp-headers", "JIRA_BRIEF_MCP_HEADERS")

    def test_config_in_a_real_process(self, run_process, plain_dir: Path, secret_env) -> None:
        done = run_process("config", cwd=plain_dir)
        assert done.returncode == 0, done.stderr
        for part in SECRET_PARTS:
            assert part not in done.stdout + done.stderr
        rows = config_rows(done.stdout)
        assert rows["github-token"][1] == "environment GITHUB_TOKEN"


# --- one declaration, layers, transports, suggestions ------------------------------------------


LAYERS = ["user file", "repo file", "environment", "flag"]


def _set_layer(layer: str, name: str, value: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Put `name = value` in one layer; returns the flags to pass (only for the flag layer)."""
    if layer == "user file":
        user = Path.home() / ".config" / "jira-brief" / "config.toml"
        user.parent.mkdir(parents=True, exist_ok=True)
        user.write_text(user.read_text(encoding="utf-8") if user.exists() else "", encoding="utf-8")
        user.write_text(user.read_text(encoding="utf-8") + f'{name.replace("_", "-")} = "{value}"\n', encoding="utf-8")
    elif layer == "repo file":
        config = folder / ".jira-brief.toml"
        old = config.read_text(encoding="utf-8") if config.exists() else ""
        config.write_text(old + f'{name.replace("_", "-")} = "{value}"\n', encoding="utf-8")
        from jira_brief.config.trust import trust

        trust(config)
    elif layer == "environment":
        monkeypatch.setenv(f"JIRA_BRIEF_{name.upper()}", value)
    else:
        return {name: value}
    return {}


@pytest.mark.parametrize(
    ("low", "high"), [(a, b) for i, a in enumerate(LAYERS) for b in LAYERS[i + 1 :]], ids=lambda layer: layer
)
def test_every_higher_layer_wins_over_every_lower_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, low: str, high: str
) -> None:
    folder = repo_dir(tmp_path)
    flags = _set_layer(low, "model", f"model-from-{low}", folder, monkeypatch)
    flags |= _set_layer(high, "model", f"model-from-{high}", folder, monkeypatch)
    assert load_settings(flags, None, folder).model == f"model-from-{high}"


@pytest.mark.parametrize(
    ("low", "high"), [(a, b) for i, a in enumerate(LAYERS) for b in LAYERS[i + 1 :]], ids=lambda layer: layer
)
def test_a_transport_from_a_higher_layer_replaces_the_other_transport(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, low: str, high: str
) -> None:
    folder = repo_dir(tmp_path)
    flags = _set_layer(low, "mcp_url", "http://127.0.0.1:9/mcp", folder, monkeypatch)
    flags |= _set_layer(high, "mcp_command", "mcp-atlassian", folder, monkeypatch)
    settings = load_settings(flags, None, folder)
    assert (settings.mcp_command, settings.mcp_url) == ("mcp-atlassian", None)


def test_both_transports_in_one_layer_is_a_usage_error(invoke, plain_dir: Path) -> None:
    done = invoke("summarize", "PAY-142", "--mcp-url", "http://127.0.0.1:9/mcp", "--mcp-command", "mcp-atlassian")
    assert done.exit_code == 2
    assert_one_line_error(done.stderr, "mcp-url", "mcp-command", "keep one")


@pytest.mark.parametrize(("text", "suggested"), [("modle", "model"), ("max-key", "max-keys"), ("mcp_urll", "mcp-url")])
def test_an_unknown_setting_suggests_the_nearest_name(invoke, plain_dir: Path, text: str, suggested: str) -> None:
    write_config(plain_dir, f'{text} = "x"\n')
    done = invoke("config")
    assert done.exit_code == 2
    assert_one_line_error(done.stderr, f"did you mean {suggested!r}")


def test_an_unknown_environment_variable_suggests_too(invoke, plain_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("JIRA_BRIEF_MODLE", "x")
    assert_one_line_error(invoke("config").stderr, "JIRA_BRIEF_MODLE", "did you mean 'model'")


def test_the_readme_table_is_the_declarations() -> None:
    from jira_brief.config.settings import settings_table

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert settings_table() in readme, (
        "README's settings table differs from the declarations in settings.py; paste the output of "
        '`python -c "from jira_brief.config.settings import settings_table; print(settings_table())"`'
    )


def test_config_help_lists_every_setting_and_its_variables(invoke) -> None:
    from jira_brief.config.settings import SPECS, env_names

    text = " ".join(invoke("config", "--help").stdout.split())
    for name in SPECS:
        assert name.replace("_", "-") in text
        assert all(variable in text for variable in env_names(name))


def test_help_shows_the_environment_variable_of_every_flag_and_says_repeatable(invoke) -> None:
    text = " ".join(invoke("summarize", "--help").stdout.split())  # as read, whatever the wrapping
    assert "[env: OPENAI_BASE_URL, JIRA_BRIEF_LLM_BASE_URL]" in text
    assert "OPENAI_API_KEY" in text  # where the key comes from
    header_help = text[text.index("--mcp-header") :]
    assert "Repeatable" in header_help.split("--", 2)[1]


def test_every_numeric_setting_says_its_unit_in_help(invoke) -> None:
    import dataclasses

    from jira_brief.commands.main import COMMANDS
    from jira_brief.config.settings import SPECS, Settings

    numeric = {
        item.name
        for item in dataclasses.fields(Settings)
        if item.name in SPECS and isinstance(item.default, int | float) and not isinstance(item.default, bool)
    }
    assert {"timeout", "max_keys", "diff_budget"} <= numeric
    for name in numeric:
        assert SPECS[name].metavar in ("N", "SECONDS", "CHARS"), name  # declared once, shown by every flag
    for command in COMMANDS:
        shown = invoke(command, "--help").stdout
        for flag in re.findall(r"^\s+(--[a-z-]+) (?:TEXT|INTEGER|FLOAT)\b", shown, re.M):
            raise AssertionError(f"{command} {flag}: a value without its unit")
    assert "--timeout SECONDS" in invoke("summarize", "--help").stdout
    assert "--pr-number N" in invoke("github", "--help").stdout


def test_the_docs_state_no_test_counts() -> None:
    """A count of tests is wrong by the next commit: the docs say what the tiers hold, not how many."""
    root = Path(__file__).resolve().parents[2]
    for path in [root / "README.md", root / "tests" / "README.md", *(root / "docs").glob("*.md")]:
        counts = re.findall(r"\b\d[\d,]* (?:fast |slow )?tests\b", path.read_text(encoding="utf-8"))
        assert not counts, f"{path.name}: {counts}"


def test_the_readme_module_map_names_every_module_and_only_those() -> None:
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("<!-- module-map") : readme.index("## Licence")]
    named = set(re.findall(r"^\| `([\w/]+\.py)` \|", table, re.M))
    package = root / "src" / "jira_brief"
    modules = {
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if path.name not in ("__init__.py", "__main__.py")
    }
    assert named == modules, f"README names {sorted(named - modules)}, misses {sorted(modules - named)}"
