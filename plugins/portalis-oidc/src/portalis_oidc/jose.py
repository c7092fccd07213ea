"""The authlib JOSE and OAuth helpers this plugin uses, imported once without the warning.

`authlib.jose` announces its move to `joserfc` with an `AuthlibDeprecationWarning` (it stays
until authlib 2.0). `authlib.deprecate` installs an "always" filter for that warning when it
is imported, so the warning is silenced here, after that import, for this import only.
"""

from __future__ import annotations

import warnings

import authlib.deprecate

with warnings.catch_warnings():
    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.common.security import generate_token
    from authlib.jose import JsonWebKey, JsonWebToken, KeySet
    from authlib.jose.errors import JoseError
    from authlib.oauth2.rfc7636 import create_s256_code_challenge
    from authlib.oidc.core import CodeIDToken
    from joserfc.errors import JoseError as RfcJoseError

#: What verification raises: authlib 1.x validates OIDC claims with joserfc (a dependency
#: of authlib 1.9), so both libraries' errors mean "the token is not acceptable".
JOSE_ERRORS: tuple[type[Exception], ...] = (JoseError, RfcJoseError)

__all__ = [
    "JOSE_ERRORS",
    "CodeIDToken",
    "JoseError",
    "JsonWebKey",
    "JsonWebToken",
    "KeySet",
    "create_s256_code_challenge",
    "generate_token",
]
