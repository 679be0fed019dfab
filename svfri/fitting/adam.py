"""Adam written out (Kingma & Ba 2015, Algorithm 1), so the fit stages can reset its state between photos of a
batch without retracing their compiled steps (a Keras optimiser owns slot variables tied to one trace)."""

from __future__ import annotations

import tensorflow as tf

__all__ = ["ADAM_EPSILON", "adam_update"]

#: Adam's denominator guard (Kingma & Ba 2015 default).
ADAM_EPSILON = 1e-7


def adam_update(variable: tf.Variable, gradient: tf.Tensor, first_moment: tf.Variable, second_moment: tf.Variable,
                iteration: tf.Tensor, learning_rate: float, beta_1: float = 0.9, beta_2: float = 0.999,
                epsilon: float = ADAM_EPSILON) -> None:
    """One Adam update of ``variable`` in place, ``iteration`` being the step count ``t >= 1`` after this step::

        m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2,
        z <- z - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    """
    first_moment.assign(beta_1 * first_moment + (1.0 - beta_1) * gradient)
    second_moment.assign(beta_2 * second_moment + (1.0 - beta_2) * tf.square(gradient))
    correction_1 = 1.0 - tf.pow(beta_1, iteration)
    correction_2 = 1.0 - tf.pow(beta_2, iteration)
    variable.assign_sub(learning_rate * (first_moment / correction_1)
                        / (tf.sqrt(second_moment / correction_2) + epsilon))
