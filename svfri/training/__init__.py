"""Training and evaluation of the svfri networks on the synthetic training set.

* :mod:`svfri.training.losses` -- the losses of each stage.
* :mod:`svfri.training.augment` -- face-priority exposure of the training textures.
* :mod:`svfri.training.trainer` -- the resumable, staged :class:`~svfri.training.trainer.Trainer`.
* :mod:`svfri.training.evaluate` -- held-out metrics in the form of the paper's Table 1.

Command lines: ``python -m precompute.train_networks`` and ``python -m precompute.evaluate_networks``.
"""

__all__ = ["augment", "losses", "trainer", "evaluate"]
