"""The ``anomaly`` command line.

Commands (one module each in this package):

* ``simulate`` -- simulate the 6-joint robot arm with labelled faults,
* ``fit`` -- fit a detector on normal data and save it as a directory,
* ``fine-tune`` -- warm-start a saved neural detector on another machine's normal data,
* ``score`` -- score files (or a ROS bag) with a saved detector, one row out per row in,
* ``evaluate`` -- score labelled data and print metrics beside trivial baselines,
* ``export`` -- export a neural detector to ONNX for fast inference,
* ``compare`` -- run several detectors on one dataset and write a report,
* ``stream`` -- score a live stream and emit one JSON alert per event,
* ``augment`` -- write an augmented copy of a log (jitter, scaling, warps, slicing),
* ``demo`` -- simulate, fit PCA and a dense autoencoder, score a faulty run, print metrics.

Data goes to files or stdout; progress and messages go to stderr. Exit status: 0 success,
1 failure of the job, 2 bad input or usage (one ``error: ...`` line on stderr).

``app.py`` holds the typer app and the error handler, ``console.py`` and ``progress.py`` the
rich output, ``options.py`` and ``inputs.py`` what several commands share.
"""

from anomaly.cli.app import app, main

__all__ = ["app", "main"]
