"""Training the neural loop filter: the float network (:mod:`.network`), the training pairs
(:mod:`.pairs`) and the export to the integer program (:mod:`.export`). Imports
``codeclab.train``; no decoder imports it."""
