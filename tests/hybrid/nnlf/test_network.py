"""The float / quantisation-aware network: identity at the start, straight-through gradients,
calibration, its training hooks, and the whole path from pairs through ``codeclab train``
(float, then QAT from ``--init``) to an exported integer program."""

from __future__ import annotations

import json

import numpy as np
import torch

from codeclab.hybrid.nnlf.runtime import filter_planes
from codeclab.hybrid.nnlf.training.export import export
from codeclab.hybrid.nnlf.training.network import LoopFilterNet, fake_round, integer_program, nnlf
from codeclab.hybrid.nnlf.training.pairs import build_pairs
from codeclab.hybrid.nnlf.weights import load_program
from codeclab.learned.registry import build_model
from codeclab.train.config import TrainConfig
from codeclab.train.loop import train

from .conftest import as_batch

TINY = {"luma_channels": 4, "luma_layers": 3, "chroma_channels": 4, "chroma_layers": 3}


def _quiet(message: str) -> None:
    pass


def test_a_fresh_network_is_the_identity(coded_crop):
    _, recon, qp = coded_crop
    y, c, q = as_batch(recon, qp)
    out_y, out_c = LoopFilterNet()(y, c, q)
    assert torch.equal(out_y, y) and torch.equal(out_c, c)
    assert LoopFilterNet(luma_layers=4, chroma_layers=5).receptive_radius == 10
    assert LoopFilterNet(luma_layers=7, chroma_layers=2).receptive_radius == 14  # 2 luma samples a layer
    assert LoopFilterNet(luma_layers=7, chroma_layers=2, luma_half_res=False).receptive_radius == 8


def test_fake_rounding_passes_gradients_straight_through():
    x = torch.tensor([0.1, 0.26, -0.3], requires_grad=True)
    rounded = fake_round(x, 2)
    assert rounded.tolist() == [0.0, 0.25, -0.25]
    rounded.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]


def test_registered_for_codeclab_train():
    model = build_model("nnlf", luma_channels=8, luma_layers=3, qat=True)
    assert isinstance(model, LoopFilterNet) and model.qat and len(model.luma.convs) == 3


def test_training_loss_calibrates_a_qat_network_first(coded_crop):
    original, recon, qp = coded_crop
    model = nnlf(luma_channels=4, luma_layers=3, chroma_channels=4, chroma_layers=3, qat=True)
    to_tensor = lambda planes: (torch.from_numpy(planes[0].astype(np.uint8))[None, None],
                                torch.from_numpy(np.stack(planes[1:]).astype(np.uint8))[None])
    (ry, rc), (oy, oc) = to_tensor(recon), to_tensor(original)
    batch = {"recon_y": ry, "recon_c": rc, "orig_y": oy, "orig_c": oc, "qp": torch.tensor([qp]),
             "mask_y": torch.ones_like(ry), "mask_c": torch.ones_like(rc[:, :1])}
    parts = model.training_loss(model, batch)
    assert model.luma.calibrated and model.chroma.calibrated
    assert parts["mse"] == parts["mse_unfiltered"]  # the identity at the start
    parts["loss"].backward()
    assert model.luma.convs[-1].weight.grad.abs().sum() > 0


def test_relative_loss_weighs_each_window_by_its_own_unfiltered_error():
    torch.manual_seed(0)
    recon = torch.randint(60, 200, (2, 1, 16, 16), dtype=torch.uint8)
    noise = torch.stack([torch.full((1, 16, 16), 2), torch.full((1, 16, 16), 8)])  # QP 22-like, QP 37-like
    batch = {"recon_y": recon, "orig_y": (recon.int() + noise).to(torch.uint8),
             "recon_c": recon[:, :, ::2, ::2].expand(2, 2, 8, 8).contiguous(),
             "orig_c": (recon[:, :, ::2, ::2].int() + noise[:, :, ::2, ::2]).to(torch.uint8).expand(2, 2, 8, 8),
             "qp": torch.tensor([22, 37]), "mask_y": torch.ones(2, 1, 16, 16), "mask_c": torch.ones(2, 1, 8, 8)}
    for relative in (False, True):
        model = nnlf(**TINY, relative_loss=relative)
        with torch.no_grad():  # a filter that adds one to every luma sample: -1 on each error
            model.luma.convs[-1].bias.fill_(1 / 256)
        loss = model.training_loss(model, batch)["loss"].item()
        # Luma errors become 1 and 7 samples (were 2 and 8); chroma stays at 2 and 8.
        if relative:
            floor = 0.25
            expected = (1 / (4 + floor) + 49 / (64 + floor)) / 2 / 3 + 2 * (4 / (4 + floor) + 64 / (64 + floor)) / 2 / 3
            assert abs(loss - 3 * expected) < 1e-5
        else:
            assert abs(loss - ((1 + 49) / 2 + 2 * (4 + 64) / 2) / 256 ** 2) < 1e-9


def test_pairs_to_codeclab_train_to_integer_program(samples_dir, tmp_path, coded_crop):
    """The whole pipeline on the shipped 256x256 samples with a tiny network and few steps."""
    pairs = tmp_path / "pairs"
    build_pairs(samples_dir, pairs, crops_per_photo=1, size=64, qp_range=(30, 40), note=_quiet)
    common = dict(model="nnlf", data=str(pairs), crop=48, batch_size=2, lr=1e-3, log_every=1,
                  progress=False, model_args=TINY)
    float_run = train(TrainConfig(out=str(tmp_path / "float"), steps=3, **common), note=_quiet)
    qat_args = {**common, "model_args": {**TINY, "qat": True}}
    qat_run = train(TrainConfig(out=str(tmp_path / "qat"), steps=2, init=float_run["weights"], **qat_args),
                    note=_quiet)
    records = [json.loads(line) for line in (tmp_path / "qat" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2] and all("mse_unfiltered" in r for r in records)

    path, card = export(qat_run["weights"], tmp_path / "nnlf.safetensors")
    facts = json.loads(card.read_text())
    assert facts["parameters"] == sum(p.numel() for p in nnlf(**TINY).parameters())
    program = load_program(path)
    _, recon, qp = coded_crop
    assert all(p.dtype == np.int32 for p in filter_planes(program, *recon, qp))

    # The exported program is the QAT network's own: same integers as its forward pass.
    from codeclab.train.checkpoint import load_exported

    model = nnlf(**TINY, qat=True)
    model.load_state_dict(load_exported(qat_run["weights"])[0])
    assert all(torch.equal(a.weight, b.weight) for a, b in zip(integer_program(model).luma, program.luma))
