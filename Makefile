# The two commands of the README. Each creates (or reuses) the virtual environment .venv.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/anomaly demo

test: $(STAMP)
	$(VENV)/bin/python -m pytest

# Benchmarks write benchmarks/results/*.json (the neural ones take ~1 h on 2 cores; the
# course-set ones, e.g. transfer_smd.py and generative_quality.py, run on their own).
bench: $(STAMP)
	$(VENV)/bin/python benchmarks/skab_pca.py
	$(VENV)/bin/python benchmarks/smd_asd_pca.py
	$(VENV)/bin/python benchmarks/pca_speed.py
	$(VENV)/bin/python benchmarks/skab_deep.py
	$(VENV)/bin/python benchmarks/smd_asd_deep.py
	$(VENV)/bin/python benchmarks/robot_arm_deep.py
	$(VENV)/bin/python benchmarks/speed_deep.py
	$(VENV)/bin/python benchmarks/stream_latency.py
	$(VENV)/bin/python benchmarks/rosbag_read.py
	$(VENV)/bin/python benchmarks/batch_memory.py
	$(VENV)/bin/python benchmarks/dask_engine.py
	$(VENV)/bin/python benchmarks/param_counts.py
