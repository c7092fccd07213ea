"""HTML forms with WTForms: the inputs of field types, record and transition forms built once
per published version, and the forms of the sign-in and administration pages.

- `fieldtypes`: which WTForms field a field type gets (`portalis_form_fields`, or the type's
  own `form_field`); `builtin`: those of the built-in types; `inputs` and `controls`: the
  built-in WTForms fields and their HTML;
- `record`: the form classes of a version (`PortalForms`, kept on the `RuntimePortal`);
  `view`: a bound input as the field template draws it;
- `base`: what every form shares; `auth`, `account`: the forms of the auth and admin pages.

CSRF is not a form field here: Flask-WTF's `CSRFProtect` checks every state-changing request
before a view reads any form (`portalis.runtime.security`).
"""
