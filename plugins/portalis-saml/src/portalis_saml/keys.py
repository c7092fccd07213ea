"""The service provider's certificate and private key as files, because pysaml2 (and the
xmlsec1 program it runs) reads keys from files only.

The PEM texts come from the entry (`private_key` through `${ENV}`); they are written once per
bound provider into a private temporary directory (0700) as 0600 files, and removed when the
provider is garbage collected or the process exits.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class KeyFiles:
    """Paths of the SP's PEM certificate and key (both None when the entry has none)."""

    cert_file: str | None
    key_file: str | None

    @property
    def signing(self) -> bool:
        """True when requests can be signed."""
        return self.key_file is not None


def _pem(text: str, kind: str, option: str) -> str:
    body = text.strip()
    if f"-----BEGIN {kind}" not in body and "-----BEGIN" not in body:
        raise ValueError(f"SAML {option} is not a PEM text (-----BEGIN …)")
    # environment variables often carry PEMs with literal \n
    return body.replace("\\n", "\n") + "\n"


def write_key_files(owner: object, certificate: str | None, private_key: str | None) -> KeyFiles:
    """Write the PEMs for `owner` (the bound provider, whose lifetime the files follow)."""
    if not certificate and not private_key:
        return KeyFiles(None, None)
    if not (certificate and private_key):
        raise ValueError("SAML certificate and private_key go together: set both or neither")
    folder = tempfile.mkdtemp(prefix="portalis-saml-")  # mode 0700
    weakref.finalize(owner, shutil.rmtree, folder, True)
    paths = []
    for name, text in (
        ("sp.crt", _pem(certificate, "CERTIFICATE", "certificate")),
        ("sp.key", _pem(private_key, "PRIVATE KEY", "private_key")),
    ):
        path = Path(folder) / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        paths.append(str(path))
    return KeyFiles(paths[0], paths[1])
