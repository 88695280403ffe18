"""A Bitbucket pull request's comments as a `CommentThread`, and how our own comments are known.

`GET /2.0/user` refuses a repository access token (401), and the comments such a token posts are by a
bot user named after the token: a display name anyone can copy. So each comment of ours carries a seal
on its second line, invisible like the marker: an HMAC of its author's uuid, keyed with the credential's
secret. Only a holder of the credential can make one, and it holds for that author alone: someone who
copies the line into a comment of their own copies a seal that fails for them. Who we are is then the
author of a comment whose seal holds, the author Bitbucket names when we write one, or (an API token,
which may ask) `/2.0/user`.

The seal line is added when writing and taken off when listing. A comment whose seal does not hold keeps
its line, so it differs from anything we would write and is sealed again if it turns out to be ours. A
comment is posted with a pending seal while its author is not known yet, then sealed once Bitbucket has
said who wrote it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Any

from jira_brief.forges.base import Posted
from jira_brief.forges.bitbucket.api import Api, Credential
from jira_brief.publish.dialect import PLAIN

# Comments listed at most (100 a page): a pull request with more keeps ours among the first ones.
MAX_COMMENTS = 5_000
PENDING = "pending"
_SEAL = re.compile(r"\[//\]: # \(jira-brief:seal ([0-9a-f]{32}|pending)\)\n")


def seal_key(credential: Credential) -> bytes:
    """The seal's key, from the credential's secret (an HMAC does not reveal its key)."""
    secret = f"{credential.email or ''}\0{credential.token.reveal()}".encode()
    return hashlib.sha256(b"jira-brief comment seal\0" + secret).digest()


def posted_of(value: Any) -> Posted | None:
    """A comment as the API lists it, when it can be ours: on the whole pull request (not inline, not a
    reply), published (not pending), not deleted."""
    if not isinstance(value, dict) or value.get("deleted") or value.get("pending"):
        return None
    if value.get("inline") or value.get("parent"):
        return None
    content, user, links = value.get("content"), value.get("user"), value.get("links")
    raw = content.get("raw") if isinstance(content, dict) else None
    author = user.get("uuid") if isinstance(user, dict) else None
    html = links.get("html") if isinstance(links, dict) else None
    url = html.get("href") if isinstance(html, dict) else None
    if not isinstance(value.get("id"), int) or not isinstance(raw, str) or not isinstance(author, str):
        return None
    return Posted(value["id"], raw, author, url if isinstance(url, str) else "")


@dataclass
class BitbucketThread:
    """The comments of one pull request (`path` is its API path), as one credential writes them."""

    api: Api
    path: str
    number: int
    key: bytes
    marker: str = PLAIN.marker
    me: str | None = None  # our uuid, once Bitbucket said it (a write's answer, /2.0/user)
    sealed: set[str] = field(default_factory=set)  # authors of the last listing's sealed comments
    asked: bool = False

    @property
    def _what(self) -> str:
        return f"pull request #{self.number}"

    def seal(self, author: str) -> str:
        return hmac.new(self.key, author.encode(), hashlib.sha256).hexdigest()[:32]

    def _sealed(self, body: str, author: str | None) -> str:
        """`body` (which starts with the marker line) with the seal of `author` as its second line."""
        head, _, rest = body.partition("\n")
        return f"{head}\n{PLAIN.hidden('jira-brief:seal ' + (self.seal(author) if author else PENDING))}\n{rest}"

    def _unsealed(self, body: str, author: str) -> tuple[str, bool]:
        """`body` without its seal line, and True, when the seal holds for `author`; else as it is."""
        if not body.startswith(self.marker + "\n"):
            return body, False
        rest = body[len(self.marker) + 1 :]
        found = _SEAL.match(rest)
        if found is None or not hmac.compare_digest(found[1], self.seal(author)):
            return body, False
        return self.marker + "\n" + rest[found.end() :], True

    def listing(self) -> list[Posted]:
        self.sealed = set()
        found = []
        pages = self.api.pages(f"{self.path}/comments", "reading the pull request's comments", self._what, MAX_COMMENTS)
        for value in pages:
            posted = posted_of(value)
            if posted is None:
                continue
            body, sealed = self._unsealed(posted.body, posted.author)
            if sealed:
                self.sealed.add(posted.author)
            found.append(dataclasses.replace(posted, body=body))
        return found

    def identity(self) -> str | None:
        """Our uuid: as Bitbucket said it, else (an API token) as `/2.0/user` says it, else the author of
        the sealed comments of the last listing; None while none of these is known."""
        if self.me is None and not self.asked and self.api.credential and not self.api.credential.access_token:
            self.asked = True  # an API token without the read:user:bitbucket scope gets 403: seals then
            user = self.api.get_if("/user", "asking who the API token is", "account", absent=403)
            self.me = user.get("uuid") if user and isinstance(user.get("uuid"), str) else None
        if self.me is not None:
            return self.me
        return next(iter(self.sealed)) if len(self.sealed) == 1 else None

    def create(self, body: str) -> Posted | None:
        """Post (sealed when we know who we are, else pending, then sealed); None when Bitbucket failed
        in a way that may have stored it (the caller lists again)."""
        author = self.me or (next(iter(self.sealed)) if len(self.sealed) == 1 else None)
        answer = self.api.post(
            f"{self.path}/comments", {"content": {"raw": self._sealed(body, author)}}, "writing the comment", self._what
        )
        created = posted_of(answer)
        if created is None:
            return None
        self.me = created.author
        if author != created.author:
            self.api.put(
                f"{self.path}/comments/{created.id}",
                {"content": {"raw": self._sealed(body, created.author)}},
                "sealing the comment",
                self._what,
            )
        return dataclasses.replace(created, body=body)

    def edit(self, posted: Posted, body: str) -> bool:
        answer = self.api.put(
            f"{self.path}/comments/{posted.id}",
            {"content": {"raw": self._sealed(body, posted.author)}},
            "writing the comment",
            self._what,
        )
        edited = posted_of(answer)
        if edited is not None:
            self.me = edited.author
        return answer is not None

    def delete(self, posted: Posted) -> None:
        self.api.delete(f"{self.path}/comments/{posted.id}", "deleting our comment", self._what)
