"""The ``SM_*`` variables the toolkit gives a user's script (training-contract.md §5.3).

Paths are those of the job directory, not ``/opt/ml``: a script that reads ``SM_MODEL_DIR``
and ``SM_CHANNEL_*`` (as SageMaker's examples do) runs unchanged.
"""

from __future__ import annotations

import json
import os

from kamado.images.environment import TrainingEnvironment
from kamado.images.toolkit.hyperparameters import Hyperparameters, to_args

HOMOGENEOUS_GROUP = "homogeneousCluster"
# Framework parameters that make the toolkit count the current group as a distributed one.
DISTRIBUTION_FLAGS = (
    "sagemaker_mpi_enabled", "sagemaker_parameter_server_enabled",
    "sagemaker_distributed_dataparallel_enabled", "sagemaker_pytorch_ddp_enabled",
    "sagemaker_pytorch_xla_multi_worker_enabled",
    "sagemaker_multi_worker_mirrored_strategy_enabled",
)


def encode(value: object) -> str:
    """The toolkit's rule for a variable's value: a string as it is, null as nothing,
    anything else as compact JSON with sorted keys (so booleans are ``true``/``false``)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def num_cpus() -> int:
    # The CPUs this process may run on, which is what a pinned job really has.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not every platform has affinity
        return os.cpu_count() or 1


def region(hps: Hyperparameters) -> str:
    return hps.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""


def _instance_groups(env: TrainingEnvironment, hps: Hyperparameters) -> dict[str, object]:
    """The heterogeneous-cluster facts, derived from resourceconfig.json as the toolkit does
    (an absent ``instance_groups`` means none, not one made up)."""
    config = env.resource_config
    groups = [g for g in (config.get("instance_groups") or []) if isinstance(g, dict)]
    current = config.get("current_group_name", HOMOGENEOUS_GROUP)
    distribution_groups = hps.framework.get("sagemaker_distribution_instance_groups")
    if distribution_groups is None:
        enabled = any(hps.framework.get(flag) for flag in DISTRIBUTION_FLAGS)
        distribution_groups = [current] if enabled else []
    if groups:
        distribution_hosts = [host for g in groups
                              if g.get("instance_group_name") in distribution_groups
                              for host in g.get("hosts") or []]
    else:
        distribution_hosts = list(env.hosts)
    master = distribution_hosts[0] if distribution_hosts else env.hosts[0]
    return {
        "current_instance_group": current,
        "current_instance_group_hosts": next(
            (list(g.get("hosts") or []) for g in groups if g.get("instance_group_name") == current),
            []),
        "distribution_hosts": distribution_hosts,
        "distribution_instance_groups": distribution_groups,
        "instance_groups": [g.get("instance_group_name") for g in groups],
        "instance_groups_dict": {g.get("instance_group_name"): g for g in groups},
        "is_hetero": len(groups) > 1,
        "is_master": env.current_host == master,
        "master_hostname": master,
    }


def training_env(env: TrainingEnvironment, framework_module: str) -> dict[str, object]:
    """Everything the toolkit knows about the job: the value of ``SM_TRAINING_ENV``."""
    hps = Hyperparameters.from_raw(env.hyperparameters)
    program = hps.program
    mp_parameters = os.environ.get("SM_HP_MP_PARAMETERS")
    return {
        "additional_framework_parameters": hps.framework,
        "channel_input_dirs": {ch: str(env.channel_dir(ch)) for ch in env.channels},
        "current_host": env.current_host,
        "current_instance_type": env.instance_type,
        "framework_module": framework_module,
        "hosts": env.hosts,
        "hyperparameters": hps.user,
        "input_config_dir": str(env.config_dir),
        "input_data_config": env.input_data_config,
        "input_dir": str(env.input_dir),
        "is_modelparallel_enabled": bool(mp_parameters) and mp_parameters != "{}",
        "is_smddpmprun_installed": False,
        "is_smddprun_installed": False,
        "job_name": os.environ.get("TRAINING_JOB_NAME") or hps.job_name,
        "log_level": hps.log_level,
        "model_dir": str(env.model_dir),
        "module_dir": hps.submit_directory or str(env.code_dir),
        "module_name": program[:-3] if program.endswith(".py") else program,
        "network_interface_name": env.resource_config.get("network_interface_name", "eth0"),
        "num_cpus": num_cpus(),
        "num_gpus": 0,  # kamado schedules no accelerators for scripts
        "num_neurons": 0,
        "output_data_dir": str(env.output_data_dir),
        "output_dir": str(env.output_dir),
        "output_intermediate_dir": str(env.intermediate_dir),
        "resource_config": env.resource_config,
        "user_entry_point": program or None,
        **_instance_groups(env, hps),
    }


def build_sm_environment(env: TrainingEnvironment, framework_module: str) -> dict[str, str]:
    """Every variable the toolkit sets for the user's process, already encoded.

    ``PATH`` and the interpreter are the runner's business; ``PYTHONPATH`` starts with the
    code directory so that the script's sibling modules import."""
    info = training_env(env, framework_module)
    user = info["hyperparameters"]
    names = {
        "hosts": info["hosts"],
        "network_interface_name": info["network_interface_name"],
        "hps": user,
        "user_entry_point": info["user_entry_point"],
        "framework_params": info["additional_framework_parameters"],
        "resource_config": info["resource_config"],
        "input_data_config": info["input_data_config"],
        "output_data_dir": info["output_data_dir"],
        "channels": sorted(info["channel_input_dirs"]),
        "current_host": info["current_host"],
        "current_instance_type": info["current_instance_type"],
        "current_instance_group": info["current_instance_group"],
        "current_instance_group_hosts": info["current_instance_group_hosts"],
        "instance_groups": info["instance_groups"],
        "instance_groups_dict": info["instance_groups_dict"],
        "distribution_instance_groups": info["distribution_instance_groups"],
        "is_hetero": info["is_hetero"],
        "module_name": info["module_name"],
        "log_level": info["log_level"],
        "framework_module": info["framework_module"],
        "input_dir": info["input_dir"],
        "input_config_dir": info["input_config_dir"],
        "output_dir": info["output_dir"],
        "num_cpus": info["num_cpus"],
        "num_gpus": info["num_gpus"],
        "num_neurons": info["num_neurons"],
        "model_dir": info["model_dir"],
        "module_dir": info["module_dir"],
        "training_env": info,
        "user_args": to_args(user),
        "output_intermediate_dir": info["output_intermediate_dir"],
    }
    names.update({f"channel_{ch}": path for ch, path in info["channel_input_dirs"].items()})
    names.update({f"hp_{key}": value for key, value in user.items()})
    variables = {f"SM_{name.upper()}": encode(value) for name, value in names.items()}

    hps = Hyperparameters.from_raw(env.hyperparameters)
    inherited = os.environ.get("PYTHONPATH")
    variables.update({
        "SAGEMAKER_JOB_NAME": hps.job_name or os.environ.get("TRAINING_JOB_NAME", ""),
        "CURRENT_HOST": info["current_host"],
        "SAGEMAKER_REGION": region(hps),
        "PYTHONPATH": os.pathsep.join([str(env.code_dir), *([inherited] if inherited else [])]),
    })
    return variables
