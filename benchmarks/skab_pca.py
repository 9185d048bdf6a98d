"""PCA on SKAB with SKAB's own protocol, side by side with SKAB's published T-squared+Q row.

Protocol (see ``_skab.py``): per valve1/valve2 file, fit on the first 400 rows, threshold =
1.5 x the 99th percentile of the training scores, a 10-step persistence rule (and none),
pooled point-wise metrics over the 20 files, on the rows after training and on whole files.

Run: ``python benchmarks/skab_pca.py`` -> ``benchmarks/results/skab_pca.json``.
"""

from __future__ import annotations

from _common import write_result
from _skab import PUBLISHED, baseline_rows, print_rows, score_files, variants

from anomaly import PCADetector, SkabUCL


def main() -> None:
    rows = {}
    for statistic in ("combined", "spe", "t2"):
        files = score_files(lambda statistic=statistic: PCADetector(statistic=statistic, threshold=SkabUCL(q=99.0, factor=1.5)))
        rows.update({f"pca-{statistic} {name}": m for name, m in variants(files).items()})
    published = {f"published: {PUBLISHED['pca']['method']}": PUBLISHED["pca"]}
    result = {"protocol": __doc__.split("Run:")[0].strip(), "published": published, "ours": rows, "baselines": baseline_rows()}
    path = write_result("skab_pca", result)
    print_rows({**published, **rows, **result["baselines"]})
    print(f"-> {path}")


if __name__ == "__main__":
    main()
