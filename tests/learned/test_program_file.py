"""The one file format of integer programs: arrays and card round-trip; the kind is checked."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from codeclab.learned.program_file import read_program_file, save_program_file


@pytest.mark.parametrize("framework", ["np", "pt"])
def test_arrays_and_card_round_trip_and_the_kind_is_checked(tmp_path, framework):
    rng = np.random.default_rng(0)
    arrays = {"w": rng.integers(-127, 128, (4, 3), dtype=np.int64), "shift": np.array([7, 9], np.int64)}
    tensors = arrays if framework == "np" else {k: torch.from_numpy(v) for k, v in arrays.items()}
    path, card_path = save_program_file(tmp_path / "tool", tensors, "test-kind", {"steps": 12})
    assert path.suffix == ".safetensors" and json.loads(card_path.read_text()) == {"steps": 12}
    read = read_program_file(path, "test-kind", framework=framework)
    assert set(read) == set(arrays)
    assert all(np.array_equal(np.asarray(read[k]), v) for k, v in arrays.items())
    with pytest.raises(ValueError, match="not a other-kind program.*test-kind"):
        read_program_file(path, "other-kind", framework=framework)
