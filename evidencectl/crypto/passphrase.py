"""Where a key passphrase comes from: an environment variable, a file, or an interactive prompt.

Never from a command-line argument, which other users can read in the process list.
"""

from __future__ import annotations

import getpass
import os
import re
from pathlib import Path

from ..errors import BadInputError, UsageError
from ..i18n import _

MIN_LENGTH = 8
"""Fewest characters a new key's passphrase may have (an existing key opens with whatever it was given)."""

_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")  # \Z: "$" would pass a final newline


def check_new_passphrase(passphrase: bytes) -> None:
    """Refuse a passphrase for a new key shorter than :data:`MIN_LENGTH` characters (UsageError, exit 2).

    Short passphrases fall to a guess in seconds against the key file's PBKDF2; eight characters is the
    floor NIST SP 800-63B sets for memorised secrets chosen by a user."""
    try:
        length = len(passphrase.decode("utf-8"))
    except UnicodeDecodeError:
        length = len(passphrase)
    if length < MIN_LENGTH:
        raise UsageError(
            _("a key passphrase needs at least {MIN_LENGTH} characters; the one given has {length}").format(
                MIN_LENGTH=MIN_LENGTH, length=length
            )
        )


def read_passphrase(env: str | None, file: Path | None, prompt: bool, *, confirm: bool = False) -> bytes | None:
    """The passphrase from the variable named ``env``, the first line of ``file``, or a getpass prompt.

    Returns None when no source is given and ``prompt`` is false. ``confirm`` asks twice at a prompt
    (for a new key). Raises :class:`UsageError` when both ``env`` and ``file`` are given, and
    :class:`BadInputError` when the named source is missing or empty.
    """
    if env and file:
        raise UsageError(_("give the passphrase through an environment variable or a file, not both"))
    if env:
        if not _VARIABLE.match(env):
            # Most likely the passphrase itself, typed where its variable's name belongs: never echo it.
            raise UsageError(
                _(
                    "--passphrase-env takes the NAME of an environment variable (letters, digits and '_', not "
                    "starting with a digit); what was given is not a valid variable name, and is not shown"
                )
            )
        value = os.environ.get(env)
        if not value:
            raise BadInputError(_("environment variable {env} is not set or empty").format(env=env))
        return value.encode("utf-8")
    if file is not None:
        try:
            text = Path(file).read_bytes()
        except OSError as exc:
            raise BadInputError(
                _("cannot read passphrase file: {value}").format(value=exc.strerror or exc), path=file
            ) from exc
        # Only the first line counts, so a trailing newline from an editor or `echo` does not.
        first = text.splitlines()[0] if text.strip() else b""
        if not first:
            raise BadInputError(_("passphrase file is empty"), path=file)
        return first
    if not prompt:
        return None
    value = getpass.getpass("Key passphrase: ")
    if confirm and getpass.getpass("Repeat passphrase: ") != value:
        raise UsageError(_("the two passphrases differ"))
    if not value:
        raise UsageError(_("an empty passphrase is not allowed"))
    return value.encode("utf-8")
