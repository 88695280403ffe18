"""A brief template: instructions for the model, and the headings the brief is held to."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from jira_brief.config.settings import Settings
from jira_brief.errors import UsageError


@dataclass(frozen=True)
class Template:
    """A brief template: instructions for the model, and the headings of the brief."""

    name: str
    text: str
    language: str

    @property
    def headings(self) -> tuple[str, ...]:
        return tuple(line[3:].strip() for line in self.text.splitlines() if line.startswith("## "))

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:12]


def load_template(settings: Settings) -> Template:
    """The built-in template of --language, or the file given with --template."""
    if settings.template:
        try:
            text = Path(settings.template).read_text(encoding="utf-8")
        except OSError as error:
            raise UsageError(f"cannot read the template {settings.template}: {error.strerror}") from None
        if not any(line.startswith("## ") for line in text.splitlines()):
            raise UsageError(f"the template {settings.template} has no '## ' headings; add one per section")
        return Template(Path(settings.template).name, text, settings.language)
    text = resources.files("jira_brief.brief").joinpath("prompts", f"{settings.language}.md").read_text("utf-8")
    return Template(settings.language, text, settings.language)
