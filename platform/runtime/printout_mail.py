"""Printouts attached to notification mails, made by the worker when the mail is sent.

The notification queued the mail with an `attach` entry (the record, the printouts, and the
recipient's id, account and roles); here each PDF is rendered as that recipient in the mail's
language, so the attachment holds only what the recipient may read — the same document
they would download from the record's page. A record the recipient can no longer read is
left out; a printout that fails to render fails the mail for good (a dead letter an
administrator sees), never a mail that says "attached" without the file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from portalis.engine.data.errors import Forbidden, NotFound
from portalis.engine.data.permissions import Actor
from portalis.engine.outbox.jobs import Job, PermanentFailure, RetryLater

from .printout_pdf import PrintoutFailed
from .printouts import make_pdf

if TYPE_CHECKING:
    from .registry import PortalRegistry


def printout_attacher(registry: PortalRegistry) -> Callable[[Job], list[tuple[str, bytes]]]:
    """The mail handler's attacher: (file name, PDF) for each printout a job names."""

    def attach(job: Job) -> list[tuple[str, bytes]]:
        spec: dict[str, Any] = job.payload["attach"]
        portal = registry.get(job.portal or "")
        if portal is None:
            raise RetryLater(f"portal {job.portal!r} is not loaded")
        model = portal.compiled.model
        reader = spec.get("user") or {}
        actor = Actor.for_user(
            model, int(reader["id"]), reader.get("account"), reader.get("roles") or ()
        )
        locale = str(job.payload.get("locale") or model.default_locale)
        files: list[tuple[str, bytes]] = []
        for name in spec.get("printouts") or ():
            try:
                rendered = make_pdf(
                    portal, actor, str(spec["entity"]), int(spec["id"]), str(name), locale,
                    store=portal.base_store,
                )  # fmt: skip
            except (NotFound, Forbidden):
                continue
            except PrintoutFailed as exc:
                raise PermanentFailure(f"printout {name} failed: {exc}") from exc
            files.append((rendered.filename, rendered.pdf))
        return files

    return attach
