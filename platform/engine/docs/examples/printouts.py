"""Examples of documents generated from records: printouts rendered to PDF, and mails that
carry them."""

from __future__ import annotations

from typing import Final

from .example import Example

PRINTOUT: Final = Example(
    "The starter's ticket summary: an HTML template of the definition folder rendered to A4 "
    "PDF with the ticket's conversation. The template sees `record` (every field the reader "
    "may read, as text formatted in their language: `129,00 €`, `21.12.2026`, a choice's "
    "label, a referenced record's title; fields they may not read are absent), `lists` (here "
    "`lists.messages`, each row like `record`, with its own nested lists), `printout.label`, "
    "`portal.title`, `portal.logo`, `theme.primary_color`, `today`, `label(entity, field)` "
    "for a field's label and `t({en: …, de: …})` for the template's own words. The page "
    'offers "Download Ticket summary (PDF)" next to the record; the PDF is kept per record '
    "version and reader's language. Images and stylesheets the template links are files of "
    "the definition folder: nothing is fetched from the network.",
    """\
entities:
  ticket:
    printouts:
      summary:
        label: {en: Ticket summary, de: Ticket-Zusammenfassung}
        template: printouts/ticket.html
        filename: "ticket-{id}.pdf"
        paper: A4
        orientation: portrait
        when: "record['status'] != 'open'"       # offered once work started
        lists:
          messages: {entity: message, via: ticket, sort: created_at}
""",
)

STATEMENT: Final = Example(
    "A statement of account lists the account's open invoices, and under each the payments "
    "received on it (lists nest two levels deep). Only clerks print it.",
    """\
entities:
  invoice:
    title_field: number
    fields:
      number: {type: string, required: true}
      account: {type: ref, to: account, required: true}
      status: {type: choice, options: [issued, paid], default: issued}
      due: {type: date}
      total: {type: money}
    permissions:
      - {roles: [customer], actions: [read], scope: account}
      - {roles: [agent], actions: [read, create, update], scope: all}
  invoice_payment:
    fields:
      invoice: {type: ref, to: invoice, required: true}
      amount: {type: money, required: true}
    permissions:
      - {roles: [customer], actions: [read], scope: {parent: invoice}}
      - {roles: [agent], actions: [read, create], scope: all}
  account:
    printouts:
      statement:
        label: {en: Statement of account, de: Kontoauszug}
        template: printouts/ticket.html          # your own file, e.g. printouts/statement.html
        filename: "statement-{name}.pdf"
        roles: [agent]
        lists:
          invoices:
            entity: invoice
            via: account
            where: {status: issued}
            sort: due
            lists:
              payments: {entity: invoice_payment, via: invoice}
""",
)

ATTACH: Final = Example(
    "A notification attaches the record's printouts to its mail: each recipient gets the PDF "
    "in their language with only the fields they may read, made when the mail is sent.",
    """\
notifications:
  ticket_summary_mail:
    subject: {en: "Your ticket {{ record.subject }}", de: "Ihr Ticket {{ record.subject }}"}
    body: {en: "The summary is attached.", de: "Die Zusammenfassung liegt bei."}
    attach: [summary]
automations:
  mail_the_summary:
    entity: ticket
    on: transition:resolve
    actions:
      - notify: {template: ticket_summary_mail, to: [creator]}
""",
)

SECTIONS: Final = {"printout": (PRINTOUT, STATEMENT), "notification": (ATTACH,)}
