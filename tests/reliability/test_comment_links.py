"""No live link in the published comment leaves the Jira host: every payload goes through the real
sanitizer and then a real CommonMark-GFM renderer with the autolink extension (cmark-gfm, the
library GitHub's own renderer is built on), and every href and src it produces is checked."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from jira_brief.publish.neutralize import sanitize

JIRA = "acme.atlassian.net"
HOSTS = frozenset({JIRA})

PAYLOADS = [
    "write to dev@evil.example",
    "mail: <dev@evil.example>",
    "mailto:dev@evil.example",
    "[mail me](mailto:dev@evil.example)",
    "xmpp:dev@evil.example",
    "ftp://evil.example/payload.zip",
    "FTP://evil.example/payload.zip",
    "<ftp://evil.example/x>",
    "[click](javascript:alert(1))",
    "<javascript:alert(1)>",
    "[data](data:text/html;base64,PHNjcmlwdD4=)",
    "www.evil.example/login",
    "http://evil.example/x",
    f"http://{JIRA}/browse/PAY-1",
    f"[plain http](http://{JIRA}/browse/PAY-1)",
    f"https://{JIRA}@evil.example/x",
    f"https://evil.example\\@{JIRA}/x",
    f"[tricky](https://evil.example\\@{JIRA}/x)",
    f"https://user:pw@{JIRA}/x",
    f"https://{JIRA}.evil.example/x",
    "[ref]\n\n[ref]: https://evil.example/x",
    "![pixel](https://evil.example/p.png)",
    "<a href='https://evil.example'>x</a>",
    "&lt;https://evil.example&gt; and &#104;ttps://evil.example",
    "see x@evil.example.com, or y+tag@sub.evil.example",
    "[x](<https://evil.example/x>)",
]


class _Targets(HTMLParser):
    """Every href and src of the rendered HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.extend(value or "" for name, value in attrs if name in ("href", "src"))


def live_targets(markdown: str) -> list[str]:
    html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    parser = _Targets()
    parser.feed(html)
    return parser.found


def leaves_jira(target: str) -> bool:
    parts = urlsplit(target.replace("\\", "/"))
    return parts.scheme != "https" or parts.hostname != JIRA or bool(parts.username)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_live_link_leaves_the_jira_host(payload: str) -> None:
    assert any(leaves_jira(target) for target in live_targets(payload)), "live before sanitizing, or it tests nothing"
    for text in (payload, f"before {payload} after", f"> {payload}", f"- {payload}"):
        targets = live_targets(sanitize(text, HOSTS))
        assert not [target for target in targets if leaves_jira(target)], sanitize(text, HOSTS)


def test_the_jira_hosts_https_links_stay_live() -> None:
    text = f"[spec](https://{JIRA}/wiki/x) and https://{JIRA}/browse/PAY-1"
    assert live_targets(sanitize(text, HOSTS)) == [f"https://{JIRA}/wiki/x", f"https://{JIRA}/browse/PAY-1"]
