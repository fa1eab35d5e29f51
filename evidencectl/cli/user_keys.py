"""Per-user signing keys of the evidence service: ``users add --key FILE`` and ``users key``.

A user's key lives in the data directory (``ctx.user_keys_dir``: ``service/keys/``, mode 0600) so that the
server needs no path outside it, under a file name made from a hash of the user's name (a name is Unicode
and the client's business; a file name must be neither). Deposits that user makes through the service are
signed with it; an encrypted key is opened with the passphrase in the environment variable that ``[service]
key_passphrase_env`` names, read by the server and never printed or logged.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:
    from ..context import Context


def passphrase_env(ctx: Context) -> str | None:
    """The name of the environment variable holding the user keys' passphrase (``[service]
    key_passphrase_env``), or None."""
    value = ctx.config.section("service").get("key_passphrase_env")
    if value is not None and not isinstance(value, str):
        raise UsageError("[service] key_passphrase_env must be the name of an environment variable")
    return value


def _stem(name: str) -> str:
    return "user-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]


def _private(path: Path) -> None:
    os.chmod(path, 0o600)


def _trust(ctx: Context, cert: Path) -> None:
    # The administrator who installs or makes a user's key vouches for it on this installation, as
    # `keys generate` does for one's own key: the service's own verifications and certificates then show
    # the signature PASSED. Anyone else still trusts the key or its CA themselves.
    from ..crypto.trust import TrustStore

    TrustStore.load(ctx).add_file(cert, "signer", operator="own")


def install_key(ctx: Context, name: str, source: Path) -> str:
    """Copy key file ``source`` (and the ``<stem>.cert.pem`` beside it, if any) into the data directory for
    user ``name``; returns its path relative to the data directory. The key is opened once here, so that a wrong
    file or passphrase is said now rather than at the user's first deposit."""
    from ..crypto.depositor import load_signing_chain

    env = passphrase_env(ctx)
    load_signing_chain(ctx, source, env, None)  # raises KeyFileError with one line
    folder = ctx.user_keys_dir
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_path = folder / f"{_stem(name)}.key.pem"
    shutil.copyfile(source, key_path)
    _private(key_path)
    stem = source.name.removesuffix(".pem").removesuffix(".key")
    cert = source.with_name(f"{stem}.cert.pem")
    target_cert = folder / f"{_stem(name)}.cert.pem"
    if cert.is_file():
        shutil.copyfile(cert, target_cert)
        _trust(ctx, target_cert)
    else:
        target_cert.unlink(missing_ok=True)  # an older key's certificate must not go with this key
    return key_path.relative_to(ctx.base).as_posix()


def generate_key(ctx: Context, name: str, *, unencrypted: bool) -> str:
    """Make a new SM2 key with a self-signed certificate (CN = the user's name) for user ``name``; returns
    its path relative to the data directory. Encrypted with the passphrase of ``[service] key_passphrase_env``."""
    from ..crypto.keystore import create_depositor_key

    passphrase = None
    if not unencrypted:
        env = passphrase_env(ctx)
        if not env or not os.environ.get(env):
            raise UsageError(
                'set [service] key_passphrase_env = "NAME" in config.toml and the passphrase in $NAME '
                "(or give --unencrypted)"
            )
        passphrase = os.environ[env].encode("utf-8")
    folder = ctx.user_keys_dir
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_path = folder / f"{_stem(name)}.key.pem"
    for old in (key_path, folder / f"{_stem(name)}.pub.pem", folder / f"{_stem(name)}.cert.pem"):
        old.unlink(missing_ok=True)  # a new key replaces the user's old one
    cn = name if len(name) <= 64 and all(c.isalnum() or c in "._-" for c in name) else _stem(name)
    key = create_depositor_key(ctx, cn, "sm2", passphrase, out=key_path)
    _private(key.key_path)
    _trust(ctx, folder / f"{_stem(name)}.cert.pem")
    return key.key_path.relative_to(ctx.base).as_posix()
