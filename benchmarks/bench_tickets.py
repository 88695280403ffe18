"""Benchmark tickets: copies of the demo tickets under new keys, plus one huge ticket.

PAY-201..PAY-215 take the shapes of the six demo tickets in turn (new key, id, url and
`updated`); PAY-216 is the huge one: a ~60 KB description and 80 comments, in the same
mcp-atlassian simplified-dict shape as the demo tickets.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from jira_brief.jira.demo.server import load_demo_tickets

FIRST_NUMBER = 201
HUGE_KEY = "PAY-216"
NORMAL_KEY = "PAY-201"  # the copy of PAY-142, the richest demo ticket
HUGE_DESCRIPTION_CHARS = 60_000
HUGE_COMMENTS = 80

_AUTHORS = ("Amara Okafor", "Lukas Brandt", "Chloé Martin", "Priya Raman", "Tomás Alvarez")
_RULES = (
    "A split payment is only offered for orders of €{amount} or more.",
    "Each card carries at least €{small}; the shopper sets the amount on the first card.",
    "Both authorisations must succeed before the order is confirmed; otherwise nothing is captured.",
    "Refunds go back to each card in proportion to the amount charged to it (rounding to the cent, "
    "the remainder on the first card).",
    "A card flagged by the fraud engine with a score above {score} is refused before authorisation.",
    "Capture happens at dispatch; an authorisation older than {days} days is renewed first.",
)
_NOTES = (
    "The PSP returns `requires_action` for 3-D Secure challenges; the second challenge must not start "
    "before the first one is settled, or the PSP cancels both PaymentIntents.",
    "Observed in staging on build {build}: the callback for the second card sometimes arrives before "
    "the first, so the order state machine must accept both orders of events.",
    "Log excerpt: `payment_intent.amount_capturable_updated pi_{build} amount={amount}00 currency=eur "
    "status=requires_capture` followed by a retry after {days} s.",
    "Support asked what happens when the shopper closes the tab between the two authorisations; the "
    "answer is a void of the first authorisation after {days} minutes.",
)


def _huge_description() -> str:
    """Markdown with sections, rules and notes, repeated with varying numbers up to ~60 KB."""
    parts = [
        "As a shopper with spending limits on my cards, I want to split one order between two "
        "cards so that I can pay for a large basket in one go.",
        "",
        "## Business rules",
        "",
    ]
    number = 0
    while sum(len(part) + 1 for part in parts) < HUGE_DESCRIPTION_CHARS and number < 10_000:
        values = {
            "amount": 100 + number,
            "small": 10 + number % 7,
            "score": 70 + number % 20,
            "days": 3 + number % 5,
            "build": 4000 + number,
        }
        if number % 25 == 0:
            parts += ["", f"## Technical notes, part {number // 25 + 1}", ""]
        template = _RULES[number % len(_RULES)] if number % 2 == 0 else _NOTES[number % len(_NOTES)]
        parts.append(f"- ({number + 1}) " + template.format(**values))
        number += 1
    return "\n".join(parts)[:HUGE_DESCRIPTION_CHARS]


def _comment(index: int) -> dict[str, Any]:
    author = _AUTHORS[index % len(_AUTHORS)]
    body = (
        f"Update {index + 1}: "
        + _NOTES[index % len(_NOTES)].format(amount=120 + index, days=2 + index % 6, build=5000 + index)
        + " "
        + _RULES[index % len(_RULES)].format(amount=100, small=10, score=80, days=7)
    )
    created = f"2025-05-{1 + index // 4:02d}T{8 + index % 4 * 2:02d}:15:00.000+0200"
    account = f"712020:{index % len(_AUTHORS):08d}-0000-4000-8000-000000000000"
    return {
        "body": body,
        "created": created,
        "updated": created,
        "author": {
            "account_id": account,
            "display_name": author,
            "name": author,
            "email": f"{author.split()[0].lower()}@shopwave.example",
        },
    }


def _renamed(issue: dict[str, Any], number: int) -> dict[str, Any]:
    """A deep copy of `issue` as PAY-<number>: new key, id, url and `updated`."""
    copied = copy.deepcopy(issue)
    copied["key"] = f"PAY-{number}"
    copied["id"] = str(20000 + number)
    if isinstance(copied.get("url"), str):
        copied["url"] = copied["url"].rsplit("/", 1)[0] + f"/{copied['id']}"
    copied["updated"] = f"2025-06-{1 + number % 28:02d}T10:00:00.000+0200"
    return copied


def build_tickets(count: int = 16) -> dict[str, dict[str, Any]]:
    """PAY-201.. as many as asked; the 16th (PAY-216) is the huge ticket."""
    demo = load_demo_tickets()
    shapes = [demo[key] for key in ("PAY-142", "WEB-88", "PAY-150", "PAY-143", "PAY-100", "WEB-91")]
    tickets = {}
    for offset in range(count):
        number = FIRST_NUMBER + offset
        ticket = _renamed(shapes[offset % len(shapes)], number)
        if ticket["key"] == HUGE_KEY:
            ticket = _renamed(demo["PAY-142"], number)
            ticket["description"] = _huge_description()
            ticket["comments"] = [_comment(index) for index in range(HUGE_COMMENTS)]
        tickets[ticket["key"]] = ticket
    return tickets


def describe(tickets: dict[str, dict[str, Any]]) -> str:
    """One line on the sizes of the tickets, as jira_get_issue returns them with every field."""
    sizes = {key: len(json.dumps(issue, indent=2, ensure_ascii=False)) for key, issue in tickets.items()}
    normal = [size for key, size in sizes.items() if key != HUGE_KEY]
    line = f"{len(tickets)} tickets; normal ones {min(normal) / 1000:.1f}–{max(normal) / 1000:.1f} KB as JSON"
    if HUGE_KEY in tickets:
        huge = tickets[HUGE_KEY]
        line += (
            f"; {HUGE_KEY}: {len(huge['description']) / 1000:.0f} KB description, "
            f"{len(huge['comments'])} comments, {sizes[HUGE_KEY] / 1000:.0f} KB as JSON"
        )
    return line
