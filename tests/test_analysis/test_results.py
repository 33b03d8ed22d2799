"""cifar_plugins.analysis.results: the results table of many runs."""
import shutil

import pytest

import cifar_plugins  # noqa: F401
from cifar_plugins.analysis import collect_results
from cifar_plugins.analysis.results import add_baseline_delta


def test_results_survive_a_config_that_no_longer_builds(fake_runs, tmp_path):
    run_dir = tmp_path / 'broken'
    shutil.copytree(fake_runs['plain'], run_dir)
    for cfg_path in run_dir.rglob('*.py'):
        cfg_path.write_text(cfg_path.read_text().replace("'FastCIFARNet'", "'NoSuchNet'"))
    with pytest.warns(UserWarning, match='params/GMACs left empty'):
        rows = collect_results([str(run_dir)])
    assert rows[0]['best_top1'] == 25.0 and rows[0].get('params_m') is None


def test_collect_results_unknown_baseline_is_a_clear_error(fake_runs):
    rows = collect_results([fake_runs['root']], complexity=False)
    with pytest.raises(ValueError, match="'nope' must name exactly one run.*group/plain"):
        add_baseline_delta(rows, 'nope')
