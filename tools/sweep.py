"""Train a list of configs with one schedule and write one comparison table.

    python tools/sweep.py configs/plain18_cifar10.py configs/resnet18_cifar10.py \
        --schedule configs/_base_/schedules/budget_cpu.py --work-root work_dirs/study \
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

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from cifar_plugins.analysis import collect_results, write_results  # noqa: E402
from cifar_plugins.analysis.results import MARKDOWN_COLUMNS, MARKDOWN_HEADERS  # noqa: E402
from cifar_plugins.analysis.tables import markdown_table  # noqa: E402
from cifar_plugins.apis.runner import run_with_clear_errors  # noqa: E402
from cifar_plugins.apis.sweep import DONE_MARKER, run_sweep  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('configs', nargs='+', help='config files to train')
    parser.add_argument('--work-root', default='work_dirs/sweep')
    parser.add_argument('--schedule', help='config file whose keys replace each config\'s '
                        '(e.g. configs/_base_/schedules/budget_cpu.py)')
    parser.add_argument('--override', nargs='+', default=[], metavar='FILE',
                        help='more config files whose top-level keys replace each config\'s '
                        'after --schedule (e.g. configs/_base_/datasets/cifar10_bs128.py to '
                        'run CIFAR-100 configs on CIFAR-10, with model.head.num_classes=10)')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='overrides passed to every run\'s tools/train.py')
    parser.add_argument('--launcher', choices=['none', 'dist', 'slurm'], default='none')
    parser.add_argument('--nproc', type=int, default=1, help='processes/GPUs per run')
    parser.add_argument('--partition', help='Slurm partition')
    parser.add_argument('--max-parallel', type=int, default=1,
                        help='Slurm jobs running at once')
    parser.add_argument('--force', action='store_true', help='re-train finished runs')
    return parser.parse_args()


def main():
    args = parse_args()
    failed = run_sweep(args.configs, args.work_root, args.schedule, args.cfg_options,
                       args.launcher, args.nproc, args.partition, args.max_parallel,
                       args.force, overrides=args.override)
    run_dirs = [osp.join(args.work_root, osp.splitext(osp.basename(c))[0])
                for c in args.configs]
    done = [d for d in run_dirs if osp.isfile(osp.join(d, DONE_MARKER))]
    if done:
        rows = collect_results(done)
        paths = write_results(rows, osp.join(args.work_root, 'results.md'))
        print(markdown_table(rows, MARKDOWN_COLUMNS, MARKDOWN_HEADERS))
        print(f'Wrote {paths["markdown"]} and {paths["csv"]}')
    if failed:
        sys.exit(f'ERROR: {len(failed)} run(s) failed: {", ".join(failed)}')


if __name__ == '__main__':
    run_with_clear_errors(main)
