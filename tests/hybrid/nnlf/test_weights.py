"""The integer program as a safetensors file: round trip, validation, and the shipped weights."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save

from codeclab.errors import InputError, UnsupportedError
from codeclab.hybrid.nnlf.integer import EXACT_BITS, check_bound, layer_bound, program_fingerprint
from codeclab.hybrid.nnlf.training.export import save_program
from codeclab.hybrid.nnlf.weights import DEFAULT_WEIGHTS, PROGRAM_KIND, load_program, program_tensors


def test_round_trip_keeps_every_integer(program, tmp_path):
    path, card = save_program(tmp_path / "p.safetensors", program, {"note": "test"})
    loaded = load_program(path)
    assert program_fingerprint(loaded) == program_fingerprint(program)
    assert all(torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias) and torch.equal(a.shift, b.shift)
               for a, b in zip(loaded.luma + loaded.chroma, program.luma + program.chroma))
    facts = json.loads(card.read_text())
    assert facts["note"] == "test" and facts["fingerprint_crc32"] == f"{program_fingerprint(program):08x}"


def test_files_that_are_not_exact_programs_are_refused(program, tmp_path):
    tensors = program_tensors(program)
    header = {"format": "pt", "codeclab.model": PROGRAM_KIND}
    cases = {
        "missing": {k: v for k, v in tensors.items() if k != "luma.0.bias"},
        "extra": {**tensors, "chroma.9.weight": tensors["chroma.0.weight"].clone()},
        "float": {**tensors, "luma.0.weight": tensors["luma.0.weight"].float()},
        "shape": {**tensors, "chroma.1.weight": tensors["chroma.1.weight"][:, :3].contiguous()},
        "shift": {**tensors, "luma.0.shift": torch.tensor(0, dtype=torch.int32)},
        "inexact": {**tensors, "luma.1.weight": torch.full_like(tensors["luma.1.weight"], 2047)},
    }
    for name, bad in cases.items():
        path = tmp_path / f"{name}.safetensors"
        path.write_bytes(save(bad, metadata=header))
        with pytest.raises(InputError):
            load_program(path)
    wrong_kind = tmp_path / "kind.safetensors"
    wrong_kind.write_bytes(save(tensors, metadata={"format": "pt", "codeclab.model": "hyperprior"}))
    with pytest.raises(InputError, match="not a nnlf-integer program.*hyperprior"):
        load_program(wrong_kind)
    (tmp_path / "junk.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{junk}")
    with pytest.raises(InputError):
        load_program(tmp_path / "junk.safetensors")
    with pytest.raises(UnsupportedError):
        load_program(tmp_path / "absent.safetensors")


def test_the_shipped_program_is_exact_and_described_by_its_card():
    program = load_program(DEFAULT_WEIGHTS)
    for layers in (program.luma, program.chroma):
        check_bound(layers)
        assert all(layer_bound(layer.weight, layer.bias, 1023 if i else 128) < 2 ** EXACT_BITS
                   for i, layer in enumerate(layers))
    card = json.loads(DEFAULT_WEIGHTS.with_suffix(".json").read_text())
    assert card["fingerprint_crc32"] == f"{program_fingerprint(program):08x}"
    assert card["parameters"] < 100_000 and 5 <= card["kmac_per_luma_sample"] < 100  # tens of thousands, tens of kMAC
    assert DEFAULT_WEIGHTS.stat().st_size < 1_000_000


def test_export_never_replaces_a_program_without_force(tmp_path, capsys):
    from codeclab.cli import main as codeclab

    target = tmp_path / "nnlf.safetensors"
    target.write_bytes(b"keep me")
    assert codeclab(["export", "nnlf", str(tmp_path / "trained.safetensors"), "--out", str(target)]) == 2
    assert "exists (use --force" in capsys.readouterr().err and target.read_bytes() == b"keep me"


def test_a_program_turned_back_into_float_weights_gives_the_same_program(tmp_path):
    from codeclab.cli import main as codeclab
    from codeclab.hybrid.nnlf.training.export import float_network, training_record
    from codeclab.hybrid.nnlf.training.network import integer_program
    from codeclab.train.checkpoint import load_exported

    program = load_program(DEFAULT_WEIGHTS)
    calibrated = float_network(program, calibrated=True)
    assert program_tensors(integer_program(calibrated)).keys() == program_tensors(program).keys()
    assert all(torch.equal(a, b) for a, b in zip(program_tensors(integer_program(calibrated)).values(),
                                                    program_tensors(program).values()))
    # The file a further float run starts from: uncalibrated, and it names its model.
    assert codeclab(["export", "nnlf", "--to-float", str(tmp_path / "start.safetensors")]) == 0
    state, header = load_exported(tmp_path / "start.safetensors")
    assert header["codeclab.model"] == "nnlf" and json.loads(header["codeclab.model_args"])["luma_half_res"]
    assert (state["luma.act_frac"] == -1).all()
    # A run started from it records the program it came from and how that was trained.
    start_card = json.loads((tmp_path / "start.json").read_text())
    record = training_record({"command": "codeclab train ...", "config": {"init": str(tmp_path / "start.safetensors")}})
    assert record["init"]["weights"] == start_card["converted_from"]
    assert record["init"]["training"] == json.loads(DEFAULT_WEIGHTS.with_suffix(".json").read_text())["training"]
    assert codeclab(["export", "nnlf", "--to-float", str(tmp_path / "start.safetensors")]) == 2  # no overwrite without --force


def test_bench_scores_and_decode_timing_are_recorded_in_the_card(tmp_path, capsys):
    from codeclab.cli import main as codeclab

    program = load_program(DEFAULT_WEIGHTS)
    save_program(tmp_path / "nnlf", program, {"model": "nnlf"})
    out = str(tmp_path / "nnlf.safetensors")
    bench, timing = tmp_path / "summary.json", tmp_path / "timing.json"
    bench.write_text(json.dumps({"bd_rate": [{"codec": "classic-nn", "PSNR pchip": -3.0}]}))
    timing.write_text(json.dumps({"machine": {"cpus": 2}, "summary": {"median_ratio": 2.5}, "rows": []}))
    assert codeclab(["export", "nnlf", "--timing", str(timing), "--out", out]) == 0
    assert codeclab(["export", "nnlf", "--evaluation", str(bench), "--out", out]) == 0  # a new bench summary keeps the timing
    evaluation = json.loads((tmp_path / "nnlf.json").read_text())["evaluation"]
    assert evaluation["bd_rate"][0]["PSNR pchip"] == -3.0
    assert evaluation["decode_timing"]["median_ratio"] == 2.5 and evaluation["decode_timing"]["machine"] == {"cpus": 2}
    assert "parameters" in json.loads((tmp_path / "nnlf.json").read_text())  # the rest of the card stays
    (tmp_path / "bad.json").write_text("[1, 2]")
    assert codeclab(["export", "nnlf", "--timing", str(tmp_path / "bad.json"), "--out", out]) == 2
    assert "not a JSON object" in capsys.readouterr().err


def test_the_8_bit_form_round_trips_and_turns_back_into_its_network(int8_network, tmp_path):
    """Per-channel shifts and the ceilings survive the file; the float network it turns back
    into is an int8 one and gives the same program."""
    from codeclab.hybrid.nnlf.training.export import float_network
    from codeclab.hybrid.nnlf.training.network import integer_program

    program = integer_program(int8_network)
    path, _ = save_program(tmp_path / "p8.safetensors", program, {})
    loaded = load_program(path)
    assert program_fingerprint(loaded) == program_fingerprint(program)
    assert all(torch.equal(a.shift, b.shift) and a.ceiling == b.ceiling and a.hidden == b.hidden
               for a, b in zip(loaded.luma + loaded.chroma, program.luma + program.chroma))
    assert program_fingerprint(integer_program(float_network(loaded, calibrated=True))) == program_fingerprint(program)
