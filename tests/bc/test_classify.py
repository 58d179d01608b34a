"""classify(): one verdict for responses, $batch sub-responses and transport errors."""

from __future__ import annotations

import ssl

import httpx
import pytest

from pipeline.bc.classify import Verdict, classify, is_certificate_error, parse_retry_after

BC_BODY = {"error": {"code": "Application_DialogException", "message": "The customer does not exist."}}


@pytest.mark.parametrize("status", [200, 201, 204])
def test_2xx_is_success(status: int) -> None:
    assert classify(status, {}, None) == Verdict("success", status, None, None, None, True)


@pytest.mark.parametrize(
    ("status", "maybe_executed"),
    [(429, False), (503, False), (502, True), (504, True), (408, True)],
)
def test_transient_statuses_and_whether_bc_may_have_run_them(status: int, maybe_executed: bool) -> None:
    verdict = classify(status, {}, None)
    assert verdict.kind == "transient"
    assert verdict.maybe_executed is maybe_executed


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_are_auth(status: int) -> None:
    body = {"error": {"code": "Authentication_InvalidCredentials", "message": "rejected"}}
    verdict = classify(status, {}, body)
    assert (verdict.kind, verdict.code, verdict.maybe_executed) == ("auth", "Authentication_InvalidCredentials", False)


@pytest.mark.parametrize("status", [400, 404, 405, 409, 413, 501])
def test_other_errors_are_permanent_with_bcs_code_and_message(status: int) -> None:
    verdict = classify(status, {}, BC_BODY)
    assert verdict == Verdict(
        "permanent", status, "Application_DialogException", "The customer does not exist.", None, False
    )


@pytest.mark.parametrize("status", [500, 505, 520])
def test_server_errors_may_have_executed(status: int) -> None:
    """A 500 (Internal_ServerError) can come after BC committed: it must be settled by reading
    back, never treated as a refusal that a later run could send again."""
    verdict = classify(status, {}, {"error": {"code": "Internal_ServerError", "message": "boom"}})
    assert (verdict.kind, verdict.maybe_executed, verdict.code) == ("transient", True, "Internal_ServerError")


def test_non_json_error_body_becomes_a_short_message() -> None:
    verdict = classify(502, {}, "<html>\n  <body>Bad   gateway</body></html>" + "x" * 2000)
    assert verdict.code is None
    assert verdict.message is not None
    assert verdict.message.startswith("<html> <body>Bad gateway</body></html>")
    assert len(verdict.message) == 500


def test_retry_after_seconds_is_read_case_insensitively() -> None:
    # $batch sub-responses carry a plain dict, not httpx's case-insensitive headers
    assert classify(429, {"retry-after": "7"}, None).retry_after_s == 7.0
    assert classify(503, httpx.Headers({"Retry-After": "2"}), None).retry_after_s == 2.0
    assert classify(429, {}, None).retry_after_s is None


def test_retry_after_http_date() -> None:
    now = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:50 GMT", now=now) == 30.0
    assert parse_retry_after("Tue, 14 Nov 2023 22:00:00 GMT", now=now) == 0.0  # in the past: no wait
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:50 -0000", now=now) == 30.0


@pytest.mark.parametrize("value", [None, "", "soon", "nan"])
def test_unreadable_retry_after_is_none(value: str | None) -> None:
    assert parse_retry_after(value) is None


def test_negative_retry_after_is_zero() -> None:
    assert parse_retry_after("-5") == 0.0


def _request() -> httpx.Request:
    return httpx.Request("POST", "https://bc.test/x")


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectTimeout("connect timed out"),
        httpx.ConnectError("connection refused"),
        httpx.PoolTimeout("no connection free"),
    ],
)
def test_errors_before_sending_are_transient_and_not_executed(error: Exception) -> None:
    verdict = classify(None, {}, None, error)
    assert (verdict.kind, verdict.status, verdict.maybe_executed) == ("transient", None, False)
    assert verdict.code == type(error).__name__


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadTimeout("read timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset"),
        httpx.WriteTimeout("write timed out"),
        RuntimeError("something unexpected"),
    ],
)
def test_errors_after_sending_may_have_been_executed(error: Exception) -> None:
    verdict = classify(None, {}, None, error)
    assert (verdict.kind, verdict.maybe_executed) == ("transient", True)


def test_untrusted_certificate_is_permanent() -> None:
    error = httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]")
    error.__cause__ = ssl.SSLCertVerificationError("certificate verify failed: unable to get local issuer")
    assert is_certificate_error(error)
    verdict = classify(None, {}, None, error)
    assert (verdict.kind, verdict.maybe_executed) == ("permanent", False)


def test_local_mistakes_are_permanent() -> None:
    verdict = classify(None, {}, None, httpx.UnsupportedProtocol("Request URL has an unsupported protocol 'ftp://'."))
    assert (verdict.kind, verdict.maybe_executed) == ("permanent", False)


LOCK_TIMEOUT_TEXT = (
    "We can't save your changes right now, because a record in table 'Gen. Journal Line' is being updated in a "
    "transaction done by another session. You will need to wait until the other transaction has completed, which "
    "may take a while. Please try again later.  CorrelationId:  0."
)
DEADLOCK_TEXT = "Your activity was deadlocked with another user modifying the Gen. Journal Line table. Start again."


@pytest.mark.parametrize("status", [400, 409, 423, 500])
@pytest.mark.parametrize("text", [LOCK_TIMEOUT_TEXT, DEADLOCK_TEXT])
def test_lock_timeouts_and_deadlocks_are_transient_and_settled_whatever_their_status(status: int, text: str) -> None:
    """BC documents neither status nor code of a lost lock: its text decides. It is worth trying
    again, and (as after a timeout) the write is settled by reading back before it is sent again."""
    verdict = classify(status, {}, {"error": {"code": "Request_EntityChanged", "message": text}})
    assert (verdict.kind, verdict.maybe_executed, verdict.status) == ("transient", True, status)


def test_an_etag_conflict_is_still_permanent() -> None:
    body = {"error": {"code": "Request_EntityChanged", "message": "Another user has already changed the record."}}
    assert classify(409, {}, body).kind == "permanent"
