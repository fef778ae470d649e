"""Learned codecs: layers, image and video models, the model registry and shipped weights.

Models are built by name through :mod:`.registry` (``build_model("name", **args)``), the
one door the training loop (:mod:`codeclab.train`) and the command line use.
"""
