# One entry point. Every target installs what is missing first, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SCIFACT ?= ../shared/data/scifact
SQUAD   ?= ../shared/data/squad2/train-first10.json
WIKIQA  ?= ../shared/data/wikiqa/test.jsonl
CHROMIUM := /usr/bin/chromium
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install serve index test train eval eval-scifact bench soak lint clean

install: $(STAMP)

# torch==2.13.0 first: pip takes the CPU wheel kept on these machines, and the package's own
# torch requirement is then already met (any other torch pulls several GB of CUDA packages).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,ray,onnx]'
	@# the model's ONNX export (QA_BACKEND=auto runs it), made now into the venv so that the first
	@# `make serve` starts at full speed; without it the first model load exports it (~4 s)
	$(BIN)/python -c "from qa.encoders.sbert import SentenceTransformerEncoder as E; E(backend='onnx')" \
		|| echo "the ONNX export failed; the model will run on torch (QA_BACKEND=auto says why)" >&2
	touch $@

serve: $(STAMP)
	$(BIN)/qa index --if-needed
	exec $(BIN)/qa serve

index: $(STAMP)
	$(BIN)/qa index

test: $(STAMP) $(CHROMIUM)
	$(BIN)/python -m pytest -q

# The web page's tests drive Debian's Chromium through Playwright (a browser download fails here,
# so `playwright install` is never run): installed from apt when missing, as root or with sudo.
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	elif command -v sudo >/dev/null 2>&1; then sudo apt-get update -q && \
		sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else echo "make test needs Debian's Chromium at $(CHROMIUM): run 'apt-get install chromium' as root" >&2; exit 1; fi

# The learned reader's weights (qa/answer/weights/), from SQuAD 2.0 training articles: seeded and
# deterministic, a few minutes on 2 cores (progress on stderr). serve and test only read them.
train: $(STAMP)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(BIN)/python -m qa.answer.training --squad $(SQUAD) --out qa/answer/weights/reader.json

# Retrieval quality, every mode side by side, and the reader on WikiQA test and the held-out SQuAD
# articles; results are kept in eval/ to compare against.
eval: $(STAMP)
	$(BIN)/qa eval --wikiqa $(WIKIQA) --output eval/wikiqa-test.json
	$(BIN)/qa eval --squad $(SQUAD) --output eval/squad-heldout.json
	$(BIN)/qa eval --questions tests/data/article_questions.jsonl --modes dense,keyword,hybrid --output eval/article.json
	$(BIN)/qa eval --questions tests/data/article_dev_questions.jsonl --modes dense,keyword,hybrid --output eval/article-dev.json
	$(BIN)/qa eval --questions tests/data/article_blind_questions.jsonl --modes dense,keyword,hybrid --output eval/article-blind.json
	QA_CORPUS_DIR=eval/docs/corpus $(BIN)/qa eval --questions eval/docs/questions.jsonl --modes dense,keyword,hybrid \
		--index-dir .cache/eval/docs --output eval/docs/docs.json
	QA_CORPUS_DIR=eval/docs/corpus $(BIN)/qa eval --questions eval/docs/questions-click.jsonl \
		--modes dense,keyword,hybrid --index-dir .cache/eval/docs --output eval/docs/click.json
	QA_CORPUS_DIR=eval/docs/corpus $(BIN)/qa eval --questions eval/docs/questions-starlette.jsonl \
		--modes dense,keyword,hybrid --index-dir .cache/eval/docs --output eval/docs/starlette.json
	QA_CORPUS_DIR=eval/docs/corpus $(BIN)/qa eval --questions eval/docs/questions-unanswerable.jsonl \
		--modes hybrid --index-dir .cache/eval/docs --output eval/docs/unanswerable.json

# SciFact (BEIR layout) is not part of the repository; its indexes are cached in .cache/eval/.
# The second run embeds each abstract whole, the published reference setup for dense mode.
eval-scifact: $(STAMP)
	@if [ -d $(SCIFACT) ]; then \
		$(BIN)/qa eval --beir $(SCIFACT) --split test --modes dense,keyword,hybrid --output eval/scifact-test.json; \
		$(BIN)/qa eval --beir $(SCIFACT) --split test --modes dense --whole-documents \
			--output eval/scifact-test-whole-documents.json; \
	else \
		echo "skipping eval-scifact: no BEIR SciFact folder at $(SCIFACT) (set SCIFACT=path/to/scifact)"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check qa tests bench
	$(BIN)/mypy

# Speed and cost figures (printed, and written to bench/results/); not part of `make test`.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/query.py
	$(BIN)/python bench/reader.py
	$(BIN)/python bench/serving.py
	$(BIN)/python bench/build.py
	$(BIN)/python bench/chunking.py
	$(BIN)/python bench/lifecycle.py
	$(BIN)/python bench/vectors.py 10000 100000 1000000
	$(BIN)/python bench/segments.py 10000 100000 1000000
	$(BIN)/python bench/onnx_trial.py 12 --http 15

# 32 clients for 60 s against a real server on loopback (after a 10 s warm-up); not part of `make test`.
soak: $(STAMP)
	$(BIN)/qa index --if-needed
	$(BIN)/python bench/soak.py --clients 32 --seconds 60 --warmup 10

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
