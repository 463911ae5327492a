"""Published grokking claims, one module per paper, one test per claim (see ../shared/CLAIMS.md)."""
