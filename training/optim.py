"""Adam and the learning-rate schedule."""

from __future__ import annotations

import math

import numpy as np


class Adam:
    """Adam (Kingma & Ba, 2015, "Adam: A Method for Stochastic Optimization", Algorithm 1).

    Works on one flat float32 parameter buffer and its gradient buffer, in
    place, with one preallocated scratch buffer: NumPy's element-wise
    operations run on one core, so avoiding temporaries is what keeps the
    update cheap next to the matrix products.
    """

    def __init__(self, n_params: int, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        if not 0 <= beta1 < 1 or not 0 <= beta2 < 1:
            raise ValueError(f"beta1 and beta2 must be in [0, 1), got {beta1}, {beta2}")
        if eps <= 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.t = 0  # steps taken
        self.m = np.zeros(n_params, dtype=np.float32)  # first moment
        self.v = np.zeros(n_params, dtype=np.float32)  # second moment
        self._scratch = np.empty(n_params, dtype=np.float32)

    def step(self, params: np.ndarray, grads: np.ndarray, learning_rate: float) -> None:
        """params -= lr * m_hat / (sqrt(v_hat) + eps), with bias-corrected moments."""
        self.t += 1
        m, v, s = self.m, self.v, self._scratch
        # m = beta1 * m + (1 - beta1) * g, as m += (1 - beta1) * (g - m): no temporaries.
        np.subtract(grads, m, out=s)
        s *= 1 - self.beta1
        m += s
        # v = beta2 * v + (1 - beta2) * g**2, likewise.
        np.square(grads, out=s)
        s -= v
        s *= 1 - self.beta2
        v += s
        # Folding the bias corrections into the step size and eps gives the same update:
        # m_hat / (sqrt(v_hat) + eps) = c * m / (sqrt(v) + eps * sqrt(1 - beta2**t)).
        correction2 = math.sqrt(1 - self.beta2**self.t)
        step_size = learning_rate * correction2 / (1 - self.beta1**self.t)
        np.sqrt(v, out=s)
        s += self.eps * correction2
        np.divide(m, s, out=s)
        s *= step_size
        params -= s

    def state(self) -> dict[str, np.ndarray]:
        return {"adam_m": self.m, "adam_v": self.v, "adam_t": np.array(self.t)}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.m[...] = state["adam_m"]
        self.v[...] = state["adam_v"]
        self.t = int(state["adam_t"])


def learning_rate_at(step: int, total_steps: int, peak: float, warmup_steps: int, final_ratio: float) -> float:
    """Linear warm-up to `peak`, then cosine decay to `peak * final_ratio` at `total_steps`."""
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return peak * (final_ratio + (1 - final_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))
