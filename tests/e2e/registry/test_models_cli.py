"""`kamado models` against a real server: groups with their version counts, a group's
versions, approving and rejecting a version, and the refusals the API gives."""

from __future__ import annotations

import subprocess
import sys

from tests.e2e.registry.conftest import register


def kamado(server, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kamado.cli.main", *args],
                          env={**server.env(), "COLUMNS": "220"}, capture_output=True,
                          text=True, timeout=timeout)


def rows(stdout: str) -> list[list[str]]:
    """The cells of each body row of the Rich tables in ``stdout``."""
    return [[c.strip() for c in line.strip().strip("│").split("│")]
            for line in stdout.splitlines() if line.startswith("│ ") and line.count("│") > 3]


def three_versions(sm, group: str) -> None:
    """A group of three versions, pending approval (each test makes its own)."""
    sm.create_model_package_group(ModelPackageGroupName=group,
                                  ModelPackageGroupDescription="Churn models")
    for description in ("baseline", "more rounds", "new features"):
        register(sm, group, ModelPackageDescription=description)


def test_groups_are_listed_with_their_version_counts(registry_server, sm):
    three_versions(sm, "cli-listed")
    sm.create_model_package_group(ModelPackageGroupName="cli-empty")
    out = kamado(registry_server, "models")
    assert out.returncode == 0, out.stderr
    by_name = {r[0]: r for r in rows(out.stdout)}
    assert by_name["cli-listed"][1:6] == ["3", "0", "3", "0", "v3 PendingManualApproval"]
    assert by_name["cli-listed"][-1] == "Churn models"
    assert by_name["cli-empty"][1:5] == ["0", "0", "0", "0"]


def test_a_version_is_approved_and_rejected_from_the_command_line(registry_server, sm):
    three_versions(sm, "cli-churn")
    out = kamado(registry_server, "models", "approve", "cli-churn", "2",
                 "--description", "AUC 0.97 on holdout")
    assert out.returncode == 0, out.stderr
    assert "cli-churn version 2: PendingManualApproval → Approved" in out.stdout
    described = sm.describe_model_package(ModelPackageName="cli-churn/2")
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["ApprovalDescription"] == "AUC 0.97 on holdout"

    out = kamado(registry_server, "models", "reject", "cli-churn", "3")
    assert out.returncode == 0, out.stderr
    assert sm.describe_model_package(ModelPackageName="cli-churn/3")[
        "ModelApprovalStatus"] == "Rejected"

    # The group's versions, newest first, with what was decided.
    out = kamado(registry_server, "models", "cli-churn")
    assert out.returncode == 0, out.stderr
    assert "cli-churn" in out.stdout and "Churn models" in out.stdout
    table = [r for r in rows(out.stdout) if r[0] in ("1", "2", "3")]
    assert [(r[0], r[1], r[2], r[4]) for r in table] == [
        ("3", "Completed", "Rejected", "new features"),
        ("2", "Completed", "Approved", "more rounds"),
        ("1", "Completed", "PendingManualApproval", "baseline")]
    assert table[1][5] == "AUC 0.97 on holdout"

    counts = {r[0]: r for r in rows(kamado(registry_server, "models").stdout)}
    assert counts["cli-churn"][1:5] == ["3", "1", "1", "1"]


def test_what_the_api_refuses_the_command_refuses(registry_server, sm):
    sm.create_model_package_group(ModelPackageGroupName="cli-refusals")
    register(sm, "cli-refusals")
    out = kamado(registry_server, "models", "approve", "cli-refusals", "99")
    assert out.returncode == 2
    assert "model-package/cli-refusals/99 does not exist" in out.stdout
    out = kamado(registry_server, "models", "no-such-group")
    assert out.returncode == 2 and "does not exist" in out.stdout

    kamado(registry_server, "models", "approve", "cli-refusals", "1")
    out = kamado(registry_server, "models", "approve", "cli-refusals", "1")  # again is fine
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Approved → Approved" in out.stdout
