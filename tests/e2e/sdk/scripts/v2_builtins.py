"""SageMaker Python SDK v2: AWS's first-party algorithm estimators (``sagemaker.KMeans``,
``PCA``, ``KNN``, ``RandomCutForest``, ``FactorizationMachines``, ``LDA``, ``IPInsights``,
``LinearLearner``), used as AWS's notebooks use them, against kamado:

    est.record_set(X, labels=y)       # RecordIO-protobuf shards + a manifest in S3
    est.fit(records)                  # a ManifestFile channel without a ContentType
    predictor = est.deploy(1, "ml.m5.large")
    predictor.predict(X[:n])          # the estimator's own predictor, its default formats
    predictor.delete_model(); predictor.delete_endpoint()

IP Insights trains on CSV that ``Session.upload_data`` put in S3, wrapped in an S3Prefix
``RecordSet`` as the SDK's own integration test does (its ``fit`` takes RecordSets only); its
predictor sends CSV and reads JSON.

Run inside the SDK's venv with AWS_PROFILE=kamado; argv[1] is a JSON object: ``data`` (an .npz
of the arrays), ``ipinsights_train`` (a directory with a CSV file), ``role``, ``algorithms``
(which scenarios to run) and ``prefix`` (job and endpoint names). The scenarios run in threads,
all at once: the SDK sleeps 30 s before its first DescribeEndpoint, so one after another they
would take minutes. A scenario that raises is reported as ``{"error": traceback}``, so each test
sees its own failure. Prints one line ``KAMADO-SDK-RESULT <json>``.
"""

import json
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import sagemaker
from sagemaker import (LDA, PCA, KMeans, KNN, FactorizationMachines, IPInsights, LinearLearner,
                       RandomCutForest)
from sagemaker.amazon.amazon_estimator import RecordSet

args = json.loads(sys.argv[1])
data = dict(np.load(args["data"]))
ROLE = args["role"]
PREFIX = args["prefix"]
INSTANCE = "ml.m5.large"


def record_to_dict(record) -> dict:
    """A Record of the SDK's RecordDeserializer as plain JSON: each label's tensor kind and
    values (``record.label[name].float32_tensor.values`` for a float32 answer)."""
    out = {}
    for name in record.label:
        value = record.label[name]
        kind = value.WhichOneof("value")
        out[name] = {"kind": kind, "values": list(getattr(value, kind).values)}
    return out


def plain(answer):
    if isinstance(answer, list) and answer and hasattr(answer[0], "label"):
        return [record_to_dict(r) for r in answer]
    return answer


def run_flow(name, estimator, records, X_predict, *, mini_batch_size=None):
    """fit → describe → deploy → predict → delete, the way a user writes it."""
    sess = estimator.sagemaker_session
    job_name, endpoint_name = f"{PREFIX}-{name}", f"{PREFIX}-{name}"
    out = {"image": estimator.training_image_uri(), "estimator": type(estimator).__name__}
    started = time.monotonic()
    if mini_batch_size is None:
        estimator.fit(records, wait=True, logs=False, job_name=job_name)
    else:
        estimator.fit(records, mini_batch_size=mini_batch_size, wait=True, logs=False,
                      job_name=job_name)
    out["fit_seconds"] = time.monotonic() - started
    job = estimator.latest_training_job.describe()
    out.update(
        job_name=job["TrainingJobName"], status=job["TrainingJobStatus"],
        failure_reason=job.get("FailureReason"),
        training_image=job["AlgorithmSpecification"]["TrainingImage"],
        hyperparameters=job.get("HyperParameters", {}),
        channels=[{"name": c["ChannelName"],
                   "s3_data_type": c["DataSource"]["S3DataSource"]["S3DataType"],
                   "s3_uri": c["DataSource"]["S3DataSource"]["S3Uri"],
                   "content_type": c.get("ContentType")} for c in job["InputDataConfig"]],
        final_metrics={m["MetricName"]: m["Value"] for m in job.get("FinalMetricDataList", [])},
        model_data=estimator.model_data)
    started = time.monotonic()
    predictor = estimator.deploy(initial_instance_count=1, instance_type=INSTANCE,
                                 endpoint_name=endpoint_name)
    out["deploy_seconds"] = time.monotonic() - started
    out["predictor"] = type(predictor).__name__
    out["content_type"] = predictor.content_type
    out["accept"] = list(predictor.accept) if isinstance(predictor.accept, (list, tuple)) \
        else predictor.accept
    out["endpoint_status"] = sess.sagemaker_client.describe_endpoint(
        EndpointName=endpoint_name)["EndpointStatus"]
    out["predictions"] = plain(predictor.predict(X_predict))
    predictor.delete_model()      # first: it finds the model through the endpoint config,
    predictor.delete_endpoint()   # which this deletes too
    try:  # deletion is asynchronous: Deleting, then gone
        out["status_after_delete"] = sess.sagemaker_client.describe_endpoint(
            EndpointName=endpoint_name)["EndpointStatus"]
    except Exception as exc:  # noqa: BLE001 - reported; the test decides
        out["status_after_delete"] = f"{type(exc).__name__}: {exc}"
    return out


