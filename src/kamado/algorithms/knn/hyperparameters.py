"""k-NN's hyperparameters as AWS documents them (builtin-algorithms.md §3.5), with the rules
that tie them together checked up front, so a bad combination fails the job before any data
is read."""

from __future__ import annotations

from kamado.algorithms.hyperparameters import Number, choice, parse
from kamado.images.program import ClientError

ALGORITHM = "k-NN"
PQ_M = (1, 2, 3, 4, 8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 96)


def _pq_m(name: str, value: str) -> int:
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is None or not number.is_integer() or int(number) not in PQ_M:
        raise ClientError(f"Hyperparameter {name}: value {value!r} is not valid; allowed "
                          f"values: {', '.join(map(str, PQ_M))}.")
    return int(number)


POSITIVE_INT = dict(integer=True, lo=1)
SPECS = {
    "feature_dim": Number(**POSITIVE_INT),
    "k": Number(**POSITIVE_INT),
    "sample_size": Number(**POSITIVE_INT),
    "predictor_type": choice("classifier", "regressor"),
    "dimension_reduction_type": choice("sign", "fjlt"),
    "dimension_reduction_target": Number(**POSITIVE_INT),
    "index_type": choice("faiss.Flat", "faiss.IVFFlat", "faiss.IVFPQ"),
    "index_metric": choice("L2", "INNER_PRODUCT", "COSINE"),
    "faiss_index_ivf_nlists": Number(words=("auto",), **POSITIVE_INT),
    "faiss_index_pq_m": _pq_m,
    "mini_batch_size": Number(**POSITIVE_INT),
}
DEFAULTS = {
    "dimension_reduction_type": None,
    "dimension_reduction_target": None,
    "index_type": "faiss.Flat",
    "index_metric": "L2",
    "faiss_index_ivf_nlists": "auto",
    "faiss_index_pq_m": None,
    "mini_batch_size": 5000,
}
REQUIRED = ("feature_dim", "k", "sample_size", "predictor_type")


def validate(raw: dict) -> dict:
    hp = parse(raw, SPECS, DEFAULTS, ALGORITHM, required=REQUIRED)
    reduction, target = hp["dimension_reduction_type"], hp["dimension_reduction_target"]
    if reduction is not None and target is None:
        raise ClientError("Hyperparameter dimension_reduction_target is required when "
                          f"dimension_reduction_type is {reduction}; allowed values: an integer "
                          f"in [1, {hp['feature_dim'] - 1}].")
    if target is not None and reduction is None:
        raise ClientError("Hyperparameter dimension_reduction_target is set but "
                          "dimension_reduction_type is not; set dimension_reduction_type to "
                          "sign or fjlt, or leave out dimension_reduction_target.")
    if target is not None and target >= hp["feature_dim"]:
        raise ClientError(f"Hyperparameter dimension_reduction_target: value {target} is not "
                          f"smaller than feature_dim {hp['feature_dim']}; allowed values: an "
                          f"integer in [1, {hp['feature_dim'] - 1}].")
    if hp["index_type"] == "faiss.IVFPQ" and hp["index_metric"] != "L2":
        raise ClientError(f"Hyperparameter index_metric: value {hp['index_metric']!r} is not "
                          "valid with index_type faiss.IVFPQ; allowed values: L2.")
    if hp["faiss_index_pq_m"] is not None and hp["index_type"] != "faiss.IVFPQ":
        raise ClientError("Hyperparameter faiss_index_pq_m applies only to index_type "
                          f"faiss.IVFPQ; index_type is {hp['index_type']}.")
    dim = target if target is not None else hp["feature_dim"]
    m = hp["faiss_index_pq_m"]
    if m is not None and dim % m:
        raise ClientError(f"Hyperparameter faiss_index_pq_m: value {m} does not divide the "
                          f"indexed dimension {dim}; allowed values: "
                          f"{', '.join(str(v) for v in PQ_M if dim % v == 0)}.")
    if hp["index_type"] == "faiss.IVFPQ" and m is None:
        # kamado's choice (AWS documents no default): the largest allowed divisor up to 16,
        # precise enough for most data and quick to train
        hp["faiss_index_pq_m"] = max(v for v in PQ_M if dim % v == 0 and v <= 16)
    return hp
