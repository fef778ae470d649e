"""The training tools of hybrid as ``codeclab`` subcommands: training pairs, exported programs.

::

    codeclab make-pairs --data PHOTOS --out PAIRS [--crops N] [--qp-range LO HI] [--scale S]
    codeclab export nnlf RUN/nnlf.safetensors [--out PROGRAM] [--force]
    codeclab export nnlf --evaluation BENCH.json [--timing TIMING.json] [--out PROGRAM]
    codeclab export nnlf --to-float START.safetensors [--out PROGRAM]
    codeclab export nip RUN/nip.safetensors [--out PROGRAM] [--force]

Only the options live here, so that building the command line loads nothing heavy; each
command runs in the module that does the work, under the CLI's one-line error handling.
"""

from __future__ import annotations

import argparse


def add_make_pairs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="folder of training photos (never Kodak)")
    parser.add_argument("--out", required=True, help="folder of the shards (one .npz per photo)")
    parser.add_argument("--crops", type=int, default=15, help="crops per photo (default %(default)s)")
    parser.add_argument("--size", type=int, default=256, help="crop side, a multiple of 64 (default %(default)s)")
    parser.add_argument("--qp-range", type=int, nargs=2, default=(22, 42), metavar=("LOW", "HIGH"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="downscale each photo by this factor before cropping (default %(default)s)")
    parser.set_defaults(func=run_make_pairs)


def run_make_pairs(args) -> int:
    from codeclab.hybrid.nnlf.training.pairs import run

    return run(args)


def add_export_nnlf_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trained", nargs="?", help="the QAT run's nnlf.safetensors (written by codeclab train)")
    parser.add_argument("--out", help="program to write (default: the shipped one)")
    parser.add_argument("--evaluation", metavar="BENCH.json",
                        help="instead: record this 'codeclab bench --json' summary in the card of --out")
    parser.add_argument("--timing", metavar="TIMING.json",
                        help="instead (or with --evaluation): record this 'benchmarks/hybrid_filter.py --json' "
                             "decode timing in the card of --out")
    parser.add_argument("--to-float", metavar="START.safetensors",
                        help="instead: write the program at --out as float weights (codeclab train --init)")
    parser.add_argument("-f", "--force", action="store_true", help="replace an existing program at --out")
    parser.set_defaults(func=run_export_nnlf)


def run_export_nnlf(args) -> int:
    from codeclab.hybrid.nnlf.training.export import run

    return run(args)


def add_export_nip_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("weights", nargs="?", help="RUN/nip.safetensors of a codeclab train run")
    parser.add_argument("--out", help="program file (default: the shipped one)")
    parser.add_argument("-f", "--force", action="store_true", help="overwrite an existing program")
    parser.add_argument("--evaluation", metavar="SUMMARY.json",
                        help="record what the program scores (a codeclab bench --json summary) in its card")
    parser.set_defaults(func=run_export_nip)


def run_export_nip(args) -> int:
    from codeclab.hybrid.nip.training import run_export

    return run_export(args)
