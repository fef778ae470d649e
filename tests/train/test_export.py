"""Exporting a checkpoint as shipped weights: rounded storage, consistent tables, a card."""

from __future__ import annotations

import json

import torch

from codeclab.io.image import read_image
from codeclab.learned.codec import Factorized
from codeclab.learned.registry import build_model
from codeclab.cli import main as codeclab
from codeclab.learned.weights import load_pretrained
from codeclab.train.config import TrainConfig
from codeclab.train.loop import load_initial_weights, train


def _quiet(message: str) -> None:
    pass


def test_a_checkpoint_exports_to_half_precision_weights_that_code(samples_dir, sample_image_path, tmp_path):
    config = TrainConfig(model="factorized", model_args={"N": 8, "M": 12}, data=str(samples_dir),
                         out=str(tmp_path / "run"), steps=4, crop=32, batch_size=2, lr=1e-3,
                         lmbda=None, lambda_range=(0.0018, 0.18), ckpt_every=2, progress=False, seed=3,
                         command="codeclab train --model factorized ...")
    train(config, note=_quiet)
    scores = tmp_path / "scores.json"
    scores.write_text(json.dumps({"kodak_bd_rate_vs_jpeg": -1.0}))
    assert codeclab(["export", "weights", str(tmp_path / "run"), "--name", "tiny", "--out", str(tmp_path / "w"),
                     "--hardware", "test machine", "--scores", str(scores)]) == 0
    # Refuses to overwrite without --force.
    assert codeclab(["export", "weights", str(tmp_path / "run"), "--name", "tiny", "--out", str(tmp_path / "w")]) == 2

    card = json.loads((tmp_path / "w" / "tiny.json").read_text())
    assert card["model"] == "factorized" and card["steps"] == 4 and card["pictures_seen"] == 8
    assert card["storage_dtype"] == "torch.float16" and card["hardware"] == "test machine"
    assert card["scores"] == {"kodak_bd_rate_vs_jpeg": -1.0}

    model = load_pretrained(tmp_path / "w" / "tiny.safetensors")
    stored = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    # The tables in the file are those the loaded (rounded) parameters build.
    model.update()
    assert all(torch.equal(stored[name], tensor) for name, tensor in model.state_dict().items())

    # A later run trains on from the shipped file (codeclab train --init): the stored
    # half-precision parameters, widened, and the tables.
    fresh = build_model("factorized", N=8, M=12)
    load_initial_weights(fresh, str(tmp_path / "w" / "tiny.safetensors"))
    assert all(torch.equal(fresh.state_dict()[name], tensor) for name, tensor in stored.items())

    image = read_image(sample_image_path)[:, :64, :64].contiguous()
    codec = Factorized(weights=tmp_path / "w" / "tiny.safetensors")
    encoded = codec.encode_image(image, 4.0)
    decoder = Factorized(weights=tmp_path / "w" / "tiny.safetensors")
    decoded = decoder.decode_image(codec.image_header(image), encoded.params, encoded.payload)
    assert torch.equal(decoded, encoded.recon)
