"""Keys, SM2/ECDSA signatures, X.509 certificates and the trust store.

The modules are imported one by one where they are used (:mod:`.keys`, :mod:`.x509`, :mod:`.trust`, …):
this package imports nothing itself, so that the public face's ``TrustStore`` (:mod:`.trust`) does not load
``cryptography`` and ``asn1crypto`` into every command (``evidencectl --help`` among them).
"""
