"""Analysis of training runs: curves, checkpoint evaluation, results tables,
reports.

Not imported by ``import cifar_plugins`` (configs need none of it); the
command-line front ends are in ``tools/analysis/``.
"""
from .checkpoint_eval import evaluate_checkpoint, write_prediction_report
from .complexity import model_complexity
from .curves import load_runs, plot_curves
from .metafile import write_metafile_results
from .predictions import (Predictions, confusion_matrix, per_class_accuracy,
                          predict_dataset)
from .report import make_report
from .results import collect_results, run_result, write_results
from .run_logs import (EpochRecord, RunDirError, RunLog, find_checkpoint,
                       find_runs, load_run)

__all__ = [
    'evaluate_checkpoint', 'write_prediction_report', 'model_complexity',
    'load_runs', 'plot_curves', 'Predictions', 'confusion_matrix',
    'per_class_accuracy', 'predict_dataset', 'make_report', 'collect_results',
    'run_result', 'write_results', 'write_metafile_results', 'EpochRecord',
    'RunDirError', 'RunLog', 'find_checkpoint', 'find_runs', 'load_run'
]
