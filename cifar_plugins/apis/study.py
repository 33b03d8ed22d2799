"""Multi-seed studies: arms (a config plus overrides) x seeds x one recipe.

A study file is an mmengine config with these keys::

    baseline = 'resnet18'                # arm the others are paired with
    seeds = 2                            # default seeds per arm (0..n-1)
    scales = dict(                       # first one is the default
        cpu=dict(recipe='recipes/cpu_scale_sgd.py',   # relative to the file
                 options=dict(model=dict(backbone=dict(base_channels=16)))),
        paper=dict())                    # the configs as they are
    arms = [dict(name='resnet18', config='../resnet18_cifar10.py', seeds=3),
            dict(name='plain18', config='../plain18_cifar10.py',
                 options=dict(...))]
    claims = [dict(text='...', arm='plain34', reference='plain18',
                   expect='<', metric='final_train_loss')]
    figures = [dict(name='degradation', metric='train_loss',
                    panels=[['plain18', 'plain34'], ['resnet18', 'resnet34']])]
    zoo_readmes = ['../README.md']       # READMEs with the study's markers

Each run trains into ``<work_root>/<study>/<scale>/<arm>/seed<k>`` and, once
trained and tested, leaves one JSON record in
``<results_root>/<study>/<scale>/runs/<arm>/seed<k>.json``; the report is
made from those records alone (:mod:`cifar_plugins.analysis.study_report`).
"""
import copy
import json
import os
import os.path as osp
import subprocess
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

from mmengine.config import Config

from cifar_plugins.compat import atomic_write_bytes
from cifar_plugins.errors import ConfigError
from .sweep import DONE_MARKER, train_command

DELETE_KEY = '_delete_'


@dataclass
class Arm:
    """One arm of a study: a config, overrides and the seeds it runs."""
    name: str
    config: str
    seeds: List[int]
    options: dict = field(default_factory=dict)


@dataclass
class Study:
    """A parsed study file."""
    name: str
    path: str
    baseline: str
    arms: List[Arm]
    scales: Dict[str, dict]
    claims: List[dict]
    figures: List[dict]
    description: str = ''
    zoo_readmes: List[str] = field(default_factory=list)

    def arm(self, name: str) -> Arm:
        for arm in self.arms:
            if arm.name == name:
                return arm
        raise KeyError(f'{self.name} has no arm {name!r} (arms: '
                       f'{", ".join(a.name for a in self.arms)})')

    def scale(self, name: Optional[str] = None) -> str:
        """The scale ``name`` (checked), or the study's default scale."""
        if name is None:
            return next(iter(self.scales))
        if name not in self.scales:
            raise KeyError(f'{self.name} has no scale {name!r} (scales: '
                           f'{", ".join(self.scales)})')
        return name

    def recipe(self, scale: str) -> Optional[str]:
        recipe = self.scales[scale].get('recipe')
        return osp.join(osp.dirname(self.path), recipe) if recipe else None


def _seed_list(seeds) -> List[int]:
    if isinstance(seeds, int):
        return list(range(seeds))
    return [int(s) for s in seeds]


def load_study(path: str) -> Study:
    """Read and check a study file.

    Raises:
        FileNotFoundError: The study file, an arm's config or a recipe is
            missing.
        ConfigError: A required key is missing, arm names repeat, or the
            baseline, a claim or a figure names an unknown arm.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Study file not found: {path}')
    cfg = Config.fromfile(path).to_dict()
    here = osp.dirname(osp.abspath(path))
    for key in ('arms', 'baseline'):
        if key not in cfg:
            raise ConfigError(f'{path}: a study file needs "{key}"')
    default_seeds = cfg.get('seeds', 1)
    arms = []
    for spec in cfg['arms']:
        if 'name' not in spec or 'config' not in spec:
            raise ConfigError(f'{path}: every arm needs "name" and "config", '
                              f'got {spec}')
        config = osp.normpath(osp.join(here, spec['config']))
        if not osp.isfile(config):
            raise FileNotFoundError(
                f'{path}: config of arm {spec["name"]!r} not found: {config}')
        arms.append(
            Arm(spec['name'], config,
                _seed_list(spec.get('seeds', default_seeds)),
                dict(spec.get('options') or {})))
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        raise ConfigError(f'{path}: arm names must be unique, got {names}')
    scales = dict(cfg.get('scales') or {'default': {}})
    study = Study(
        name=cfg.get('name') or osp.splitext(osp.basename(path))[0],
        path=osp.abspath(path),
        baseline=cfg['baseline'],
        arms=arms,
        scales=scales,
        claims=list(cfg.get('claims') or []),
        figures=list(cfg.get('figures') or []),
        description=cfg.get('description', ''),
        zoo_readmes=[
            osp.normpath(osp.join(here, r))
            for r in cfg.get('zoo_readmes', [])
        ])
    for scale in scales:
        recipe = study.recipe(scale)
        if recipe and not osp.isfile(recipe):
            raise FileNotFoundError(
                f'{path}: recipe of scale {scale!r} not found: {recipe}')
    mentioned = [study.baseline]
    mentioned += [c.get(k) for c in study.claims for k in ('arm', 'reference')]
    mentioned += [n for f in study.figures for p in f['panels'] for n in p]
    unknown = sorted({n for n in mentioned if n not in names})
    if unknown:
        raise ConfigError(f'{path}: unknown arm(s) {unknown}; arms: {names}')
    return study


def _drop_delete_keys(node):
    """Remove ``_delete_`` flags left on keys the arm's config did not have
    (mmengine only consumes the flag when it merges into an existing key)."""
    if isinstance(node, dict):
        node.pop(DELETE_KEY, None)
        for value in node.values():
            _drop_delete_keys(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _drop_delete_keys(value)


def run_config(study: Study, arm: Arm, seed: int, scale: str) -> Config:
    """The config one run trains: the arm's config, then the scale's recipe,
    the scale's options and the arm's options merged into it (nested, as a
    child config would; ``_delete_=True`` replaces a key), then the seed."""
    cfg = Config.fromfile(arm.config)
    recipe = study.recipe(scale)
    layers = [Config.fromfile(recipe).to_dict()] if recipe else []
    layers += [study.scales[scale].get('options') or {}, arm.options]
    for layer in layers:
        if layer:
            cfg.merge_from_dict(copy.deepcopy(layer))
    cfg.merge_from_dict({'randomness.seed': int(seed)})
    plain = cfg.to_dict()
    _drop_delete_keys(plain)
    return Config(plain, filename=arm.config)


def run_dir(work_root: str, study: Study, scale: str, arm: str,
            seed: int) -> str:
    return osp.join(work_root, study.name, scale, arm, f'seed{seed}')


def record_path(results_root: str, study: Study, scale: str, arm: str,
                seed: int) -> str:
    return osp.join(results_root, study.name, scale, 'runs', arm,
                    f'seed{seed}.json')


def write_record(record: dict, path: str) -> str:
    """Write a run record atomically (a killed write leaves no half file)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    text = json.dumps(record, indent=1, sort_keys=True) + '\n'
    atomic_write_bytes(text.encode(), path)
    return path


