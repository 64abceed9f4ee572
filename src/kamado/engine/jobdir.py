"""The ``/opt/ml`` tree of one host of a training job, and the configuration files in it
(training-contract.md §2–§3)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from kamado.images.environment import TrainingEnvironment

GROUP = "homogeneousCluster"


def host_names(count: int) -> list[str]:
    return [f"algo-{i + 1}" for i in range(max(1, count))]


def channel_config(channel: dict, default_mode: str) -> dict:
    """One entry of ``inputdataconfig.json``: what the container is told about a channel."""
    s3 = (channel.get("DataSource") or {}).get("S3DataSource") or {}
    entry = {}
    if channel.get("ContentType"):
        entry["ContentType"] = channel["ContentType"]
    entry["TrainingInputMode"] = channel.get("InputMode") or default_mode
    entry["S3DistributionType"] = s3.get("S3DataDistributionType", "FullyReplicated")
    entry["RecordWrapperType"] = channel.get("RecordWrapperType", "None")
    return entry


def resource_config(host: str, hosts: list[str], instance_type: str) -> dict:
    return {"current_host": host, "current_instance_type": instance_type,
            "current_group_name": GROUP, "hosts": hosts,
            "instance_groups": [{"instance_group_name": GROUP, "instance_type": instance_type,
                                 "hosts": hosts}],
            "network_interface_name": "eth0"}


def prepare(base: Path, job: dict, host: str, hosts: list[str],
            checkpoint_local: Path | None) -> TrainingEnvironment:
    """A fresh tree for ``host`` with its config files written; anything an earlier attempt
    left there is removed first."""
    if base.exists():
        shutil.rmtree(base)
    env = TrainingEnvironment(base=base)
    for d in (env.config_dir, env.data_dir, env.model_dir, env.output_data_dir,
              env.intermediate_dir, env.code_dir):
        d.mkdir(parents=True, exist_ok=True)
    mode = job["AlgorithmSpecification"].get("TrainingInputMode", "File")
    channels = {c["ChannelName"]: channel_config(c, mode) for c in job.get("InputDataConfig") or []}
    instance_type = (job.get("ResourceConfig") or {}).get("InstanceType", "local")
    files = {
        "hyperparameters.json": job.get("HyperParameters") or {},
        "inputdataconfig.json": channels,
        "resourceconfig.json": resource_config(host, hosts, instance_type),
        "metric-definition-regex.json": job["AlgorithmSpecification"].get("MetricDefinitions") or [],
        "trainingjobconfig.json": {"TrainingJobName": job["TrainingJobName"]},
    }
    if job.get("CheckpointConfig") and checkpoint_local is not None:
        files["checkpointconfig.json"] = {"LocalPath": str(checkpoint_local),
                                          "S3Uri": job["CheckpointConfig"]["S3Uri"]}
    for name, content in files.items():
        (env.config_dir / name).write_text(json.dumps(content))
    return TrainingEnvironment.load(base)
