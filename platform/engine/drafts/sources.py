"""Where drafts come from and where their files go: the live version, a blueprint folder (a
fork: a copy of its files), a blank portal, an uploaded zip; export to a folder or a zip."""

from __future__ import annotations

import os
import re
from pathlib import Path

import sqlalchemy as sa

from ..data.errors import NotFound
from ..definition.bundle import Bundle, read_bundle
from ..definition.bundle_zip import bundle_from_zip, bundle_to_zip
from ..definition.loader import load
from ..definition.yamledit import BundleEdit
from ..deploy.versions import get_bundle, live_versions
from ..problems import DefinitionError
from .conflicts import DraftError
from .store import DraftInfo, create_draft, revision_bundle

SLUG = re.compile(r"^[a-z][a-z0-9-]{1,39}$")


def draft_from_live(
    engine: sa.Engine, portal: str, *, name: str, created_by: int | None = None
) -> DraftInfo:
    """A draft of a portal's live version (its base version)."""
    live = live_versions(engine).get(portal)
    if live is None:
        raise NotFound(f"portal {portal!r} has no live version")
    bundle = get_bundle(engine, portal, live)
    return create_draft(
        engine,
        portal,
        bundle,
        name=name,
        origin=f"version {live}",
        base_version=live,
        created_by=created_by,
    )


def draft_from_directory(
    engine: sa.Engine,
    directory: str | os.PathLike[str],
    *,
    name: str,
    portal: str | None = None,
    created_by: int | None = None,
) -> DraftInfo:
    """A new portal forked from a definition folder (a blueprint): a copy of its files,
    renamed to `portal` when given."""
    bundle, problems = read_bundle(directory)
    if problems:
        raise DefinitionError(problems)
    return draft_from_bundle(
        engine,
        bundle,
        name=name,
        portal=portal,
        origin=f"blueprint {Path(directory).name}",
        created_by=created_by,
    )


def draft_from_zip(
    engine: sa.Engine,
    data: bytes,
    *,
    name: str,
    portal: str | None = None,
    created_by: int | None = None,
) -> DraftInfo:
    """A draft of the files in an uploaded zip (see `bundle_from_zip`). A zip of an existing
    portal becomes a draft based on its live version."""
    bundle, problems = bundle_from_zip(data)
    if problems:
        raise DefinitionError(problems)
    return draft_from_bundle(
        engine, bundle, name=name, portal=portal, origin="zip upload", created_by=created_by
    )


def draft_blank(
    engine: sa.Engine,
    portal: str,
    *,
    name: str,
    title: str | None = None,
    created_by: int | None = None,
) -> DraftInfo:
    """A new portal with nothing but its root file."""
    _check_slug(portal)
    label = (title or portal).replace('"', "'")
    text = f'format: portalis/v1\nportal: {portal}\ntitle: {{en: "{label}"}}\nlocales: [en]\n'
    return draft_from_bundle(
        engine, Bundle.of({"portal.yaml": text}), name=name, origin="blank", created_by=created_by
    )


def draft_from_bundle(
    engine: sa.Engine,
    bundle: Bundle,
    *,
    name: str,
    origin: str,
    portal: str | None = None,
    created_by: int | None = None,
) -> DraftInfo:
    """A draft of `bundle`. With `portal` the files are renamed to that slug (one line of
    portal.yaml). A slug that is live already makes a draft based on its live version."""
    if bundle.root is None:
        raise DraftError("the files have no portal.yaml")
    raw, _ = load(bundle)
    named = raw.data.get("portal")
    if portal is not None and portal != named:
        _check_slug(portal)
        bundle = BundleEdit(bundle).set("portal", portal).result().bundle
    slug = portal or named
    if not isinstance(slug, str) or not SLUG.match(slug):
        raise DraftError(
            "portal.yaml names no valid portal slug", hint="set portal: to a slug like acme-support"
        )
    live = live_versions(engine).get(slug)
    return create_draft(
        engine, slug, bundle, name=name, origin=origin, base_version=live, created_by=created_by
    )


def _check_slug(portal: str) -> None:
    if not SLUG.match(portal):
        raise DraftError(
            f"{portal!r} is not a portal slug",
            hint="lower-case letters, digits and -, starting with a letter, 2 to 40 long",
        )


def export_revision(
    engine: sa.Engine,
    draft_id: int,
    directory: str | os.PathLike[str],
    number: int | None = None,
) -> Bundle:
    """Write a revision's files under `directory`, exactly as `portalis export` writes a
    version's (default: the draft's head)."""
    bundle = revision_bundle(engine, draft_id, number)
    bundle.write(directory)
    return bundle


def revision_zip(engine: sa.Engine, draft_id: int, number: int | None = None) -> bytes:
    """A revision's files as a zip archive (see `bundle_to_zip`)."""
    return bundle_to_zip(revision_bundle(engine, draft_id, number))
