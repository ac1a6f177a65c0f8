"""Serving credentials for the loopback API server: a private CA, a server certificate, a bearer
token, and the kubeconfig that ties them together for kubectl, helm and client libraries.

Generated once per data directory and reused across restarts, so a kubeconfig handed out earlier
keeps working after ``kubedra down`` / ``kubedra up``.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CLUSTER_NAME = "kubedra"
USER_NAME = "kubedra-admin"
_VALIDITY = datetime.timedelta(days=3650)


@dataclass(frozen=True)
class Credentials:
    ca_file: Path
    cert_file: Path
    key_file: Path
    token: str


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def ensure_credentials(pki_dir: Path) -> Credentials:
    """Create (or reuse) ``ca.crt``, ``server.crt``/``server.key`` and ``token`` in ``pki_dir``."""
    pki_dir.mkdir(parents=True, exist_ok=True)
    creds = Credentials(pki_dir / "ca.crt", pki_dir / "server.crt", pki_dir / "server.key", "")
    token_file = pki_dir / "token"
    if all(p.exists() for p in (creds.ca_file, creds.cert_file, creds.key_file, token_file)):
        return Credentials(creds.ca_file, creds.cert_file, creds.key_file, token_file.read_text().strip())

    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubedra-ca")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name).public_key(server_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + _VALIDITY)
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.DNSName("kubernetes"), x509.DNSName("kubernetes.default"),
            x509.DNSName("kubernetes.default.svc"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.IPAddress(ipaddress.ip_address("::1")),
        ]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(creds.key_file, _pem_key(server_key))
    _write_private(pki_dir / "ca.key", _pem_key(ca_key))
    _write_private(creds.cert_file, server_cert.public_bytes(serialization.Encoding.PEM))
    _write_private(creds.ca_file, ca_cert.public_bytes(serialization.Encoding.PEM))
    token = secrets.token_urlsafe(32)
    _write_private(token_file, token.encode())
    return Credentials(creds.ca_file, creds.cert_file, creds.key_file, token)


def kubeconfig(server_url: str, creds: Credentials, *, namespace: str = "default") -> dict[str, object]:
    """A kubeconfig with the CA embedded inline (the file is self-contained and can be copied)."""
    import base64

    ca_data = base64.b64encode(creds.ca_file.read_bytes()).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CLUSTER_NAME, "cluster": {"server": server_url, "certificate-authority-data": ca_data}}],
        "users": [{"name": USER_NAME, "user": {"token": creds.token}}],
        "contexts": [{"name": CLUSTER_NAME,
                      "context": {"cluster": CLUSTER_NAME, "user": USER_NAME, "namespace": namespace}}],
        "current-context": CLUSTER_NAME,
        "preferences": {},
    }


def write_kubeconfig(path: Path, server_url: str, creds: Credentials) -> Path:
    _write_private(path, yaml.safe_dump(kubeconfig(server_url, creds), sort_keys=False).encode())
    return path
