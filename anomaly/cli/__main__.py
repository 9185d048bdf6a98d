"""``python -m anomaly.cli``: the same as the ``anomaly`` console script."""

from anomaly.cli.app import main

main()
