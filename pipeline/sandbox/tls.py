"""TLS material for the sandbox: a private CA and a server certificate, made once and kept.

msal only accepts an ``https`` authority, so the sandbox must speak TLS for the token flow to be
exercised end to end. A throwaway CA (trustme) is enough: clients trust exactly that CA file and
nothing else changes. The files live in ``<state_dir>/tls`` so a restarted sandbox presents the
same CA and clients configured with ``ca.pem`` keep working. The CA's key is kept too, so a new
host name only needs a new leaf certificate, never a new CA.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import trustme
from cryptography import x509

if sys.platform != "win32":
    import fcntl

TLS_DIR = "tls"
CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
SERVER_CERT = "cert.pem"
SERVER_KEY = "key.pem"

# Names every sandbox certificate covers, whatever host it is bound to: clients reach a local
# sandbox through any of them.
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
# A leaf this close to its end is replaced rather than reused (trustme's default runs to 3000,
# so this only matters for certificates made by something else).
_RENEW_BEFORE = datetime.timedelta(days=30)


def ensure_certificates(state_dir: Path, host: str) -> tuple[Path, Path, Path]:
    """Return ``(ca_pem, cert_pem, key_pem)`` under ``state_dir/tls``, creating what is missing.

    The server certificate covers ``host`` plus localhost, 127.0.0.1 and ::1. Existing files are
    reused when the certificate still covers ``host`` and is not about to expire; otherwise a new
    leaf is issued from the stored CA (a new CA only when there is none). Creation is serialised
    with a file lock so two sandboxes starting on the same state directory agree on one CA.
    """
    tls_dir = Path(state_dir) / TLS_DIR
    tls_dir.mkdir(parents=True, exist_ok=True)
    ca_pem, ca_key = tls_dir / CA_CERT, tls_dir / CA_KEY
    cert_pem, key_pem = tls_dir / SERVER_CERT, tls_dir / SERVER_KEY
    names = _identities(host)
    with _locked(tls_dir / ".lock"):
        if all(p.is_file() for p in (ca_pem, cert_pem, key_pem)) and _leaf_is_usable(cert_pem, names):
            return ca_pem, cert_pem, key_pem
        if ca_pem.is_file() and ca_key.is_file():
            ca = trustme.CA.from_pem(ca_pem.read_bytes(), ca_key.read_bytes())
        else:
            ca = trustme.CA(organization_name="payimport sandbox")
            _write(ca_key, ca.private_key_pem.bytes(), private=True)
            _write(ca_pem, ca.cert_pem.bytes())
        leaf = ca.issue_cert(*names, organization_name="payimport sandbox")
        _write(key_pem, leaf.private_key_pem.bytes(), private=True)
        _write(cert_pem, b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    return ca_pem, cert_pem, key_pem


def _identities(host: str) -> list[str]:
    """The host (unbracketed) first, then the loopback names, without duplicates."""
    names = [host.strip("[]")] if host and host not in ("0.0.0.0", "::") else []
    return list(dict.fromkeys([*names, *_LOOPBACK_NAMES]))


def _leaf_is_usable(cert_pem: Path, names: list[str]) -> bool:
    """True when the stored leaf names every identity and does not expire soon."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.read_bytes())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    covered: set[str] = {n.lower() for n in san.get_values_for_type(x509.DNSName)}
    covered |= {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    for name in names:
        try:
            wanted = str(ipaddress.ip_address(name))
        except ValueError:
            wanted = name.lower()
        if wanted not in covered:
            return False
    remaining = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    return remaining > _RENEW_BEFORE


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write atomically (temp file + rename), so a reader never sees half a PEM file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        if private:
            os.chmod(tmp, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """An exclusive advisory lock (POSIX); on Windows, creation is simply not serialised."""
    if sys.platform == "win32":
        yield
        return
    with open(lock_path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
