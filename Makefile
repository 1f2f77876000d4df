# trialmatch — every target creates the virtual environment it needs (torch pinned, first).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0
DATA ?= ../shared/data

.PHONY: install protos demo serve test lint bench clean es-up es-down es-down-all bench-scale k8s-render train-ner note-lexicon

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet $(TORCH)
	$(PIP) install --quiet -e '.[dev]'
	touch $(STAMP)

protos: install
	$(PY) -m services.protogen

demo: install
	HF_HUB_OFFLINE=1 $(VENV)/bin/trialmatch demo

serve: install
	HF_HUB_OFFLINE=1 $(VENV)/bin/trialmatch serve

test: install
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check .

bench: install
	HF_HUB_OFFLINE=1 $(PY) bench/ingest_normalize.py --data $(DATA)/synthea
	HF_HUB_OFFLINE=1 $(PY) bench/ingest_grpc.py --data $(DATA)/synthea
	HF_HUB_OFFLINE=1 $(PY) bench/criteria_parse.py --data $(DATA)/trec2021/trials.jsonl
	HF_HUB_OFFLINE=1 $(PY) bench/chia_ner.py --data $(DATA)/chia/dev
	HF_HUB_OFFLINE=1 $(PY) bench/note_facts.py --data $(DATA)
	HF_HUB_OFFLINE=1 $(PY) bench/rank_trials.py --data $(DATA)/trec2021

# 10,000 synthetic patients in both backends (long: about 20 minutes, needs `make es-up`).
bench-scale: install
	HF_HUB_OFFLINE=1 $(PY) bench/scale_backends.py --es-url "$$($(PYTHON) tools/es_node.py up)"

# Regenerate nlp/notes/rules/lexicon_harvested.yaml (Synthea + trial vocabularies; deterministic).
note-lexicon: install
	$(PY) tools/build_note_lexicon.py --data $(DATA)

# The Chia NER shipped in nlp/models/chia_ner: distils static vectors from MiniLM, trains on
# the train part of Chia dev (fixed seed, CPU, niced), ships the best model on the tune part
# and prints its score on the held-out part. About 40-60 min on two shared cores.
train-ner: install
	HF_HUB_OFFLINE=1 nice -n 10 $(PY) -m nlp.ner.train --data $(DATA)

# A local single-node Elasticsearch (8.19.21 integ-test zip from Maven Central, run on the
# machine's JDK 17+ as a dedicated non-root user, 127.0.0.1, 512 MB heap). Idempotent; the
# download and unpacked distribution are cached outside the repository. Prints the URL.
es-up:
	@$(PYTHON) tools/es_node.py up

es-down:
	@$(PYTHON) tools/es_node.py down --name default

es-down-all:
	@$(PYTHON) tools/es_node.py down --all

# Kubernetes manifests as applied: OVERLAY=dev (default), prod or base; kustomize is the one
# inside kubectl from the dev dependencies. Apply with `make -s k8s-render | kubectl apply -f -`.
OVERLAY ?= dev
k8s-render: install
	@$(VENV)/bin/kubectl kustomize k8s/$(if $(filter base,$(OVERLAY)),base,overlays/$(OVERLAY))

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache *.egg-info
