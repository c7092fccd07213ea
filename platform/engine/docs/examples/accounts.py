"""Examples of accounts: a hierarchy of accounts and grants over a holding's whole group, and
the roles an account's administrators may give to its users."""

from __future__ import annotations

from typing import Final

from .example import Example

ACCOUNT_TREE: Final = Example(
    "A holding above its subsidiaries: the account names its parent, and the holding's "
    "administrators read the contracts of every account below theirs (customers only their "
    "own account's). A parent that would close a cycle is refused on the `parent` field.",
    """\
entities:
  account:
    parent_field: parent                  # accounts form a tree (at most 8 levels deep)
    fields:
      parent: {type: ref, to: account}
  group_contract:
    title_field: title
    fields:
      title: {type: string, required: true}
      account: {type: ref, to: account, required: true}
    permissions:
      - {roles: [customer], actions: [read], scope: account}
      - {roles: [account_admin], actions: [read], scope: account_tree}   # the active account and below
""",
)

ROLE_ASSIGNS: Final = Example(
    "Account roles the customer's own administrators hand out: a purchasing lead changes the "
    "roles of their account's users on the account's user page (and invites people) with any "
    "role of `assigns:`, never a staff role. Holding a role with `assigns:` — or inheriting "
    "one — is what lets a user manage their account's users; the last such active user of an "
    "account cannot be demoted or disabled.",
    """\
roles:
  buyer: {label: {en: Buyer}, inherits: [customer]}
  purchasing_lead:
    label: {en: Purchasing lead}
    inherits: [buyer]
    assigns: [customer, buyer, purchasing_lead]   # within their own (active) account
""",
)

#: Examples by the `$defs` section they illustrate.
SECTIONS: Final[dict[str, tuple[Example, ...]]] = {
    "scope": (ACCOUNT_TREE,),
    "entity": (ACCOUNT_TREE,),
    "role": (ROLE_ASSIGNS,),
}
