"""Drafts: the builder's stored, unpublished bundles, their revisions, review and publishing.

A draft starts from a portal's live version, a blueprint (a fork), a blank portal or an
uploaded zip (`sources`); every save is a revision, saved optimistically against the revision
it was based on (`store`, `DraftConflict` in `conflicts`); a revision is validated, compiled
and planned without publishing and published through the deploy path (`review`).
"""

from .conflicts import DraftConflict, DraftError, file_diffs
from .review import DraftOutdated, DraftReview, Publication, publications, publish, review
from .sources import (
    draft_blank,
    draft_from_bundle,
    draft_from_directory,
    draft_from_live,
    draft_from_zip,
    export_revision,
    revision_zip,
)
from .store import (
    DraftInfo,
    RevisionInfo,
    create_draft,
    diff_revisions,
    discard,
    get_draft,
    list_drafts,
    restore,
    revision_bundle,
    revisions,
    save,
)

__all__ = [
    "DraftConflict",
    "DraftError",
    "DraftInfo",
    "DraftOutdated",
    "DraftReview",
    "Publication",
    "RevisionInfo",
    "create_draft",
    "diff_revisions",
    "discard",
    "draft_blank",
    "draft_from_bundle",
    "draft_from_directory",
    "draft_from_live",
    "draft_from_zip",
    "export_revision",
    "file_diffs",
    "get_draft",
    "list_drafts",
    "publications",
    "publish",
    "restore",
    "review",
    "revision_bundle",
    "revision_zip",
    "revisions",
    "save",
]
