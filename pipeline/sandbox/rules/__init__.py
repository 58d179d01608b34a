"""Business Central's rules for the entities a payment import touches, over a ``Store``.

Each operation (the names in ``__all__``) is one API operation; the HTTP layer maps URLs to them
and turns the returned dicts into OData bodies. They return entities in BC's v2.0 JSON shape (property names
and order as on the API pages, ``"@odata.etag"`` first), amounts as ``Decimal`` in BC's minimal
form (``1190``, ``84.99``), dates ``YYYY-MM-DD`` (a blank date is BC's ``0001-01-01``), GUIDs
lower-case, blank enums ``_x0020_``. Errors are raised as ``SandboxApiError``; ``status`` is the HTTP
status to answer with.

Where the research notes (``bc-api.md`` section 6) leave a question open, the sandbox decides:

- Duplicate primary key (a ``lineNumber`` in use, a journal ``code`` in use, a rename onto an
  existing key): 400 ``Internal_EntityWithSameKeyExists``, "The record in table <Table> already
  exists. Identification fields and values: <Field>='<value>',...", BC's runtime text.
- Stale ``If-Match``: 409 ``Request_EntityChanged`` "Another user has already changed the
  record." A missing or unreadable one: 400 ``BadRequest_InvalidToken``.
- An unknown key in the URL (company, customer, invoice, journal, payment): 404
  ``BadRequest_NotFound`` "The <Table caption> does not exist." The company may also be named
  by its name (``?company=CRONUS sandbox``), as BC's OData endpoints accept.
- A journal id in a *body* that matches no batch: 400 ``Internal_RecordNotFound``
  (the page's ``GetBySystemId`` fails inside AL, it is not a missing URL resource).
- ``journals({id})/Microsoft.NAV.post`` with an unknown id: 404 ``BadRequest_NotFound`` with the
  page's own text "The General Journal Batch with ID {<GUID>} cannot be found." (AL formats a
  GUID upper-case in braces).
- "There is no Cust. Ledger Entry within the filter.": 400 ``Internal_DataNotFoundFilter``.
- Unknown body property: 400 ``BadRequest`` "The property 'contactId' does not exist on type
  'Microsoft.NAV.customerPayment'." (the OData reader's text); a value of the wrong JSON type:
  400 ``BadRequest`` "Cannot convert the literal '<v>' to the expected type 'Edm.<T>'.".
  Instance annotations (``@odata.etag``, ``amount@odata.type``) are ignored.
- Read-only property in a body: 400 ``BadRequest_InvalidOperation`` "Control '<name>' is
  read-only." (with the period BC's message carries).
- Field order: body properties are validated in *page* order (the order of the layout), not
  JSON order, so ``customerId`` runs before ``customerNumber`` and ``appliesToInvoiceId`` before
  ``appliesToInvoiceNumber``; unknown properties and type errors are found first, while the body
  is read, in JSON order.
- TestField/FieldError failures at posting: 400 ``Application_FieldValidationException`` with
  BC's text, e.g. "Document No. must have a value in Gen. Journal Line: Journal Template
  Name=CASHRCPT, Journal Batch Name=PAY1, Line No.=10000. It cannot be zero or empty."
- ``amount`` is stored exactly as sent (never negated) but rounded to the currency's precision
  (0.01) half away from zero, as ``Validate(Amount)`` does.
- The "copy-from line" of the insert algorithm is the last line of the *whole* batch (the page
  clears its filters before it runs ``InitializeLine``), so lines of other types count.
- Posting is all or nothing; a zero-amount line with an account fails the whole post
  (``CheckZeroAmount``); posting dates must lie within General Ledger Setup's allowed range;
  "Code Mandatory" / "Same Code" / "No Code" default dimensions of the customer and the
  balancing account are checked; the customer-payments template forces document balance.
  Posting creates G/L entries (balancing account, then the receivables account of the
  customer's posting group) next to the customer ledger entries, in the same transaction, then
  deletes every line and, in a batch without No. Series, leaves the hidden empty line 10000.
  With "Post with Job Queue" the post action only schedules the posting (``run_job_queue``).
- An unknown ``customerNumber`` fails the field's table relation: 400
  ``Internal_InvalidTableRelation``. ``postingDate`` 0001-01-01 is ignored on insert and refused
  on PATCH. ``generalLedgerSetup``, ``currencies``, ``defaultDimensions`` (top level),
  ``customers({id})/defaultDimensions`` and ``customerPayments({id})/dimensionSetLines`` are
  readable (``setup``); a G/L account's default dimensions are checked at posting but, as in
  API v2.0, not readable.
- ``generalLedgerEntries`` is read-only (page 30018 allows no insert, modify or delete): POST,
  PATCH and DELETE answer 405 ``BadRequest_MethodNotAllowed``, as the sandbox's other read-only
  sets do (BC's exact text for this is not confirmed). There is no ``customerLedgerEntries``
  set: API v2.0 has no such page.
- ``customerFinancialDetails`` is a single entity (the page part has Multiplicity ZeroOrOne).
- Draft invoices created here accept only the properties listed in ``invoices._INVOICE_PROPS`` as
  writable; other known properties (``discountAmount``...) are refused as read-only.

The package, one module per part of BC (each says what it owns):

- ``texts`` BC's message texts; ``conversions`` value forms and row reads; ``etags`` ETags and
  ``If-Match``; ``bodies`` request-body reading and write errors (the shared base);
- ``companies``, ``customers``, ``accounts``, ``ledger``, ``invoices``: companies, customers and
  their ledger, G/L accounts, G/L entries (``generalLedgerEntries``, read-only), sales invoices;
- ``setup`` General Ledger Setup, currencies and dimensions;
- ``batches`` journal look-ups, ``journals`` the journal entity set, ``payments`` the payment
  lines, ``posting`` the post action and the job queue.

The imports run one way: base, companies, customers and accounts, ledger, invoices, setup, batches,
payments, journals, posting; each module imports only from the ones before it. This ``__init__`` names the
API operations (plus ``check_if_match``) in one place for the callers that drive BC's rules
directly rather than over HTTP: the tests and the run/watch fixtures. Modules of the sandbox
import what they need from the owning module.
"""

