"""BC's message texts, verbatim (labels of the API pages and of the base application).

Clients and tests key on the exact wording, so the texts live in one place, apart from the rules
that raise them: each can be compared with BC's own label here, and a rule cannot drift from it.
"""

from __future__ import annotations

FILTERS_NOT_SPECIFIED = "You must specify a journal batch ID or a journal ID to get a journal line."
JOURNAL_ID_NAME_MISMATCH = "The Journal Id and Journal Display Name do not match."
CANNOT_EDIT_BATCH_NAME = "The Journal Batch Display Name cannot be changed."
CANNOT_EDIT_JOURNAL_ID = "The Journal Id cannot be changed."
CUSTOMER_VALUES_DONT_MATCH = "The customer values do not match to a specific Customer."
CUSTOMER_ID_NOT_FOUND = 'The "customerId" does not match to a Customer.'
APPLIES_TO_VALUES_DONT_MATCH = "The Applies To Invoice values do not match to the same Invoice."
APPLIES_TO_INVOICE_ID_NOT_FOUND = (
    'The "appliesToInvoiceId" should be the ID of an Open, Paid, Corrective, or Canceled Invoice.'
)
BALANCING_ACCOUNT_NOT_FOUND = 'The "balancingAccountNumber" does not match to a G/L Account.'
CUSTOMER_BLOCKED = "You cannot {action} this type of document when Customer {number} is blocked with type {blocked}"
NOTHING_TO_POST = "There is nothing to post."
LINE_SCHEDULED_FOR_POSTING = (
    "You cannot change or delete this journal line because it is scheduled for posting in the job queue."
)
LOCK_TIMEOUT = (
    "We can't save your changes right now, because a record in table '{table}' is being updated in a "
    "transaction done by another session. You will need to wait until the other transaction has completed, "
    "which may take a while. Please try again later."
)
DEADLOCK = "Your activity was deadlocked with another user modifying the {table} table. Start again."
AMOUNT_MUST_HAVE_VALUE = "Amount must have a value in {where}. It cannot be zero or empty."
BATCH_NOT_FOUND = "The General Journal Batch with ID {guid} cannot be found."
NO_CUST_LEDGER_ENTRY = "There is no Cust. Ledger Entry within the filter."
OUT_OF_BALANCE = (
    "Document No. {document} is out of balance by {balance}. "
    "Please check that Posting Date, Document Type, Document No. and Amount are correct for each line."
)
MANUAL_NOS = (
    "You may not enter numbers manually. If you want to enter numbers manually, "
    "please activate Manual Nos. in No. Series {series}."
)
DIFFERENT_CURRENCIES = "All entries in one application must be in the same currency."
MISSING_IF_MATCH = (
    "Could not validate the client concurrency token required by the service. "
    "Please provide a valid token in the client request."
)
ENTITY_CHANGED = "Another user has already changed the record."
SELL_TO_NOT_PROVIDED = 'A "customerNumber" or a "customerId" must be provided.'
SELL_TO_VALUES_DONT_MATCH = "The sell-to customer values do not match to a specific Customer."
BILL_TO_VALUES_DONT_MATCH = "The bill-to customer values do not match to a specific Customer."
SELL_TO_NOT_FOUND = "The sell-to customer cannot be found."
BILL_TO_NOT_FOUND = "The bill-to customer cannot be found."
CURRENCY_VALUES_DONT_MATCH = "The currency values do not match to a specific Currency."
CURRENCY_ID_NOT_FOUND = 'The "currencyId" does not match to a Currency.'
CURRENCY_CODE_NOT_FOUND = 'The "currencyCode" does not match to a Currency.'
DRAFT_INVOICE_ONLY = "The action can be applied to a draft invoice only."
NO_INVOICE_LINES = "Please add at least one line item to the invoice."
