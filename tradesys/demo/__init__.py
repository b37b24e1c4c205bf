"""``tradesys demo``: a whole procurement driven through the public HTTP API."""
