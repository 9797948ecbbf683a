"""Command line: python -m training {train,evaluate} --help."""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from dataclasses import fields

from model import load_weights, save_weights
from training.augment import AugmentConfig
from training.data import DEV_SIZE, DataError, load_mnist, mnist_checksums
from training.evaluate import calibrate, evaluate, write_report
from training.publish import PublishError
from training.train import TrainConfig, train

log = logging.getLogger("training")
DEFAULTS = TrainConfig()
# The recipe of the shipped weights: a wider net trained on distorted digits (see README).
SHIPPED = dict(hidden_sizes=(1024, 256), epochs=80, dropout=0.1, ema_decay=0.999, augment=AugmentConfig())


def add_data_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="folder with the four MNIST .gz files (default: $MNIST_DIR, "
                        "else the .cache/mnist cache, downloaded on first use)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    t = commands.add_parser("train", help="train the MLP and write a weights folder",
                            description="Train on 55,000 MNIST images, select on the 5,000-image dev split, "
                            "write weights + metadata. Interrupted runs resume from the run folder.")
    add_data_args(t)
    t.add_argument("--recipe", choices=["default", "shipped"], default="default",
                   help="starting values: 'default' (784-256-128-10, plain images) or 'shipped' "
                   "(the recipe of weights/); the flags below override them")
    t.add_argument("--model", choices=["mlp", "softmax"], default="mlp",
                   help="'softmax' trains the 784-10 softmax-regression baseline")
    t.add_argument("--hidden-sizes", type=int, nargs="*", help=f"hidden layer widths (default {DEFAULTS.hidden_sizes})")
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--learning-rate", type=float, help="peak Adam step size")
    t.add_argument("--l2", type=float, help="L2 penalty on weight matrices")
    t.add_argument("--label-smoothing", type=float)
    t.add_argument("--dropout", type=float, help="dropout rate on hidden layers")
    t.add_argument("--ema-decay", type=float, help="weight averaging; 0 turns it off")
    t.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="distort training images on the fly (affine, elastic, stroke width)")
    t.add_argument("--seed", type=int)
    t.add_argument("--run-dir", default="runs/default", help="checkpoints go here; a rerun resumes from them")
    t.add_argument("--restart", action="store_true", help="ignore an existing checkpoint in --run-dir")
    t.add_argument("--out", default="runs/default/weights", help="folder to write the weights into "
                   "(use weights/ to replace the shipped ones)")

    e = commands.add_parser("evaluate", help="measure weights on the 10k test set, write PNG + JSON reports",
                            description="Test accuracy, per-class accuracy, confusion matrix, top confusions, "
                            "calibration and training curves.")
    add_data_args(e)
    e.add_argument("--weights", default="weights", help="weights folder (default: the shipped weights/)")
    e.add_argument("--reports-dir", default="reports", help="where report.json and the PNGs go")
    e.add_argument("--json", action="store_true", help="print one JSON object (with test_accuracy) to stdout")

    r = commands.add_parser("robustness", help="accuracy under shifts, rotations, scaling, stroke width and the "
                            "canvas round trip, for several weights folders (PNG + JSON)")
    add_data_args(r)
    r.add_argument("--weights", nargs="+", default=["weights", "weights/unaugmented"],
                   help="weights folders to compare (default: the shipped and the unaugmented baseline)")
    r.add_argument("--reports-dir", default="reports")
    r.add_argument("--limit", type=int, default=10000, help="use the first N test digits (default: all 10,000)")
    r.add_argument("--json", action="store_true", help="print the table as one JSON object to stdout")

    p = commands.add_parser("publish", help="upload weights, metadata, report pictures and a model card to the Hub",
                            description="Stage a folder, then create the model repo if needed, upload it in one "
                            "commit and tag it. Token: HF_TOKEN or `hf auth login`.")
    p.add_argument("--repo-id", required=True, help="OWNER/NAME of the model repo")
    p.add_argument("--revision", default="main", help="branch to commit to (default main)")
    p.add_argument("--tag", help="version tag (default weights-<SHA-256 prefix of the tensors>)")
    p.add_argument("--private", action="store_true", help="create the repo as private")
    p.add_argument("--dry-run", action="store_true", help="stage locally and list what would be uploaded")
    p.add_argument("--weights", default="weights", help="weights folder to publish")
    p.add_argument("--reports-dir", default="reports", help="evaluation pictures to include")
    p.add_argument("--staging-dir", default="runs/publish", help="where the folder is staged")
    p.add_argument("--endpoint", help="Hub URL (default: $HF_ENDPOINT or huggingface.co)")

    d = commands.add_parser("deploy-space", help="create or update a Gradio Space serving pinned Hub weights",
                            description="Upload the app's files to a Space (SDK gradio) and set its MODEL_REPO "
                            "and MODEL_REVISION variables.")
    d.add_argument("--space-id", required=True, help="OWNER/NAME of the Space")
    d.add_argument("--model-repo", help="model repo the Space serves (default: its shipped weights)")
    d.add_argument("--model-revision", help="tag or commit of --model-repo to pin")
    d.add_argument("--private", action="store_true")
    d.add_argument("--endpoint", help="Hub URL (default: $HF_ENDPOINT or huggingface.co)")
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    values = dict(SHIPPED) if args.recipe == "shipped" else {}
    for f in fields(TrainConfig):
        value = getattr(args, f.name, None)
        if value is not None and f.name != "augment":
            values[f.name] = tuple(value) if f.name == "hidden_sizes" else value
    if args.augment is not None:
        values["augment"] = AugmentConfig() if args.augment else None
    if args.model == "softmax":
        values["hidden_sizes"] = ()
    return TrainConfig(**values)


