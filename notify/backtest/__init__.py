"""``oasis backtest``: replay a simulated world through detect and ETA, score against truth."""
