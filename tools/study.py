"""Run a multi-seed study and write its report.

    python tools/study.py configs/studies/cifar10_models_cpu.py
    python tools/study.py STUDY --arms resnet18 --seeds 0     # one run
    python tools/study.py STUDY --scale paper --launcher slurm --partition P
    python tools/study.py STUDY --report-only                 # tables only

Every (arm, seed) run without a record trains into
WORK_ROOT/<study>/<scale>/<arm>/seed<k> (a half-trained run continues from
its last checkpoint), is tested with its TTA, and leaves its record in
RESULTS_ROOT/<study>/<scale>/runs/. The report (REPORT.md, results.csv,
figures, the model-zoo rows) is then made from the records alone.
"""
import argparse
import os.path as osp
import sys

from cifar_plugins.analysis.study_records import evaluate_run
from cifar_plugins.analysis.study_report import write_study_report
from cifar_plugins.apis.runner import run_with_clear_errors
from cifar_plugins.apis.study import load_study, run_study
from cifar_plugins.errors import ArgumentParser


def parse_args():
    parser = ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('study', help='study file (configs/studies/*.py)')
    parser.add_argument(
        '--scale', help="the study's scale to run (default: its first)")
    parser.add_argument('--arms', nargs='+', help='only these arms')
    parser.add_argument('--seeds', nargs='+', type=int, help='only these')
    parser.add_argument('--work-root', default='work_dirs/studies')
    parser.add_argument('--results-root', default='docs/results')
    parser.add_argument(
        '--launcher', choices=['none', 'dist', 'slurm'], default='none')
    parser.add_argument(
        '--nproc', type=int, default=1, help='processes/GPUs per run')
    parser.add_argument('--partition', help='Slurm partition')
    parser.add_argument(
        '--force', action='store_true', help='retrain runs that have a record')
    parser.add_argument(
        '--report-only',
        action='store_true',
        help='write the report from the records, train none')
    args = parser.parse_args()
    if args.nproc < 1:
        parser.error('--nproc must be at least 1')
    return args


def main():
    args = parse_args()
    study = load_study(args.study)
    scale = study.scale(args.scale)
    failed = []
    if not args.report_only:

        def evaluate(cfg, work_dir, context):
            return evaluate_run(cfg, work_dir, dict(context, nproc=args.nproc))

        failed = run_study(
            study,
            scale,
            args.work_root,
            args.results_root,
            evaluate,
            arms=args.arms,
            seeds=args.seeds,
            launcher=args.launcher,
            nproc=args.nproc,
            partition=args.partition,
            force=args.force)
    folder = osp.join(args.results_root, study.name, scale)
    paths = write_study_report(study, scale, folder)
    if paths:
        print(f'Wrote {paths["report"]}')
    if failed:
        sys.exit(f'ERROR: {len(failed)} run(s) failed: {", ".join(failed)}; '
                 f'see their study.log under {args.work_root}')


if __name__ == '__main__':
    run_with_clear_errors(main)
