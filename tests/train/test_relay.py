"""The relay: a run stops at its deadline with a checkpoint and a loadable candidate, and a
fresh machine continues it from shipped weights at their step, on the same schedule."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest
import torch

from codeclab.learned.weights import load_pretrained
from codeclab.train.checkpoint import latest_checkpoint
from codeclab.train.cli import parse_deadline
from codeclab.train.datasets import RandomCropDataset, random_scaled_crop
from codeclab.train.loop import train
from codeclab.train.optim import learning_rate
from codeclab.train.relay import relay_config

SAMPLES = Path(__file__).resolve().parents[2] / "codeclab" / "data" / "training_samples"

#: The plan at toy size: same code path, a few seconds of CPU.
TINY = {"model_args": {"N": 8, "M": 8}, "crop": 64, "batch_size": 2, "warmup": 2, "schedule_steps": 40,
        "val_crop": None, "ckpt_every": 100, "val_every": 100, "log_every": 1}


def quiet(message: str) -> None:
    pass


def test_deadline_stops_with_checkpoint_and_candidate_then_a_fresh_machine_continues(tmp_path):
    torch.set_num_threads(1)
    first = relay_config(tmp_path / "a", data=[str(SAMPLES)], val_data="", weights=tmp_path / "none.safetensors", **TINY)
    assert first.init is None and first.init_step == 0
    # A deadline already past: the run stops after its first step, saving what it has.
    first = dataclasses.replace(first, deadline=time.time() - 1)
    summary = train(first, note=quiet)
    assert summary["step"] == 1
    assert latest_checkpoint(tmp_path / "a" / "checkpoints").name == "step_00000001.pt"
    [candidate] = sorted((tmp_path / "a" / "candidates").glob("step_*.safetensors"))
    card = json.loads(candidate.with_suffix(".json").read_text())
    assert card["steps"] == 1 and [(h["from_step"], h["to_step"]) for h in card["history"]] == [(0, 1)]
    model = load_pretrained(candidate)  # float16 parameters, integer tables: a working codec model
    assert model.N == 8 and all(m.cdf_freqs.numel() for m in model.modules() if hasattr(m, "cdf_freqs"))

    # The same machine resumes from its checkpoint (not from weights).
    again = relay_config(tmp_path / "a", data=[str(SAMPLES)], val_data="", weights=candidate, **TINY)
    assert again.init is None

    # A fresh machine has no checkpoint: it starts from the shipped weights at their step.
    second = relay_config(tmp_path / "b", data=[str(SAMPLES)], val_data="", weights=candidate, **TINY)
    assert second.init == str(candidate) and second.init_step == 1
    second = dataclasses.replace(second, steps=3)
    summary = train(second, note=quiet)
    assert summary["step"] == 3
    card = json.loads(Path(summary["card"]).read_text())
    assert [(h["from_step"], h["to_step"]) for h in card["history"]] == [(0, 1), (1, 3)]
    assert card["schedule_steps"] == 40
    records = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    train_records = [r for r in records if r.get("kind", "train") == "train" and "lr" in r]
    assert [r["step"] for r in train_records] == [2, 3]
    # The schedule continues: step 2's rate is the plan's rate at step index 1, not a fresh warmup's first.
    assert train_records[0]["lr"] == pytest.approx(learning_rate(1, second))
    assert learning_rate(1, second) == pytest.approx(second.lr)


def test_weights_of_another_plan_are_not_continued(tmp_path):
    other = relay_config(tmp_path / "a", data=[str(SAMPLES)], val_data="", weights=tmp_path / "none.safetensors", **TINY)
    other = dataclasses.replace(other, deadline=time.time() - 1)
    train(other, note=quiet)
    [candidate] = sorted((tmp_path / "a" / "candidates").glob("step_*.safetensors"))
    resized = relay_config(tmp_path / "b", data=[str(SAMPLES)], val_data="", weights=candidate, **{**TINY, "model_args": {"N": 8, "M": 16}})
    assert resized.init is None and resized.init_step == 0


def test_scaled_crops_show_the_picture_smaller():
    image = torch.arange(256, dtype=torch.uint8).repeat(3, 256, 1)  # a ramp 0..255 along the width
    generator = torch.Generator().manual_seed(0)
    crop = random_scaled_crop(image, 64, (0.5, 0.5), generator)
    assert crop.shape == (3, 64, 64) and crop.dtype == torch.uint8
    step = (crop[0, 0, 1:].float() - crop[0, 0, :-1].float()).abs().mean()
    assert 1.8 < step < 2.2  # a window of 128 samples squeezed into 64: the ramp climbs twice as fast


def test_several_folders_form_one_set(tmp_path):
    one = RandomCropDataset(SAMPLES, 64, 0, note=quiet)
    both = RandomCropDataset([SAMPLES, SAMPLES], 64, 0, scale_range=(0.5, 1.0), note=quiet)
    assert len(both.paths) == 2 * len(one.paths)
    assert both[5].shape == (3, 64, 64)


def test_deadlines_parse_as_clock_times_and_durations():
    now = time.mktime((2026, 12, 7, 10, 0, 0, 0, 0, -1))
    assert parse_deadline("90m", now) == now + 5400
    assert parse_deadline("2h30m", now) == now + 9000
    assert parse_deadline("10:30", now) == now + 1800
    assert parse_deadline("09:30", now) == now + 23.5 * 3600  # already past today: tomorrow
    for bad in ("", "25:00", "soon", "10m5h"):
        with pytest.raises(Exception, match="until"):
            parse_deadline(bad, now)


def test_candidates_rank_by_bd_rate_then_by_bd_psnr():
    from codeclab.train.candidates import bd_against, rank

    jpeg = {"bpp": [0.3, 0.6, 1.2, 2.4], "psnr": [26.0, 29.0, 32.0, 35.0]}
    early = {"bpp": [0.2, 0.5, 1.0], "psnr": [20.0, 22.0, 24.0]}  # below JPEG's PSNR range
    rate, psnr = bd_against(jpeg, early)
    assert rate is None and psnr < -5
    good = {"bpp": [0.225, 0.45, 0.9, 1.8], "psnr": [26.0, 29.0, 32.0, 35.0]}  # 25% fewer bits
    rate, psnr = bd_against(jpeg, good)
    assert rate == pytest.approx(-25.0, abs=0.5) and psnr > 0
    scores = [{"bd_rate_vs_jpeg": None, "bd_psnr_vs_jpeg": -8.0}, {"bd_rate_vs_jpeg": -25.0, "bd_psnr_vs_jpeg": 1.5},
              {"bd_rate_vs_jpeg": None, "bd_psnr_vs_jpeg": -3.0}]
    assert [s["bd_psnr_vs_jpeg"] for s in sorted(scores, key=rank)] == [1.5, -3.0, -8.0]


@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="this kernel has no scheduler autogroups")
def test_the_relay_session_yields_to_the_foreground():
    import subprocess
    import sys

    from codeclab.train.relay import lower_session_priority

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    try:
        assert lower_session_priority(child.pid)
        assert Path(f"/proc/{child.pid}/autogroup").read_text().split()[-1] == "19"
    finally:
        child.kill()
        child.wait()
    assert not lower_session_priority(2 ** 22 + 1)  # no such process: False, no exception
