"""The supervision channel (行政监督通道), a separate application that reads the trading data
and writes none of it (issue 15; DESIGN.md §3). Built so far: the read-only access."""
