"""Zip archives in and out of the builder: reading an uploaded definition zip within the
limits of a definition folder, and answering a download of one."""

from __future__ import annotations

from flask import request
from werkzeug.wrappers import Response

from portalis.engine.definition.bundle import MAX_BUNDLE_BYTES
from portalis.engine.problems import Problem
from portalis.runtime.templating import gettext as _

#: The largest zip accepted: a definition's files may total MAX_BUNDLE_BYTES unpacked, so a
#: bigger archive cannot hold a valid definition (the unpacked limits are checked on reading).
MAX_ZIP_BYTES = MAX_BUNDLE_BYTES


def read_zip_upload(field: str) -> tuple[bytes, Problem | None]:
    """The bytes of the uploaded file `field`, or a problem saying why there are none."""
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        return b"", Problem("zip-invalid", _("Choose a zip file to upload."), file="upload")
    data = upload.stream.read(MAX_ZIP_BYTES + 1)
    if len(data) > MAX_ZIP_BYTES:
        message = _("The zip is larger than %(limit)s bytes.", limit=format(MAX_ZIP_BYTES, ","))
        return b"", Problem("file-too-large", message, file=upload.filename)
    return data, None


def zip_response(data: bytes, filename: str) -> Response:
    """A zip download named `filename`."""
    return Response(
        data,
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
