"""Which local program a ``TrainingImage`` URI means.

SageMaker names images by ECR URI (``683313688378.dkr.ecr.us-east-1.amazonaws.com/
sagemaker-xgboost:1.7-1``); kamado has no Docker, so each URI AWS documents for a built-in
maps to a program here that honours the same contract. Users add their own images (a
directory with ``train``/``serve`` programs, or a Python entry point) with
``kamado images register``; they are kept in ``<home>/images.json`` and found by name or URI.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from kamado.errors import ValidationError

# --- AWS's registry accounts (builtin-algorithms.md §1.2) -------------------------------------
# Columns: group A (linear-learner & co), group B (blazingtext, legacy xgboost:1 & co), FW
# (sagemaker-xgboost, sagemaker-scikit-learn), LDA (its own accounts, fewer regions: None). An ECR URI of these repositories from another account is not
# AWS's image, so it is looked up among the user's own images instead.
_ACCOUNTS = {
    "us-east-1": ("382416733822", "811284229777", "683313688378", "766337827248"),
    "us-east-2": ("404615174143", "825641698319", "257758044811", "999911452149"),
    "us-west-1": ("632365934929", "632365934929", "746614075791", "632365934929"),
    "us-west-2": ("174872318107", "433757028032", "246618743249", "266724342769"),
    "af-south-1": ("455444449433", "455444449433", "510948584623", None),
    "ap-east-1": ("286214385809", "286214385809", "651117190479", None),
    "ap-northeast-1": ("351501993468", "501404015308", "354813040037", "258307448986"),
    "ap-northeast-2": ("835164637446", "306986355934", "366743142698", "293181348795"),
    "ap-northeast-3": ("867004704886", "867004704886", "867004704886", None),
    "ap-south-1": ("991648021394", "991648021394", "720646828776", "991648021394"),
    "ap-south-2": ("628508329040", "628508329040", "628508329040", None),
    "ap-southeast-1": ("475088953585", "475088953585", "121021644041", "475088953585"),
    "ap-southeast-2": ("712309505854", "544295431143", "783357654285", "297031611018"),
    "ap-southeast-3": ("951798379941", "951798379941", "951798379941", None),
    "ap-southeast-4": ("106583098589", "106583098589", "106583098589", None),
    "ca-central-1": ("469771592824", "469771592824", "341280168497", "469771592824"),
    "ca-west-1": ("190319476487", "190319476487", "190319476487", None),
    "cn-north-1": ("390948362332", "390948362332", "450853457545", None),
    "cn-northwest-1": ("387376663083", "387376663083", "451049120500", None),
    "eu-central-1": ("664544806723", "813361260812", "492215442770", "353608530281"),
    "eu-central-2": ("680994064768", "680994064768", "680994064768", None),
    "eu-north-1": ("669576153137", "669576153137", "662702820516", None),
    "eu-south-1": ("257386234256", "257386234256", "978288397137", None),
    "eu-south-2": ("104374241257", "104374241257", "104374241257", None),
    "eu-west-1": ("438346466558", "685385470294", "141502667606", "999678624901"),
    "eu-west-2": ("644912444149", "644912444149", "764974769150", "644912444149"),
    "eu-west-3": ("749696950732", "749696950732", "659782779980", None),
    "il-central-1": ("898809789911", "898809789911", "898809789911", None),
    "me-central-1": ("272398656194", "272398656194", "272398656194", None),
    "me-south-1": ("249704162688", "249704162688", "801668240914", None),
    "sa-east-1": ("855470959533", "855470959533", "737474898029", None),
    "us-gov-east-1": ("237065988967", "237065988967", "237065988967", None),
    "us-gov-west-1": ("226302683700", "226302683700", "414596584902", "226302683700"),
}
_GROUP_COLUMN = {"A": 0, "B": 1, "FW": 2, "LDA": 3}
# AWS's deep-learning containers (PyTorch) come from one account in most regions; kamado
# matches them by repository name only.
DLC_ACCOUNT = "763104351884"

_ECR_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[a-z0-9._/-]+?)(?::(?P<tag>[\w.-]+)|@(?P<digest>sha256:[0-9a-f]{64}))?$")
_SHORT = re.compile(r"^(?:kamado/)?(?P<repository>[a-z0-9._-]+)(?::(?P<tag>[\w.-]+))?$")


@dataclass(frozen=True)
class Repository:
    name: str
    group: str | None  # "A", "B", "FW", or None for DLC repositories matched by name
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Image:
    """One runnable image: the programs behind ``train`` and ``serve`` (each is run with that
    word as its last argument, as a container is)."""

    name: str
    description: str
    kind: str  # "algorithm", "framework" or "user"
    train: tuple[str, ...] | None = None
    serve: tuple[str, ...] | None = None
    repositories: tuple[Repository, ...] = ()
    requires: tuple[str, ...] = ()  # Python modules the image needs installed
    extra: str = ""  # the kamado extra that installs them
    # "module:function" returning the MetricDefinitions SageMaker fills in for a built-in.
    metrics: str = ""
    cwd: str | None = None  # user images run from their own directory
    uri: str = ""
    # Modules ("module" or "module:function" to call) a fork server imports once for all the
    # image's jobs and model servers (kamado.engine.forkserver); only for programs run as
    # `python -m`.
    preload: tuple[str, ...] = ()

    def missing(self) -> list[str]:
        return [m for m in self.requires if find_spec(m) is None]

    @property
    def available(self) -> bool:
        return not self.missing()

    def metric_definitions(self, hyperparameters: dict) -> list[dict]:
        if not self.metrics:
            return []
        module, _, function = self.metrics.partition(":")
        return __import__(module, fromlist=[function]).__dict__[function](hyperparameters)

    def uris(self, region: str) -> list[str]:
        """The URIs AWS documents for this image in ``region``."""
        found = []
        accounts = _ACCOUNTS.get(region)
        for repo in self.repositories:
            if repo.group is None:
                account = DLC_ACCOUNT
            elif accounts is None:
                continue
            else:
                account = accounts[_GROUP_COLUMN[repo.group]]
                if account is None:  # not offered in this region
                    continue
            suffix = ".amazonaws.com.cn" if region.startswith("cn-") else ".amazonaws.com"
            found += [f"{account}.dkr.ecr.{region}{suffix}/{repo.name}:{t}" for t in repo.tags]
        return found


def _module(name: str) -> tuple[str, ...]:
    return (sys.executable, "-m", name)


def _algorithm(repository: str, description: str, package: str, *, requires: tuple[str, ...],
               extra: str = "ml", group: str = "A", tags: tuple[str, ...] = ("1", "latest"),
               jumpstart: bool = False, libraries: tuple[str, ...] = ()) -> Image:
    """A first-party algorithm's image: AWS's repository, its program
    ``kamado.images.<package>``, and its MetricDefinitions from
    ``kamado.algorithms.<package>.definitions``. ``jumpstart``: AWS delivers it through
    JumpStart (a PyTorch DLC and a script tarball), so it has no repository of its own and
    ``repository`` is only kamado's short name for it. The image's fork server imports its
    job, its handlers and ``libraries`` (those they import only when called) once, so no job
    or model server pays for them: importing LightGBM alone takes over a second."""
    program = _module(f"kamado.images.{package}")
    return Image(repository, description, "algorithm", train=program, serve=program,
                 repositories=() if jumpstart else (Repository(repository, group, tags),),
                 requires=requires,
                 extra=extra, metrics=f"kamado.algorithms.{package}.definitions:metric_definitions",
                 preload=(f"kamado.images.{package}.__main__", f"kamado.algorithms.{package}.job",
                          f"kamado.algorithms.{package}.inference", *libraries,
                          "kamado.algorithms.data:preload", "kamado.serving.server:preload",
                          "kamado.serving.formats:preload"))


BUILTINS: tuple[Image, ...] = (
    Image("xgboost", "XGBoost: built-in algorithm, or framework script mode with sagemaker_program",
          "algorithm", train=_module("kamado.images.xgboost"),
          serve=_module("kamado.images.xgboost"),
          repositories=(Repository("sagemaker-xgboost", "FW", (
              "0.90-1-cpu-py3", "0.90-2-cpu-py3", "1.0-1-cpu-py3", "1.2-1", "1.2-2", "1.3-1",
              "1.5-1", "1.7-1", "3.0-5", "3.2-0")),
              Repository("xgboost", "B", ("1", "latest"))),
          requires=("xgboost", "numpy", "scipy"), extra="ml",
          metrics="kamado.algorithms.xgboost:metric_definitions",
          preload=("kamado.images.xgboost.__main__", "kamado.algorithms.xgboost.train",
                   "kamado.algorithms.xgboost.train:import_xgboost",
                   "kamado.algorithms.xgboost.callbacks", "kamado.algorithms.data:preload",
                   "scipy.sparse", "kamado.serving.server:preload",
                   "kamado.algorithms.xgboost.inference", "kamado.serving.formats:preload")),
    Image("linear-learner", "Linear Learner: binary, multiclass and regression linear models",
          "algorithm", train=_module("kamado.images.linear_learner"),
          serve=_module("kamado.images.linear_learner"),
          repositories=(Repository("linear-learner", "A", ("1", "latest")),),
          requires=("numpy", "scipy"), extra="ml",
          metrics="kamado.algorithms.linear_learner:metric_definitions",
          # its __main__ first: it sets BLAS to one thread before NumPy loads
          preload=("kamado.images.linear_learner.__main__", "kamado.algorithms.linear_learner.job",
                   "kamado.algorithms.data:preload")),
    # The classic built-in algorithms (builtin-algorithms.md §3.3-3.11, 3.19-3.20): code in
    # kamado.algorithms.<package>, a thin image kamado.images.<package>.
    _algorithm("kmeans", "K-Means: k-means++ or random init, mini-batch training", "kmeans",
               requires=("sklearn", "numpy"), libraries=("sklearn.cluster",)),
    _algorithm("pca", "PCA: regular or randomized principal component analysis", "pca",
               requires=("sklearn", "numpy"), libraries=("sklearn.utils.extmath",)),
    _algorithm("knn", "k-NN: nearest-neighbour classifier and regressor on a faiss index", "knn",
               requires=("faiss", "numpy"), extra="algorithms", libraries=("faiss",)),
    _algorithm("randomcutforest", "Random Cut Forest: anomaly scores", "random_cut_forest",
               requires=("numpy",)),
    _algorithm("factorization-machines", "Factorization Machines: binary classifier and "
               "regressor on sparse data", "factorization_machines", requires=("numpy", "scipy")),
    _algorithm("ipinsights", "IP Insights: entity-IP address embeddings", "ip_insights",
               requires=("numpy", "scipy")),
    _algorithm("lda", "LDA: latent Dirichlet allocation topic model", "lda",
               requires=("sklearn", "numpy"), group="LDA",
               libraries=("sklearn.decomposition",)),
    _algorithm("blazingtext", "BlazingText: fastText text classification and word2vec "
               "embeddings", "blazingtext", requires=("fasttext", "gensim", "numpy"),
               extra="algorithms", group="B", libraries=("fasttext",)),
    _algorithm("lightgbm", "LightGBM (JumpStart): gradient-boosted trees for tabular "
               "classification and regression", "lightgbm_tabular",
               requires=("lightgbm", "joblib", "numpy"), extra="algorithms", jumpstart=True,
               libraries=("lightgbm", "joblib")),
    _algorithm("catboost", "CatBoost (JumpStart): gradient-boosted oblivious trees for tabular "
               "classification and regression", "catboost_tabular",
               requires=("catboost", "numpy"), extra="algorithms", jumpstart=True,
               libraries=("catboost",)),
    Image("sklearn", "scikit-learn framework: script mode (entry_point)", "framework",
          train=_module("kamado.images.sklearn"), serve=_module("kamado.images.sklearn"),
          repositories=(Repository("sagemaker-scikit-learn", "FW", (
              "0.20.0-cpu-py3", "0.23-1-cpu-py3", "1.0-1-cpu-py3", "1.2-1-cpu-py3",
              "1.2-1", "1.4-2-cpu-py3", "1.4-2")),),
          requires=("sklearn", "numpy"), extra="ml"),
    Image("pytorch", "PyTorch framework: script mode (entry_point)", "framework",
          train=_module("kamado.images.pytorch"), serve=_module("kamado.images.pytorch"),
          repositories=(Repository("pytorch-training", None, (
              "2.3-cpu-py311", "2.5-cpu-py311", "2.6-cpu-py312")),
              Repository("pytorch-inference", None, (
                  "2.3-cpu-py311", "2.5-cpu-py311", "2.6-cpu-py312"))),
          requires=("torch",), extra="torch"),
)


# AWS's JumpStart scripts (training and inference) for the tabular algorithms kamado
# implements itself (builtin-algorithms.md §1.3).
_JUMPSTART_SOURCE = re.compile(
    r"^s3://jumpstart-cache-prod-[a-z0-9-]+/source-directory-tarballs/(?P<algorithm>lightgbm|"
    r"catboost)/(?:transfer_learning|inference)/(?P<task>classification|regression)/")
# The side file kamado's tabular algorithms leave in model.tar.gz (kamado.algorithms.tabular)
TABULAR_MODEL = "kamado-tabular.json"


def jumpstart_script(uri) -> tuple[str, str] | None:
    """("lightgbm"|"catboost", "classification"|"regression") when ``uri`` is AWS's JumpStart
    script tarball for that algorithm and task (the SDK may send the value JSON-encoded)."""
    if not isinstance(uri, str):
        return None
    try:
        decoded = json.loads(uri)
        uri = decoded if isinstance(decoded, str) else uri
    except ValueError:
        pass
    m = _JUMPSTART_SOURCE.match(uri.strip())
    return (m["algorithm"], m["task"]) if m else None


def jumpstart_source(uri) -> str | None:
    """"lightgbm" or "catboost" when ``uri`` is AWS's JumpStart script tarball for it."""
    found = jumpstart_script(uri)
    return found[0] if found else None


