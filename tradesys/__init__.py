"""tradesys — an electronic tendering trading system (电子招标投标交易平台)."""

__version__ = "0.1.0"
