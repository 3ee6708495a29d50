# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml Makefile | cksum | cut -d' ' -f1)

.PHONY: demo test install browser bench bench-trees bench-lime bench-gradients bench-counterfactuals bench-anchors bench-metrics bench-fairness bench-scale bench-service bench-internals clean

# A registry download can break off mid-file (a 131 MB wheel stalled at 55 MB six times running): pip resumes and
# retries each download, and every install step is tried up to three times, 30 s apart, before the build gives up.
RETRY := sh -c 'for attempt in 1 2 3; do "$$@" && exit 0; echo "install step failed (attempt $$attempt of 3)" >&2; \
	[ $$attempt = 3 ] || sleep 30; done; exit 1' retry
PIP := $(RETRY) $(PY) -m pip install -q --retries 10 --timeout 60 --resume-retries 10

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(RETRY) $(PY) -m pip install -q --upgrade pip
	$(PIP) "torch==2.13.0"
	$(PIP) -e ".[test,sklearn,pandas,plot,trees,onnx,skops,tensorflow,text-models,vision-models]" "torch==2.13.0"
	# the references of LRP (zennit) and of the CAM variants (pytorch-grad-cam), without the torchvision they list:
	# PyPI's torchvision for torch 2.13 is a CUDA build that cannot load beside the CPU torch (and pulls no CPU
	# one), and neither uses it for what is compared
	$(PIP) --no-deps "zennit==0.5.1" "grad-cam==1.5.7" "ttach==0.0.3"
	# NGBoost (its tree ensembles are parsed), without its scikit-learn<1.7 pin: it runs on the scikit-learn installed
	$(PIP) --no-deps "ngboost==0.6.0"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# The report tests open the report in Debian's chromium (driven by Playwright, which downloads no browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
		|| { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }; }
	@command -v chromium >/dev/null 2>&1 || { echo "chromium is missing and apt-get could not install it" >&2; exit 1; }

demo: $(STAMP)
	$(VENV)/bin/xaikit demo --out demo-output

test: $(STAMP) browser
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/mypy
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/shapley_accuracy.py

bench-trees: $(STAMP)
	$(PY) benchmarks/tree_shap.py

bench-lime: $(STAMP)
	$(PY) benchmarks/lime.py

bench-gradients: $(STAMP)
	$(PY) benchmarks/gradients.py

# DiCE, the reference of the counterfactual benchmark only (not a dependency of xaikit)
bench-counterfactuals: $(STAMP)
	$(PIP) "dice-ml==0.12"
	$(PY) benchmarks/counterfactuals.py

# Quantus, the reference of the metrics benchmark only: its opencv-python requirement would clash with the headless
# OpenCV installed, so it comes without its dependencies (cachetools is the one it needs beside those installed)
bench-metrics: $(STAMP)
	$(PIP) --no-deps "quantus==0.6.0"
	$(PIP) "cachetools>=5"
	$(PY) benchmarks/metrics.py

bench-fairness: $(STAMP)
	$(PY) benchmarks/fairness.py

bench-scale: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) benchmarks/scale.py
	OMP_NUM_THREADS=1 $(PY) benchmarks/scale_memory.py

bench-service: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) benchmarks/service.py

bench-internals: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) benchmarks/internals.py

# alibi's AnchorTabular is under a non-open licence: never installed here; the benchmark says how to point it at a copy
bench-anchors: $(STAMP)
	$(PY) benchmarks/anchors.py

clean:
	rm -rf $(VENV) demo-output build *.egg-info src/*.egg-info
