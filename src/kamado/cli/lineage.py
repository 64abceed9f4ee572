"""``kamado lineage ARN``: where something came from, or what came of it, as a Rich tree, through
the server's own QueryLineage.

ARN is a lineage entity (artifact, action, context, trial component), or something SageMaker
tracks through one: an endpoint or a model package (their context, found by SourceUri) or a
training job (its trial component, ``<job>-aws-training-job``). Ascendants (the default) walk
upstream — an endpoint's deployment, model, training job and data; Descendants downstream;
Both draws upstream edges with ``←`` and downstream ones with ``→``.
"""

from __future__ import annotations

from typing import Optional

import typer
from botocore.exceptions import ClientError, EndpointConnectionError
from rich.console import Console
from rich.tree import Tree

from kamado.cli.client import client

console = Console()
_STYLE = {"Artifact": "cyan", "Action": "magenta", "Context": "green",
          "TrialComponent": "yellow"}


def _fail(message: str, code: int = 2):
    console.print(f"[red]{message}[/red]")
    raise typer.Exit(code)


def start_arn(sm, ref: str) -> str:
    """The lineage entity that stands for ``ref``."""
    if ":endpoint/" in ref or ":model-package-group/" in ref:
        found = sm.list_contexts(SourceUri=ref)["ContextSummaries"]
        if not found:
            _fail(f"No lineage context tracks {ref}.", 1)
        return found[0]["ContextArn"]
    if ":model-package/" in ref:
        found = sm.list_artifacts(SourceUri=ref)["ArtifactSummaries"]
        if not found:
            _fail(f"No lineage artifact tracks {ref}.", 1)
        return found[0]["ArtifactArn"]
    if ":training-job/" in ref:
        name = ref.rsplit("/", 1)[1]
        return sm.describe_trial_component(
            TrialComponentName=f"{name}-aws-training-job")["TrialComponentArn"]
    return ref


def _label(sm, arn: str, vertex: dict, cache: dict) -> str:
    """``<LineageType> <Type> <name> <source>`` of one vertex (described once)."""
    if arn not in cache:
        kind = vertex.get("LineageType") or _kind_of(arn)
        name, type_, detail = arn.rsplit("/", 1)[-1], vertex.get("Type"), ""
        try:
            if kind == "Artifact":
                d = sm.describe_artifact(ArtifactArn=arn)
                name, type_ = d.get("ArtifactName") or "", type_ or d.get("ArtifactType")
            elif kind == "Context":
                d = sm.describe_context(ContextName=arn)
                type_ = type_ or d.get("ContextType")
            elif kind == "Action":
                d = sm.describe_action(ActionName=arn)
                type_ = type_ or d.get("ActionType")
            else:
                d = sm.describe_trial_component(TrialComponentName=name)
                type_ = type_ or {"SageMakerTrainingJob": "TrainingJob"}.get(
                    (d.get("Source") or {}).get("SourceType"))
            source = d.get("Source") or {}
            detail = source.get("SourceUri") or source.get("SourceArn") or ""
        except ClientError:
            pass
        style = _STYLE.get(kind, "white")
        parts = [f"[{style}]{kind}{f' {type_}' if type_ else ''}[/{style}]"]
        if name:
            parts.append(f"[bold]{name}[/bold]")
        if detail:
            parts.append(f"[dim]{detail}[/dim]")
        cache[arn] = " ".join(parts)
    return cache[arn]


def _kind_of(arn: str) -> str:
    part = arn.split(":", 5)[-1].split("/", 1)[0]
    return {"artifact": "Artifact", "action": "Action", "context": "Context",
            "experiment-trial-component": "TrialComponent"}.get(part, part)


def query(sm, start: str, direction: str, depth: int) -> tuple[dict, list[dict]]:
    """Every vertex (by ARN) and edge of one QueryLineage, all pages read."""
    vertices, edges, token = {}, [], None
    while True:
        page = sm.query_lineage(StartArns=[start], Direction=direction, IncludeEdges=True,
                                MaxDepth=depth, MaxResults=50,
                                **({"NextToken": token} if token else {}))
        vertices.update({v["Arn"]: v for v in page.get("Vertices", [])})
        edges += page.get("Edges", [])
        token = page.get("NextToken")
        if not token:
            return vertices, edges


def build(sm, start: str, direction: str, depth: int) -> Tree:
    vertices, edges = query(sm, start, direction, depth)
    upstream: dict[str, list] = {}
    downstream: dict[str, list] = {}
    for e in edges:
        upstream.setdefault(e["DestinationArn"], []).append(e)
        downstream.setdefault(e["SourceArn"], []).append(e)
    cache: dict = {}
    root = Tree(_label(sm, start, {"LineageType": _kind_of(start)}, cache))
    shown = {start}

    def grow(node: Tree, arn: str, level: int) -> None:
        if level >= depth:
            return
        steps = []
        if direction in ("Ascendants", "Both"):
            steps += [("←" if direction == "Both" else "", e["AssociationType"], e["SourceArn"])
                      for e in upstream.get(arn, [])]
        if direction in ("Descendants", "Both"):
            steps += [("→" if direction == "Both" else "", e["AssociationType"],
                       e["DestinationArn"]) for e in downstream.get(arn, [])]
        for arrow, kind, other in steps:
            label = _label(sm, other, vertices.get(other, {"LineageType": _kind_of(other)}),
                           cache)
            prefix = f"{arrow} " if arrow else ""
            if other in shown:
                node.add(f"{prefix}[dim]{kind}[/dim] {label} [dim](shown above)[/dim]")
                continue
            shown.add(other)
            grow(node.add(f"{prefix}[dim]{kind}[/dim] {label}"), other, level + 1)

    grow(root, start, 0)
    return root


def show_lineage(config, endpoint_url: Optional[str], ref: str, direction: str,
                 depth: int) -> None:
    sm = client(config, "sagemaker", endpoint_url)
    try:
        start = start_arn(sm, ref)
        tree = build(sm, start, direction, depth)
    except EndpointConnectionError:
        _fail(f"No kamado server answers at {endpoint_url or config.endpoint_url}; start one "
              "with `kamado server`.")
    except ClientError as exc:
        _fail(f"{exc.response['Error']['Code']}: {exc.response['Error']['Message']}", 1)
    console.print(tree)
