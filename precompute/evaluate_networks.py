"""Evaluates exported svfri networks on the held-out ``test`` split (Geng et al. 2021, Table 1 form).

Usage (repository root)::

    python -m precompute.evaluate_networks --data /work/data/svfri_train --weights models/networks --count 128 \
        --json models/networks/metrics.json --figure docs/images/network_predictions.png

Prints the markdown table (networks, decoder only, training-mean baseline, the paper's numbers); what is
measured and how: :mod:`svfri.training.evaluate`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from svfri.errors import SvfriError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="data set folder with a test/ split")
    parser.add_argument("--weights", type=Path, default=Path("models/networks"), help="exported networks folder")
    parser.add_argument("--count", type=int, default=128, help="held-out samples (first ones in seed order)")
    parser.add_argument("--json", type=Path, default=None, help="write the metrics here as JSON")
    parser.add_argument("--figure", type=Path, default=None, help="write a prediction grid PNG here")
    parser.add_argument("--figure-count", type=int, default=4)
    args = parser.parse_args(argv)

    from svfri.nets import FaceNetworks
    from svfri.training.evaluate import evaluate_networks, markdown_table, prediction_figure, write_metrics
    try:
        networks = FaceNetworks.from_directory(args.weights)
        metrics = evaluate_networks(networks, args.data, count=args.count, progress=True)
        print(f"{metrics['count']} held-out samples (seeds {metrics['seeds'][0]}..{metrics['seeds'][1]}), "
              f"maps at {metrics['map_size']}^2 over {metrics['face_texels']} face texels")
        print(markdown_table(metrics))
        if args.json:
            write_metrics(metrics, args.json)
        if args.figure:
            prediction_figure(networks, args.data, args.figure, count=args.figure_count)
            print(f"wrote {args.figure}")
    except SvfriError as error:
        print(f"error: {error}", file=sys.stderr)
        return getattr(error, "exit_code", 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
