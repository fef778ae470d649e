"""Atomic checkpoints, weights-only loading, and the safetensors export."""

from __future__ import annotations

import json

import pytest
import torch

from codeclab.errors import InputError
from codeclab.train.checkpoint import (export_weights, latest_checkpoint, list_checkpoints, load_checkpoint,
                                       load_exported, remove_stale_temporaries, save_checkpoint)


def _state(step: int) -> dict:
    return {"model": {"w": torch.full((2, 2), float(step))}, "optimizer": {"state": {}, "param_groups": []},
            "step": step, "config": {"lr": 1e-4, "decay_at": [0.9], "val_data": None}}


def test_the_newest_checkpoints_are_kept_and_load_with_weights_only(tmp_path):
    for step in (10, 20, 30, 40):
        save_checkpoint(tmp_path, step, _state(step), keep=2)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [30, 40]
    assert latest_checkpoint(tmp_path) == tmp_path / "step_00000040.pt"
    state = torch.load(latest_checkpoint(tmp_path), weights_only=True)
    assert state["step"] == 40 and torch.equal(state["model"]["w"], torch.full((2, 2), 40.0))
    assert load_checkpoint(tmp_path / "step_00000030.pt")["config"] == _state(30)["config"]
    assert latest_checkpoint(tmp_path / "missing") is None


def test_a_failure_while_saving_leaves_the_previous_checkpoints_and_no_temporary(tmp_path, monkeypatch):
    save_checkpoint(tmp_path, 10, _state(10))

    def dies_half_way(obj, f):
        f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt  # as a Ctrl-C in the middle of the write

    monkeypatch.setattr(torch, "save", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path, 20, _state(20))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step_00000010.pt"]


def test_a_killed_writers_temporary_is_never_read_and_is_removed(tmp_path):
    save_checkpoint(tmp_path, 10, _state(10))
    stale = tmp_path / ".step_00000020.x1y2z3.tmp"  # what SIGKILL inside save_checkpoint leaves
    stale.write_bytes(b"PK\x03\x04 truncated")
    assert latest_checkpoint(tmp_path) == tmp_path / "step_00000010.pt"
    assert remove_stale_temporaries(tmp_path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step_00000010.pt"]


def test_damaged_or_foreign_files_are_input_errors(tmp_path):
    save_checkpoint(tmp_path, 10, _state(10))
    good = (tmp_path / "step_00000010.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(good[: len(good) // 2])
    with pytest.raises(InputError, match="cut.pt is damaged"):
        load_checkpoint(tmp_path / "cut.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(InputError, match="not a CodecLab training checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(InputError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


def test_exported_weights_round_trip_with_their_model_card(tmp_path):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    model[1].weight = model[0].bias  # shared storage, which safetensors refuses unless copied
    card = {"model": "tiny", "model_args": {"N": 4}, "steps": 5, "hardware": "CPU"}
    weights, card_path = export_weights(model.state_dict(), tmp_path / "tiny.safetensors", card)
    tensors, header = load_exported(weights)
    assert tensors.keys() == model.state_dict().keys()
    assert all(torch.equal(tensors[k], v) for k, v in model.state_dict().items())
    assert header["codeclab.model"] == "tiny" and json.loads(header["codeclab.model_args"]) == {"N": 4}
    assert json.loads(card_path.read_text()) == card and card_path.name == "tiny.json"
    (tmp_path / "bad.safetensors").write_bytes(b"\x00" * 10)
    with pytest.raises(InputError, match="cannot read weights"):
        load_exported(tmp_path / "bad.safetensors")
