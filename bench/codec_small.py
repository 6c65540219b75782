"""Token codecs on a small corpus (a question set's development questions): how many answers and
top passages change against float16, and the error of the late-interaction scores, for residual
codecs learnt on the corpus itself (2 bits with the default and with 4x the centroids, 4 bits)
and, with a second index given, for the codec that index's largest segment learnt (what a merge
into a large segment would encode the corpus with).

usage: codec_small.py DOCUMENT QUESTIONS [OTHER_INDEX]   (DOCUMENT under corpus/; QUESTIONS jsonl)
"""

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, ".")
from qa.core.config import Settings
from qa.encoders.sbert import SentenceTransformerEncoder
from qa.index import codec as C
from qa.index.build import build_index
from qa.index.generations import load_generation
from qa.index.merge import rewrite
from qa.search.searcher import RERANK
from qa.search.shards import Partition
from qa.service.engine import open_searcher


class ResidualN(C.ResidualCodec):
    """residual with `bits` bits a dimension (2^bits buckets at the residuals' quantiles)."""

    def __init__(self, centroids, cutoffs, weights, bits=2):
        super().__init__(centroids, cutoffs, weights)
        self.bits = bits
        self.name = f"residual{bits}x"

    @classmethod
    def trainn(cls, vectors, bits, centroids_cap, seed=0):
        rng = np.random.default_rng(seed)
        sample = C._normalised(vectors[rng.permutation(len(vectors))[: C.TRAINING_SAMPLE]])
        count = min(
            centroids_cap,
            2 ** int(np.log2(max(4 * np.sqrt(len(vectors)), 1)))
            * (centroids_cap // 1024 if centroids_cap > 1024 else 1),
            len(sample),
        )
        cent = sample[rng.choice(len(sample), count, replace=False)]
        for _ in range(C.KMEANS_ROUNDS):
            nearest = C._nearest(sample, cent)
            order = np.argsort(nearest, kind="stable")
            groups, starts = np.unique(nearest[order], return_index=True)
            cent[groups] = C._normalised(np.add.reduceat(sample[order], starts, axis=0))
        res = (sample - cent[C._nearest(sample, cent)]).ravel()
        n = 2**bits
        cut = np.quantile(res, [i / n for i in range(1, n)])
        b = np.digitize(res, cut)
        w = np.array([res[b == i].mean() if (b == i).any() else 0.0 for i in range(n)])
        return cls(cent, cut, w, bits), count

    def width(self, d):
        return 2 + d * self.bits // 8

    def encode(self, v):
        v = np.asarray(v, np.float32).reshape(-1, self.centroids.shape[1])
        near = np.argmax(v @ self.centroids.T, axis=1).astype("<u2")
        codes = np.digitize(v - self.centroids[near], self.cutoffs).astype(np.uint8)
        per = 8 // self.bits
        packed = np.zeros((len(v), v.shape[1] // per), np.uint8)
        for j in range(per):
            packed |= codes[:, j::per] << (self.bits * (per - 1 - j))
        return np.concatenate([near.view(np.uint8).reshape(-1, 2), packed], axis=1)

    def decode(self, s):
        s = np.asarray(s, np.uint8).reshape(-1, self.width(self.centroids.shape[1]))
        near = np.ascontiguousarray(s[:, :2]).view("<u2").ravel()
        packed = s[:, 2:]
        per = 8 // self.bits
        mask = 2**self.bits - 1
        codes = np.empty((len(s), packed.shape[1] * per), np.uint8)
        for j in range(per):
            codes[:, j::per] = (packed >> (self.bits * (per - 1 - j))) & mask
        return C._normalised(self.centroids[near] + self.weights[codes])


work = Path(tempfile.mkdtemp(prefix="codec-small-"))
(work / "corpus").mkdir()
shutil.copy("corpus/" + sys.argv[1], work / "corpus")
settings = Settings(corpus_dir=work / "corpus", index_dir=work / "f16", token_codec="float16").resolved()
enc = SentenceTransformerEncoder()
build_index(settings, enc)
base = load_generation(settings.index_dir)
sample = np.concatenate([s.tokens.decoded(r) for s in base.segments for r in range(s.size)])
qs = [json.loads(line)["question"] for line in Path(sys.argv[2]).read_text().splitlines() if line.strip()]
s0 = open_searcher(base, enc)
ref = []
for q in qs:
    r = s0.search(q, 5)
    ref.append(((r.answer.text if r.answer else None), r.hits[0].citation.start if r.hits else None))
print(f"passages {base.live_passages}, word pieces {len(sample)}, questions {len(qs)}", flush=True)
variants = [(f"{bits} bits, learnt here", bits, cap) for bits, cap in [(2, 1024), (2, 4096), (4, 1024)]]
if len(sys.argv) > 3:
    import glob

    big = max(glob.glob(f"{sys.argv[3]}/segments/seg-*"), key=lambda f: Path(f, "tokens.bin").stat().st_size)
    variants.append(("2 bits, learnt on the other index", 0, 0))
for label, bits, cap in variants:
    if bits:
        codec, count = ResidualN.trainn(sample, bits, cap)
    else:
        learnt = C.ResidualCodec.load(Path(big), 384)
        codec, count = ResidualN(learnt.centroids, learnt.cutoffs, learnt.weights, 2), len(learnt.centroids)
    out = work / f"r{len(list(work.iterdir()))}"
    shutil.copytree(settings.index_dir, out)
    rewrite(out, Settings(index_dir=out).resolved(), codec)
    # loading needs the codec: patch load_codec for this name
    orig = C.load_codec
    import qa.index.segments as S

    def chosen(name: str, folder: Path, d: int, codec: ResidualN = codec, orig: Any = orig) -> Any:
        return codec if name == codec.name else orig(name, folder, d)

    S.load_codec = chosen
    g = load_generation(out)
    s1 = open_searcher(g, enc)
    changed = top_changed = 0
    errs = []
    keys = {(p.doc_id, p.start): row for row, p in enumerate(g.passages)}
    for q, (a, t) in zip(qs, ref, strict=True):
        r = s1.search(q, 5)
        changed += (r.answer.text if r.answer else None) != a
        top_changed += (r.hits[0].citation.start if r.hits else None) != t
        query = s0.embed(q)
        head = [row for row, _ in s0.rank(query, RERANK, "hybrid")]
        theirs = [keys[(base.passages[x].doc_id, base.passages[x].start)] for x in head]
        ex = dict(Partition.whole(base).late(query.tokens, head))
        co = dict(Partition.whole(g).late(query.tokens, theirs))
        errs += [abs(ex[x] - co[y]) for x, y in zip(head, theirs, strict=True)]
    per_piece = codec.width(384)
    print(
        f"residual, {label}, {count} centroids: {per_piece} B/word piece; answers changed "
        f"{changed}/{len(qs)}, top passage changed {top_changed}; late score error mean "
        f"{np.mean(errs):.4f} p99 {np.quantile(errs, 0.99):.4f} max {np.max(errs):.4f}",
        flush=True,
    )
    S.load_codec = orig
shutil.rmtree(work)
