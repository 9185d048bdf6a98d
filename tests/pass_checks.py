"""One scoring pass, four paths: whole frame, stream replay, stream scorer, chunked file, and a reload."""

from __future__ import annotations

import pandas as pd
from numpy.testing import assert_allclose

from anomaly.registry import load
from pipelines.batch import iter_scores
from pipelines.stream.scorer import StreamScorer


def assert_paths_agree(det, test: pd.DataFrame, folder, chunk_rows: int):
    """Scores of ``test`` (n, c) equal on every path (hop 1); returns the reloaded detector."""
    scores = det.score(test).to_numpy()
    assert_allclose(det.score_stream(test).to_numpy(), scores, rtol=1e-5, atol=1e-7)
    scorer, streamed = StreamScorer(det), []
    for timestamp, row in zip(test.index, test.to_numpy()):
        if (step := scorer.push(timestamp, row)) is not None:
            streamed.extend(step.scores)
    assert_allclose(streamed, scores, rtol=1e-5, atol=1e-7)
    test.to_csv(folder / "test.csv", index_label="timestamp")
    parts = [s for _, s, _ in iter_scores(det, folder / "test.csv", timestamp="timestamp", chunk_rows=chunk_rows)]
    assert_allclose(pd.concat(parts).to_numpy(), scores, rtol=1e-5, atol=1e-7)
    det.save(folder / "model")
    loaded = load(folder / "model")
    assert_allclose(loaded.score(test).to_numpy(), scores, rtol=1e-6)
    return loaded
