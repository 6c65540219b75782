"""qa: retrieval question answering over a folder of documents, with exact character citations."""

__version__ = "0.1.0"
