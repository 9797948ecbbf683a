"""A multi-layer perceptron in pure NumPy: ReLU hidden layers, softmax output.

All parameters live in one flat float32 buffer; the weight matrices and bias
vectors are views into it, in the order W1, b1, W2, b2, ... Gradients use the
same layout, so an optimiser updates every parameter with a few whole-buffer
operations instead of one small operation per array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DTYPE = np.float32
N_INPUTS = 784  # 28 x 28 pixels, row-major
N_CLASSES = 10


@dataclass(frozen=True)
class MLPConfig:
    """Architecture of the network."""

    layer_sizes: tuple[int, ...] = (N_INPUTS, 256, 128, N_CLASSES)  # input, hidden..., output

    def __post_init__(self) -> None:
        sizes = tuple(self.layer_sizes)
        if len(sizes) < 2:
            raise ValueError(f"layer_sizes needs an input and an output size, got {sizes}")
        if any(not isinstance(n, (int, np.integer)) or n < 1 for n in sizes):
            raise ValueError(f"layer_sizes must be positive integers, got {sizes}")
        if sizes[0] != N_INPUTS or sizes[-1] != N_CLASSES:
            raise ValueError(
                f"layer_sizes must start with {N_INPUTS} and end with {N_CLASSES}, got {sizes}"
            )
        object.__setattr__(self, "layer_sizes", tuple(int(n) for n in sizes))

    @property
    def parameter_shapes(self) -> list[tuple[int, ...]]:
        """Shapes in parameter order: W1 (in, out), b1 (out,), W2, b2, ..."""
        shapes: list[tuple[int, ...]] = []
        for n_in, n_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:]):
            shapes += [(n_in, n_out), (n_out,)]
        return shapes

    @property
    def n_parameters(self) -> int:
        return sum(int(np.prod(shape)) for shape in self.parameter_shapes)


def split_flat(flat: np.ndarray, config: MLPConfig) -> list[np.ndarray]:
    """Views of a flat buffer as [W1, b1, W2, b2, ...]; writing to a view writes the buffer."""
    assert flat.shape == (config.n_parameters,), f"flat buffer {flat.shape} != ({config.n_parameters},)"
    views, start = [], 0
    for shape in config.parameter_shapes:
        size = int(np.prod(shape))
        views.append(flat[start : start + size].reshape(shape))
        start += size
    return views


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of (n, k) logits; subtracting the row max keeps exp() finite."""
    z = logits / temperature if temperature != 1.0 else logits.copy()
    with np.errstate(over="ignore"):  # a gap beyond float range becomes -inf, and exp(-inf) = 0
        z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax of (n, k) logits, stable for huge values."""
    with np.errstate(over="ignore"):  # as in softmax
        z = logits - logits.max(axis=1, keepdims=True)
    z -= np.log(np.exp(z).sum(axis=1, keepdims=True))
    return z


class MLP:
    """The network: parameters plus the forward and backward passes. No I/O, no training loop."""

    def __init__(self, config: MLPConfig, flat: np.ndarray):
        if flat.dtype != DTYPE or flat.shape != (config.n_parameters,):
            raise ValueError(
                f"flat parameters must be float32 of shape ({config.n_parameters},), "
                f"got {flat.dtype} {flat.shape}"
            )
        self.config = config
        self.flat = flat
        self.params = split_flat(flat, config)

    @classmethod
    def initialise(cls, config: MLPConfig, rng: np.random.Generator) -> MLP:
        """He-normal weights (suited to ReLU), zero biases."""
        model = cls(config, np.zeros(config.n_parameters, dtype=DTYPE))
        for weight in model.weights:
            fan_in = weight.shape[0]
            weight[...] = rng.standard_normal(weight.shape, dtype=DTYPE) * np.sqrt(2.0 / fan_in)
        return model

    @classmethod
    def from_arrays(cls, config: MLPConfig, arrays: list[np.ndarray]) -> MLP:
        """Build from [W1, b1, W2, b2, ...]; shapes must match the config."""
        expected = config.parameter_shapes
        if len(arrays) != len(expected):
            raise ValueError(f"expected {len(expected)} parameter arrays, got {len(arrays)}")
        for i, (array, shape) in enumerate(zip(arrays, expected)):
            if tuple(array.shape) != shape:
                raise ValueError(f"parameter {i} has shape {tuple(array.shape)}, expected {shape}")
        flat = np.concatenate([np.asarray(a, dtype=DTYPE).ravel() for a in arrays])
        return cls(config, flat)

    @property
    def weights(self) -> list[np.ndarray]:
        return self.params[0::2]

    @property
    def biases(self) -> list[np.ndarray]:
        return self.params[1::2]

    def _forward(
        self, x: np.ndarray, dropout: float = 0.0, rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray | None]]:
        """(n, 784) -> (logits (n, 10), each layer's input, each hidden layer's dropout mask or None)."""
        inputs: list[np.ndarray] = [x]
        masks: list[np.ndarray | None] = []
        h = x
        last = len(self.weights) - 1
        for i, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            h = h @ weight  # (n, in) @ (in, out) -> (n, out)
            h += bias
            if i < last:
                np.maximum(h, 0, out=h)
                mask = None
                if dropout > 0:  # inverted dropout: scale the kept units so the expectation is unchanged
                    keep = 1.0 - dropout
                    mask = (rng.random(h.shape, dtype=DTYPE) < keep).astype(DTYPE) / DTYPE(keep)
                    h *= mask
                masks.append(mask)
                inputs.append(h)
        return h, inputs, masks

    def logits(self, x: np.ndarray) -> np.ndarray:
        """(n, 784) float32 in [0, 1] -> (n, 10) float32 logits."""
        return self._forward(x)[0]

    def predict_proba(self, x: np.ndarray, temperature: float = 1.0) -> np.ndarray:
        """(n, 784) float32 in [0, 1] -> (n, 10) class probabilities; rows sum to 1."""
        return softmax(self.logits(x), temperature)

    def input_gradient(self, x: np.ndarray, class_index: int) -> np.ndarray:
        """d logit[class_index] / d x for each row of (n, 784) x -> (n, 784): which pixels push toward the class."""
        _, inputs, _ = self._forward(x)
        activations = inputs[1:]  # the hidden layers' outputs
        grad = np.broadcast_to(self.weights[-1][:, class_index], (x.shape[0], self.weights[-1].shape[0]))
        for weight, h in zip(reversed(self.weights[:-1]), reversed(activations)):
            grad = (grad * (h > 0)) @ weight.T  # (n, out) @ (out, in) -> (n, in)
        return np.ascontiguousarray(grad, dtype=DTYPE)

    def loss_and_gradients(
        self,
        x: np.ndarray,
        y: np.ndarray,
        grads: np.ndarray,
        l2: float = 0.0,
        label_smoothing: float = 0.0,
        dropout: float = 0.0,
        rng: np.random.Generator | None = None,
    ) -> tuple[float, int]:
        """Mean cross-entropy on a batch, writing d(loss)/d(params) into `grads`.

        x: (n, 784) float32; y: (n,) integer labels; grads: flat float32 buffer
        laid out like `self.flat`. The loss adds l2/2 * sum(W**2) over the
        weight matrices (not the biases). Dropout (inverted, on hidden layers)
        needs `rng`. Returns (loss, number of correct predictions).
        """
        n = x.shape[0]
        if dropout > 0 and rng is None:
            raise ValueError("dropout > 0 needs an rng")
        logits, inputs, masks = self._forward(x, dropout, rng)
        last = len(self.weights) - 1

        # Softmax cross-entropy with (optionally smoothed) one-hot targets.
        log_probs = log_softmax(logits)
        targets = np.full_like(log_probs, label_smoothing / N_CLASSES)
        targets[np.arange(n), y] += 1.0 - label_smoothing
        loss = float(-(targets * log_probs).sum() / n)
        correct = int((logits.argmax(axis=1) == y).sum())

        # Backward: delta is d(loss)/d(pre-activation) of the current layer, (n, out).
        delta = np.exp(log_probs)
        delta -= targets
        delta /= n
        grad_views = split_flat(grads, self.config)
        for i in range(last, -1, -1):
            weight = self.weights[i]
            grad_weight, grad_bias = grad_views[2 * i], grad_views[2 * i + 1]
            np.matmul(inputs[i].T, delta, out=grad_weight)  # (in, n) @ (n, out) -> (in, out)
            delta.sum(axis=0, out=grad_bias)
            if l2 > 0:
                grad_weight += l2 * weight
                loss += 0.5 * l2 * float(np.vdot(weight, weight))
            if i > 0:
                delta = delta @ weight.T  # (n, out) @ (out, in) -> (n, in)
                # ReLU (and dropout) gate: zero where the forward pass was zeroed.
                delta *= inputs[i] > 0
                if masks[i - 1] is not None:
                    delta *= masks[i - 1]
        return loss, correct
