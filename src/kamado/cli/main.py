"""The `kamado` command."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

import kamado
from kamado.config import Config

app = typer.Typer(help="kamado: a self-hosted ML platform that speaks the SageMaker wire APIs.",
                  no_args_is_help=True, add_completion=False)
console = Console()

HomeOption = typer.Option(None, "--home", help="kamado's home directory (default ~/.kamado or $KAMADO_HOME)")


def _load(home: Optional[Path], **flags) -> Config:
    return Config.load(home, _home_flag=home is not None, **flags)


@app.command()
def server(host: Optional[str] = typer.Option(None, help="address to bind (default 127.0.0.1)"),
           port: Optional[int] = typer.Option(None, help="port to listen on (default 8943)"),
           home: Optional[Path] = HomeOption,
           log_level: str = typer.Option("INFO", help="server log level")) -> None:
    """Start the kamado server: every service on one endpoint."""
    from kamado.server import CannotListen, serve

    config = _load(home, host=host, port=port)

    def announce(cfg: Config, platform, profile_files) -> None:
        console.print(f"[bold]kamado {kamado.__version__}[/bold] serving on "
                      f"[cyan]{cfg.endpoint_url}[/cyan]")
        console.print(f"  home     {cfg.home}")
        console.print(f"  region   {cfg.region}    account {cfg.account_id}")
        console.print(f"  store    {cfg.effective_database_url}")
        if profile_files:
            console.print(f"  profile  kamado  (written to {profile_files[0]} and {profile_files[1]})")
        console.print("  try      boto3.Session(profile_name='kamado').client('sagemaker', "
                      f"endpoint_url='{cfg.endpoint_url}')")

    try:
        serve(config, announce=announce, log_level=log_level.upper())
    except CannotListen as exc:
        console.print(f"[red]kamado: {exc}[/red] — is another server running there? "
                      "Choose another port with --port or KAMADO_PORT.")
        raise typer.Exit(1) from None


@app.command()
def quickstart(home: Optional[Path] = typer.Option(
        None, "--home", help="keep kamado's home here (default: a temporary directory)")) -> None:
    """Train, deploy, invoke and batch-transform XGBoost on an embedded server, in under a
    minute: the whole SageMaker loop on this machine."""
    from kamado.cli.quickstart import run

    run(home)


@app.command()
def version() -> None:
    """Print kamado's version."""
    import botocore

    console.print(f"kamado {kamado.__version__} (botocore models {botocore.__version__})")


@app.command()
def credentials(home: Optional[Path] = HomeOption,
                show_secret: bool = typer.Option(False, "--show-secret", help="print the secret in full")) -> None:
    """Show the root key and the AWS profile that uses it."""
    from kamado.credentials import PROFILE, aws_files, root_key

    config = _load(home)
    akid, secret = root_key(config)
    creds_file, config_file = aws_files()
    table = Table(show_header=False, box=None)
    table.add_row("profile", PROFILE)
    table.add_row("aws_access_key_id", akid)
    table.add_row("aws_secret_access_key", secret if show_secret else secret[:4] + "…" + secret[-2:])
    table.add_row("region", config.region)
    table.add_row("endpoint_url", config.endpoint_url)
    table.add_row("kept in", str(config.home / "credentials"))
    table.add_row("AWS files", f"{creds_file}, {config_file}")
    console.print(table)


