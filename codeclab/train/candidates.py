"""Scoring the relay's candidates on Kodak with real file sizes, and shipping the best one.

A candidate is a float16 ``.safetensors`` file with its card (:func:`.loop.export_candidate`).
Its score is what a user of ``codeclab bench`` would measure::

    for each picture p and quality q:   data = api.encode_image(p, learned(weights), q)
                                        bpp  = 8 len(data) / pixels          (the .clb file)
                                        PSNR over 8-bit RGB of the reconstruction
    curve  = mean bpp and mean PSNR over the pictures, per quality      (CompressAI's convention)
    score  = BD-rate (pchip) of that curve against JPEG's on the same pictures, in percent;
             BD-PSNR (dB at equal rate) while the PSNR ranges do not overlap yet

The quick score runs on a few pictures (:data:`QUICK_PICTURES`, for speed); shipping
re-scores the best candidate and the shipped weights on all 24 and replaces the shipped
weights only when the candidate wins there too. Every score goes to ``RUN/scores.jsonl``,
and the shipped card keeps the whole curve of BD-rate against steps.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from codeclab.errors import InputError
from codeclab.train.relay_plan import SHARED_DATA, continues_plan, shipped_card, shipped_weights

#: The quick set: Kodak pictures of varied content, in the order they are taken.
QUICK_PICTURES = ("kodim23", "kodim07", "kodim13", "kodim01", "kodim05", "kodim15", "kodim20", "kodim03")

#: Qualities of the learned codec: five spanning 1..8 for the quick score, all eight to ship.
QUICK_QUALITIES = (1.0, 2.75, 4.5, 6.25, 8.0)
SHIP_QUALITIES = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0)

#: The anchors of the shipped card (JPEG is the score's reference).
ANCHORS = ("jpeg", "webp", "x265")


def kodak_pictures(folder: Path, count: int) -> list[Path]:
    """The first ``count`` pictures of the quick order (all 24 when ``count`` >= 24)."""
    every = sorted(folder.glob("kodim*.png"))
    if not every:
        raise InputError(f"no Kodak pictures (kodim*.png) in {folder}")
    if count >= len(every):
        return every
    by_stem = {p.stem: p for p in every}
    chosen = [by_stem[s] for s in QUICK_PICTURES if s in by_stem]
    chosen += [p for p in every if p not in chosen]
    return chosen[:count]


def measure(codec, pictures: list[Path], qualities: tuple[float, ...]) -> dict:
    """``{"bpp": [...], "psnr": [...]}``: per quality, the means over ``pictures`` of the
    file's bits per pixel and the PSNR-RGB of the decoder's picture."""
    from codeclab import api
    from codeclab.eval.metrics import psnr_rgb
    from codeclab.io.image import read_image

    images = [read_image(p) for p in pictures]
    bpp, psnr = [], []
    for q in qualities:
        sizes, values = [], []
        for image in images:
            result = api.encode_image(image, codec, q)
            sizes.append(8 * len(result.data) / (image.shape[-1] * image.shape[-2]))
            values.append(psnr_rgb(result.recon, image))
        bpp.append(sum(sizes) / len(sizes))
        psnr.append(sum(values) / len(values))
    return {"q": list(qualities), "bpp": bpp, "psnr": psnr}


def anchor_curve(name: str, pictures: list[Path], cache: Path) -> dict:
    """An anchor codec's curve on ``pictures`` at its default qualities, cached in ``cache``."""
    from codeclab.codec import get_codec

    key = f"{name}:{','.join(p.stem for p in pictures)}"
    known = json.loads(cache.read_text()) if cache.is_file() else {}
    if key not in known:
        codec = get_codec(name)
        known[key] = measure(codec, pictures, tuple(codec.default_qualities))
        cache.write_text(json.dumps(known, indent=1) + "\n")
    return known[key]


def bd_against(anchor: dict, curve: dict) -> tuple[float | None, float | None]:
    """(BD-rate %, BD-PSNR dB) of ``curve`` against ``anchor`` (pchip); BD-rate is None while
    the PSNR ranges do not overlap (an early candidate below the anchor's lowest PSNR),
    BD-PSNR is None while the rate ranges do not."""
    from codeclab.eval.bdrate import bd_quality, bd_rate

    values = []
    for measure in (bd_rate, bd_quality):
        try:
            values.append(round(measure(anchor["bpp"], anchor["psnr"], curve["bpp"], curve["psnr"], method="pchip"), 3))
        except (ValueError, ZeroDivisionError):
            values.append(None)
    return values[0], values[1]


def rank(score: dict) -> tuple:
    """Sort key, best first: by BD-rate against JPEG where known, else by BD-PSNR."""
    rate, psnr = score.get("bd_rate_vs_jpeg"), score.get("bd_psnr_vs_jpeg")
    return (rate is None, rate if rate is not None else -(psnr if psnr is not None else -1e9))


def format_bd_rate(value: float | None) -> str:
    """A BD-rate for a line of text (None: the curves' PSNR ranges do not overlap)."""
    return "n/a (no PSNR overlap)" if value is None else f"{value:+.2f}%"


