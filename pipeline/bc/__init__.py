"""Business Central API client: target, tokens, exact JSON, verdicts, retries, ``$batch``.

Generic on purpose: nothing here knows about journals or payments (that is the poster's job).
"""

from pipeline.bc.auth import TokenProvider
from pipeline.bc.batch import MAX_BATCH_OPERATIONS, BatchOp, OpResult, build_batch_body, parse_batch_response
from pipeline.bc.classify import Verdict, classify, parse_retry_after
from pipeline.bc.client import BCClient, build_http_client, build_ssl_context
from pipeline.bc.jsonio import dumps, loads
from pipeline.bc.retry import Backoff, RetryPolicy
from pipeline.bc.target import BC_SCOPE, BCTarget, ClientCertificate, ClientSecret
from pipeline.config import Timeouts

__all__ = [
    "BC_SCOPE",
    "MAX_BATCH_OPERATIONS",
    "BCClient",
    "BCTarget",
    "Backoff",
    "BatchOp",
    "ClientCertificate",
    "ClientSecret",
    "OpResult",
    "RetryPolicy",
    "Timeouts",
    "TokenProvider",
    "Verdict",
    "build_batch_body",
    "build_http_client",
    "build_ssl_context",
    "classify",
    "dumps",
    "loads",
    "parse_batch_response",
    "parse_retry_after",
]
