"""Gain units: ladder positions, geometric interpolation, the initial ordering of rates."""

from __future__ import annotations

import math

import pytest
import torch

from codeclab.learned.gain import DEFAULT_LAMBDAS, GainUnits, interpolate, ladder_position, lambda_at


def test_positions_on_and_between_the_ladder():
    ladder = torch.tensor(DEFAULT_LAMBDAS, dtype=torch.float64)
    assert torch.allclose(ladder_position(ladder, ladder), torch.arange(8.0), atol=1e-6)
    middle = math.sqrt(DEFAULT_LAMBDAS[2] * DEFAULT_LAMBDAS[3])  # geometric mean: halfway
    assert ladder_position(torch.tensor(middle), ladder).item() == pytest.approx(2.5, abs=1e-6)
    ends = ladder_position(torch.tensor([1e-6, 10.0]), ladder)
    assert ends.tolist() == [0.0, 7.0]  # clamped, never extrapolated


def test_lambda_at_inverts_the_position():
    for t in (0.0, 0.37, 3.5, 6.99, 7.0):
        lmbda = lambda_at(t, DEFAULT_LAMBDAS)
        ladder = torch.tensor(DEFAULT_LAMBDAS, dtype=torch.float64)
        assert ladder_position(torch.tensor(lmbda), ladder).item() == pytest.approx(t, abs=1e-5)


def test_interpolation_is_geometric():
    logs = torch.log(torch.tensor([[1.0, 4.0], [4.0, 1.0], [16.0, 2.0]]))
    g = interpolate(logs, torch.tensor([0.5, 1.0, 2.0]))[:, :, 0, 0]
    assert torch.allclose(g, torch.tensor([[2.0, 2.0], [4.0, 1.0], [16.0, 2.0]]))


def test_initial_gains_order_the_rates_and_invert_each_other():
    units = GainUnits(3)
    gain, inverse = units(torch.tensor(DEFAULT_LAMBDAS))
    assert (gain[1:] > gain[:-1]).all()  # more lambda, finer quantization
    assert torch.allclose(gain * inverse, torch.ones_like(gain))
    assert gain[0, 0].item() == pytest.approx(math.sqrt(DEFAULT_LAMBDAS[0] / math.sqrt(0.0018 * 0.18)), rel=1e-5)


def test_gains_learn_from_the_rate_loss():
    units = GainUnits(2)
    gain, inverse = units(torch.tensor([0.005, 0.05]))
    (gain.sum() + inverse.sum()).backward()
    assert units.log_gain.grad.abs().sum() > 0 and units.log_inverse_gain.grad.abs().sum() > 0


def test_a_ladder_must_increase():
    with pytest.raises(ValueError, match="increasing"):
        GainUnits(2, (0.01, 0.005))
