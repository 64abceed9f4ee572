"""``kamado models``: the model registry from the command line, through the server's own API.

``kamado models`` lists the model package groups with how many versions each holds and how
many of them are approved, pending or rejected; ``kamado models GROUP`` lists a group's
versions with their status, approval and when they were registered; ``kamado models approve
GROUP VERSION [--description TEXT]`` and ``kamado models reject …`` decide a version, as
``UpdateModelPackage`` does (and as AWS refuses, so a decided version is never sent back to
pending).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

console = Console()
APPROVAL_STYLE = {"Approved": "green", "Rejected": "red", "PendingManualApproval": "yellow"}
DEFAULT_COMMAND = "show"


class GroupOrCommand(TyperGroup):
    """``kamado models NAME``: a NAME that is not a subcommand is a group to show."""

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            return DEFAULT_COMMAND, self.commands[DEFAULT_COMMAND], args
        return super().resolve_command(ctx, args)


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]{message}[/red]", highlight=False)
    return typer.Exit(2)


def client(config, endpoint_url: Optional[str]):
    from kamado.cli.client import client as make

    return make(config, "sagemaker", endpoint_url)


def _call(fn, **kwargs) -> dict:
    from botocore.exceptions import ClientError, EndpointConnectionError

    try:
        return fn(**kwargs)
    except ClientError as exc:
        raise _fail(exc.response["Error"]["Message"]) from None
    except EndpointConnectionError:
        raise _fail("no kamado server answers there; start one with 'kamado server'") from None


def _approval(status: Optional[str]) -> Text:
    return Text(status or "", style=APPROVAL_STYLE.get(status or "", ""))


def _when(moment) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _all(fn, key: str, **kwargs) -> list[dict]:
    found, token = [], None
    while True:
        page = _call(fn, MaxResults=100, **kwargs, **({"NextToken": token} if token else {}))
        found += page[key]
        token = page.get("NextToken")
        if not token:
            return found


def versions_of(sm, group: str) -> list[dict]:
    """Every version of a group, oldest first."""
    return _all(sm.list_model_packages, "ModelPackageSummaryList", ModelPackageGroupName=group,
                SortBy="CreationTime", SortOrder="Ascending")


def list_groups(config, endpoint_url: Optional[str]) -> None:
    sm = client(config, endpoint_url)
    groups = _all(sm.list_model_package_groups, "ModelPackageGroupSummaryList",
                  SortBy="CreationTime", SortOrder="Ascending")
    table = Table(title=f"model package groups ({len(groups)})")
    for column in ("group", "versions", "approved", "pending", "rejected", "latest",
                   "created", "description"):
        table.add_column(column, justify="right" if column in (
            "versions", "approved", "pending", "rejected") else "left")
    for group in groups:
        versions = versions_of(sm, group["ModelPackageGroupName"])
        counts = {s: sum(v.get("ModelApprovalStatus") == s for v in versions)
                  for s in APPROVAL_STYLE}
        latest = versions[-1] if versions else None
        table.add_row(group["ModelPackageGroupName"], str(len(versions)),
                      str(counts["Approved"]), str(counts["PendingManualApproval"]),
                      str(counts["Rejected"]),
                      Text.assemble(f"v{latest['ModelPackageVersion']} ",
                                    _approval(latest.get("ModelApprovalStatus")))
                      if latest else Text(""),
                      _when(group["CreationTime"]),
                      group.get("ModelPackageGroupDescription", ""))
    console.print(table)
    if not groups:
        console.print("[dim]no model package groups yet: CreateModelPackageGroup makes one, "
                      "CreateModelPackage with ModelPackageGroupName registers a version.[/dim]")


def show_group(config, endpoint_url: Optional[str], name: str, limit: int) -> None:
    sm = client(config, endpoint_url)
    group = _call(sm.describe_model_package_group, ModelPackageGroupName=name)
    versions = versions_of(sm, name)
    console.print(f"[bold]{group['ModelPackageGroupName']}[/bold]  {group['ModelPackageGroupArn']}",
                  highlight=False)
    if group.get("ModelPackageGroupDescription"):
        console.print(group["ModelPackageGroupDescription"], highlight=False)
    shown = versions[-limit:] if limit else versions
    table = Table(title=f"versions ({len(versions)}"
                        + (f", newest {len(shown)}" if len(shown) < len(versions) else "") + ")")
    for column in ("version", "status", "approval", "created", "description",
                   "approval description", "model data"):
        table.add_column(column, justify="right" if column == "version" else "left")
    for summary in reversed(shown):  # newest first
        package = _call(sm.describe_model_package, ModelPackageName=summary["ModelPackageArn"])
        containers = (package.get("InferenceSpecification") or {}).get("Containers") or [{}]
        table.add_row(str(package["ModelPackageVersion"]), package["ModelPackageStatus"],
                      _approval(package.get("ModelApprovalStatus")),
                      _when(package["CreationTime"]), package.get("ModelPackageDescription", ""),
                      package.get("ApprovalDescription", ""),
                      containers[0].get("ModelDataUrl", ""))
    console.print(table)


def decide(config, endpoint_url: Optional[str], group: str, version: int, status: str,
           description: Optional[str]) -> None:
    sm = client(config, endpoint_url)
    package = _call(sm.describe_model_package, ModelPackageName=f"{group}/{version}")
    before = package.get("ModelApprovalStatus")
    kwargs = {"ApprovalDescription": description} if description is not None else {}
    _call(sm.update_model_package, ModelPackageArn=package["ModelPackageArn"],
          ModelApprovalStatus=status, **kwargs)
    console.print(Text.assemble(f"{package['ModelPackageGroupName']} version {version}: ",
                                _approval(before), " → ", _approval(status)))


# --- the command ---------------------------------------------------------------------------------
HomeOption = typer.Option(None, "--home",
                          help="kamado's home directory (default ~/.kamado or $KAMADO_HOME)")
EndpointOption = typer.Option(None, "--endpoint-url",
                              help="the server to ask (default: this home's configured one)")
models_app = typer.Typer(cls=GroupOrCommand, invoke_without_command=True,
                         no_args_is_help=False, add_completion=False)


def _load(home: Optional[Path]):
    from kamado.config import Config

    return Config.load(home, _home_flag=home is not None)


@models_app.callback()
def models(ctx: typer.Context, home: Optional[Path] = HomeOption,
           endpoint_url: Optional[str] = EndpointOption) -> None:
    """The model registry: model package groups with their version counts. 'kamado models
    GROUP' lists a group's versions; 'kamado models approve|reject GROUP VERSION' decides one."""
    if ctx.invoked_subcommand is None:
        list_groups(_load(home), endpoint_url)


@models_app.command(DEFAULT_COMMAND, hidden=True)
def _show(group: str = typer.Argument(..., help="model package group name"),
          limit: int = typer.Option(50, help="at most this many versions, newest first (0: all)"),
          home: Optional[Path] = HomeOption, endpoint_url: Optional[str] = EndpointOption) -> None:
    """A group's versions: status, approval, when registered."""
    show_group(_load(home), endpoint_url, group, limit)


@models_app.command("approve")
def _approve(group: str = typer.Argument(..., help="model package group name"),
             version: int = typer.Argument(..., help="version number"),
             description: Optional[str] = typer.Option(None, help="the ApprovalDescription"),
             home: Optional[Path] = HomeOption,
             endpoint_url: Optional[str] = EndpointOption) -> None:
    """Approve a version (ModelApprovalStatus=Approved), so that CreateModel deploys it."""
    decide(_load(home), endpoint_url, group, version, "Approved", description)


@models_app.command("reject")
def _reject(group: str = typer.Argument(..., help="model package group name"),
            version: int = typer.Argument(..., help="version number"),
            description: Optional[str] = typer.Option(None, help="the ApprovalDescription"),
            home: Optional[Path] = HomeOption,
            endpoint_url: Optional[str] = EndpointOption) -> None:
    """Reject a version (ModelApprovalStatus=Rejected)."""
    decide(_load(home), endpoint_url, group, version, "Rejected", description)
