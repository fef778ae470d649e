"""``report.html``: one self-contained page a person can look at after ``codeclab bench``.

The page holds, with nothing fetched from the network (figures are inline SVG, pictures are
``data:`` PNGs, the zoom is ten lines of inline script)::

    RD curves           PSNR and MS-SSIM (images) or PSNR-Y and PSNR-YUV (video) against rate
    BD-rate table       every codec against the reference, pchip and cubic
    per-codec table     the mean point of each quality, with encode and decode times
    crops               images only: the same window of one picture, decoded from each codec's
                        own .clb file at the point nearest in rate to the middle of the
                        reference's range, beside the original; buttons zoom them together (nearest-
                        neighbour, so the coding artefacts stay visible)

The window is the most detailed ``CROP`` x ``CROP`` area of the picture (largest sum of
absolute differences between neighbouring samples on a grid of candidate positions), where
codecs differ most.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

from codeclab.eval.layout import bitstream_path, format_quality

#: Side of the crops, in picture samples.
CROP = 160

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; padding: 0 1em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.figure svg { max-width: 100%; height: auto; }
.crops { display: flex; flex-wrap: wrap; gap: 1em; }
.crops figure { margin: 0; }
.crops img { image-rendering: pixelated; display: block; border: 1px solid #888; }
.crops figcaption { font-size: 0.85em; max-width: 22em; }
.zoom button { margin-right: 0.3em; }
.zoom button.on { font-weight: bold; }
"""

_ZOOM_SCRIPT = """
document.querySelectorAll('.zoom button').forEach(function (button) {
  button.addEventListener('click', function () {
    var factor = Number(button.dataset.zoom);
    document.querySelectorAll('.crops img').forEach(function (img) {
      img.style.width = (img.naturalWidth * factor) + 'px';
    });
    document.querySelectorAll('.zoom button').forEach(function (b) { b.classList.toggle('on', b === button); });
  });
});
document.querySelector('.zoom button[data-zoom="2"]') && document.querySelector('.zoom button[data-zoom="2"]').click();
"""


def _png_data_uri(picture) -> str:
    """(3, H, W) uint8 tensor -> ``data:image/png;base64,...``."""
    from codeclab.io.image import png_bytes

    return "data:image/png;base64," + base64.b64encode(png_bytes(picture.contiguous())).decode("ascii")