from __future__ import annotations

from pipeline.sandbox.rules.accounts import company_information, list_accounts
from pipeline.sandbox.rules.companies import get_company, list_companies
from pipeline.sandbox.rules.customers import (
    customer_financial_details,
    customer_ledger_entries,
    get_customer,
    list_customers,
)
from pipeline.sandbox.rules.etags import check_if_match
from pipeline.sandbox.rules.invoices import (
    create_sales_invoice,
    get_sales_invoice,
    list_sales_invoice_lines,
    list_sales_invoices,
    post_sales_invoice,
)
from pipeline.sandbox.rules.journals import create_journal, delete_journal, get_journal, list_journals, patch_journal
from pipeline.sandbox.rules.ledger import get_gl_entry, list_gl_entries
from pipeline.sandbox.rules.payments import (
    create_payment,
    delete_payment,
    get_payment,
    list_payment_dimensions,
    list_payments,
    list_payments_top_level,
    patch_payment,
)
from pipeline.sandbox.rules.posting import post_journal, run_job_queue
from pipeline.sandbox.rules.setup import (
    list_all_default_dimensions,
    list_currencies,
    list_default_dimensions,
    list_exchange_rates,
    list_gl_setup,
    set_gl_setup,
)

__all__ = [
    "check_if_match",
    "company_information",
    "create_journal",
    "create_payment",
    "create_sales_invoice",
    "customer_financial_details",
    "customer_ledger_entries",
    "delete_journal",
    "delete_payment",
    "get_company",
    "get_customer",
    "get_gl_entry",
    "get_journal",
    "get_payment",
    "get_sales_invoice",
    "list_accounts",
    "list_all_default_dimensions",
    "list_companies",
    "list_currencies",
    "list_customers",
    "list_default_dimensions",
    "list_exchange_rates",
    "list_gl_entries",
    "list_gl_setup",
    "list_journals",
    "list_payment_dimensions",
    "list_payments",
    "list_payments_top_level",
    "list_sales_invoice_lines",
    "list_sales_invoices",
    "patch_journal",
    "patch_payment",
    "post_journal",
    "post_sales_invoice",
    "run_job_queue",
    "set_gl_setup",
]
