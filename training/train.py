"""The training loop: mini-batch Adam, best-on-dev selection, resumable checkpoints."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from model import MLP, MLPConfig
from training.augment import AugmentConfig, augment_batch
from training.data import MnistSplits
from training.evaluate import loss_and_accuracy
from training.optim import Adam, learning_rate_at

log = logging.getLogger(__name__)
CHECKPOINT_FILE = "checkpoint.npz"


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides the trained weights; saved beside them."""

    hidden_sizes: tuple[int, ...] = (256, 128)  # () gives softmax regression (784-10)
    epochs: int = 20
    batch_size: int = 128
    learning_rate: float = 1e-3  # peak Adam step size
    warmup_epochs: float = 0.5  # linear warm-up before the cosine decay
    final_lr_ratio: float = 0.01  # the cosine schedule ends at learning_rate * this
    l2: float = 1e-5  # L2 penalty on the weight matrices (not the biases)
    label_smoothing: float = 0.0
    dropout: float = 0.0  # on hidden layers
    ema_decay: float = 0.0  # > 0: evaluate and ship an exponential moving average of the weights
    augment: AugmentConfig | None = None  # None: train on the plain images
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden_sizes", tuple(int(n) for n in self.hidden_sizes))
        if isinstance(self.augment, dict):
            object.__setattr__(self, "augment", AugmentConfig(**self.augment))
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        for name in ("label_smoothing", "dropout", "ema_decay", "final_lr_ratio"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.l2 < 0 or self.warmup_epochs < 0:
            raise ValueError(f"l2 and warmup_epochs must be >= 0, got {self.l2}, {self.warmup_epochs}")
        MLPConfig(self.layer_sizes)  # validates the hidden sizes

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return (784, *self.hidden_sizes, 10)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        return cls(**values)


@dataclass
class TrainState:
    """What a checkpoint holds: enough to continue exactly where training stopped."""

    model: MLP
    optimizer: Adam
    rng: np.random.Generator
    epoch: int = 0  # epochs completed
    best_flat: np.ndarray | None = None
    best_dev_accuracy: float = -1.0
    best_epoch: int = 0
    ema_flat: np.ndarray | None = None
    history: list[dict[str, float]] = field(default_factory=list)


def new_state(config: TrainConfig) -> TrainState:
    rng = np.random.default_rng(config.seed)
    model = MLP.initialise(MLPConfig(config.layer_sizes), rng)
    ema = model.flat.copy() if config.ema_decay > 0 else None
    return TrainState(model=model, optimizer=Adam(model.config.n_parameters), rng=rng, ema_flat=ema)


def save_checkpoint(state: TrainState, config: TrainConfig, path: Path) -> None:
    """Write the state atomically: a kill mid-write leaves the previous checkpoint intact."""
    arrays = {
        "config": np.array(json.dumps(config.to_dict())),
        "epoch": np.array(state.epoch),
        "flat": state.model.flat,
        "best_flat": state.best_flat if state.best_flat is not None else state.model.flat,
        "best_dev_accuracy": np.array(state.best_dev_accuracy),
        "best_epoch": np.array(state.best_epoch),
        "rng_state": np.array(json.dumps(state.rng.bit_generator.state)),
        "history": np.array(json.dumps(state.history)),
        **state.optimizer.state(),
    }
    if state.ema_flat is not None:
        arrays["ema_flat"] = state.ema_flat
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".checkpoint.", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: Path, config: TrainConfig) -> TrainState:
    """Restore a checkpoint written by the same config; a different config is an error, not a silent mix."""
    with np.load(path, allow_pickle=False) as saved:
        saved_config = json.loads(str(saved["config"]))
        if saved_config != config.to_dict():
            raise ValueError(
                f"{path} was written by a different training config; use --restart to discard it "
                f"or another --run-dir.\n  checkpoint: {saved_config}\n  now:        {config.to_dict()}"
            )
        state = new_state(config)
        state.model.flat[...] = saved["flat"]
        state.optimizer.load_state({k: saved[k] for k in ("adam_m", "adam_v", "adam_t")})
        state.rng.bit_generator.state = json.loads(str(saved["rng_state"]))
        state.epoch = int(saved["epoch"])
        state.best_flat = saved["best_flat"].copy()
        state.best_dev_accuracy = float(saved["best_dev_accuracy"])
        state.best_epoch = int(saved["best_epoch"])
        state.history = json.loads(str(saved["history"]))
        if state.ema_flat is not None:
            state.ema_flat[...] = saved["ema_flat"]
    return state