def detailed_window(picture, size: int = CROP) -> tuple[int, int]:
    """(top, left) of the ``size`` window with the most detail, on a grid of step ``size/4``."""
    import torch

    luma = picture.float().mean(0)
    height, width = luma.shape
    size_h, size_w = min(size, height), min(size, width)
    detail = torch.zeros_like(luma)
    detail[:, 1:] += (luma[:, 1:] - luma[:, :-1]).abs()
    detail[1:, :] += (luma[1:, :] - luma[:-1, :]).abs()
    step = max(1, size // 4)
    best, where = -1.0, (0, 0)
    for top in range(0, height - size_h + 1, step):
        for left in range(0, width - size_w + 1, step):
            total = float(detail[top:top + size_h, left:left + size_w].sum())
            if total > best:
                best, where = total, (top, left)
    return where


def choose_points(rows: list[dict], reference: str, item: str) -> dict[str, dict]:
    """Per codec, the row of ``item`` nearest in log-rate to the middle of the reference's
    rates on it (the geometric mean of its lowest and highest)."""
    by_codec: dict[str, list[dict]] = {}
    for row in rows:
        if row["item"] == item and row.get("bpp", 0) > 0:
            by_codec.setdefault(row["codec"], []).append(row)
    anchor_rows = sorted(by_codec.get(reference) or next(iter(by_codec.values()), []), key=lambda r: r["bpp"])
    if not anchor_rows:
        return {}
    target = math.sqrt(anchor_rows[0]["bpp"] * anchor_rows[-1]["bpp"])
    return {codec: min(found, key=lambda r: abs(math.log(r["bpp"] / target)))
            for codec, found in by_codec.items()}


def _crops_section(out: Path, rows: list[dict], reference: str, sources: dict[str, str]) -> str:
    from codeclab import api
    from codeclab.io.image import read_image

    items = sorted({row["item"] for row in rows if row["item"] in sources})
    if not items:
        return "<p>No pictures to show.</p>"
    item = items[0]
    chosen = choose_points(rows, reference, item)
    original = read_image(sources[item], note=lambda message: None)
    if original.shape[0] == 1:
        original = original.expand(3, -1, -1)
    top, left = detailed_window(original)
    window = (slice(None), slice(top, top + CROP), slice(left, left + CROP))
    figures = [(f"original ({item})", "", original[window])]
    for codec, row in chosen.items():
        clb = bitstream_path(out, codec, row["quality"], item)
        if not clb.is_file():
            continue
        decoded = api.decode(clb.read_bytes())
        caption = f"q {format_quality(row['quality'])}, {row['bpp']:.3f} bpp, {row['psnr-rgb']:.2f} dB PSNR"
        figures.append((codec, caption, decoded[window]))
    cells = "\n".join(
        f'<figure><img alt="{html.escape(name)}" src="{_png_data_uri(picture)}">'
        f"<figcaption><b>{html.escape(name)}</b> {html.escape(caption)}</figcaption></figure>"
        for name, caption, picture in figures)
    return (f"<p>Window of {CROP}x{CROP} at ({left}, {top}) of {html.escape(item)}, each codec at its point "
            f"nearest in rate to the middle of {html.escape(reference)}'s range; decoded from the .clb files.</p>"
            '<p class="zoom">Zoom: <button data-zoom="1">1x</button><button data-zoom="2">2x</button>'
            '<button data-zoom="4">4x</button></p>'
            f'<div class="crops">{cells}</div>')


def _table(header: list[str], body: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    lines = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{lines}</tbody></table>"


def _number(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def render_html(out: Path, rows: list[dict], results: dict, bd: list[dict], reference: str, media: str,
                meta: dict, sources: dict[str, str]) -> str:
    """The page (module docstring); ``sources`` maps a picture's name to its file."""
    from codeclab.eval.plots import rd_svg

    rate = "bpp" if media == "image" else "kbps"
    qkeys = ("psnr-rgb", "ms-ssim-rgb") if media == "image" else ("psnr-y", "psnr-yuv")
    title = f"CodecLab bench: {meta['data']}"
    svg = rd_svg(results, title=f"{meta['data']} ({meta['items']} {media}s)", x_key=rate, y_keys=qkeys)
    svg = svg[svg.index("<svg"):]  # drop the XML prologue: the SVG sits inside HTML
    parts = [f"<h1>{html.escape(title)}</h1>",
             f"<p>{meta['items']} {media}s, {html.escape(meta['date'])}, {html.escape(meta['machine'])}. "
             f"Rates are .clb file sizes on disk; each point is the mean over {media}s.</p>",
             '<h2 id="rd">Rate-distortion</h2>', f'<div class="figure">{svg}</div>']
    if bd:
        labels = [k for k in bd[0] if k not in ("codec", "notes")]
        parts += [f'<h2 id="bd">BD-rate against {html.escape(reference)}</h2>',
                  "<p>Percent; negative saves bits; over the overlapping range only.</p>",
                  _table(["codec", *labels], [[e["codec"], *(_number(e[k]) for k in labels)] for e in bd])]
    if media == "image":
        parts += ['<h2 id="crops">The same crop at about the same rate</h2>',
                  _crops_section(out, rows, reference, sources)]
    parts.append('<h2 id="points">Points</h2>')
    for codec, res in results.items():
        body = [[format_quality(q), *(_number(res.get(k, [None] * len(res["q"]))[i], d)
                                      for k, d in ((rate, 4), (qkeys[0], 3), (qkeys[1], 4),
                                                   ("encoding_time", 3), ("decoding_time", 3)))]
                for i, q in enumerate(res["q"])]
        parts += [f"<h3>{html.escape(codec)}</h3>",
                  f"<p>{html.escape(meta['descriptions'].get(codec, ''))}</p>",
                  _table(["q", rate, qkeys[0], qkeys[1], "enc s", "dec s"], body)]
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n<body>\n"
            + "\n".join(parts) + f"\n<script>{_ZOOM_SCRIPT}</script>\n</body></html>\n")
