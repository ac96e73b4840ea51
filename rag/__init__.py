"""paper-rag: question answering over scientific paper records, with verified citations."""

__version__ = "0.1.0"