def jumpstart_algorithm(hyperparameters: dict | None) -> str | None:
    """The JumpStart tabular algorithm a training job's ``sagemaker_submit_directory`` names."""
    return jumpstart_source((hyperparameters or {}).get("sagemaker_submit_directory"))


def tabular_model(model_dir: Path | None) -> str | None:
    """"lightgbm" or "catboost" when an extracted model.tar.gz is one of theirs."""
    try:
        found = json.loads((Path(model_dir) / TABULAR_MODEL).read_text()).get("algorithm")
    except (TypeError, OSError, ValueError, AttributeError):
        return None
    return found if found in ("lightgbm", "catboost") else None


class ImageRegistry:
    """Built-in images plus the user's own, from ``<home>/images.json``."""

    def __init__(self, home: Path | str) -> None:
        self.path = Path(home) / "images.json"
        self._lock = threading.Lock()

    # --- user images ----------------------------------------------------------------------
    def _user_entries(self) -> dict[str, dict]:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}

    def user_images(self) -> list[Image]:
        return [self._user_image(name, entry) for name, entry in sorted(self._user_entries().items())]

    @staticmethod
    def _user_image(name: str, entry: dict) -> Image:
        if entry.get("entry_point"):
            program = (sys.executable, "-m", "kamado.images.entrypoint", entry["entry_point"])
            return Image(name, entry.get("description") or f"entry point {entry['entry_point']}",
                         "user", train=program, serve=program, uri=entry.get("uri", ""))
        directory = Path(entry["directory"])
        train, serve = directory / "train", directory / "serve"
        return Image(name, entry.get("description") or f"directory {directory}", "user",
                     train=(str(train),) if train.exists() else None,
                     serve=(str(serve),) if serve.exists() else None,
                     cwd=str(directory), uri=entry.get("uri", ""))

    def register(self, name: str, *, directory: Path | str | None = None,
                 entry_point: str | None = None, uri: str = "", description: str = "") -> Image:
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name):
            raise ValueError("an image name is lower-case letters, digits, '.', '_' and '-'")
        if any(b.name == name for b in BUILTINS):
            raise ValueError(f"{name!r} is a built-in image; choose another name")
        if (directory is None) == (entry_point is None):
            raise ValueError("give exactly one of a directory or an entry point")
        entry: dict = {"uri": uri, "description": description}
        if directory is not None:
            directory = Path(directory).resolve()
            if not (directory / "train").exists() and not (directory / "serve").exists():
                raise ValueError(f"{directory} has neither a 'train' nor a 'serve' program")
            for program in ("train", "serve"):
                p = directory / program
                if p.exists() and not os.access(p, os.X_OK):
                    raise ValueError(f"{p} is not executable (chmod +x it)")
            entry["directory"] = str(directory)
        else:
            if not re.fullmatch(r"[\w.]+:[\w.]+", entry_point or ""):
                raise ValueError("an entry point is 'package.module:function'")
            entry["entry_point"] = entry_point
        with self._lock:
            entries = self._user_entries()
            entries[name] = entry
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(entries, indent=2, sort_keys=True))
            tmp.replace(self.path)
        return self._user_image(name, entry)

    def unregister(self, name: str) -> bool:
        with self._lock:
            entries = self._user_entries()
            if entries.pop(name, None) is None:
                return False
            self.path.write_text(json.dumps(entries, indent=2, sort_keys=True))
        return True

    # --- lookup -----------------------------------------------------------------------------
    def all(self) -> list[Image]:
        return list(BUILTINS) + self.user_images()

    def resolve(self, uri: str, region: str) -> Image:
        """The image ``uri`` names, or a ValidationException that lists what exists."""
        image = self._find(uri.strip(), region)
        if image is None:
            raise ValidationError(
                f"Image '{uri}' is not available in kamado. Built-in images: "
                + "; ".join(f"{b.name} ({', '.join(r.name for r in b.repositories)})"
                            for b in BUILTINS)
                + ". Use an ECR URI AWS documents for them, the short name, or register your "
                "own with 'kamado images register'; 'kamado images' lists them all.")
        if image.kind != "user" and image.missing():
            raise ValidationError(
                f"Image '{uri}' is kamado's {image.name} image, which needs "
                f"{', '.join(image.missing())}; install kamado[{image.extra}].")
        return image

    def resolve_training(self, uri: str, region: str, hyperparameters: dict | None) -> Image:
        """The image a training job runs: as :meth:`resolve`, except that a job written for
        one of AWS's JumpStart tabular algorithms (the PyTorch DLC with a JumpStart script
        tarball, builtin-algorithms.md §1.3) runs kamado's own image of that algorithm, since
        kamado cannot fetch AWS's tarballs."""
        algorithm = jumpstart_algorithm(hyperparameters)
        if algorithm is not None:
            image = self._find(uri.strip(), region)
            if image is not None and image.name == "pytorch":
                return self.resolve(algorithm, region)
        return self.resolve(uri, region)

    def resolve_model(self, uri: str, region: str, environment: dict | None = None,
                      model_dir: Path | None = None) -> Image:
        """The image that serves a model: as :meth:`resolve`, except that a PyTorch inference
        image serving a JumpStart tabular model is kamado's own image of that algorithm.
        Recognised by the container's ``SAGEMAKER_SUBMIT_DIRECTORY`` (AWS's JumpStart inference
        script, which kamado cannot fetch) or, once extracted, by the model's files."""
        image = self._find(uri.strip(), region)
        if image is not None and image.name == "pytorch":
            algorithm = (jumpstart_source((environment or {}).get("SAGEMAKER_SUBMIT_DIRECTORY"))
                         or tabular_model(model_dir))
            if algorithm is not None:
                return self.resolve(algorithm, region)
        return self.resolve(uri, region)

    def _find(self, uri: str, region: str) -> Image | None:
        users = self.user_images()
        for image in users:
            if uri in (image.name, image.uri) or (image.uri and uri.split("@")[0] == image.uri):
                return image
        m = _ECR_URI.match(uri)
        if m:
            repo_name, account = m["repository"], m["account"]
            accounts = _ACCOUNTS.get(m["region"])
            for image in BUILTINS:
                for repo in image.repositories:
                    if repo.name != repo_name:
                        continue
                    if repo.group is None or accounts is None or \
                            accounts[_GROUP_COLUMN[repo.group]] == account:
                        return image
            return None
        m = _SHORT.match(uri)
        if m:
            for image in BUILTINS:
                if m["repository"] == image.name or m["repository"] in (
                        r.name for r in image.repositories):
                    return image
        return None
