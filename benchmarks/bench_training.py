"""Training speed: epochs of our NumPy training against the same network and optimiser in PyTorch (CPU),
alternating epoch by epoch so that both see the same state of a shared, noisy machine.

Also the single-image forward pass, our NumPy against PyTorch, for the default
784-256-128-10 net (goal <= 25 us) and the shipped net (goal <= 50 us).
Ratios are measured in one run on the same machine (the epoch ratio as the median of
paired epochs); absolute times vary with load.

    pip install -r benchmarks/requirements.txt
    MNIST_DIR=../shared/data/mnist python benchmarks/bench_training.py [--epochs 3]
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
from common import REPO, median_seconds, report

from model import load_weights
from training.data import load_mnist
from training.train import TrainConfig, train


def torch_epoch_runner(data, config: TrainConfig, threads: int):
    """The same network, loss, Adam and L2 in PyTorch; returns a function that trains one epoch, timed."""
    import time

    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(config.seed)
    sizes = config.layer_sizes
    layers: list[torch.nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.learning_rate, weight_decay=config.l2)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.from_numpy(data.train_images)
    y = torch.from_numpy(data.train_labels.astype(np.int64))
    generator = torch.Generator().manual_seed(config.seed)

    def epoch() -> float:
        start = time.perf_counter()
        order = torch.randperm(len(y), generator=generator)
        for i in range(0, len(y), config.batch_size):
            index = order[i : i + config.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(net(x[index]), y[index])
            loss.backward()
            optimizer.step()
        return time.perf_counter() - start

    return epoch


def paired_epochs(data, config: TrainConfig, threads: int) -> tuple[list[float], list[float]]:
    """Alternate: one epoch of our training, then one PyTorch epoch, so both see the same machine state.

    Our epoch time is the one train() records (it includes the dev evaluation, a small cost we keep).
    """
    torch_epoch = torch_epoch_runner(data, config, threads)
    torch_epoch()  # warm-up: first-call costs
    reference: list[float] = []
    _, state = train(config, data, on_epoch_end=lambda record: reference.append(torch_epoch()))
    return [h["seconds"] for h in state.history], reference


def single_image_forward(model, threads: int) -> dict[str, float]:
    import torch

    torch.set_num_threads(threads)
    x = np.random.default_rng(0).random((1, 784), dtype=np.float32)
    ours = median_seconds(lambda: model.logits(x), repeats=3000, warmup=200)
    layers: list[torch.nn.Module] = []
    for i, (weight, bias) in enumerate(zip(model.weights, model.biases)):
        linear = torch.nn.Linear(*weight.shape)
        linear.weight.data = torch.from_numpy(weight.T.copy())
        linear.bias.data = torch.from_numpy(bias.copy())
        layers.append(linear)
        if i < len(model.weights) - 1:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers).eval()
    tx = torch.from_numpy(x)
    with torch.inference_mode():
        np.testing.assert_allclose(net(tx).numpy(), model.logits(x), rtol=1e-4, atol=1e-4)
        reference = median_seconds(lambda: net(tx), repeats=3000, warmup=200)
    return {"numpy_us": ours * 1e6, "torch_us": reference * 1e6, "ratio": ours / reference}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=6,
                        help="epochs timed for each side, alternating (median of the paired ratios reported)")
    parser.add_argument("--threads", type=int, default=2, help="PyTorch intra-op threads (OpenBLAS uses all cores)")
    args = parser.parse_args()

    data = load_mnist()
    config = TrainConfig(epochs=args.epochs)  # the default net, batch 128, Adam, L2, no augmentation
    ours, reference = paired_epochs(data, config, args.threads)
    ratios = [a / b for a, b in zip(ours, reference)]
    epoch = {"numpy_s": statistics.median(ours), "torch_s": statistics.median(reference),
             "ratio": statistics.median(ratios), "paired_ratios": [round(r, 3) for r in ratios],
             "numpy_all_s": ours, "torch_all_s": reference}

    from model import MLP, MLPConfig

    default_net = MLP.initialise(MLPConfig(config.layer_sizes), np.random.default_rng(0))
    shipped_net, _ = load_weights(REPO / "weights")
    report("training", {
        "epoch_default_net": epoch,
        "goal_epoch_ratio": "<= 1.0",
        "forward_single_image_default_net": single_image_forward(default_net, args.threads),
        "goal_default_forward_us": 25,
        "forward_single_image_shipped_net": single_image_forward(shipped_net, args.threads),
        "goal_shipped_forward_us": 50,
    })


if __name__ == "__main__":
    main()
