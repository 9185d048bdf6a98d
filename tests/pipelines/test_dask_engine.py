"""Dask scale-out: a 2-worker local cluster gives the single-process engine's outputs."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import make_frame

import anomaly
from anomaly.errors import ConfigError, ModelFileError
from pipelines.batch import plan, score_files
from pipelines.sinks import write_table

distributed = pytest.importorskip("distributed")

from pipelines import dask_engine  # noqa: E402  (needs distributed)
from pipelines.dask_engine import score_files_dask  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    with dask_engine.local_cluster() as local:
        yield local


def test_local_workers_are_single_threaded_with_this_process_blas(cluster):
    from threadpoolctl import threadpool_info

    def blas():
        return max(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")

    with distributed.Client(cluster) as client:
        assert list(client.nthreads().values()) == [1, 1]  # 2 workers x 1 thread
        assert list(client.run(blas).values()) == [blas(), blas()]  # float32 BLAS rounding as here


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A PCA and a tiny dense-AE model, and four small runs (three Parquet, one CSV)."""
    root = tmp_path_factory.mktemp("dask")
    anomaly.PCADetector().fit(make_frame(n=400, seed=0)).save(root / "pca")
    anomaly.DenseAutoencoder(window=8, hidden=(8,), latent=2, epochs=1).fit(make_frame(n=400, seed=0)).save(root / "dense")
    runs = root / "runs"
    for i in range(3):
        frame = make_frame(n=250 + 10 * i, seed=i + 1)
        frame.iloc[100:120, 2] += 3.0
        write_table(frame, runs / f"run{i}.parquet")
    write_table(make_frame(n=90, seed=9), runs / "run3.csv")
    return root


@pytest.mark.parametrize("model", ["pca", "dense"])
def test_dask_outputs_equal_the_single_process_engine(model, workspace, cluster):
    sources = sorted((workspace / "runs").iterdir())
    local = score_files(anomaly.load(workspace / model), plan(sources, workspace / f"{model}-local", force=True), chunk_rows=64)
    on_dask = score_files_dask(workspace / model, plan(sources, workspace / f"{model}-dask", force=True),
                               scheduler=cluster.scheduler_address, chunk_rows=64)
    assert [r.rows for r in on_dask] == [r.rows for r in local] == [250, 260, 270, 90]
    assert [r.flagged for r in on_dask] == [r.flagged for r in local] and sum(r.flagged for r in local) > 0
    for a, b in zip(on_dask, local):
        pd.testing.assert_frame_equal(pd.read_parquet(a.output), pd.read_parquet(b.output), check_exact=True)


def test_each_worker_loads_the_model_once(workspace, cluster, tmp_path):
    import shutil

    model = shutil.copytree(workspace / "pca", tmp_path / "model")  # a model no worker has seen
    sources = sorted((workspace / "runs").iterdir())
    with distributed.Client(cluster) as client:
        before = client.run(lambda: dask_engine._load.cache_info())
        score_files_dask(model, plan(sources, tmp_path / "out"), scheduler=cluster.scheduler_address)
        after = client.run(lambda: dask_engine._load.cache_info())
    assert [after[w].misses - before[w].misses for w in sorted(after)] == [1, 1]  # loaded once per worker
    assert sum(after[w].hits - before[w].hits for w in after) == len(sources)  # one cache hit per file


def test_bad_files_are_reported_and_skipped_files_stay_skipped(workspace, cluster, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,ch0\n2026-01-01,1\n")
    sources = [bad, workspace / "runs" / "run0.parquet", workspace / "runs" / "run1.parquet"]
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "run1.scores.parquet").write_text("from an earlier run")
    done = []
    results = score_files_dask(workspace / "pca", plan(sources, tmp_path / "out"), scheduler=cluster.scheduler_address,
                               on_done=done.append)
    assert "missing channels" in str(results[0].error) and results[1].rows == 250 and results[2].skipped
    assert len(done) == 2 and (tmp_path / "out" / "run1.scores.parquet").read_text() == "from an earlier run"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["run0.scores.parquet", "run1.scores.parquet"]


def test_bad_model_and_unreachable_scheduler(workspace, cluster, tmp_path, monkeypatch):
    jobs = plan([workspace / "runs" / "run0.parquet"], tmp_path)
    with pytest.raises(ModelFileError, match="model directory not found"):
        score_files_dask(tmp_path / "nope", jobs, scheduler=cluster.scheduler_address)
    monkeypatch.setattr(dask_engine, "CONNECT_TIMEOUT", "1s")
    with pytest.raises(ConfigError, match="cannot connect to the Dask scheduler"):
        score_files_dask(workspace / "pca", jobs, scheduler="tcp://127.0.0.1:9")
    assert list(tmp_path.iterdir()) == []


def test_cli_executor_dask_starts_a_local_cluster(workspace, tmp_path):
    from typer.testing import CliRunner

    from anomaly.cli import app

    args = ["score", str(workspace / "runs"), "--model", str(workspace / "pca"), "--out", str(tmp_path)]
    result = CliRunner().invoke(app, [*args, "--executor", "dask"])
    assert result.exit_code == 0, result.output
    assert "4 files scored (870 rows" in result.output
    local = CliRunner().invoke(app, [*args[:-1], str(tmp_path / "local")])
    assert local.exit_code == 0, local.output
    for path in sorted(tmp_path.glob("*.parquet")):
        pd.testing.assert_frame_equal(pd.read_parquet(path), pd.read_parquet(tmp_path / "local" / path.name))
