"""PKCS#8 encryption of private keys: PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC (RFC 8018).

tongsuopy's own "best available" encryption runs PBKDF2 only 2,048 times, far too cheap against
guessing a passphrase, so both SM2 and P-256 keys are encrypted here with a deliberate work factor.
OpenSSL (``openssl pkey -passin``), cryptography and tongsuopy all read the result.
"""

from __future__ import annotations

import os

from asn1crypto import keys as asn1_keys
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

PBKDF2_ITERATIONS = 600_000
"""OWASP's 2023 figure for PBKDF2-HMAC-SHA256; about a quarter of a second per key load here."""


def encrypt_pkcs8(private_key_info_der: bytes, passphrase: bytes, iterations: int = PBKDF2_ITERATIONS) -> bytes:
    """Wrap an unencrypted PKCS#8 ``PrivateKeyInfo`` DER into an ``EncryptedPrivateKeyInfo`` DER."""
    salt, iv = os.urandom(16), os.urandom(16)
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=iterations)
    key = kdf.derive(passphrase)
    padder = padding.PKCS7(128).padder()
    plain = padder.update(private_key_info_der) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    encrypted = encryptor.update(plain) + encryptor.finalize()
    info = asn1_keys.EncryptedPrivateKeyInfo(
        {
            "encryption_algorithm": {
                "algorithm": "pbes2",
                "parameters": {
                    "key_derivation_func": {
                        "algorithm": "pbkdf2",
                        "parameters": {
                            "salt": ("specified", salt),
                            "iteration_count": iterations,
                            "prf": {"algorithm": "sha256", "parameters": None},
                        },
                    },
                    "encryption_scheme": {"algorithm": "aes256_cbc", "parameters": iv},
                },
            },
            "encrypted_data": encrypted,
        }
    )
    return bytes(info.dump())
