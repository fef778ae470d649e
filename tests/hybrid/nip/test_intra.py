"""Neural intra prediction: the numba kernel against its torch twin, the program file, the
training samples, and the codec with the network modes on (classic-nn)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codeclab.classic.common.nnintra import NN_MODE_BASE, empty_program, nn_predict, program_heads
from codeclab.classic.common.parameters import PictureParams, SequenceParams
from codeclab.classic.common.reference.intra import neighbouring_samples, substitute_references
from codeclab.errors import BitstreamError, InputError
from codeclab.hybrid.nip.program import (DEFAULT_WEIGHTS, check_program, load_program, program_fingerprint,
                                         shipped_program)
from codeclab.hybrid.nip.training import (SIZES, IntraPredictionNet, available_references, integer_predict,
                                          integer_program, interpolation_weights, save_program)
from codeclab.io.image import read_image


def random_network(seed: int = 0, scale: float = 0.05) -> IntraPredictionNet:
    """A network with every layer random (the output layer starts at zero when built)."""
    torch.manual_seed(seed)
    model = IntraPredictionNet(hidden=16, heads=4)
    for net in model.nets:
        torch.nn.init.normal_(net.fc3.weight, std=scale)
        torch.nn.init.normal_(net.fc3.bias, std=scale)
    return model


def random_references(n: int, count: int, seed: int) -> torch.Tensor:
    """Smooth-ish random references with some flat runs and the extremes 0 and 255."""
    g = torch.Generator().manual_seed(seed)
    walk = torch.randint(-12, 13, (count, 4 * n + 1), generator=g).cumsum(1) + torch.randint(0, 256, (count, 1), generator=g)
    refs = walk.clamp(0, 255)
    refs[0] = 0
    refs[1] = 255
    return refs.to(torch.int64)


@pytest.mark.parametrize("n", SIZES)
def test_kernel_equals_torch_twin(n):
    model = random_network()
    program = integer_program(model)
    refs = random_references(n, 24, seed=n)
    pred = np.zeros((32, 32), np.int64)
    for head in range(4):
        expected = integer_predict(refs, n, head, program).numpy()
        for i in range(len(refs)):
            nn_predict(refs[i].numpy(), n, head, program, 8, pred)
            np.testing.assert_array_equal(pred[:n, :n], expected[i])


@pytest.mark.parametrize("n", SIZES)
def test_integer_program_follows_float_network(n):
    """Fixed point moves a prediction by at most a sample (the float grid is not rounded)."""
    model = random_network(scale=0.02)
    program = integer_program(model)
    refs = random_references(n, 32, seed=100 + n)
    with torch.no_grad():
        float_pred = model(refs, n)
    for head in range(4):
        difference = (integer_predict(refs, n, head, program).to(torch.float32) - float_pred[:, head]).abs()
        assert difference.max() <= 1.5


def test_interpolation_hits_grid_and_boundary():
    for n in (16, 32):
        f = n // 8
        weights = interpolation_weights(n)
        assert (weights.sum(1) == f).all()
        grid_positions = torch.arange(8) * f + f - 1
        assert (weights[grid_positions, torch.arange(8) + 1] == f).all()  # the grid itself is kept


def test_flat_references_and_zero_output_give_the_level():
    """A network whose last layer is zero predicts the reduced boundary's rounded mean on its
    grid; up-sampling then blends the first rows and columns towards the references."""
    model = IntraPredictionNet(hidden=8, heads=2)
    program = integer_program(model)
    for n in (8, 16):
        refs = torch.full((1, 4 * n + 1), 77, dtype=torch.int64)
        refs[0, :2 * n] = 81  # left column 81, top row 77 -> mean (8 * 81 + 8 * 77 + 8) >> 4 = 79
        pred = integer_predict(refs, n, 1, program)[0]
        f = n // 8
        assert (pred[f - 1::f, f - 1::f] == 79).all()
    assert (pred[0, 1::2] == 78).all() and (pred[1::2, 0] == 80).all()  # (77 + 79 + 1) >> 1, (81 + 79 + 1) >> 1


def test_available_references_follow_z_scan():
    plane = torch.arange(64 * 64, dtype=torch.int32).reshape(64, 64) % 251
    refs = available_references(plane, 8, 0, 8)
    # Block (8, 0): the row above is outside; the left column's upper 8 samples are decoded,
    # the 8 below them (x = 7, y = 8..15, later in z-order) are not.
    decoded = torch.zeros(64, 64, dtype=torch.bool)
    decoded[:8, :8] = True
    samples, available = neighbouring_samples(plane, decoded, 8, 0, 8)
    assert torch.equal(refs, substitute_references(samples, available)[0])
    assert torch.equal(available_references(plane, 0, 0, 4), torch.full((17,), 128, dtype=torch.int32))


def test_program_file_round_trip(tmp_path):
    program = integer_program(random_network())
    path, card = save_program(tmp_path / "p.safetensors", program, {"note": "test"})
    loaded = load_program(path)
    assert all(np.array_equal(a, b) for a, b in zip(program, loaded))
    assert program_fingerprint(loaded) == program_fingerprint(program)
    assert program_heads(loaded) == 4 and program_heads(empty_program()) == 0


def test_program_checks_reject_bad_programs(tmp_path):
    program = list(integer_program(random_network()))
    with pytest.raises(ValueError):
        check_program(tuple(program[:6]))
    bad = list(program)
    bad[0] = bad[0][:, :, :5]
    with pytest.raises(ValueError):
        check_program(tuple(bad))
    bad = list(program)
    bad[2] = bad[2].copy()
    bad[2][0, 0, 0] = 1 << 40
    with pytest.raises(ValueError):
        check_program(tuple(bad))
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(InputError):
        load_program(tmp_path / "junk.safetensors")


def test_parameters_carry_the_tool_flag():
    params = PictureParams(qp=30, neural_intra=True)
    assert PictureParams.unpack(params.pack()) == params
    assert PictureParams.unpack(PictureParams(qp=30).pack()).neural_intra is False
    sequence = SequenceParams(qp=30, neural_intra=True)
    assert SequenceParams.unpack(sequence.pack()) == sequence
    assert sequence.picture(31).neural_intra
    packed = bytearray(params.pack())
    packed[3] = 7  # a CTU size this decoder does not know (every flag bit now names a tool)
    with pytest.raises(BitstreamError):
        PictureParams.unpack(bytes(packed))


def test_shipped_program_is_valid():
    assert DEFAULT_WEIGHTS.exists()
    program = shipped_program()
    check_program(program)
    assert program_heads(program) >= 1


def test_classic_nn_uses_network_modes_and_decodes_exactly(sample_image_path):
    from codeclab.classic.common.rgb import rgb_to_planes
    from codeclab.classic.decoder.picture import decode_payload
    from codeclab.classic.encoder.picture import encode_planes

    params = PictureParams(qp=32, neural_intra=True)
    original = rgb_to_planes(read_image(sample_image_path)[:, :128, :128].contiguous(), params.matrix)
    encoded = encode_planes(original, params)
    modes = encoded.picture.luma_mode
    assert (modes >= NN_MODE_BASE).sum() > 0, "no block chose a network mode"
    decoded = decode_payload(PictureParams.unpack(params.pack()), encoded.payload, 128, 128)
    for a, b in zip(encoded.planes, decoded.planes):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(decoded.picture.luma_mode, modes)
    # The same picture without the tool: the network modes were chosen because they pay.
    plain = encode_planes(original, PictureParams(qp=32))
    assert (plain.picture.luma_mode < NN_MODE_BASE).all()


def test_damaged_classic_nip_payloads_raise_or_decode(sample_image_path):
    """Flipped bits in a stream with network modes: a BitstreamError or some picture, never a
    crash or a hang."""
    from codeclab import api
    from codeclab.bitstream import container

    image = read_image(sample_image_path)[:, :128, :128].contiguous()
    data = api.encode_image(image, "classic-nip", 32).data
    parsed = container.parse(data)
    assert torch.equal(api.decode(data), api.encode_image(image, "classic-nip", 32).recon)
    rng = np.random.default_rng(1)
    errors = 0
    for trial in range(24):
        damaged = bytearray(parsed.payload)
        for _ in range(1 + trial % 3):
            damaged[int(rng.integers(len(damaged)))] ^= 1 << int(rng.integers(8))
        try:
            assert api.decode(container.serialize(parsed.header, parsed.params, bytes(damaged))).shape == (3, 128, 128)
        except BitstreamError:
            errors += 1
    assert errors > 0
