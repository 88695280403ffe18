"""The offline brief: the template's own headings, each filled from the ticket's field that answers it,
inventing nothing; clearly marked as made without a model."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from jira_brief.brief.normalize import DROPPED, display, fold
from jira_brief.brief.template import Template
from jira_brief.jira.normalize import ACCEPTANCE_NAME
from jira_brief.jira.sections import description_section, without_section
from jira_brief.jira.ticket import Ticket

# The sections the ticket has nothing for, named in one line rather than each under its own heading.
NOT_STATED = {"fr": "_Non précisé dans le ticket : {headings}._", "en": "_Not stated in the ticket: {headings}._"}
OFFLINE_MARK = {
    "fr": "_Résumé hors ligne : tiré des champs du ticket, sans modèle._",
    "en": "_Offline brief: taken from the ticket's fields, no model._",
}


def _demote_headings(text: str) -> str:
    """Headings of a description as bold lines, so they cannot pose as sections of the brief."""
    return re.sub(r"^(?:#{1,6}|h[1-6]\.)\s+(.*)$", r"**\1**", text, flags=re.M)


def _bullets(items: Iterable[str]) -> str:
    return "\n".join(f"- {item}" for item in items if item)


RULES_HEADING = re.compile(r"business\s+rules|r[èe]gles(\s+m[ée]tier)?|rules|constraints|contraintes", re.I)

# What each section of a brief holds, recognized in a template's heading (English and French).
SECTION_ROLES = (
    ("ticket", re.compile(r"\bticket\b|summary|résumé|en bref", re.I)),
    ("context", re.compile(r"context|background|contexte", re.I)),
    ("objective", re.compile(r"objecti|goal|\bbut\b|purpose", re.I)),
    ("acceptance", re.compile(r"acceptance|criteri|crit[èe]res?|definition of done", re.I)),
    ("steps", re.compile(r"steps?\b|tasks?\b|[ée]tapes?|plan\b|sub-?tasks?", re.I)),
    ("rules", re.compile(r"rules?\b|r[èe]gles?|constraints?|contraintes?", re.I)),
    ("attention", re.compile(r"attention|risks?|risques?|watch|caveats?|notes?\b|vigilance", re.I)),
)


def section_role(heading: str) -> str | None:
    """Which part of a ticket a template's heading asks for, or None when no field answers it."""
    return next((role for role, pattern in SECTION_ROLES if pattern.search(heading)), None)


def offline_sections(ticket: Ticket, roles: Collection[str] = ()) -> dict[str, str]:
    """The parts of a brief that the ticket's own fields give, by role, inventing nothing. The context
    keeps the description, less the sections that another of `roles` shows (business rules, criteria)."""
    facts = ticket.facts
    context = _bullets(
        [
            f"Epic/parent: {ticket.parent}" if ticket.parent else "",
            *ticket.links,
            f"Components: {', '.join(ticket.components)}" if ticket.components else "",
            f"Labels: {', '.join(ticket.labels)}" if ticket.labels else "",
        ]
    )
    told = _told_elsewhere(ticket, roles)
    description = _demote_headings(told[:1200] + (" […]" if len(told) > 1200 else ""))
    attention = _bullets(
        [f"{c.author}: {c.body[:300]}" for c in ticket.comments[-3:]]
        + [f"Fix versions: {', '.join(ticket.fix_versions)}" if ticket.fix_versions else ""]
    )
    return {
        "ticket": f"{ticket.key} — {ticket.title}" + (f" ({facts})" if facts else ""),
        "context": "\n\n".join(filter(None, [context, description])),
        "objective": ticket.title,
        "acceptance": ticket.acceptance,
        "steps": _bullets(ticket.subtasks),
        "rules": _demote_headings(description_section(ticket.description, RULES_HEADING)),
        "attention": attention,
    }


def _told_elsewhere(ticket: Ticket, roles: Collection[str]) -> str:
    """The description without the sections another part of the brief shows whole."""
    description = ticket.description
    if "rules" in roles:
        description = without_section(description, RULES_HEADING)
    criteria = description_section(description, ACCEPTANCE_NAME)
    if "acceptance" in roles and criteria and criteria == ticket.acceptance.strip():
        description = without_section(description, ACCEPTANCE_NAME)
    return description


def offline_brief(ticket: Ticket, template: Template) -> str:
    """A brief with the template's own headings, each filled from the ticket's field that answers it
    (whatever their number and order), the ones it has nothing for named in one closing line; clearly
    marked as offline."""
    roles = {role: heading for heading in template.headings if (role := section_role(heading))}
    sections = offline_sections(ticket, set(roles))
    parts = [OFFLINE_MARK.get(template.language, OFFLINE_MARK["en"])]
    silent = []
    for heading in template.headings:
        role = section_role(heading)
        body = (sections.get(role, "") if role else "").strip()
        if body:
            parts.append(f"## {heading}\n{body}")
        elif fold(heading) not in DROPPED:
            silent.append(display(heading))
    if silent:
        parts.append(NOT_STATED.get(template.language, NOT_STATED["en"]).format(headings=", ".join(silent)))
    return "\n\n".join(parts)