def score_weights(weights: Path, pictures: list[Path], qualities: tuple[float, ...], cache: Path,
                  anchors: tuple[str, ...] = ("jpeg",)) -> dict:
    """The score of ``weights`` (module docstring) against each of ``anchors``."""
    from codeclab.learned.codec import Learned

    card = json.loads(weights.with_suffix(".json").read_text())
    curve = measure(Learned(weights=weights), pictures, qualities)
    result = {"steps": int(card.get("steps", 0)), "weights": str(weights), "pictures": [p.stem for p in pictures],
              "curve": curve}
    for name in anchors:
        result[f"bd_rate_vs_{name}"], result[f"bd_psnr_vs_{name}"] = bd_against(anchor_curve(name, pictures, cache),
                                                                                curve)
    return result


def read_scores(run: Path) -> list[dict]:
    path = Path(run) / "scores.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _append_score(run: Path, entry: dict) -> None:
    with open(Path(run) / "scores.jsonl", "a") as f:
        f.write(json.dumps(entry) + "\n")


def ship(candidate: Path, full: dict, curve: list[dict]) -> Path:
    """Copy ``candidate`` over the shipped weights, its card extended with the 24-picture
    score ``full`` and the ``curve`` of BD-rate against steps."""
    target = shipped_weights()
    card = json.loads(candidate.with_suffix(".json").read_text())
    card["kodak"] = {k: v for k, v in full.items() if k != "weights"}
    card["bd_rate_curve"] = curve
    shutil.copyfile(candidate, target)
    target.with_suffix(".json").write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    return target


def score(args: argparse.Namespace) -> int:
    """``codeclab relay score [--ship]``: score unscored candidates, then maybe ship (module docstring)."""
    import torch

    torch.set_num_threads(args.threads)
    run, kodak = Path(args.out), Path(args.kodak)
    cache = run / "anchors.json"
    run.mkdir(parents=True, exist_ok=True)
    quick = kodak_pictures(kodak, args.pictures)
    done = {(s["weights"], len(s["pictures"])) for s in read_scores(run)}
    candidates = sorted((run / "candidates").glob("step_*.safetensors"))
    for candidate in candidates:
        if (str(candidate), len(quick)) in done:
            continue
        entry = score_weights(candidate, quick, QUICK_QUALITIES, cache)
        _append_score(run, entry)
        print(f"step {entry['steps']}: BD-rate vs JPEG {format_bd_rate(entry['bd_rate_vs_jpeg'])}, "
              f"BD-PSNR {entry['bd_psnr_vs_jpeg']} dB on {len(quick)} pictures")
    if not args.ship:
        return 0
    scored = [s for s in read_scores(run) if len(s["pictures"]) == len(quick) and Path(s["weights"]).is_file()]
    if not scored:
        raise InputError(f"no candidate to ship in {run / 'candidates'}")
    best = min(scored, key=rank)
    shipped = shipped_weights()
    card = shipped_card()
    every = kodak_pictures(kodak, 24)
    full = score_weights(Path(best["weights"]), every, SHIP_QUALITIES, cache, ANCHORS)
    print(f"candidate step {full['steps']} on {len(every)} pictures, BD-rate: "
          + ", ".join(f"{a} {format_bd_rate(full[f'bd_rate_vs_{a}'])}" for a in ANCHORS)
          + f"; BD-PSNR vs jpeg {full['bd_psnr_vs_jpeg']} dB")
    if shipped.is_file() and continues_plan(card):
        before = score_weights(shipped, every, SHIP_QUALITIES, cache, ("jpeg",))
        print(f"shipped step {before['steps']}: BD-rate vs jpeg {format_bd_rate(before['bd_rate_vs_jpeg'])}, "
              f"BD-PSNR {before['bd_psnr_vs_jpeg']} dB")
        if rank(before) <= rank(full):
            print("the shipped weights stay: the candidate does not beat them")
            return 0
    history = (card or {}).get("bd_rate_curve", []) if continues_plan(card) else []
    seen = {(h["steps"], h["pictures"]) for h in history}

    def point(s: dict) -> dict:
        return {"steps": s["steps"], "pictures": len(s["pictures"]), "bd_rate_vs_jpeg": s["bd_rate_vs_jpeg"],
                "bd_psnr_vs_jpeg": s.get("bd_psnr_vs_jpeg")}

    curve = history + [point(s) for s in read_scores(run) if (s["steps"], len(s["pictures"])) not in seen]
    curve.append(point(full))
    target = ship(Path(best["weights"]), full, sorted(curve, key=lambda h: (h["steps"], h["pictures"])))
    print(f"shipped step {full['steps']} to {target}")
    return 0


def add_score_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kodak", default=str(SHARED_DATA / "kodak"), help="Kodak folder (default %(default)s)")
    parser.add_argument("--pictures", type=int, default=4, help="pictures of the quick score (default %(default)s)")
    parser.add_argument("--ship", action="store_true",
                        help="re-score the best candidate on all pictures and ship it if it beats the shipped")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default %(default)s)")
