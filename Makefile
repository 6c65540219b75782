# One entry point. Every target installs what is missing first, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SCIFACT ?= ../shared/data/scifact
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install serve index test eval eval-scifact bench lint clean

install: $(STAMP)

# torch==2.13.0 first: pip takes the CPU wheel kept on these machines, and the package's own
# torch requirement is then already met (any other torch pulls several GB of CUDA packages).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

serve: $(STAMP)
	$(BIN)/qa index --if-needed
	exec $(BIN)/qa serve

index: $(STAMP)
	$(BIN)/qa index

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Retrieval quality, every mode side by side; results are kept in eval/ to compare against.
eval: $(STAMP)
	$(BIN)/qa eval --questions tests/data/article_questions.jsonl --modes dense,keyword,hybrid --output eval/article.json
	$(BIN)/qa eval --questions tests/data/article_dev_questions.jsonl --modes dense,keyword,hybrid --output eval/article-dev.json

# SciFact (BEIR layout) is not part of the repository; its index is cached in .cache/eval/scifact.
eval-scifact: $(STAMP)
	@if [ -d $(SCIFACT) ]; then \
		$(BIN)/qa eval --beir $(SCIFACT) --split test --modes dense,keyword,hybrid --output eval/scifact-test.json; \
	else \
		echo "skipping eval-scifact: no BEIR SciFact folder at $(SCIFACT) (set SCIFACT=path/to/scifact)"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check qa tests bench
	$(BIN)/mypy

# Speed and cost figures (printed, and written to bench/results/); not part of `make test`.
bench: $(STAMP)
	$(BIN)/python bench/lifecycle.py
	$(BIN)/python bench/vectors.py 10000 100000 1000000

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
