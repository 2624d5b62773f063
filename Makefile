# densecl: `make quickstart` trains (from random weights) and evaluates the
# quickstart config on the built-in benchmark; `make pretrained` pretrains the ResNet-18 V1c backbone on
# procedural ImageNet (~30 min on 2 cores); `make test` / `make test-upstream`
# run the test suite on the onedl stack / the upstream mmcv 2.1.0 + mmseg 1.2.2
# stack.
# bash with pipefail, so that `tool | tee log` fails when the tool fails.
SHELL := /bin/bash
.SHELLFLAGS := -e -o pipefail -c
PYTHON ?= python3
VENV := .venv
UPSTREAM_VENV := .venv-upstream
DATA := data/toyscenes
QUICKSTART_CONFIG := configs/quickstart/fcn_r18-d16_1k_toyscenes-128x128.py
QUICKSTART_DIR := work_dirs/quickstart
PRETRAINED := data/pretrained/resnet18_v1c_procedural.pth

.PHONY: quickstart test test-upstream data pretrained

$(VENV)/.installed: setup.py constraints.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -c constraints.txt -e '.[onedl,dev]'
	touch $@

# mmcv 2.1.0 has no wheel for torch 2.13: build it with ops against the
# installed torch (~16 min on 2 cores; pip's wheel cache serves later builds).
# Its setup.py needs pkg_resources, hence setuptools<70 in this venv.
$(UPSTREAM_VENV)/.installed: setup.py constraints.txt
	test -x $(UPSTREAM_VENV)/bin/python || $(PYTHON) -m venv $(UPSTREAM_VENV)
	$(UPSTREAM_VENV)/bin/pip install -q -c constraints.txt torch ninja wheel numpy mmengine==0.10.7
	$(UPSTREAM_VENV)/bin/pip install -q 'setuptools<70'
	MMCV_WITH_OPS=1 MAX_JOBS=2 $(UPSTREAM_VENV)/bin/pip install -q --no-build-isolation mmcv==2.1.0
	$(UPSTREAM_VENV)/bin/pip install -q -c constraints.txt -e '.[upstream,dev]'
	touch $@

$(DATA)/meta.json: | $(VENV)/.installed
	$(VENV)/bin/python tools/make_synthetic.py --out $(DATA) --seed 0

data: $(DATA)/meta.json

$(PRETRAINED): | $(VENV)/.installed
	$(VENV)/bin/python tools/pretrain_backbone.py --out $(PRETRAINED)

pretrained: $(PRETRAINED)

quickstart: $(VENV)/.installed $(DATA)/meta.json
	$(VENV)/bin/python tools/train.py $(QUICKSTART_CONFIG) --work-dir $(QUICKSTART_DIR) \
		--cfg-options model.backbone.init_cfg=None
	$(VENV)/bin/python tools/test.py $(QUICKSTART_CONFIG) $(QUICKSTART_DIR)/iter_1000.pth \
		--work-dir $(QUICKSTART_DIR)/test --show-dir $(QUICKSTART_DIR)/demo \
		| tee $(QUICKSTART_DIR)/test.log
	@grep -o "mIoU: [0-9.]*" $(QUICKSTART_DIR)/test.log | tail -1 | sed 's/^/quickstart toyscenes val /'
	@echo "demo images: $(QUICKSTART_DIR)/demo"

test: $(VENV)/.installed
	$(VENV)/bin/python -m pytest tests -q --durations=30

test-upstream: $(UPSTREAM_VENV)/.installed
	$(UPSTREAM_VENV)/bin/python -m pytest tests -q --durations=30
