"""What a draft's saves and revisions differ by: unified diffs per file, and the conflict a
save on an outdated revision raises instead of overwriting someone else's work."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from ..problems import PortalisError


def file_diffs(
    old: Mapping[str, str], new: Mapping[str, str], old_label: str, new_label: str
) -> dict[str, str]:
    """path → unified diff, for every file that differs (added and removed files too)."""
    out: dict[str, str] = {}
    for path in sorted(set(old) | set(new)):
        if old.get(path) == new.get(path):
            continue
        out[path] = "".join(
            difflib.unified_diff(
                old.get(path, "").splitlines(keepends=True),
                new.get(path, "").splitlines(keepends=True),
                f"{old_label}/{path}" if path in old else "/dev/null",
                f"{new_label}/{path}" if path in new else "/dev/null",
            )
        )
    return out


class DraftError(PortalisError):
    """A draft operation that cannot be done (unknown or discarded draft, bad revision)."""

    code = "draft-invalid"

    def __init__(self, message: str, *, hint: str = "", code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.hint = hint


class DraftConflict(PortalisError):
    """A save whose base revision is no longer the draft's head: someone saved first.

    `theirs` is what changed since the base (base → head), `yours` what this save changes
    (base → proposed), both as path → unified diff; `files` are the proposed files, so the
    editor can show both and save again on `head`. Nothing was written.
    """

    code = "draft-conflict"

    def __init__(
        self,
        draft_id: int,
        base: int,
        head: int,
        theirs: Mapping[str, str],
        yours: Mapping[str, str],
        files: Mapping[str, str],
    ) -> None:
        self.draft_id = draft_id
        self.base = base
        self.head = head
        self.theirs = dict(theirs)
        self.yours = dict(yours)
        self.files = dict(files)
        super().__init__(
            f"draft {draft_id} was saved as revision {head} since revision {base}: "
            f"{len(self.theirs)} file(s) changed there, {len(self.yours)} here"
        )
