"""The version of evidencectl (its own module: everything below the public face may import it)."""

__version__ = "0.1.0"