def plan_runs(study: Study,
              arms: Optional[Sequence[str]] = None,
              seeds: Optional[Sequence[int]] = None) -> List[tuple]:
    """``(arm, seed)`` pairs in run order: seed by seed, so that every arm
    has its first seeds before any arm gets a later one."""
    chosen = [study.arm(n) for n in arms] if arms else study.arms
    max_seeds = max((len(a.seeds) for a in chosen), default=0)
    pairs = []
    for i in range(max_seeds):
        for arm in chosen:
            if i < len(arm.seeds) and (seeds is None or arm.seeds[i] in seeds):
                pairs.append((arm, arm.seeds[i]))
    return pairs


def run_study(study: Study,
              scale: str,
              work_root: str,
              results_root: str,
              evaluate: Callable[[Config, str, dict], dict],
              arms: Optional[Sequence[str]] = None,
              seeds: Optional[Sequence[int]] = None,
              launcher: str = 'none',
              nproc: int = 1,
              partition: Optional[str] = None,
              force: bool = False,
              log: Callable = print) -> List[str]:
    """Train, test and record every run of the study that has no record.

    A run with a record is skipped (unless ``force``); a run whose work dir
    holds a checkpoint but no record continues from it (``--resume``). After
    training, ``evaluate(cfg, work_dir, context)`` tests the run and returns
    its record, which is written at once, so results survive an interrupted
    study.

    Returns:
        list[str]: ``arm/seed<k>`` of the runs that failed.
    """
    pairs = plan_runs(study, arms, seeds)
    failed = []
    for i, (arm, seed) in enumerate(pairs):
        tag = f'[{i + 1}/{len(pairs)}] {arm.name} seed {seed}'
        record = record_path(results_root, study, scale, arm.name, seed)
        if osp.isfile(record) and not force:
            log(f'{tag}: recorded before, skipped ({record})')
            continue
        work_dir = run_dir(work_root, study, scale, arm.name, seed)
        os.makedirs(work_dir, exist_ok=True)
        cfg = run_config(study, arm, seed, scale)
        cfg_path = osp.join(work_dir, f'{arm.name}_seed{seed}.py')
        cfg.dump(cfg_path)
        trained = osp.isfile(osp.join(work_dir, DONE_MARKER)) and not force
        if not trained:
            resume = (
                osp.isfile(osp.join(work_dir, 'last_checkpoint'))
                and not force)
            cmd, env = train_command(
                cfg_path,
                work_dir,
                launcher,
                nproc,
                partition,
                f'{arm.name}_s{seed}',
                port=29500 + i)
            if resume:
                cmd.append('--resume')
            log(f'{tag}: {"resuming" if resume else "training"} in '
                f'{work_dir}')
            start = time.time()
            with open(osp.join(work_dir, 'study.log'), 'a') as out:
                code = subprocess.call(
                    cmd,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=dict(os.environ, **env))
            if code != 0:
                failed.append(f'{arm.name}/seed{seed}')
                log(f'{tag}: FAILED (exit {code}), see '
                    f'{osp.join(work_dir, "study.log")}')
                continue
            with open(osp.join(work_dir, DONE_MARKER), 'w') as f:
                f.write(f'{time.time() - start:.0f}\n')
        context = dict(
            study=study.name,
            scale=scale,
            arm=arm.name,
            seed=seed,
            config=osp.relpath(arm.config),
            study_file=osp.relpath(study.path))
        write_record(evaluate(cfg, work_dir, context), record)
        log(f'{tag}: recorded {record}')
    return failed
