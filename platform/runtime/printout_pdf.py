"""HTML → PDF with WeasyPrint, offline: a printout reaches only the definition's own files.

WeasyPrint fetches every stylesheet, image and font a document names. A template (or a
record's text inside it) could name `http://169.254.169.254/…` or `file:///etc/passwd`, so
the fetcher here serves files of the portal's definition bundle by relative path and
refuses everything else: no network, no local file system (SECURITY A.34).

WeasyPrint (and its Pango/HarfBuzz libraries) is imported when the first PDF is made, not
when the application or a worker starts: the import is slow and most processes never print.
"""

from __future__ import annotations

import importlib
import mimetypes
import posixpath
import threading
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import unquote, urlsplit

#: The base URL documents are rendered under; relative links resolve beneath it. The host
#: is reserved (RFC 6761): the fetcher answers it from the bundle, nothing is ever sent.
BASE_URL: Final = "https://bundle.portalis.invalid/"
#: Largest PDF kept or sent (bytes); a bigger one is refused as a broken template.
MAX_PDF_BYTES: Final = 20 * 1024 * 1024
# one document at a time per process: a long statement holds tens of MB while it renders,
# and WeasyPrint's font configuration (fontconfig through Pango) is process-wide
_LOCK = threading.Lock()


class PrintoutFailed(Exception):
    """The document could not be rendered (a refused resource is not a failure: it is left
    out, as a browser would)."""


def bundle_file(files: Mapping[str, str], url: str) -> tuple[bytes, str]:
    """(bytes, MIME type) of the definition file `url` names under `BASE_URL`; ValueError
    for every other URL (http, https, file, data alike) and for paths outside the bundle."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}/" != BASE_URL:
        raise ValueError(f"printouts fetch nothing outside the definition: {url[:80]}")
    path = posixpath.normpath(unquote(parts.path)).lstrip("/")
    if path.startswith("..") or path not in files:
        raise ValueError(f"no such file in the definition: {path[:80]}")
    mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return files[path].encode("utf-8"), mime


def _fetcher(weasyprint: Any, files: Mapping[str, str]) -> Any:
    """A WeasyPrint URL fetcher that answers only from `files` (`bundle_file`)."""

    class BundleFetcher(weasyprint.URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            body, mime = bundle_file(files, url)
            return weasyprint.urls.URLFetcherResponse(
                url, body, {"Content-Type": f"{mime}; charset=utf-8"}
            )

    return BundleFetcher(allowed_protocols=("https",), allow_redirects=False)


def html_to_pdf(html: str, files: Mapping[str, str], page_css: str) -> bytes:
    """The PDF of `html` (relative links resolve to `files`, the definition's), with
    `page_css` (paper size) applied before the document's own styles."""
    weasyprint: Any = importlib.import_module("weasyprint")
    fetch = _fetcher(weasyprint, files)
    try:
        with _LOCK:
            document = weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=fetch)
            data = document.write_pdf(stylesheets=[weasyprint.CSS(string=page_css)])
    except Exception as exc:  # WeasyPrint raises many kinds; all mean "no PDF"
        raise PrintoutFailed(f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(data, bytes) or len(data) > MAX_PDF_BYTES:
        raise PrintoutFailed("the PDF is empty or too large")
    return data
