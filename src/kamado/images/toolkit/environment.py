"""The ``SM_*`` variables the toolkit sets for a user's script (training-contract.md §5.3)."""

from __future__ import annotations

import os
import sys

from kamado.images.environment import TrainingEnvironment
from kamado.images.toolkit.hyperparameters import decode, encode_env, split, to_args


def training_env(env: TrainingEnvironment, framework_module: str) -> dict[str, object]:
    """The toolkit's view of the job (what ``SM_TRAINING_ENV`` holds)."""
    user, toolkit, framework = split(decode(env.hyperparameters))
    program = str(toolkit.get("sagemaker_program") or "")
    hosts = env.hosts
    group = env.resource_config.get("current_group_name", "homogeneousCluster")
    groups = env.resource_config.get("instance_groups") or [
        {"instance_group_name": group, "instance_type": env.instance_type, "hosts": hosts}]
    return {
        "additional_framework_parameters": framework,
        "channel_input_dirs": {ch: str(env.channel_dir(ch)) for ch in env.channels},
        "current_host": env.current_host,
        "current_instance_group": group,
        "current_instance_group_hosts": hosts,
        "current_instance_type": env.instance_type,
        "distribution_hosts": hosts,
        "distribution_instance_groups": [group],
        "framework_module": framework_module,
        "hosts": hosts,
        "hyperparameters": user,
        "input_config_dir": str(env.config_dir),
        "input_data_config": env.input_data_config,
        "input_dir": str(env.input_dir),
        "instance_groups": [g["instance_group_name"] for g in groups],
        "instance_groups_dict": {g["instance_group_name"]: g for g in groups},
        "is_hetero": len(groups) > 1,
        "is_master": env.current_host == hosts[0],
        "is_modelparallel_enabled": None,
        "is_smddpmprun_installed": False,
        "is_smddprun_installed": False,
        "job_name": str(toolkit.get("sagemaker_job_name") or env.job_name),
        "log_level": int(toolkit.get("sagemaker_container_log_level") or 20),
        "master_hostname": hosts[0],
        "model_dir": str(env.model_dir),
        "module_dir": str(toolkit.get("sagemaker_submit_directory") or env.code_dir),
        "module_name": program[:-3] if program.endswith(".py") else program,
        "network_interface_name": env.resource_config.get("network_interface_name", "eth0"),
        "num_cpus": os.cpu_count() or 1,
        "num_gpus": 0,
        "num_neurons": 0,
        "output_data_dir": str(env.output_data_dir),
        "output_dir": str(env.output_dir),
        "output_intermediate_dir": str(env.intermediate_dir),
        "resource_config": env.resource_config,
        "user_entry_point": program,
    }


def build_sm_environment(env: TrainingEnvironment, framework_module: str) -> dict[str, str]:
    """Every variable the toolkit exports to the user's process."""
    info = training_env(env, framework_module)
    user = info["hyperparameters"]
    out = {
        "SM_MODEL_DIR": info["model_dir"],
        "SM_CHANNELS": encode_env(sorted(info["channel_input_dirs"])),
        "SM_HPS": encode_env(user),
        "SM_USER_ARGS": encode_env(to_args(user)),
        "SM_CURRENT_HOST": info["current_host"],
        "SM_HOSTS": encode_env(info["hosts"]),
        "SM_CURRENT_INSTANCE_TYPE": info["current_instance_type"],
        "SM_CURRENT_INSTANCE_GROUP": info["current_instance_group"],
        "SM_CURRENT_INSTANCE_GROUP_HOSTS": encode_env(info["current_instance_group_hosts"]),
        "SM_INSTANCE_GROUPS": encode_env(info["instance_groups"]),
        "SM_INSTANCE_GROUPS_DICT": encode_env(info["instance_groups_dict"]),
        "SM_DISTRIBUTION_INSTANCE_GROUPS": encode_env(info["distribution_instance_groups"]),
        "SM_IS_HETERO": encode_env(info["is_hetero"]),
        "SM_NETWORK_INTERFACE_NAME": info["network_interface_name"],
        "SM_NUM_CPUS": encode_env(info["num_cpus"]),
        "SM_NUM_GPUS": "0",
        "SM_NUM_NEURONS": "0",
        "SM_LOG_LEVEL": encode_env(info["log_level"]),
        "SM_INPUT_DIR": info["input_dir"],
        "SM_INPUT_CONFIG_DIR": info["input_config_dir"],
        "SM_OUTPUT_DIR": info["output_dir"],
        "SM_OUTPUT_DATA_DIR": info["output_data_dir"],
        "SM_OUTPUT_INTERMEDIATE_DIR": info["output_intermediate_dir"],
        "SM_RESOURCE_CONFIG": encode_env(info["resource_config"]),
        "SM_INPUT_DATA_CONFIG": encode_env(info["input_data_config"]),
        "SM_USER_ENTRY_POINT": info["user_entry_point"],
        "SM_MODULE_NAME": info["module_name"],
        "SM_MODULE_DIR": info["module_dir"],
        "SM_FRAMEWORK_MODULE": framework_module,
        "SM_FRAMEWORK_PARAMS": encode_env(info["additional_framework_parameters"]),
        "SM_TRAINING_ENV": encode_env(info),
        "SAGEMAKER_JOB_NAME": info["job_name"],
        "CURRENT_HOST": info["current_host"],
        "SAGEMAKER_REGION": os.environ.get("AWS_REGION", ""),
        "PYTHONPATH": os.pathsep.join([str(env.code_dir), *[p for p in sys.path if p]]),
    }
    for channel, path in info["channel_input_dirs"].items():
        out[f"SM_CHANNEL_{channel.upper()}"] = path
    for key, value in user.items():
        out[f"SM_HP_{key.upper()}"] = encode_env(value)
    return out
