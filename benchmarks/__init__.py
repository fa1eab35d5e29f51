"""Benchmarks of evidencectl against standard tools (openssl dgst -sm3, sha256sum), run as real processes."""
