"""``python -m kamado.images.linear_learner train``: channels train (required), validation and
test; ``model/model_algo-1``; AWS's ``#quality_metric`` log lines."""

import sys

import numpy as np

from kamado.images import program
from kamado.images.environment import TrainingEnvironment


def _dense(X):
    return X.toarray() if hasattr(X, "toarray") else np.asarray(X)


def train(env: TrainingEnvironment) -> None:
    from kamado.algorithms.data import RECORDIO, load_channel
    from kamado.algorithms.linear_learner.hyperparameters import validate
    from kamado.algorithms.linear_learner.metrics import evaluate
    from kamado.algorithms.linear_learner.train import OBJECTIVE_NAME, Split, _log, _loss_and_grad, fit

    hp = validate(env.hyperparameters)
    data = {}
    for channel in ("train", "validation", "test"):
        if channel in env.input_data_config:
            # The SDK's RecordSet sends no ContentType: protobuf is the built-ins' default.
            ds = load_channel(env.channel_dir(channel), env.content_type(channel), default=RECORDIO)
            if ds.y is None:
                raise program.ClientError(f"Channel {channel} has no labels.")
            data[channel] = Split(_dense(ds.X), ds.y)
    if "train" not in data:
        raise program.ClientError("Channel train is required by Linear Learner.")
    _log(f"Training on {len(data['train'].y)} records with {data['train'].X.shape[1]} features")
    model = fit(hp, data["train"], data.get("validation"))
    objective = OBJECTIVE_NAME[hp["loss"]]
    for channel, split in data.items():
        y = np.asarray(split.y, np.float64)
        scores = model.raw(split.X)[None, ...]
        loss, _ = _loss_and_grad(hp["loss"], scores, y, hp, np.ones(len(y)))
        _log(f"#quality_metric: host=algo-1, {channel} {objective} <loss>={float(loss[0]):.6g}")
        if channel == "train":
            continue
        for name, kind, value in evaluate(model, split.X, y, hp):
            _log(f"#quality_metric: host=algo-1, {channel} {name} <{kind}>={value:.6g}")
    env.model_dir.mkdir(parents=True, exist_ok=True)
    model.save(env.model_dir)
    _log(f"Saved the model (threshold {model.threshold:.4g}) to model_algo-1")


if __name__ == "__main__":
    sys.exit(program.run({"train": train}))
