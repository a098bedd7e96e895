"""Training on several devices (a recipe's ``devices``): Lightning DDP, each process on its share of the data."""

import pandas as pd
import pytest
import torch

from advtransfer.data import ImageSplits
from workflow_helpers import digits_config, snakemake, write_config


def test_a_shuffled_pass_is_split_equally_between_processes():
    x, y = torch.zeros(105, 1, 2, 2, dtype=torch.uint8), torch.arange(105)
    splits = ImageSplits(x, y, x, y, [str(i) for i in range(105)])
    for epoch in (0, 1):
        shares = []
        for rank in (0, 1):
            loader = splits.train_loader(None, batch_size=10, seed=3, rank=rank, world_size=2)
            loader.sampler.set_epoch(epoch)
            labels = [b[1] for b in loader]
            assert len(labels) == len(loader) == 6  # 52 samples each (one left out), in batches of 10
            shares.append(torch.cat(labels))
        assert len(shares[0]) == len(shares[1]) == 52
        assert not set(shares[0].tolist()) & set(shares[1].tolist())
        if epoch == 0:
            first = shares[0]
    assert not torch.equal(first, shares[0])  # every epoch is shuffled again, then shared out
    test = splits.test_loader(None, batch_size=10)  # evaluation is not split: every process sees it all
    assert len(torch.cat([b[1] for b in test])) == 105


@pytest.mark.workflow
def test_a_recipe_with_two_devices_trains_with_ddp(tmp_path):
    recipe = {"epochs": 2, "batch_size": 50, "devices": 2}
    config = digits_config(tmp_path / "data", excluded=[0], recipe=recipe, train_limit=400)
    configfile = write_config(tmp_path, config)
    model = "results/models/digits/mlp/vanilla/seed0/none"
    snakemake(tmp_path, configfile, f"{model}/model.pt")

    log = (tmp_path / "logs/train/digits/mlp/vanilla/seed0/none.log").read_text()
    assert "MEMBER: 1/2" in log and "MEMBER: 2/2" in log  # two processes (on the CPU here)
    assert list(pd.read_csv(tmp_path / model / "history.csv")["epoch"]) == [1, 2]
    # each process takes 200 of the 400 images: 4 steps of 50 per epoch, not 8
    ckpt = torch.load(tmp_path / model / "checkpoints/last.ckpt", map_location="cpu", weights_only=True)
    assert ckpt["global_step"] == 2 * 4
    assert torch.load(tmp_path / model / "model.pt", weights_only=True)["state_dict"]
