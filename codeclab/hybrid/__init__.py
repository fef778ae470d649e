"""Hybrid coding: neural tools inside the classic codec, through the interfaces of the tools they join.

Two tools, both on in the codec ``classic-nn``: network intra modes beside HEVC's 35, and
a neural in-loop filter after deblocking::

    intra prediction (+ network modes) ─► ... ─► deblocking ─► neural loop filter (tool id 1) ─► picture

- :mod:`.intra` -- neural intra prediction: small perceptrons per block size (reference
  samples in, blocks out), registered as model ``nip`` for ``codeclab train``, and their
  integer program, which :mod:`codeclab.classic.nnintra` runs inside the classic codec;
- :mod:`.network` -- the filter's CNN (luma on its 2x2 phases and chroma, both at chroma
  resolution, QP as an input), float and quantisation-aware, registered as model ``nnlf``
  for ``codeclab train``;
- :mod:`.integer` -- the network as an integer program whose output is provably the same on
  every machine and thread count (every partial sum below 2^24);
- :mod:`.int8` -- the program's 8-bit form on uint8 x int8 convolutions: the same integers,
  about five times faster, where a load-time probe confirms the CPU's kernels are exact;
- :mod:`.loopfilter` -- the :class:`~codeclab.classic.filters.PictureFilter`: per-component,
  per-CTU on/off decisions by RDO, flags coded with CABAC;
- :mod:`.codec` -- ``classic-nn``, the classic codec with both tools on;
- :mod:`.pairs` -- training pairs (classic reconstructions and originals) and their dataset;
- :mod:`.weights` -- the shipped integer program (safetensors + model card) and its export.

Training, from photos to shipped weights (the shipped program's card records the exact
commands, steps and times of its runs)::

    python -m codeclab.hybrid.nnlf.training.pairs --data ../shared/data/train --out runs/nnlf_data --crops 30
    codeclab train --model nnlf --data runs/nnlf_data --out runs/nnlf_float --steps 10000 \\
                   --batch-size 16 --crop 128 --lr 1e-3 --warmup 50
    codeclab train --model nnlf --model-args qat=true int8=true --init runs/nnlf_float/nnlf.safetensors \\
                   --data runs/nnlf_data --out runs/nnlf_qat --steps 300 --batch-size 16 --crop 128 --lr 1e-4 --warmup 20
    python -m codeclab.hybrid.nnlf.weights runs/nnlf_qat/nnlf.safetensors --force

To train on from the shipped program instead of from scratch, start the float run from
its float form (``--init runs/start.safetensors``)::

    python -m codeclab.hybrid.nnlf.weights --to-float runs/start.safetensors

The intra modes train on the same pairs (blocks of every size cut from them) and export
straight to their integer program (``codeclab/data/weights/nip.json`` records the run)::

    codeclab train --model nip --data runs/nnlf_data --out runs/nip --steps 8000 --batch-size 128 \
                   --lr 2e-3 --warmup 100 --workers 1
    python -m codeclab.hybrid.nip.training runs/nip/nip.safetensors --force
"""
