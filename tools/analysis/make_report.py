"""Write a REPORT.md comparing runs: results table, curves, checkpoint
evaluations.

    python tools/analysis/make_report.py work_dirs/resnet18 \
        work_dirs/resnet34 work_dirs/resnet18_ms \
        --labels ResNet18 ResNet34 ResNet18-MS \
        --out reports/resnet/REPORT.md --evaluate

Next to the report: figures/ (loss.png, val_error.png, curves.csv),
results.{md,csv} and, with --evaluate, eval/<run>/ for each run's best
checkpoint. Without --evaluate, evaluations already made with
tools/analysis/eval_checkpoint.py (under <run>/analysis/) are linked.
"""

import matplotlib

matplotlib.use('Agg')

from cifar_plugins.analysis import make_report
from cifar_plugins.apis.runner import run_with_clear_errors
from cifar_plugins.errors import ArgumentParser, DictAction


def parse_args():
    parser = ArgumentParser(description='Markdown report of training runs')
    parser.add_argument(
        'run_dirs',
        nargs='+',
        metavar='RUN_DIR',
        help='work dirs of training runs')
    parser.add_argument('--labels', nargs='+', help='one display name per run')
    parser.add_argument(
        '--out', default='REPORT.md', help='report path (default REPORT.md)')
    parser.add_argument('--title', default='Experiment report')
    parser.add_argument(
        '--evaluate',
        action='store_true',
        help='evaluate each run\'s checkpoint on the test set')
    parser.add_argument(
        '--checkpoint',
        choices=['best', 'last'],
        default='best',
        help='checkpoint to evaluate (default: best, else last)')
    parser.add_argument(
        '--device', help='evaluation device (default: cuda if available)')
    parser.add_argument(
        '--no-complexity',
        action='store_true',
        help='skip the params/GMACs columns')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='config overrides for the evaluation')
    args = parser.parse_args()
    if args.labels and len(args.labels) != len(args.run_dirs):
        parser.error(f'--labels got {len(args.labels)} names for '
                     f'{len(args.run_dirs)} runs')
    return args


def main():
    args = parse_args()
    result = make_report(
        args.run_dirs,
        args.out,
        labels=args.labels,
        title=args.title,
        evaluate=args.evaluate,
        which=args.checkpoint,
        cfg_options=args.cfg_options,
        device=args.device,
        complexity=not args.no_complexity)
    print(f'Wrote {result["report"]}')


if __name__ == '__main__':
    run_with_clear_errors(main)
