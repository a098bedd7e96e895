# Raw Zero-Shot and LOTS: the study as a Snakemake workflow.
# Run:  snakemake --cores N            (the default profile in workflow/profiles/default applies)
#       snakemake --configfile config/fashion_mnist.yaml --cores N   (a preset instead of config.yaml)

if "datasets" not in config:

    configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/zero_shot.smk"
include: "workflow/rules/defences.smk"
include: "workflow/rules/attacks.smk"
include: "workflow/rules/lots.smk"


rule all:
    default_target: True
    input:
        zero_shot_targets(),
        defence_targets(),
        attack_targets(),
        lots_targets(),
