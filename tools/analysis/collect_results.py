"""Collect every training run under work dirs into one results table.

    python tools/analysis/collect_results.py work_dirs --out results.md

Writes results.md and results.csv: run, config, dataset, epochs, best and
last top-1/top-5, last validation loss, params, GMACs and wall time. With
--baseline RUN a column gives each run's last top-1 minus the baseline's (for
ablation tables). With --metafile FILE the runs' last top-1/top-5 are written
as the Results of the metafile entries whose Config has the run's config name
(the metafile's comments are kept): Dataset CIFAR-10 or CIFAR-100, and with
--protocol NAME metrics named "Top 1 Accuracy (NAME)".
"""

from cifar_plugins.analysis import collect_results, write_results
from cifar_plugins.analysis.metafile import write_metafile_results
from cifar_plugins.analysis.results import add_baseline_delta
from cifar_plugins.apis.runner import run_with_clear_errors
from cifar_plugins.errors import ArgumentParser, UsageError


def parse_args():
    parser = ArgumentParser(description='Table of the runs under work dirs')
    parser.add_argument(
        'work_dirs',
        nargs='*',
        default=['work_dirs'],
        metavar='WORK_DIRS',
        help='folders searched recursively for runs (default: work_dirs)')
    parser.add_argument(
        '--out',
        default='results.md',
        help='output path; both .md and .csv are written (default: '
        'results.md)')
    parser.add_argument(
        '--baseline',
        metavar='RUN',
        help='run or config name of the reference run: adds a column with '
        'each run\'s last top-1 minus the baseline\'s')
    parser.add_argument(
        '--metafile',
        metavar='FILE',
        help='also write each run\'s last top-1/top-5 into the Results of '
        'the entry of this metafile.yml whose Config has the run\'s config '
        'name')
    parser.add_argument(
        '--protocol',
        metavar='NAME',
        help='how the written numbers were measured, added to '
        'the metric names: "CPU budget" writes "Top 1 Accuracy '
        '(CPU budget)"; the folder README says what it means')
    parser.add_argument(
        '--no-complexity',
        action='store_true',
        help='skip the params/GMACs columns (no model is built)')
    args = parser.parse_args()
    if args.protocol and not args.metafile:
        parser.error('--protocol names the metrics written into --metafile; '
                     'pass --metafile FILE too')
    return args


def main():
    args = parse_args()
    rows = collect_results(args.work_dirs, complexity=not args.no_complexity)
    if args.baseline:
        try:
            rows = add_baseline_delta(rows, args.baseline)
        except ValueError as err:
            # the baseline matches no run, several runs or has no top-1
            raise UsageError(str(err)) from None
    paths = write_results(rows, args.out)
    with open(paths['markdown']) as f:
        print(f.read())
    print(f'Wrote {paths["markdown"]} and {paths["csv"]} ({len(rows)} runs)')
    if args.metafile:
        updated = write_metafile_results(args.metafile, rows, args.protocol)
        names = ', '.join(
            updated) or "none (no entry's Config has a run's config name)"
        print(f'Updated the Results of {len(updated)} entries of '
              f'{args.metafile}: {names}')


if __name__ == '__main__':
    run_with_clear_errors(main)