def run_train(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    log.info("config: %s", json.dumps(config.to_dict()))
    data = load_mnist(args.data_dir, progress=True)
    try:
        model, state = train(config, data, run_dir=args.run_dir, restart=args.restart, progress=sys.stderr.isatty())
    except KeyboardInterrupt:
        log.warning("interrupted; the last finished epoch is saved in %s: run the same command to resume",
                    args.run_dir)
        return 130
    calibration = calibrate(model, data.dev_images, data.dev_labels)
    test = evaluate(model, data.test_images, data.test_labels, calibration["temperature"])
    metadata = {
        "training": {**config.to_dict(), "dev_split": f"last {DEV_SIZE} of the 60,000 training images",
                     "best_epoch": state.best_epoch,
                     "train_seconds": round(sum(h["seconds"] for h in state.history), 1)},
        "data": {"dataset": "MNIST", "md5_decompressed": mnist_checksums()},
        "metrics": {"dev_accuracy": state.best_dev_accuracy, "test_accuracy": test["accuracy"],
                    "test_loss": test["loss"], "test_ece_calibrated": test["ece_calibrated"]},
        "calibration": calibration,
        "history": state.history,
        "command": "python -m training " + shlex.join(sys.argv[1:]),
    }
    path = save_weights(model, args.out, metadata)
    log.info("best dev accuracy %.4f at epoch %d; test accuracy %.4f; wrote %s",
             state.best_dev_accuracy, state.best_epoch, test["accuracy"], path)
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    model, metadata = load_weights(args.weights)
    data = load_mnist(args.data_dir, progress=not args.json)
    report = write_report(model, metadata, data.test_images, data.test_labels, args.reports_dir)
    if args.json:
        print(json.dumps(report))
    else:
        print(f"test accuracy {report['test_accuracy']:.4f} ({report['test_errors']} errors of {report['n_test']}); "
              f"reports in {args.reports_dir}/")
    return 0


def run_robustness(args: argparse.Namespace) -> int:
    from training.robustness import markdown_table, robustness, write_robustness_report

    models = {}
    for folder in args.weights:
        model, metadata = load_weights(folder)
        augmented = "augmented" if (metadata.get("training") or {}).get("augment") else "unaugmented"
        label = f"{augmented} {'-'.join(map(str, model.config.layer_sizes))}"
        models[label if label not in models else f"{label} ({folder})"] = model
    data = load_mnist(args.data_dir, progress=not args.json)
    table = robustness(models, data.test_images[: args.limit], data.test_labels[: args.limit])
    report = write_robustness_report(table, args.reports_dir)
    print(json.dumps(report) if args.json else markdown_table(table))
    return 0


def run_publish(args: argparse.Namespace) -> int:
    from training.publish import PublishConfig, publish

    config = PublishConfig(args.repo_id, args.revision, args.tag, args.private, args.dry_run)
    result = publish(config, args.weights, args.reports_dir, args.staging_dir, args.endpoint)
    if config.dry_run:
        print(f"dry run: would upload to {config.repo_id} (tag {result['tag']}) from {result['staged']}:")
        print("\n".join(f"  {name}" for name in result["files"]))
    else:
        print(f"published {config.repo_id} at revision {result['commit']} (tag {result['tag']})\n"
              f"  {result['commit_url']}\n"
              f"serve it with: MODEL_REPO={config.repo_id} MODEL_REVISION={result['tag']} python app.py")
    return 0


def run_deploy_space(args: argparse.Namespace) -> int:
    from training.publish import deploy_space

    result = deploy_space(args.space_id, args.model_repo, args.model_revision, args.endpoint, args.private)
    print(f"deployed Space {result['space_id']} at {result['commit']}\n  {result['commit_url']}\n"
          f"  variables: {result['variables'] or 'none (serves its shipped weights)'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stderr)
    try:
        commands = {"train": run_train, "evaluate": run_evaluate, "robustness": run_robustness,
                    "publish": run_publish, "deploy-space": run_deploy_space}
        return commands[args.command](args)
    except (DataError, ValueError, FloatingPointError, PublishError) as err:
        log.error("%s", err)
        return 2


if __name__ == "__main__":
    sys.exit(main())