def common(sess):
    return dict(role=ROLE, instance_count=1, instance_type=INSTANCE, sagemaker_session=sess)


def kmeans(sess):
    est = KMeans(k=3, **common(sess))
    records = est.record_set(data["kmeans_X"])
    return {"records": records.s3_data, **run_flow("kmeans", est, records, data["kmeans_X"][:10])}


def pca(sess):
    est = PCA(num_components=5, **common(sess))
    records = est.record_set(data["pca_X"])
    return {"records": records.s3_data, **run_flow("pca", est, records, data["pca_X"][:10])}


def knn(sess):
    X, y = data["knn_Xtr"], data["knn_ytr"]
    est = KNN(k=5, sample_size=len(X), predictor_type="classifier", **common(sess))
    records = est.record_set(X, labels=y)
    return {"records": records.s3_data, **run_flow("knn", est, records, data["knn_Xte"])}


def randomcutforest(sess):
    est = RandomCutForest(num_trees=50, num_samples_per_tree=128, **common(sess))
    records = est.record_set(data["rcf_X"])
    return {"records": records.s3_data,
            **run_flow("randomcutforest", est, records, data["rcf_Xq"])}


def factorization_machines(sess):
    X, y = data["fm_X"], data["fm_y"]
    est = FactorizationMachines(num_factors=4, predictor_type="binary_classifier", epochs=20,
                                bias_lr=0.05, linear_lr=0.05, factors_lr=0.01, **common(sess))
    records = est.record_set(X, labels=y)
    return {"records": records.s3_data,
            **run_flow("factorization-machines", est, records, X[:20], mini_batch_size=50)}


def lda(sess):
    est = LDA(num_topics=3, **common(sess))
    records = est.record_set(data["lda_X"])
    # LDA.fit requires mini_batch_size (the SDK raises without it)
    return {"records": records.s3_data,
            **run_flow("lda", est, records, data["lda_X"][:10], mini_batch_size=50)}


def linear_learner(sess):
    X, y = data["ll_Xtr"], data["ll_ytr"]
    est = LinearLearner(predictor_type="binary_classifier", **common(sess))
    records = est.record_set(X, labels=y)
    return {"records": records.s3_data,
            **run_flow("linear-learner", est, records, data["ll_Xte"][:20])}


def ipinsights(sess):
    est = IPInsights(num_entity_vectors=80, vector_dim=16, epochs=10, learning_rate=0.01,
                     **common(sess))
    train = sess.upload_data(args["ipinsights_train"], key_prefix="ipinsights/train")
    records = RecordSet(train, num_records=int(args["ipinsights_rows"]), feature_dim=2,
                        s3_data_type="S3Prefix", channel="train")
    return {"records": train, **run_flow("ipinsights", est, records, args["ipinsights_query"],
                                         mini_batch_size=100)}


SCENARIOS = {"kmeans": kmeans, "pca": pca, "knn": knn, "randomcutforest": randomcutforest,
             "factorization-machines": factorization_machines, "lda": lda,
             "linear-learner": linear_learner, "ipinsights": ipinsights}


def guarded(fn, sess):
    try:
        return fn(sess)
    except Exception:  # noqa: BLE001 - the test reports it
        return {"error": traceback.format_exc()}


started = time.monotonic()
wanted = args["algorithms"]
# One Session per scenario, made here in the main thread (a boto3 Session is not thread-safe;
# its clients are); bucket and role come from the SDK's config file as a user's would.
sessions = {name: sagemaker.Session() for name in wanted}
with ThreadPoolExecutor(max_workers=len(wanted)) as pool:
    futures = {name: pool.submit(guarded, SCENARIOS[name], sessions[name]) for name in wanted}
    results = {name: f.result() for name, f in futures.items()}
print()  # the SDK's deploy progress ("!") leaves the line open
print("KAMADO-SDK-RESULT " + json.dumps({
    "sdk": sagemaker.__version__, "region": sessions[wanted[0]].boto_region_name,
    "bucket": sessions[wanted[0]].default_bucket(), "results": results,
    "seconds": time.monotonic() - started}), flush=True)