@app.command()
def ops(service: Optional[str] = typer.Argument(None, help="one service to list operation by operation"),
        all_ops: bool = typer.Option(False, "--all", help="with SERVICE: list unimplemented operations too")) -> None:
    """Which operations of which service kamado implements, counted against botocore's model."""
    from kamado.gateway.models import SERVICES, service_model
    from kamado.services.registry import implemented_operations

    if service is None:
        table = Table(title="Operations kamado serves")
        table.add_column("service")
        table.add_column("protocol")
        table.add_column("implemented", justify="right")
        table.add_column("in model", justify="right")
        table.add_column("coverage", justify="right")
        total_impl = total = 0
        for name in SERVICES:
            model = service_model(name)
            impl = len(implemented_operations(name))
            count = len(model.operation_names)
            total_impl += impl
            total += count
            table.add_row(name, model.protocol, str(impl), str(count), f"{impl / count:.0%}")
        table.add_row("[bold]all[/bold]", "", str(total_impl), str(total), f"{total_impl / total:.0%}")
        console.print(table)
        return
    if service not in SERVICES:
        console.print(f"[red]unknown service {service!r}[/red]; kamado speaks: {', '.join(SERVICES)}")
        raise typer.Exit(2)
    implemented = implemented_operations(service)
    table = Table(title=f"{service}: {len(implemented)} of "
                        f"{len(service_model(service).operation_names)} operations")
    table.add_column("operation")
    table.add_column("provider")
    for op in service_model(service).operation_names:
        if op in implemented:
            table.add_row(op, f"[green]{implemented[op].__name__}[/green]")
        elif all_ops:
            table.add_row(f"[dim]{op}[/dim]", "[dim]-[/dim]")
    console.print(table)


@app.command("config")
def show_config(home: Optional[Path] = HomeOption) -> None:
    """Show every setting, its value and where the value came from."""
    config = _load(home)
    table = Table(title=f"kamado configuration (file: {config.home / 'config.toml'})")
    for col in ("setting", "value", "source", "environment variable"):
        table.add_column(col)
    for row in config.describe():
        table.add_row(*row)
    console.print(table)


EndpointOption = typer.Option(None, "--endpoint-url",
                              help="the server to ask (default: this home's configured one)")


@app.command()
def jobs(status: Optional[str] = typer.Option(None, help="only jobs in this status (e.g. InProgress)"),
         limit: int = typer.Option(50, help="at most this many, newest first"),
         home: Optional[Path] = HomeOption, endpoint_url: Optional[str] = EndpointOption) -> None:
    """List training jobs with their status."""
    from kamado.cli.jobs import list_jobs

    list_jobs(_load(home), endpoint_url, status, limit)


@app.command()
def endpoints(home: Optional[Path] = HomeOption,
              endpoint_url: Optional[str] = EndpointOption) -> None:
    """List endpoints with their status and, per variant, invocations, errors and latency."""
    from kamado.cli.endpoints import list_endpoints

    list_endpoints(_load(home), endpoint_url)


@app.command()
def logs(job: str = typer.Argument(..., help="training job name"),
         follow: bool = typer.Option(False, "-f", "--follow", help="keep printing until the job ends"),
         home: Optional[Path] = HomeOption, endpoint_url: Optional[str] = EndpointOption) -> None:
    """Print a training job's log (all hosts), optionally following it like tail -f."""
    from kamado.cli.jobs import show_logs

    show_logs(_load(home), endpoint_url, job, follow)


@app.command()
def wait(job: str = typer.Argument(..., help="training job name"),
         timeout: Optional[float] = typer.Option(None, help="give up after this many seconds (exit 3)"),
         home: Optional[Path] = HomeOption, endpoint_url: Optional[str] = EndpointOption) -> None:
    """Wait for a training job to end, showing its progress. Exit 0 Completed, 1 Failed, 2 Stopped."""
    from kamado.cli.jobs import wait as wait_for

    wait_for(_load(home), endpoint_url, job, timeout)


@app.command()
def tuning(job: Optional[str] = typer.Argument(None, help="tuning job name (default: list them)"),
           watch: bool = typer.Option(False, "-w", "--watch",
                                      help="redraw until the job (without JOB: every job) ends"),
           top: int = typer.Option(20, help="with JOB: at most this many training jobs, best "
                                            "first (0: all)"),
           status: Optional[str] = typer.Option(None, help="without JOB: only tuning jobs in "
                                                           "this status (e.g. InProgress)"),
           limit: int = typer.Option(50, help="without JOB: at most this many, newest first"),
           home: Optional[Path] = HomeOption, endpoint_url: Optional[str] = EndpointOption) -> None:
    """A hyperparameter tuning job: status, counters, best job, its training jobs best first and
    the objective over time; without JOB, every tuning job. With --watch and JOB, exit 0
    Completed, 1 Failed, 2 Stopped."""
    from kamado.cli.tuning import list_tuning_jobs, show_job

    if job is None:
        list_tuning_jobs(_load(home), endpoint_url, status, limit, watch)
    else:
        show_job(_load(home), endpoint_url, job, watch, top)


