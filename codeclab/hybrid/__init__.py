"""Hybrid coding: neural tools inside the classic codec, through the interfaces of the tools they join.

Two tools, both on in the codec ``classic-nn``: network intra modes beside HEVC's 35, and
a neural in-loop filter after deblocking::

    intra prediction (+ network modes) ─► ... ─► deblocking ─► neural loop filter (tool id 1) ─► picture

- :mod:`.nip` -- neural intra prediction: small perceptrons per block size (reference
  samples in, blocks out). :mod:`.nip.program` loads the shipped integer program that
  :mod:`codeclab.classic.common.nnintra` runs inside the classic codec; :mod:`.nip.training` holds
  the network (model ``nip`` of ``codeclab train``), its block dataset and the export;
- :mod:`.nnlf` -- the neural in-loop filter. Runtime: :mod:`.nnlf.integer` (the network as
  an integer program, the same on every machine: every partial sum below 2^24),
  :mod:`.nnlf.int8` (the same integers on uint8 x int8 convolutions, where a load-time probe
  confirms the CPU's kernels are exact), :mod:`.nnlf.runtime` (filtering a picture),
  :mod:`.nnlf.weights` (the shipped program), :mod:`.nnlf.syntax` (its side information),
  :mod:`.nnlf.encoder` (the RDO of modes, scales and CTU flags) and :mod:`.nnlf.tool` (the
  :class:`~codeclab.classic.common.tools.PictureFilter`: per-CTU on/off by RDO, flags in CABAC).
  Training: :mod:`.nnlf.training` (the CNN, model ``nnlf``; training pairs; export);
- :mod:`.tools` -- registers both as the classic codec's picture tools (entry point
  ``codeclab.picture_tools``): classic finds them there and never imports this package;
- :mod:`.codec` -- ``classic-nn`` (both tools) and ``classic-nip`` (intra modes only).

Training, from photos to shipped weights (the shipped program's card records the exact
commands, steps and times of its runs)::

    codeclab make-pairs --data ../shared/data/train --out runs/nnlf_data --crops 30
    codeclab train --model nnlf --data runs/nnlf_data --out runs/nnlf_float --steps 10000 \\
                   --batch-size 16 --crop 128 --lr 1e-3 --warmup 50
    codeclab train --model nnlf --model-args qat=true int8=true --init runs/nnlf_float/nnlf.safetensors \\
                   --data runs/nnlf_data --out runs/nnlf_qat --steps 300 --batch-size 16 --crop 128 --lr 1e-4 --warmup 20
    codeclab export nnlf runs/nnlf_qat/nnlf.safetensors --force

To train on from the shipped program instead of from scratch, start the float run from
its float form (``--init runs/start.safetensors``)::

    codeclab export nnlf --to-float runs/start.safetensors

The intra modes train on the same pairs (blocks of every size cut from them) and export
straight to their integer program (``codeclab/data/weights/nip.json`` records the run)::

    codeclab train --model nip --data runs/nnlf_data --out runs/nip --steps 8000 --batch-size 128 \
                   --lr 2e-3 --warmup 100 --workers 1
    codeclab export nip runs/nip/nip.safetensors --force
"""
