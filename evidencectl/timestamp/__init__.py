"""RFC 3161 time-stamping: tokens (parse, verify), the embedded TSA, an HTTP client and server."""
