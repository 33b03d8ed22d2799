"""Documentation consistency: links, named paths and commands.

These checks keep README.md, docs/*.md and the config folders' READMEs usable: every
relative link resolves, every config and tool they name exists, the README's commands
are the ones the scripts provide and its checkpoint names are the ones training
writes. Measured numbers are deliberately not checked here: they belong to
docs/benchmarks.md and the configs' READMEs, each with its machine and command.
"""
import glob
import os.path as osp
import re

import pytest
import yaml
from mmengine.config import Config

from helpers import REPO

README = osp.join(REPO, 'README.md')
CONTRIBUTING = osp.join(REPO, 'CONTRIBUTING.md')
DOCS = sorted(glob.glob(osp.join(REPO, 'docs', '*.md')))
USER_DOCS = [README] + DOCS  # what a user reads first: held to every check below
CONFIG_READMES = sorted(glob.glob(osp.join(REPO, 'configs', '**', 'README.md'),
                                  recursive=True))
ALL_DOCS = USER_DOCS + [CONTRIBUTING] + CONFIG_READMES

README_MAX_BYTES = 12_000
LAB_NOTEBOOK = re.compile(r'20[0-9]{2}-[01][0-9]-[0-3][0-9]|\(#[0-9]+\)|issue [0-9]+')
SESSION_WORDS = re.compile(r'\b(this|previous|earlier|next) session\b', re.IGNORECASE)
FENCE = re.compile(r'^```.*?^```', re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r'`[^`\n]*`')
LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)\)')
# configs/... and tools/... as paths, not as the tail of a longer path or URL
NAMED_PATH = re.compile(r'(?<![\w./$-])((?:configs|tools)/[\w./-]*)')
CHECKPOINT = re.compile(r'work_dirs/(\w+)/epoch_(\d+)\.pth')


def rel(path):
    return osp.relpath(path, REPO)


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def prose(text):
    """The text without code blocks and code spans (links are prose)."""
    return CODE_SPAN.sub('', FENCE.sub('', text))


def slug(heading):
    """GitHub's anchor for a markdown heading."""
    text = re.sub(r'[^\w\- ]', '', heading.strip().lower())
    return text.replace(' ', '-')


def anchors(path):
    return {slug(line.lstrip('#')) for line in FENCE.sub('', read(path)).splitlines()
            if line.startswith('#')}


def relative_links(path):
    for target in LINK.findall(prose(read(path))):
        if re.match(r'^[a-z][a-z0-9+.-]*:', target):  # http:, https:, mailto:
            continue
        yield target


@pytest.mark.parametrize('doc', ALL_DOCS, ids=rel)
def test_relative_links_resolve(doc):
    broken = []
    for target in relative_links(doc):
        file_part, _, anchor = target.partition('#')
        dest = osp.normpath(osp.join(osp.dirname(doc), file_part)) if file_part else doc
        if not osp.exists(dest):
            broken.append(f'{target} (no such file)')
        elif anchor and doc in USER_DOCS and dest.endswith('.md') and (
                dest in USER_DOCS or dest == CONTRIBUTING):
            if anchor not in anchors(dest):
                broken.append(f'{target} (no heading #{anchor} in {rel(dest)})')
    assert not broken, f'{rel(doc)}: broken links: {broken}'


@pytest.mark.parametrize('doc', USER_DOCS, ids=rel)
def test_named_configs_and_tools_exist(doc):
    missing = set()
    for path in NAMED_PATH.findall(read(doc)):
        path = path.rstrip('.')
        if not osp.exists(osp.join(REPO, path)):
            missing.add(path)
    assert not missing, f'{rel(doc)} names paths that do not exist: {sorted(missing)}'


@pytest.mark.parametrize('doc', USER_DOCS + [CONTRIBUTING], ids=rel)
def test_no_lab_notebook_marks(doc):
    """Dates, run and issue numbers belong to git history, not to the docs."""
    text = read(doc)
    assert not LAB_NOTEBOOK.findall(text), f'{rel(doc)}: dates, run or issue numbers'
    assert not SESSION_WORDS.findall(text), f'{rel(doc)}: "session" narrative'


