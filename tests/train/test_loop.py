"""The loop's small pure parts: schedule, lambdas, precision, parameter groups, settings."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from torch import nn

from codeclab.errors import InputError
from codeclab.train.config import TrainConfig
from codeclab.train.loop import check_config, check_resumable
from codeclab.train.optim import (autocast_dtype, aux_parameters, learning_rate, parameter_groups,
                                  training_lambdas, validation_lambdas)

BASE = TrainConfig(model="m", data="d", out="o", steps=1000, lr=1e-3)


def test_warmup_then_cosine_reaches_the_final_ratio():
    config = dataclasses.replace(BASE, warmup=100, final_lr_ratio=0.01)
    assert learning_rate(0, config) == pytest.approx(1e-5)
    assert learning_rate(99, config) == pytest.approx(1e-3)
    assert learning_rate(100, config) == pytest.approx(1e-3)
    assert learning_rate(550, config) == pytest.approx(1e-3 * (0.01 + 0.99 * 0.5))  # half way: the mean
    assert learning_rate(1000, config) == pytest.approx(1e-5)
    lrs = [learning_rate(s, config) for s in range(100, 1000)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


def test_step_and_constant_schedules():
    config = dataclasses.replace(BASE, schedule="step", decay_at=(0.5, 0.9))
    assert [learning_rate(s, config) for s in (0, 499, 500, 899, 900)] == pytest.approx([1e-3, 1e-3, 1e-4, 1e-4, 1e-5])
    assert learning_rate(999, dataclasses.replace(BASE, schedule="constant")) == 1e-3


def test_variable_rate_lambdas_are_log_uniform_per_picture_and_fixed_by_step_and_rank():
    config = dataclasses.replace(BASE, lmbda=None, lambda_range=(0.001, 0.1), batch_size=4000)
    lambdas = training_lambdas(config, step=3, rank=0)
    assert lambdas.shape == (4000,) and lambdas.min() >= 0.001 and lambdas.max() <= 0.1
    decades = torch.histc(torch.log10(lambdas), bins=2, min=-3, max=-1)  # [1e-3, 1e-2), [1e-2, 1e-1]
    assert abs(decades[0] - decades[1]) < 250  # log-uniform: each decade holds half
    assert torch.equal(lambdas, training_lambdas(config, step=3, rank=0))
    assert not torch.equal(lambdas, training_lambdas(config, step=3, rank=1))
    assert not torch.equal(lambdas, training_lambdas(config, step=4, rank=0))
    assert validation_lambdas(config) == pytest.approx([0.001, 0.01, 0.1])
    assert torch.equal(training_lambdas(dataclasses.replace(BASE, batch_size=2), 0, 0), torch.tensor([0.013, 0.013]))


def test_mixed_precision_only_on_a_gpu():
    cpu = torch.device("cpu")
    assert autocast_dtype("auto", cpu) is None and autocast_dtype("off", cpu) is None
    with pytest.raises(InputError, match="needs a CUDA device"):
        autocast_dtype("bf16", cpu)


class _WithQuantiles(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.density = nn.Parameter(torch.zeros(4, 3, 3))
        self.quantiles = nn.Parameter(torch.zeros(4, 1, 3))

    def aux_loss(self):
        return self.quantiles.sum()


def test_weight_decay_hits_only_conv_weights_and_aux_parameters_are_set_apart():
    model = _WithQuantiles()
    aux = aux_parameters(model)
    assert len(aux) == 1 and aux[0] is model.quantiles
    decayed, plain = parameter_groups(model, 0.1, aux)
    assert [id(p) for p in decayed["params"]] == [id(model.conv.weight)] and decayed["weight_decay"] == 0.1
    assert {id(p) for p in plain["params"]} == {id(model.conv.bias), id(model.density)}
    assert plain["weight_decay"] == 0.0
    assert aux_parameters(nn.Conv2d(3, 4, 3)) == []


@pytest.mark.parametrize("change, message", [
    ({"steps": 0}, "steps must be at least 1"),
    ({"lr": 0.0}, "learning rates must be positive"),
    ({"seed": -1}, "seed must not be negative"),
    ({"metric": "psnr"}, "metric must be one of mse, ms-ssim"),
    ({"lmbda": None}, "exactly one of --lambda and --lambda-range"),
    ({"lmbda": None, "lambda_range": (0.1, 0.01)}, "0 < low < high"),
    ({"metric": "ms-ssim", "crop": 128}, "needs --crop of at least 161"),
    ({"decay_at": (1.5,)}, "decay_at fractions in"),
])
def test_settings_that_cannot_train_are_refused(change, message):
    with pytest.raises(InputError, match=message):
        check_config(dataclasses.replace(BASE, **change))


def test_a_checkpoint_resumes_only_its_own_run():
    saved = BASE.as_dict()
    check_resumable(saved, dataclasses.replace(BASE, steps=5000, val_every=10))  # may change
    with pytest.raises(InputError, match=r"cannot resume: .*crop 256 -> 128"):
        check_resumable(saved, dataclasses.replace(BASE, crop=128))
    assert math.isclose(saved["lmbda"], 0.013) and saved["decay_at"] == [0.9]
