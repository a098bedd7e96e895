"""What the study can run, by name, without importing torch: the registries' tables.

Each registry (``advtransfer.data.DATASETS``, ``models.ARCHITECTURES``, ``defences.DEFENCES``,
``attacks.ATTACKS``) imports the module of a name when the name is first used; the Snakefile checks
config names and computes code versions (``advtransfer.code``) from these tables alone.
"""

ATTACKS = {
    # paper 1's attacks (method §2)
    **{name: f"advtransfer.attacks.{name}" for name in ("fgm", "bim", "pgd", "deepfool", "newtonfool")},
    # beyond the papers: minimum-norm attacks and APGD-CE
    "fmn_l2": "advtransfer.attacks.fmn", "fmn_linf": "advtransfer.attacks.fmn",
    "ddn": "advtransfer.attacks.ddn", "apgd": "advtransfer.attacks.apgd",
    # paper 2's techniques with its line search (method §4); "lots" is the LOTS attack of Table 3
    **dict.fromkeys(("fgs", "fgv", "hc", "lots"), "advtransfer.attacks.line_search"),
}

DEFENCES = {
    "vanilla": "advtransfer.defences",
    **dict.fromkeys(("label_smoothing", "gaussian_augmentation", "adversarial_training"),
                    "advtransfer.defences.training_time"),
    **dict.fromkeys(("feature_squeezing", "spatial_smoothing", "thermometer_encoding"),
                    "advtransfer.defences.transforms"),
    "lots_at": "advtransfer.defences.lots_at",
    "adversarial_finetuning": "advtransfer.defences.adversarial_finetuning",
}

ARCHITECTURES = {
    "mlp": "advtransfer.models.mlp", "convnet": "advtransfer.models.convnet",
    "lenet_caffe": "advtransfer.models.lenet_caffe", "capsnet": "advtransfer.models.capsnet",
    **dict.fromkeys(("lenet", "vgg16", "allconv", "nin"), "advtransfer.models.cifar"),
    **dict.fromkeys(("resnet32", "wrn16_8"), "advtransfer.models.resnets"),
    **dict.fromkeys(("densenet100_12", "densenet_bc100_12"), "advtransfer.models.densenet"),
    **dict.fromkeys(("resnet50", "inception_v3"), "advtransfer.models.imagenet"),
}

DATASETS = {
    "digits": "advtransfer.data.sources", "mnist": "advtransfer.data.sources",
    "fashion_mnist": "advtransfer.data.sources", "cifar10": "advtransfer.data.cifar10",
    "subimagenet": "advtransfer.data.subimagenet",
}

# Classes and test-split size of each dataset (checked against the config before any job starts;
# None where the data decide: Sub-ImageNet's mapping file and image folders).
SPLIT_FACTS = {
    "digits": {"num_classes": 10, "test_size": 360},
    "mnist": {"num_classes": 10, "test_size": 10_000},
    "fashion_mnist": {"num_classes": 10, "test_size": 10_000},
    "cifar10": {"num_classes": 10, "test_size": 10_000},
    "subimagenet": {"num_classes": None, "test_size": None},
}

# Each dataset's images (channels, height, width) as a model gets them: an own model is checked on
# one input of this shape before any job (Sub-ImageNet's registered models may set their own size).
INPUT_SHAPES = {"digits": (1, 8, 8), "mnist": (1, 28, 28), "fashion_mnist": (1, 28, 28), "cifar10": (3, 32, 32),
                "subimagenet": (3, 224, 224)}


def modules(dataset: str | None = None, architecture: str | None = None, defence: str | None = None,
            attack: str | None = None) -> tuple[str, ...]:
    """The modules a job imports through the registries: its dataset's source, its model's
    architecture and defence, its attack (each optional)."""
    names = [DATASETS.get(dataset), ARCHITECTURES.get(architecture), DEFENCES.get(defence), ATTACKS.get(attack)]
    return tuple(m for m in names if m)


# Paper 2's techniques, in its order (method §4), and the columns of every attack's per-sample
# table (written by the attack jobs, read by the tables).
TECHNIQUES = ("FGS", "FGV", "HC", "LOTS")
SAMPLE_COLUMNS = ["index", "true_label", "clean_pred", "adv_pred", "success", "l2", "linf"]
