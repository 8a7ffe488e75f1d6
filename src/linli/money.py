"""Money is integer fen everywhere; this is the one place that writes it as yuan for people to read."""

from __future__ import annotations


def yuan(fen: int) -> str:
    """Fen as yuan with two decimals, exactly (no floats): -1234 → "-12.34"."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"
