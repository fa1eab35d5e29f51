"""evidencectl: judicial e-evidence depositing (司法存证) with SM3/SHA-256, RFC 3161 and ledger anchors."""

__version__ = "0.1.0"
