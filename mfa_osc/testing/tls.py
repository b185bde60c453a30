#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""HTTPS for the throwaway Keystone, as many clouds put haproxy in front.

:func:`make_tls_files` makes a CA for the run and a server certificate it
signs (``cryptography``, which Keystone depends on); :class:`TLSProxy`
listens on 127.0.0.1 with that certificate and relays each connection,
byte for byte, to uWSGI's plain-HTTP port, so that Keystone behind it
sees plain HTTP.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import threading

from mfa_osc.testing.errors import KeystoneStartError

__all__ = ['TLSProxy', 'make_tls_files']


def make_tls_files(
    directory: str, host: str = '127.0.0.1'
) -> tuple[str, str, str]:
    """A new CA and a server certificate for ``host`` signed by it.

    Writes ``ca.pem``, ``server.pem`` and ``server-key.pem`` (0600) into
    ``directory``; returns their paths. Uses ``cryptography``, which
    Keystone depends on.
    """
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    start, end = (
        now - datetime.timedelta(hours=1),
        now + datetime.timedelta(days=2),
    )
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, 'mfa-osc test CA')]
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
            False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName('localhost')]
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
        )
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(x509.SubjectAlternativeName(names), False)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()
            ),
            False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    paths = tuple(
        os.path.join(directory, name)
        for name in ('ca.pem', 'server.pem', 'server-key.pem')
    )
    contents = (
        ca.public_bytes(pem),
        cert.public_bytes(pem),
        key.private_bytes(
            pem,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    for path, content in zip(paths, contents, strict=True):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'wb') as out:
            out.write(content)
    return paths[0], paths[1], paths[2]


class TLSProxy:
    """Terminates TLS on a listening socket and relays to a local port.

    Byte for byte, both ways, one thread pair per connection: Keystone
    behind it sees plain HTTP, as behind haproxy.
    """

    def __init__(self, sock: socket.socket, context: ssl.SSLContext) -> None:
        self._sock = sock
        #: The HTTPS port it listens on.
        self.port = int(sock.getsockname()[1])
        self._context = context
        self.upstream_port: int | None = None
        self._closed = threading.Event()
        self._thread = threading.Thread(
            target=self._accept, name='local-keystone-tls', daemon=True
        )
        self._thread.start()

    @classmethod
    def listen(cls, cert: str, key: str, port: int | None) -> TLSProxy:
        """A proxy serving ``cert`` on ``port`` of 127.0.0.1 (by default a
        free one); :attr:`upstream_port` is set once uWSGI has one."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert, key)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(('127.0.0.1', port or 0))
        except OSError as exc:
            sock.close()
            raise KeystoneStartError(
                f'port {port} is not free: {exc}'
            ) from None
        sock.listen(64)
        return cls(sock, context)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(
                target=self._serve, args=(client,), daemon=True
            ).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = None
        try:
            client.settimeout(30)
            tls = self._context.wrap_socket(client, server_side=True)
            tls.settimeout(None)
            if self.upstream_port is None:
                tls.close()
                return
            upstream = socket.create_connection(
                ('127.0.0.1', self.upstream_port), timeout=30
            )
            upstream.settimeout(None)
        except (OSError, ssl.SSLError):
            # NOTE: a client refusing the certificate ends here.
            with contextlib.suppress(OSError):
                client.close()
            return
        done = threading.Event()

        def pump(src: socket.socket, dst: socket.socket) -> None:
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                done.set()

        back = threading.Thread(target=pump, args=(upstream, tls), daemon=True)
        back.start()
        pump(tls, upstream)
        # NOTE: the client has sent all it will; let the answer finish.
        with contextlib.suppress(OSError):
            upstream.shutdown(socket.SHUT_WR)
        back.join(timeout=120)
        for sock in (tls, upstream):
            with contextlib.suppress(OSError):
                sock.close()

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._sock.close()
        self._thread.join(timeout=5)
