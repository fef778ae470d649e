"""Training learned codecs: data, loss, loop, checkpoints, one process or many.

* :mod:`.config`      -- :class:`~.config.TrainConfig`, the settings of a run
* :mod:`.loop`        -- the training loop, :func:`~.loop.train`
* :mod:`.datasets`    -- random crops of a folder of pictures; validation pictures
* :mod:`.losses`      -- the rate-distortion loss ``lambda * D + bpp`` (MSE or MS-SSIM)
* :mod:`.validation`  -- validation with real (entropy-coded) rates, or clearly estimated ones
* :mod:`.checkpoint`  -- atomic checkpoints, ``weights_only`` loading, safetensors export
* :mod:`.distributed` -- torchrun/DDP set-up and per-rank batches
* :mod:`.seeding`     -- counter-based randomness, which makes ``--resume`` exact
* :mod:`.logs`        -- ``metrics.jsonl`` and TensorBoard
* :mod:`.cli`         -- ``codeclab train`` (imports no torch until it runs)

Nothing is imported here, so ``codeclab.train.cli`` stays light for the command line.
"""
