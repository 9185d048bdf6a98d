"""Bounded-memory batch scoring of files and datasets.

A file is read in chunks (:mod:`pipelines.chunk_reader`), checked chunk by chunk
(:mod:`pipelines.chunk_checks`), scored, and written block by block to a temporary file that
is renamed into place at the end (:func:`pipelines.sinks.write_frames`). Memory is bounded by
the chunk size, not the file size, and the output equals scoring the whole file at once
(``det.evaluate_frame(read_table(path).frame)``, i.e. what ``anomaly score`` wrote before):

* **windows** -- a window model's error at row ``r`` depends only on rows within one
  ``window`` of ``r``, on the grid of window starts ``0, stride, 2*stride, ...``. Rows are
  scored in pieces ``[k0, k1)`` whose ends lie on that grid; each piece is computed from the
  rows ``[k0 - L, k1 + window)``, ``L`` = ``window`` rounded up to a multiple of the stride, so
  every window covering a kept row is the one the whole-file pass uses, and the flush-with-end
  window of the last piece is the whole file's tail window. (The forecaster, which looks
  ``window`` rows back, needs the same context.) Point-wise detectors (PCA) need none.
* **NaN policy** -- ``ffill``/``interpolate`` hold back rows after the last row that has every
  channel, and fill them together with that row once the next complete row has arrived.
* **flags** -- threshold rules compare each score with a constant, except :class:`Dynamic`,
  whose EWMA state and trailing window are carried from block to block.
* **checks** -- problems are reported with the whole-file path's message, type and file row
  numbers; a file with a problem leaves no output.

Measured in ``tests/pipelines/test_batch.py``: every neural detector's output is bit-identical
to the whole-file pass (overlapping strides included); PCA's differs in the last float32 bits
(its matrix products run on fewer rows at a time; ~2e-7 relative).
"""

from pipelines.batch.chunks import Progress, iter_scores, window_context
from pipelines.batch.jobs import ScoredFile, output_path, plan, resolve_inputs, score_file, score_files
from pipelines.batch.table import score_table

__all__ = ["Progress", "ScoredFile", "iter_scores", "output_path", "plan", "resolve_inputs", "score_file", "score_files",
           "score_table", "window_context"]
