"""The SAML plugin tests' definition: the b2c blueprint with a `saml` provider entry."""

from __future__ import annotations

from pathlib import Path

from portalis.testing.portals import b2c_with

#: The provider entry the tests add to the b2c blueprint (after its password entry).
SAML_ENTRY = """\
    - type: saml
      name: corp
      label: Acme SSO
      idp_metadata: idp-metadata.xml
      certificate: "${SAML_SP_CERT}"
      private_key: "${SAML_SP_KEY}"
      roles_from: eduPersonAffiliation
      role_map: {admins: account_admin}
      account_from: "attribute:o"
      allow_registration: true
      default_roles: [customer]
"""


def saml_definition(folder: Path, idp_metadata: str, entry: str = SAML_ENTRY) -> Path:
    """The b2c blueprint with the SAML `entry` and the IdP's metadata file."""
    b2c_with(folder, providers=entry)
    (folder / "idp-metadata.xml").write_text(idp_metadata, "utf-8")
    return folder