def test_readme_is_short():
    size = osp.getsize(README)
    assert size <= README_MAX_BYTES, f'README.md is {size} bytes (at most {README_MAX_BYTES})'


def test_readme_links_every_docs_page_and_config_readme():
    links = {osp.normpath(osp.join(REPO, t.partition('#')[0]))
             for t in relative_links(README)}
    expected = DOCS + [CONTRIBUTING, osp.join(REPO, 'LICENSE')] + [
        p for p in CONFIG_READMES if osp.dirname(p) != osp.join(REPO, 'configs', 'studies')]
    assert not [rel(p) for p in expected if p not in links]


def test_model_zoo_table_lists_fast_recipes_first():
    text = read(README)
    zoo = text[text.index('## Model zoo'):]
    zoo = zoo[:zoo.index('\n## ', 1)]
    rows = [line for line in zoo.splitlines() if line.startswith('| `configs/')]
    assert rows and 'configs/fast/README.md' in rows[0]


def test_readme_commands_are_the_scripts():
    text = read(README)
    code = '\n'.join(FENCE.findall(text))
    for script in ('tools/quickstart.sh', 'tools/run_tests.sh'):
        assert re.search(rf'^bash {re.escape(script)}\b', code, re.MULTILINE), script
        body = read(osp.join(REPO, script))
        assert body.startswith('#!/usr/bin/env bash')
        assert 'bash tools/setup_env.sh' in body  # both set the environment up first
    # the quickstart's default config is the one the README names
    default = re.search(r'^CONFIG=(\S+)$', read(osp.join(REPO, 'tools/quickstart.sh')),
                        re.MULTILINE).group(1)
    assert osp.isfile(osp.join(REPO, default)) and default in text
    assert 'pytest' in read(osp.join(REPO, 'tools/run_tests.sh'))


def test_tta_example_uses_a_checkpoint_training_writes():
    examples = re.findall(r'tools/test.py (configs/\S+\.py) (\S+\.pth) --tta', read(README))
    assert examples, 'README has no tools/test.py ... --tta example'
    default = re.search(r'^CONFIG=(\S+)$', read(osp.join(REPO, 'tools/quickstart.sh')),
                        re.MULTILINE).group(1)
    assert default in [config for config, _ in examples]
    for config, checkpoint in examples:
        cfg = Config.fromfile(osp.join(REPO, config))
        assert cfg.get('tta_model'), f'{config} has no tta_model for --tta'
        assert checkpoint == (f'work_dirs/{osp.splitext(osp.basename(config))[0]}/'
                              f'epoch_{cfg.train_cfg.max_epochs}.pth')


@pytest.mark.parametrize('doc', USER_DOCS, ids=rel)
def test_checkpoint_names_match_their_configs(doc):
    """``configs/X.py ... work_dirs/X/epoch_N.pth`` on one line: N is X's last epoch."""
    for line in read(doc).splitlines():
        for name, epoch in CHECKPOINT.findall(line):
            configs = [p for p in NAMED_PATH.findall(line)
                       if osp.basename(p) == f'{name}.py']
            for config in configs:
                cfg = Config.fromfile(osp.join(REPO, config))
                assert int(epoch) == cfg.train_cfg.max_epochs, line


@pytest.mark.parametrize('folder', ['fast', 'tricks'])
def test_folder_readme_names_every_metafile_config(folder):
    readme = read(osp.join(REPO, 'configs', folder, 'README.md'))
    with open(osp.join(REPO, 'configs', folder, 'metafile.yml')) as f:
        meta = yaml.safe_load(f)
    for entry in meta['Models']:
        name = osp.basename(entry['Config'])
        assert name in readme, f'configs/{folder}/README.md does not name {name}'
        if folder == 'tricks':  # the tricks table links each config
            assert f'({name})' in readme
