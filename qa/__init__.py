"""qa: retrieval question answering over a folder of documents, with exact character citations."""

import os

# OpenMP threads (torch's, faiss's) otherwise spin for a while after each parallel region; on a
# small machine that steals the CPU the next step of the same request needs (the HTTP p95 fell
# from 95 to 25 ms here). Read when the OpenMP runtime loads, so it is set before torch or faiss
# is imported; an explicit setting in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
