"""What an edit re-runs (README, "What re-runs after an edit"), on a small digits study with attacks.

test_workflow.py checks a learning-rate edit on Fashion-MNIST; these are the other rows of the table.
Code edits are made in a copy of the workflow and the package; the study is run from that copy.
"""

import contextlib
import copy
from collections import Counter

import pytest

from workflow_helpers import copy_project, digits_config, planned_jobs, snakemake, write_config

pytestmark = pytest.mark.workflow

ARCHITECTURES, EXCLUDED = ("mlp", "convnet"), [0]
ATTACKS = {"n_attack": 20, "batch_size": 20, "run": ["fgm", "bim"],
           "params": {"fgm": {"eps": 76.5, "eps_step": 2.55}, "bim": {"eps": 76.5, "eps_step": 2.55, "max_iter": 3}}}
# Jobs of the study per stage (vanilla only): a standard classifier and one per excluded class, soft-labels
# and metrics per excluded class, each attack, figures, per architecture.
TRAIN, PER_CLASS = len(ARCHITECTURES) * (1 + len(EXCLUDED)), len(ARCHITECTURES) * len(EXCLUDED)
ONE_ATTACK, ATTACK, FIGURES = len(ARCHITECTURES), len(ARCHITECTURES) * len(ATTACKS["run"]), len(ARCHITECTURES)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The complete small study; each test plans a run after one edit (dry run, nothing changes)."""
    workdir = tmp_path_factory.mktemp("reruns")
    snakefile = copy_project(tmp_path_factory.mktemp("project"))
    config = digits_config(workdir / "data", ARCHITECTURES, excluded=EXCLUDED, attacks=ATTACKS)
    snakemake(workdir, write_config(workdir, config), snakefile=snakefile)
    return workdir, config, snakefile


def plan(study, edit=None, *args):
    """(rule, wildcards) of every job a run would do after ``edit(config)``."""
    workdir, config, snakefile = study
    config = copy.deepcopy(config)
    if edit:
        edit(config)
    configfile = write_config(workdir, config, "edited.yaml")
    return planned_jobs(snakemake(workdir, configfile, "-n", *args, snakefile=snakefile).stdout)


@contextlib.contextmanager
def edited(study, module: str, old: str | None, new: str):
    """Replace ``old`` by ``new`` in the copy's ``src/advtransfer/<module>`` (append ``new`` when ``old``
    is None) while the block runs."""
    path = study[2].parents[1] / "src" / "advtransfer" / module
    source = path.read_text()
    assert old is None or old in source
    path.write_text(source + new if old is None else source.replace(old, new, 1))
    try:
        yield
    finally:
        path.write_text(source)


def rules(jobs):
    return Counter(rule for rule, _ in jobs)


# After a change to the attack tables, the report's pages of those tables, paper 1's claims (on
# Table 3) and the study summary (which runs last) follow.
ATTACK_REPORT = {"html_attacks_per_class": 1, "html_table3": 1, "paper1_claims": 1, "study_summary": 1}


def test_no_edit_runs_nothing(study):
    assert plan(study) == []


def test_more_gpus_or_cores_run_nothing(study):
    assert plan(study, None, "--resources", "gpu=2", "--cores", "1") == []


def test_an_attack_parameter_reruns_that_attack_and_its_tables_only(study):
    def edit(config):
        config["datasets"]["digits"]["attacks"]["params"]["fgm"]["eps"] = 51.0

    jobs = plan(study, edit)
    assert rules(jobs) == {"attack": ONE_ATTACK, "attacks_per_class": 1, "table3": 1, "correlation_figures": 1,
                           **ATTACK_REPORT, "all": 1}
    assert {w["attack"] for rule, w in jobs if rule == "attack"} == {"fgm"}


def test_a_figure_setting_reruns_the_figures_only(study):
    def edit(config):
        config["figures"]["isomap_max_points"] = 40

    assert rules(plan(study, edit)) == {"zero_shot_figures": FIGURES, "study_summary": 1, "all": 1}


def test_another_seed_reruns_all_training_and_what_follows(study):
    def edit(config):
        config["seeds"] = [1]

    counts = rules(plan(study, edit))
    assert counts["train"] == TRAIN
    assert counts["soft_labels"] == counts["metrics"] == PER_CLASS and counts["attack"] == ATTACK


def test_adding_a_seed_runs_only_that_seeds_jobs(study):
    def edit(config):
        config["seeds"] = [0, 1]

    jobs = plan(study, edit)
    per_model = [(rule, w) for rule, w in jobs if "seed" in w]
    assert {w["seed"] for _, w in per_model} == {"1"}
    counts = rules(per_model)
    assert counts["train"] == TRAIN
    assert counts["soft_labels"] == counts["metrics"] == PER_CLASS and counts["attack"] == ATTACK


def test_training_on_two_devices_retrains_that_architecture(study):
    def edit(config):
        config["datasets"]["digits"]["architectures"]["convnet"]["train"]["devices"] = 2

    jobs = plan(study, edit)
    assert {(w["architecture"], w["excluded"]) for rule, w in jobs if rule == "train"} == {
        ("convnet", "none"), ("convnet", "0")}
    assert all(w.get("architecture", "convnet") == "convnet" for _, w in jobs)


def test_a_docstring_or_comment_edit_reruns_nothing(study):
    with edited(study, "training.py", '"""Training of', '"""Training, edited, of'), \
            edited(study, "attacks/fgm.py", None, "\n# a comment\n"):
        assert plan(study) == []


def test_a_figure_code_edit_reruns_the_figure_jobs_only(study):
    with edited(study, "figures.py", None, "\nFIGURE_EDIT = 1\n"):
        counts = rules(plan(study))
    assert counts["zero_shot_figures"] == FIGURES
    figure_jobs = {"zero_shot_figures", "correlation_figures", "defence_figures", "lots_figure", "training_curves",
                   "table1_figure"}
    assert set(counts) <= figure_jobs | {"study_summary", "all"}, counts


def test_an_attack_module_edit_reruns_that_attack_and_what_follows(study):
    with edited(study, "attacks/fgm.py", None, "\nATTACK_EDIT = 1\n"):
        jobs = plan(study)
    assert rules(jobs) == {"attack": ONE_ATTACK, "attacks_per_class": 1, "table3": 1, "correlation_figures": 1,
                           **ATTACK_REPORT, "all": 1}
    assert {w["attack"] for rule, w in jobs if rule == "attack"} == {"fgm"}


def test_a_training_code_edit_reruns_training_and_everything_downstream(study):
    with edited(study, "training.py", None, "\nTRAINING_EDIT = 1\n"):
        counts = rules(plan(study))
    assert counts["train"] == TRAIN
    assert counts["soft_labels"] == counts["metrics"] == PER_CLASS and counts["attack"] == ATTACK
    assert counts["aggregate"] == counts["table3"] == 1 and counts["zero_shot_figures"] == FIGURES
