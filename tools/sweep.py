"""Train a list of configs with one schedule and write one comparison table.

    python tools/sweep.py configs/plain18_cifar10.py \
        configs/resnet18_cifar10.py \
        --schedule configs/_base_/schedules/budget_cpu.py \
        --work-root work_dirs/study \
        --cfg-options train_dataloader.dataset.indices=10000

Each config trains into WORK_ROOT/<config name> (its config, with the schedule
file's keys replacing the config's, is saved there first). Runs go one after
another here; on a cluster use --launcher dist --nproc 8 (dist_train.sh on this
node) or --launcher slurm --partition P --nproc 8 --max-parallel 4 (independent
srun jobs). Finished runs are skipped on a re-run, so an interrupted sweep
continues. At the end WORK_ROOT/results.md and results.csv hold top-1, top-5,
params, GMACs and train time of every run.
"""
import argparse
import os.path as osp
import sys

from cifar_plugins.analysis import collect_results, write_results
from cifar_plugins.analysis.results import MARKDOWN_COLUMNS, MARKDOWN_HEADERS
from cifar_plugins.analysis.tables import markdown_table
from cifar_plugins.apis.runner import run_with_clear_errors
from cifar_plugins.apis.sweep import DONE_MARKER, run_sweep
from cifar_plugins.errors import ArgumentParser, key_value


def parse_args():
    parser = ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('configs', nargs='+', help='config files to train')
    parser.add_argument('--work-root', default='work_dirs/sweep')
    parser.add_argument(
        '--schedule',
        help='config file whose keys replace each config\'s '
        '(e.g. configs/_base_/schedules/budget_cpu.py)')
    parser.add_argument(
        '--override',
        nargs='+',
        default=[],
        metavar='FILE',
        help='more config files whose top-level keys replace each config\'s '
        'after --schedule (e.g. configs/_base_/datasets/cifar10_bs128.py to '
        'run CIFAR-100 configs on CIFAR-10, with model.head.num_classes=10)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        metavar='KEY=VALUE',
        type=key_value,
        help='overrides passed to every run\'s tools/train.py')
    parser.add_argument(
        '--launcher', choices=['none', 'dist', 'slurm'], default='none')
    parser.add_argument(
        '--nproc', type=int, default=1, help='processes/GPUs per run')
    parser.add_argument('--partition', help='Slurm partition')
    parser.add_argument(
        '--max-parallel',
        type=int,
        default=1,
        help='Slurm jobs running at once')
    parser.add_argument(
        '--force', action='store_true', help='re-train finished runs')
    args = parser.parse_args()
    if args.nproc < 1 or args.max_parallel < 1:
        parser.error('--nproc and --max-parallel must be at least 1')
    return args


def check_inputs(args):
    """Read every config file before the first run, so a broken one fails
    up front.

    Args:
        args (argparse.Namespace): The parsed arguments.

    Raises:
        FileNotFoundError: a config file does not exist.
        SyntaxError: a config file does not parse (reported as one
            ``ERROR:`` line).
    """
    from mmengine.config import Config
    for path in [*args.configs, args.schedule, *args.override]:
        if path is None:
            continue
        if not osp.isfile(path):
            raise FileNotFoundError(f'Config not found: {path}')
        Config.fromfile(path)


def failure_reason(run_dir):
    """The last ``ERROR:`` line of a failed run's sweep.log, or ''."""
    try:
        with open(osp.join(run_dir, 'sweep.log'), errors='replace') as f:
            errors = [line.strip() for line in f if line.startswith('ERROR: ')]
    except OSError:
        return ''
    return errors[-1][len('ERROR: '):] if errors else ''


def main():
    args = parse_args()
    check_inputs(args)
    failed = run_sweep(
        args.configs,
        args.work_root,
        args.schedule,
        args.cfg_options,
        args.launcher,
        args.nproc,
        args.partition,
        args.max_parallel,
        args.force,
        overrides=args.override)
    run_dirs = [
        osp.join(args.work_root,
                 osp.splitext(osp.basename(c))[0]) for c in args.configs
    ]
    done = [d for d in run_dirs if osp.isfile(osp.join(d, DONE_MARKER))]
    if done:
        rows = collect_results(done)
        paths = write_results(rows, osp.join(args.work_root, 'results.md'))
        print(markdown_table(rows, MARKDOWN_COLUMNS, MARKDOWN_HEADERS))
        print(f'Wrote {paths["markdown"]} and {paths["csv"]}')
    if failed:
        reasons = []
        for name in failed:
            reason = failure_reason(osp.join(args.work_root, name))
            reasons.append(f'{name} ({reason})' if reason else name)
        sys.exit(
            f'ERROR: {len(failed)} run(s) failed: {"; ".join(reasons)}; see '
            f'{osp.join(args.work_root, "<run>", "sweep.log")}')


if __name__ == '__main__':
    run_with_clear_errors(main)
