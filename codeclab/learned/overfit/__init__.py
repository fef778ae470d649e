"""Overfitted picture coding: each picture trains its own small decoder (Cool-chic / C3 class).

No network is pretrained. For one picture the encoder optimises, by gradient descent,
a pyramid of latent grids and three tiny networks, and sends all of them::

      encoder (an optimisation, :mod:`.encoder`)              decoder (exact integers, :mod:`.decoder`)
    ┌──────────────────────────────────────────┐        ┌──────────────────────────────────────────────┐
    │ latents y_0..y_6, ARM, upsampling,       │ stream │ networks ◄── network stream (rANS)           │
    │ synthesis  ──min D + λR──►  quantise     ├───────►│ y ◄── latent stream, ARM and rANS interleaved│
    │ networks by RD, round latents, code      │        │ x̂ = synthesis(upsample(y)) in fixed point    │
    └──────────────────────────────────────────┘        └──────────────────────────────────────────────┘

Reading order, each file one idea:

* :mod:`.architecture` -- grids, the ARM's context, network sizes, MAC per pixel (normative);
* :mod:`.arm` -- the autoregressive Laplace model, float (training) and integer (coding);
* :mod:`.synthesis` -- upsampling and synthesis, one forward for float and integer arithmetic;
* :mod:`.latents` -- the latent stream (writer, and the decoder's compiled loop);
* :mod:`.syntax` -- parameter block, quantised networks and their stream;
* :mod:`.decoder` -- parse and reconstruct (imports nothing of the encoder);
* :mod:`.encoder` -- the optimisation, the networks' quantisation, writing;
* :mod:`.codec` -- the registered codecs ``overfit``, ``overfit-medium``, ``overfit-slow``;
* :mod:`.drawing` -- ``codeclab info --show latents``.

The entropy coder is :mod:`codeclab.entropy.rans` with the tables of
:mod:`codeclab.entropy.shifted_tables`. References: Ladune et al., "COOL-CHIC: Coordinate-based
low complexity hierarchical image codec", ICCV 2023; Leguay et al., "Low-complexity overfitted
neural image codec", MMSP 2023; Kim et al., "C3: High-performance and low-complexity neural
compression from a single image or video", CVPR 2024.
"""