def train(
    config: TrainConfig,
    data: MnistSplits,
    run_dir: str | Path | None = None,
    restart: bool = False,
    progress: bool = False,
    on_epoch_end: Callable[[dict[str, float]], None] | None = None,
) -> tuple[MLP, TrainState]:
    """Train, checkpointing to `run_dir` after every epoch; returns (best-on-dev model, final state).

    If `run_dir` holds a checkpoint of the same config, training continues
    from it and ends with exactly the weights an uninterrupted run gives.
    """
    checkpoint = Path(run_dir) / CHECKPOINT_FILE if run_dir is not None else None
    if checkpoint is not None and checkpoint.is_file() and not restart:
        state = load_checkpoint(checkpoint, config)
        log.info("resuming from %s after epoch %d", checkpoint, state.epoch)
    else:
        state = new_state(config)

    model, rng = state.model, state.rng
    grads = np.zeros_like(model.flat)
    n_train = len(data.train_labels)
    steps_per_epoch = -(-n_train // config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    warmup_steps = int(config.warmup_epochs * steps_per_epoch)
    eval_model = MLP(model.config, state.ema_flat) if state.ema_flat is not None else model

    while state.epoch < config.epochs:
        started = time.perf_counter()
        order = rng.permutation(n_train)
        total_loss, total_correct = 0.0, 0
        batches = range(0, n_train, config.batch_size)
        if progress:
            from tqdm import tqdm

            batches = tqdm(batches, desc=f"epoch {state.epoch + 1}/{config.epochs}", leave=False, unit="batch")
        for i, start in enumerate(batches):
            index = order[start : start + config.batch_size]
            x, y = data.train_images[index], data.train_labels[index]
            if config.augment is not None:
                x = augment_batch(x, config.augment, rng)
            loss, correct = model.loss_and_gradients(
                x, y, grads, config.l2, config.label_smoothing, config.dropout, rng
            )
            step = state.epoch * steps_per_epoch + i
            state.optimizer.step(model.flat, grads, learning_rate_at(step, total_steps, config.learning_rate,
                                                                     warmup_steps, config.final_lr_ratio))
            if state.ema_flat is not None:
                state.ema_flat += (1 - config.ema_decay) * (model.flat - state.ema_flat)
            total_loss += loss * len(y)
            total_correct += correct
            if progress and i % 20 == 0:
                batches.set_postfix(loss=f"{total_loss / (start + len(y)):.4f}",
                                    acc=f"{total_correct / (start + len(y)):.4f}")
        if not np.isfinite(model.flat).all():
            raise FloatingPointError(f"weights became NaN or infinite in epoch {state.epoch + 1}; "
                                     "lower the learning rate")

        dev_loss, dev_accuracy = loss_and_accuracy(eval_model, data.dev_images, data.dev_labels)
        state.epoch += 1
        record = {
            "epoch": state.epoch,
            "train_loss": total_loss / n_train,
            "train_accuracy": total_correct / n_train,
            "dev_loss": dev_loss,
            "dev_accuracy": dev_accuracy,
            "seconds": time.perf_counter() - started,
        }
        state.history.append(record)
        if dev_accuracy > state.best_dev_accuracy:
            state.best_dev_accuracy, state.best_epoch = dev_accuracy, state.epoch
            state.best_flat = eval_model.flat.copy()
        if checkpoint is not None:
            save_checkpoint(state, config, checkpoint)
        log.info("epoch %d/%d train loss %.4f acc %.4f | dev loss %.4f acc %.4f | %.1fs",
                 state.epoch, config.epochs, record["train_loss"], record["train_accuracy"],
                 dev_loss, dev_accuracy, record["seconds"])
        if on_epoch_end is not None:
            on_epoch_end(record)

    best = MLP(model.config, state.best_flat.copy())
    return best, state
