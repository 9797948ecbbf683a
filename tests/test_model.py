"""The maths of the network and optimiser, checked by hand and by finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model import MLP, MLPConfig, log_softmax, softmax
from training.optim import Adam, learning_rate_at


def tiny_model(seed: int = 0, sizes: tuple[int, ...] = (784, 6, 5, 10)) -> MLP:
    return MLP.initialise(MLPConfig(sizes), np.random.default_rng(seed))


def test_parameters_are_views_of_one_flat_buffer():
    model = tiny_model()
    assert [p.shape for p in model.params] == [(784, 6), (6,), (6, 5), (5,), (5, 10), (10,)]
    model.params[2][0, 0] = 42.0
    assert 42.0 in model.flat
    assert model.flat.dtype == np.float32 and model.config.n_parameters == model.flat.size


def test_he_initialisation_scale():
    model = MLP.initialise(MLPConfig((784, 512, 10)), np.random.default_rng(0))
    assert model.weights[0].std() == pytest.approx(math.sqrt(2 / 784), rel=0.02)
    assert not model.biases[0].any()


def test_forward_pass_worked_out_by_hand():
    # One hidden unit: h = relu(2 * x0 - 1), logits = [h, -h, 0, ...].
    config = MLPConfig((784, 1, 10))
    w1 = np.zeros((784, 1), np.float32)
    w1[0, 0] = 2.0
    w2 = np.zeros((1, 10), np.float32)
    w2[0, 0], w2[0, 1] = 1.0, -1.0
    model = MLP.from_arrays(config, [w1, np.array([-1.0], np.float32), w2, np.zeros(10, np.float32)])
    x = np.zeros((2, 784), np.float32)
    x[0, 0], x[1, 0] = 1.0, 0.25  # h = 1 and h = relu(-0.5) = 0
    logits = model.logits(x)
    np.testing.assert_allclose(logits[0, :2], [1.0, -1.0])
    np.testing.assert_allclose(logits[1], np.zeros(10))
    probabilities = model.predict_proba(x)
    e = math.e
    np.testing.assert_allclose(probabilities[0, :2], [e / (e + 1 / e + 8), (1 / e) / (e + 1 / e + 8)], rtol=1e-6)
    np.testing.assert_allclose(probabilities[1], np.full(10, 0.1), rtol=1e-6)


def test_softmax_is_stable_for_huge_logits():
    logits = np.array([[1e30, 0.0, -1e30], [3e38, 3e38, -3e38], [-1e4, -1e4 - 1, -1e4 - 2]], np.float32)
    probabilities = softmax(logits)
    assert np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(probabilities[0], [1, 0, 0])
    np.testing.assert_allclose(probabilities[1], [0.5, 0.5, 0])
    log_probabilities = log_softmax(logits)
    assert not np.isnan(log_probabilities).any()
    assert np.isfinite(log_probabilities[[0, 2]]).all()  # row 1's -6e38 gap is -inf in float32, correctly
    np.testing.assert_allclose(softmax(logits[2:], temperature=2.0).sum(), 1.0, rtol=1e-6)


@pytest.mark.parametrize("l2, smoothing, dropout", [(0.0, 0.0, 0.0), (0.01, 0.1, 0.0), (0.0, 0.0, 0.3)])
def test_backward_pass_matches_finite_differences(l2, smoothing, dropout):
    rng = np.random.default_rng(1)
    model = tiny_model(seed=1)
    model.flat[...] += rng.normal(0, 0.05, model.flat.size).astype(np.float32)  # non-zero biases too
    x = rng.random((7, 784), dtype=np.float32)
    y = rng.integers(0, 10, 7)
    grads = np.zeros_like(model.flat)

    def loss() -> float:  # the same dropout mask on every call: a fresh rng with the same seed
        return model.loss_and_gradients(x, y, np.zeros_like(grads), l2, smoothing, dropout,
                                        np.random.default_rng(5))[0]

    model.loss_and_gradients(x, y, grads, l2, smoothing, dropout, np.random.default_rng(5))
    # Check a sample of coordinates in every parameter array, by central differences.
    checked = np.concatenate([rng.choice(np.arange(a, a + n), min(n, 40), replace=False)
                              for a, n in zip(np.cumsum([0] + [p.size for p in model.params])[:-1],
                                              [p.size for p in model.params])])
    eps = 1e-2
    numeric = []
    for i in checked:
        saved = model.flat[i]
        model.flat[i] = saved + eps
        plus = loss()
        model.flat[i] = saved - eps
        minus = loss()
        model.flat[i] = saved
        numeric.append((plus - minus) / (2 * eps))
    numeric = np.array(numeric)
    analytic = grads[checked]
    assert np.abs(analytic).max() > 1e-3  # the check is not vacuous
    np.testing.assert_allclose(analytic, numeric, atol=2e-4, rtol=2e-2)


def test_one_adam_step_by_hand():
    params = np.array([1.0, -2.0, 0.5], np.float32)
    grads = np.array([0.1, -0.3, 0.0], np.float32)
    adam = Adam(3, beta1=0.9, beta2=0.999, eps=1e-8)
    adam.step(params, grads, learning_rate=0.01)
    # t = 1: m = 0.1 g, v = 0.001 g^2, m_hat = g, v_hat = g^2, step = lr * g / (|g| + eps).
    expected = np.array([1.0 - 0.01 * 0.1 / (0.1 + 1e-8), -2.0 + 0.01 * 0.3 / (0.3 + 1e-8), 0.5])
    np.testing.assert_allclose(params, expected, rtol=1e-6)
    np.testing.assert_allclose(adam.m, 0.1 * grads, rtol=1e-6)
    np.testing.assert_allclose(adam.v, 0.001 * grads**2, rtol=1e-5)
    # t = 2, written out with the textbook formula in float64.
    g2 = np.array([0.2, 0.1, -0.4])
    m = 0.9 * adam.m.astype(np.float64) + 0.1 * g2
    v = 0.999 * adam.v.astype(np.float64) + 0.001 * g2**2
    expected2 = params.astype(np.float64) - 0.01 * (m / (1 - 0.9**2)) / (np.sqrt(v / (1 - 0.999**2)) + 1e-8)
    adam.step(params, g2.astype(np.float32), learning_rate=0.01)
    np.testing.assert_allclose(params, expected2, rtol=1e-6)
    assert adam.t == 2


def test_learning_rate_schedule():
    assert learning_rate_at(0, 100, 1.0, 10, 0.01) == pytest.approx(0.1)
    assert learning_rate_at(9, 100, 1.0, 10, 0.01) == pytest.approx(1.0)
    assert learning_rate_at(55, 100, 1.0, 10, 0.01) == pytest.approx(0.505)
    assert learning_rate_at(100, 100, 1.0, 10, 0.01) == pytest.approx(0.01)


@pytest.mark.parametrize("sizes", [(784,), (783, 10), (784, 0, 10), (784, 10, 9)])
def test_config_rejects_bad_architectures(sizes):
    with pytest.raises(ValueError, match="layer_sizes"):
        MLPConfig(sizes)


def test_input_gradient_matches_finite_differences():
    model = tiny_model(seed=2)
    x = np.random.default_rng(3).random((2, 784)).astype(np.float32)
    grad = model.input_gradient(x, 4)
    assert grad.shape == (2, 784) and grad.dtype == np.float32
    for i in (0, 100, 400, 783):
        step = np.zeros_like(x)
        step[:, i] = 1e-2
        numeric = (model.logits(x + step)[:, 4] - model.logits(x - step)[:, 4]) / 2e-2
        np.testing.assert_allclose(grad[:, i], numeric, atol=1e-3, rtol=1e-2)
