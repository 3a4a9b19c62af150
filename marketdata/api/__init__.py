"""Read-only REST API over the market data (pools, tokens, candles, trades, gaps)."""