@app.command()
def experiments(name: Optional[str] = typer.Argument(None, help="experiment name (default: list "
                                                                "them)"),
                sort: Optional[str] = typer.Option(None, help="with NAME: order runs by this "
                                                              "metric's final value, best first"),
                minimize: list[str] = typer.Option([], "--minimize",
                                                   help="metric where lower is better"),
                maximize: list[str] = typer.Option([], "--maximize",
                                                   help="metric where higher is better"),
                all_params: bool = typer.Option(False, "--all-params",
                                                help="with NAME: SageMaker.* parameters too"),
                limit: int = typer.Option(100, help="without NAME: at most this many, newest "
                                                    "first"),
                home: Optional[Path] = HomeOption,
                endpoint_url: Optional[str] = EndpointOption) -> None:
    """Experiments with their trial and run counts; with NAME, its runs side by side:
    parameters and each metric's final and average value, the best of each marked."""
    from kamado.cli.experiments import list_experiments, show_experiment

    if name is None:
        list_experiments(_load(home), endpoint_url, limit)
    else:
        show_experiment(_load(home), endpoint_url, name, sort, minimize, maximize, all_params)


@app.command()
def lineage(arn: str = typer.Argument(..., help="a lineage entity's ARN, or an endpoint's, "
                                                 "model package's or training job's"),
            direction: str = typer.Option("Ascendants", help="Ascendants (where it came "
                                                             "from), Descendants or Both"),
            depth: int = typer.Option(10, help="at most this many associations away (1-10)"),
            home: Optional[Path] = HomeOption,
            endpoint_url: Optional[str] = EndpointOption) -> None:
    """The lineage of ARN as a tree: an endpoint's deployment, model, training job and data."""
    from kamado.cli.lineage import show_lineage

    if direction not in ("Ascendants", "Descendants", "Both"):
        raise typer.BadParameter("--direction is Ascendants, Descendants or Both")
    show_lineage(_load(home), endpoint_url, arn, direction, depth)


from kamado.cli.models import models_app  # noqa: E402 - kamado models [GROUP | approve | reject]

app.add_typer(models_app, name="models")

images_app = typer.Typer(help="Images a TrainingImage can name: built-ins and your own.",
                         invoke_without_command=True)
app.add_typer(images_app, name="images")


@images_app.callback()
def images(ctx: typer.Context, uris: bool = typer.Option(False, "--uris", help="list AWS's ECR URIs too"),
           region: Optional[str] = typer.Option(None, help="region for --uris (default: configured)"),
           home: Optional[Path] = HomeOption) -> None:
    """List the images kamado can run."""
    if ctx.invoked_subcommand is None:
        from kamado.cli.images import list_images

        config = _load(home)
        list_images(config.home, region or config.region, uris)


@images_app.command("register")
def images_register(name: str = typer.Argument(..., help="a short name for TrainingImage"),
                    directory: Optional[Path] = typer.Option(None, "--dir", help="a directory with executable 'train' and/or 'serve'"),
                    entry_point: Optional[str] = typer.Option(None, "--entry-point", help="package.module:function to call"),
                    uri: str = typer.Option("", help="an ECR-style URI that also names this image"),
                    description: str = typer.Option("", help="what the image is"),
                    home: Optional[Path] = HomeOption) -> None:
    """Register your own image (bring your own container, without Docker)."""
    from kamado.cli.images import register

    register(_load(home).home, name, directory, entry_point, uri, description)


@images_app.command("unregister")
def images_unregister(name: str, home: Optional[Path] = HomeOption) -> None:
    """Forget one of your images."""
    from kamado.cli.images import unregister

    unregister(_load(home).home, name)


if __name__ == "__main__":
    app()
