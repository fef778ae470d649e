"""``codeclab train`` options: parsing, one-line errors, never clobbering a run."""

from __future__ import annotations

import argparse

import pytest

from codeclab.errors import InputError
from codeclab.train.checkpoint import list_checkpoints
from codeclab.cli import main as codeclab
from codeclab.train.cli import add_train_arguments, config_from_args, parse_model_args, train_main


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    return parser.parse_args(argv)


def test_model_args_are_json_or_key_value_words():
    assert parse_model_args(['{"N": 64, "act": "gdn"}']) == {"N": 64, "act": "gdn"}
    assert parse_model_args(["N=64", "scale=0.5", "act=relu", "sizes=[1,2]", "flag=true"]) == \
        {"N": 64, "scale": 0.5, "act": "relu", "sizes": [1, 2], "flag": True}
    for bad in (["{not json"], ["[1, 2]"], ["N"], ["1N=3"]):
        with pytest.raises(InputError, match="--model-args"):
            parse_model_args(bad)


def test_options_become_a_config_with_the_metrics_default_lambda(tiny_models, train_args, tmp_path):
    config = config_from_args(_parse(["--model", "m", "--data", "d", "--out", "o", "--steps", "5"]))
    assert config.lmbda == 0.0130 and config.lambda_range is None and config.batch_size == 8
    ms_ssim = config_from_args(_parse(["--model", "m", "--data", "d", "--out", "o", "--steps", "5",
                                       "--metric", "ms-ssim"]))
    assert ms_ssim.lmbda == 16.64
    ranged = config_from_args(_parse(["--model", "m", "--data", "d", "--out", "o", "--steps", "5",
                                      "--lambda-range", "0.002", "0.05", "--model-args", "N=3"]))
    assert ranged.lmbda is None and ranged.lambda_range == (0.002, 0.05) and ranged.model_args == {"N": 3}
    with pytest.raises(InputError, match="not both"):
        config_from_args(_parse(["--model", "m", "--data", "d", "--out", "o", "--steps", "5",
                                 "--lambda", "0.1", "--lambda-range", "0.01", "0.1"]))


def test_bad_runs_fail_in_one_line_before_training(tiny_models, train_args, tmp_path, capsys):
    assert codeclab(["train", *train_args(tmp_path / "a", "--steps", "2", "--batch-size", "0")]) == 2
    assert capsys.readouterr().err.strip() == "codeclab: error: batch_size must be at least 1, got 0"
    with pytest.raises(InputError, match="unknown model 'nope'"):
        train_main(_parse(train_args(tmp_path / "a", "--steps", "2") + ["--model", "nope"]))
    with pytest.raises(InputError, match="has one rate"):
        train_main(_parse([a for a in train_args(tmp_path / "a", "--steps", "2") if a not in ("--lambda", "0.01")]
                          + ["--lambda-range", "0.01", "0.1"]))


def test_a_finished_run_is_never_overwritten_without_resume(tiny_models, train_args, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_main(_parse(train_args(out, "--steps", "2"))) == 0
    assert "trained test-tiny to step 2" in capsys.readouterr().out
    with pytest.raises(InputError, match="already holds checkpoints .*pass --resume"):
        train_main(_parse(train_args(out, "--steps", "4")))
    assert train_main(_parse(train_args(out, "--steps", "4", "--resume"))) == 0
    assert "to step 4" in capsys.readouterr().out
    (out / "test-tiny.safetensors").unlink()  # as if killed between the last checkpoint and the export
    assert train_main(_parse(train_args(out, "--steps", "4", "--resume"))) == 0  # nothing left to train
    assert (out / "test-tiny.safetensors").exists()
    assert [step for step, _ in list_checkpoints(out / "checkpoints")] == [2, 4]
