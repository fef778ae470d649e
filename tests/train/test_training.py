"""End-to-end training on the shipped sample crops with the tiny test codecs.

The loss falls; validation labels its rate real or estimated; a run killed by SIGKILL
resumes to the same step *and the same weights* as an unbroken run; and two processes
under torchrun (Gloo) train one model whose replicas stay identical.
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from codeclab.errors import InputError
from codeclab.learned.registry import build_model
from codeclab.train.checkpoint import list_checkpoints, load_checkpoint, load_exported
from codeclab.train.config import TrainConfig
from codeclab.train.loop import state_sha256, train
from codeclab.train.validation import to_uint8

REPO = Path(__file__).resolve().parents[2]


def _records(out: Path, kind: str = "train") -> list[dict]:
    lines = (out / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["kind"] == kind]


def _quiet(message: str) -> None:
    pass


def _config(samples_dir: Path, out: Path, **changes) -> TrainConfig:
    settings = dict(model="test-tiny", data=str(samples_dir), out=str(out), steps=10, crop=32, batch_size=4,
                    lr=3e-3, lmbda=0.01, log_every=1, ckpt_every=1000, progress=False, seed=1)
    return TrainConfig(**{**settings, **changes})


def test_a_short_run_lowers_the_loss_and_exports_its_weights(tiny_models, samples_dir, tmp_path):
    summary = train(_config(samples_dir, tmp_path, steps=80), note=_quiet)
    losses = [r["loss"] for r in _records(tmp_path)]
    assert [r["step"] for r in _records(tmp_path)] == list(range(1, 81))
    first, last = sum(losses[:20]) / 20, sum(losses[-20:]) / 20
    assert last < 0.6 * first, (first, last)

    # The last checkpoint is the step-80 state, readable with weights_only=True, and the
    # exported safetensors hold the same weights; the card says what made them.
    assert [s for s, _ in list_checkpoints(tmp_path / "checkpoints")] == [80]
    state = torch.load(tmp_path / "checkpoints" / "step_00000080.pt", weights_only=True)
    exported, header = load_exported(summary["weights"])
    assert exported.keys() == state["model"].keys()
    assert all(torch.equal(exported[k], state["model"][k]) for k in exported)
    assert header["codeclab.model"] == "test-tiny"
    card = json.loads(Path(summary["card"]).read_text())
    assert card["steps"] == 80 and card["pictures_seen"] == 320 and card["precision"] == "float32"
    assert card["data"]["train_pictures"] == 3 and card["config"]["lmbda"] == 0.01


def test_validation_of_a_model_without_a_coder_is_labelled_estimated(tiny_models, samples_dir, tmp_path):
    summary = train(_config(samples_dir, tmp_path, val_data=str(samples_dir), val_crop=64, val_every=5), note=_quiet)
    records = _records(tmp_path, "val")
    assert [r["step"] for r in records] == [5, 10]
    assert all(set(r) == {"step", "kind", "bpp_estimated", "psnr"} for r in records)
    assert summary["validation"]["val"]["bpp_estimated"] > 0


def test_validation_measures_real_bytes_through_the_models_coder(tiny_models, samples_dir, tmp_path):
    summary = train(_config(samples_dir, tmp_path, model="test-tiny-coded", val_data=str(samples_dir),
                            val_crop=64), note=_quiet)
    values = summary["validation"]["val"]
    assert set(values) == {"bpp_real", "psnr"}

    # The same numbers from the final weights, coded here by hand.
    model = build_model("test-tiny-coded")
    model.load_state_dict(load_checkpoint(tmp_path / "checkpoints" / "step_00000010.pt")["model"])
    model.eval()
    rates = []
    for path in sorted(samples_dir.glob("*.png")):
        from codeclab.io.image import read_image
        from codeclab.train.datasets import centre_crop, to_unit_float

        picture = centre_crop(read_image(path), 64)
        encoded = model.compress(to_unit_float(picture[None]))
        rates.append(8 * len(encoded["strings"][0][0]) / (64 * 64))
        x_hat = to_uint8(model.decompress(encoded["strings"], encoded["shape"])["x_hat"][0])
        assert x_hat.shape == picture.shape
    assert values["bpp_real"] == pytest.approx(sum(rates) / len(rates), rel=1e-12)

    # The aux loss had its own optimizer: the quantiles moved towards their target, 3.
    assert (model.quantiles > 0).all()


def test_a_real_rate_callable_overrides_the_estimate(tiny_models, samples_dir, tmp_path):
    def fixed_size(model, image):
        return 100, image  # 100 bytes, lossless

    summary = train(_config(samples_dir, tmp_path, steps=2, val_data=str(samples_dir), val_crop=64),
                    measure_real_rate=fixed_size, note=_quiet)
    assert summary["validation"]["val"] == {"bpp_real": 8 * 100 / (64 * 64), "psnr": math.inf}


def test_a_variable_rate_model_gets_one_lambda_per_picture(tiny_models, samples_dir, tmp_path):
    summary = train(_config(samples_dir, tmp_path, model="test-tiny-vr", lmbda=None, lambda_range=(0.002, 0.05),
                            val_data=str(samples_dir), val_crop=64), note=_quiet)
    assert set(summary["validation"]) == {"val_lambda_0.002", "val_lambda_0.01", "val_lambda_0.05"}
    rates = [summary["validation"][k]["bpp_estimated"] for k in ("val_lambda_0.002", "val_lambda_0.05")]
    assert rates[0] < rates[1]  # a larger lambda buys quality with rate, even untrained (the gain grows)


def _train_cli(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "codeclab", "train", *args]


def test_a_killed_run_resumes_to_the_weights_of_an_unbroken_run(train_args, subprocess_env, tmp_path):
    killed, straight = tmp_path / "killed", tmp_path / "straight"
    common = ("--steps", "30", "--ckpt-every", "5", "--keep-checkpoints", "2", "--log-every", "1")
    slow = dict(subprocess_env, CODECLAB_TEST_STEP_DELAY="0.1")  # 0.1 s a step: time to kill it mid-way
    victim = subprocess.Popen(_train_cli(train_args(killed, *common)), env=slow, cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    unbroken = subprocess.Popen(_train_cli(train_args(straight, *common)), env=subprocess_env, cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while not any(step >= 10 for step, _ in list_checkpoints(killed / "checkpoints")):
            assert victim.poll() is None, victim.stderr.read().decode()
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.02)
        victim.send_signal(signal.SIGKILL)
    finally:
        victim.kill()
        victim.wait()
    killed_at = list_checkpoints(killed / "checkpoints")[-1][0]
    assert 10 <= killed_at < 30

    # A half-written checkpoint from a later step, as a kill inside save_checkpoint leaves it:
    # the resumed run must neither use nor keep it.
    (killed / "checkpoints" / ".step_00000099.abcdef.tmp").write_bytes(b"PK\x03\x04 truncated")
    resumed = subprocess.run(_train_cli(train_args(killed, *common, "--resume")), env=subprocess_env, cwd=REPO,
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming {killed / 'checkpoints' / f'step_{killed_at:08d}.pt'} at step {killed_at}" in resumed.stderr
    assert unbroken.wait(timeout=120) == 0, unbroken.stderr.read().decode()[-3000:]

    files = sorted(p.name for p in (killed / "checkpoints").iterdir())
    assert files == ["step_00000025.pt", "step_00000030.pt"]  # no temporary, the newest two kept
    ends = [torch.load(out / "checkpoints" / "step_00000030.pt", weights_only=True) for out in (killed, straight)]
    assert ends[0]["step"] == ends[1]["step"] == 30
    for part in ("model", "optimizer"):
        flat = [torch.utils._pytree.tree_flatten(end[part])[0] for end in ends]
        assert len(flat[0]) == len(flat[1])
        for a, b in zip(*flat):
            assert torch.equal(a, b) if isinstance(a, torch.Tensor) else a == b
    # The log reads as one run, each step once, with the unbroken run's very losses.
    assert [(r["step"], r["loss"]) for r in _records(killed)] == [(r["step"], r["loss"]) for r in _records(straight)]


def test_two_processes_under_torchrun_train_one_model(tiny_models, train_args, subprocess_env, tmp_path):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "codeclab", "train", *train_args(tmp_path, "--steps", "6", "--ckpt-every", "100")]
    result = subprocess.run(command, env=subprocess_env, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]

    assert [s for s, _ in list_checkpoints(tmp_path / "checkpoints")] == [6]  # one writer, one checkpoint
    state = load_checkpoint(tmp_path / "checkpoints" / "step_00000006.pt")
    assert state["world_size"] == 2
    card = json.loads((tmp_path / "test-tiny.json").read_text())
    assert card["hardware"].startswith("2 x") and card["pictures_seen"] == 6 * 4 * 2
    # Both ranks hashed their own weights after training: identical, and equal to the checkpoint's.
    model = build_model("test-tiny")
    model.load_state_dict(state["model"])
    assert card["replica_sha256"] == [state_sha256(model)] * 2


def test_tensorboard_receives_the_scalars_and_reconstructions(tiny_models, samples_dir, tmp_path):
    pytest.importorskip("tensorboard", reason="TensorBoard logging is optional (pip install tensorboard)")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    train(_config(samples_dir, tmp_path, steps=4, log_every=2, val_data=str(samples_dir), val_crop=64,
                  tensorboard=True), note=_quiet)
    events = EventAccumulator(str(tmp_path / "tensorboard")).Reload()
    expected = {"train/loss", "train/bpp", "train/psnr", "train/lr", "val/bpp_estimated", "val/psnr"}
    assert expected <= set(events.Tags()["scalars"])
    assert [e.step for e in events.Scalars("train/loss")] == [2, 4]
    assert set(events.Tags()["images"]) == {"val/kodim05_crop256.png", "val/kodim15_crop256.png"}


def test_missing_tensorboard_is_a_clear_error_only_when_asked_for(tiny_models, samples_dir, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if not installed
    with pytest.raises(InputError, match="pip install tensorboard"):
        train(_config(samples_dir, tmp_path / "a", tensorboard=True), note=_quiet)
    assert not (tmp_path / "a").exists()  # refused before anything was written
    train(_config(samples_dir, tmp_path / "b", steps=1), note=_quiet)
