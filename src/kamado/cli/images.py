"""``kamado images``: what TrainingImage URIs kamado can run, and registering your own."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from kamado.images.registry import ImageRegistry

console = Console()


def list_images(home: Path, region: str, show_uris: bool) -> None:
    registry = ImageRegistry(home)
    table = Table(title=f"images ({region})")
    for col in ("name", "kind", "available", "repositories / source", "description"):
        table.add_column(col)
    for image in registry.all():
        missing = image.missing() if image.kind != "user" else []
        available = Text("yes", style="green") if not missing else Text(
            f"needs kamado[{image.extra}]", style="yellow")
        source = ", ".join(r.name for r in image.repositories) or image.uri or (image.cwd or "")
        table.add_row(image.name, image.kind, available, source, image.description)
    console.print(table)
    if show_uris:
        for image in registry.all():
            for uri in image.uris(region):
                console.print(f"{image.name:16} {uri}", markup=False, highlight=False)
    else:
        console.print("[dim]--uris lists the ECR URIs AWS documents for each built-in in this "
                      "region; any of them, or the short name, works as TrainingImage.[/dim]")


def register(home: Path, name: str, directory: Optional[Path], entry_point: Optional[str],
             uri: str, description: str) -> None:
    try:
        image = ImageRegistry(home).register(name, directory=directory, entry_point=entry_point,
                                             uri=uri, description=description)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(f"registered [bold]{image.name}[/bold]: use TrainingImage='{image.uri or image.name}'")


def unregister(home: Path, name: str) -> None:
    if not ImageRegistry(home).unregister(name):
        console.print(f"[red]no image of yours is called {name!r}[/red]")
        raise typer.Exit(2)
    console.print(f"removed {name}")
