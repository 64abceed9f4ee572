"""SageMaker Search and GetSearchSuggestions over every resource type registered with
:func:`kamado.search.register`.

Each type's SearchRecord member is what its Describe answers, with its Tags (and, for trials,
trial components and models, what AWS adds: the trial's components, a component's parent
trials and experiments and its source's record, a model's endpoints and last batch transform
job). Filters, sorting and paging run in SQL where the type declares where a property is
stored (the ``fields`` of its registration below), in Python on rendered records elsewhere;
see :mod:`kamado.search`.

Another family becomes searchable with one line in its own module (or below)::

    register("ModelPackage", TYPE, ModelPackages.describe_model_package)
"""

from __future__ import annotations

import json

from kamado.engine import training as training_engine
from kamado.engine import tuning as tuning_engine
from kamado.engine.transform.run import TYPE as TRANSFORM
from kamado.errors import AwsError, ValidationError
from kamado.search import (ARN, CREATED, DATA, FINAL_METRICS, MODIFIED, NAME, STATUS, Data,
                           register, registered, searchable)
from kamado.search import evaluate
from kamado.search.expression import EQUALS, Junction, condition, parse
from kamado.search.properties import OBJECT
from kamado.search.query import Query, fingerprint
from kamado.search.sql import Rows, Translator
from kamado.services.base import Provider, RequestContext
from kamado.services.sagemaker.endpoints import ENDPOINT, Endpoints
from kamado.services.sagemaker.experiments import (COMPONENT, EXPERIMENT, TRIAL, TRIAL_COMPONENT,
                                                   Experiments)
from kamado.services.sagemaker.modelcards import CARD, ModelCards
from kamado.services.sagemaker.models import TYPE as MODEL
from kamado.services.sagemaker.models import Models
from kamado.services.sagemaker.registry import GROUP, PACKAGE, ModelRegistry
from kamado.services.sagemaker.training import TrainingJobs
from kamado.services.sagemaker.transform import TransformJobs
from kamado.services.sagemaker.tuning import TuningJobs
from kamado.store.metrics import MetricStore
from kamado.store.tables import final_metrics as finals_t
from kamado.store.tables import resources as res_t
from kamado.store.tables import tags as tags_t

DEFAULT_MAX_RESULTS = 10
# The keyed properties GetSearchSuggestions offers, as AWS documents it (HyperParameters, Tags,
# Metrics), and a trial component's Parameters.
SUGGESTED = ("HyperParameters", "Tags", "Metrics", "Parameters")
MAX_SUGGESTIONS = 1000

_TIMES = {"CreationTime": CREATED, "LastModifiedTime": MODIFIED}


class Search(Provider):
    service = "sagemaker"

    def __init__(self, platform) -> None:
        super().__init__(platform)
        self.db = platform.db
        self.resources = platform.resources
        self.metrics = MetricStore(platform.db)
        self._translators: dict[str, Translator] = {}

    # --- Search ---------------------------------------------------------------------------------
    def search(self, request: dict, ctx: RequestContext) -> dict:
        entry = self._searchable(request["Resource"])
        schema = entry.schema
        node = parse(request.get("SearchExpression"), schema)
        node = self._visible(node, request.get("VisibilityConditions"), entry)
        sort = None
        if request.get("SortBy"):
            sort = schema.resolve(request["SortBy"])
            if sort.kind == OBJECT:
                raise ValidationError(f"Cannot sort by {sort.name}: it is not a single value "
                                      "(a structure, map or list of them); sort by one of its "
                                      "members.")
        descending = (request.get("SortOrder") or "Descending") == "Descending"
        if request.get("CrossAccountFilterOption") == "CrossAccount":
            # Nothing is shared with this account through a resource catalog in kamado.
            return {"Results": [], "TotalHits": {"Value": 0, "Relation": "EqualTo"}}
        scope = "search:" + fingerprint(
            entry.resource, request.get("SearchExpression"), request.get("SortBy"),
            descending, request.get("VisibilityConditions"))
        query = Query(self.db, self._translator(entry), entry.store_type,
                      lambda found: self.render(entry, found, ctx))
        with self.db.session(write=False):  # one snapshot, one connection for every query
            page = query.page(ctx, node, sort, descending,
                              request.get("MaxResults") or DEFAULT_MAX_RESULTS,
                              request.get("NextToken") or None, scope)
        out = {"Results": [{entry.record: record} for record in page.records],
               "TotalHits": {"Value": page.total,
                             "Relation": "EqualTo" if page.exact else "GreaterThanOrEqualTo"}}
        if page.next_token:
            out["NextToken"] = page.next_token
        return out

    def _searchable(self, resource: str):
        entry = searchable(resource)
        if entry is None:  # a type AWS searches whose resources kamado does not keep yet
            raise ValidationError(f"kamado does not serve Search over {resource} resources yet; "
                                  f"it searches {', '.join(registered())}.")
        return entry

    @staticmethod
    def _visible(node, conditions, entry):
        """VisibilityConditions ({Key: "Tags.<key>", Value}) are tag filters ANDed in."""
        if not conditions:
            return node
        parts = []
        for c in conditions:
            key = c.get("Key") or ""
            if not key.startswith("Tags.") or entry.tags is None:
                raise ValidationError(f"VisibilityConditions Key {key!r} must have the form "
                                      "Tags.<key>.")
            name = key if entry.tags == "Tags" else f"{entry.tags}.{key[len('Tags.'):]}"
            parts.append(condition({"Name": name, "Operator": EQUALS,
                                    "Value": c.get("Value") or ""}, entry.schema))
        if node is not None:
            parts.append(node)
        return parts[0] if len(parts) == 1 else Junction("And", tuple(parts))

    def _translator(self, entry) -> Translator:
        found = self._translators.get(entry.resource)
        if found is None:
            found = self._translators[entry.resource] = Translator(self.db.dialect, entry.fields)
        return found

    def render(self, entry, found: list, ctx) -> list[dict | None]:
        """The SearchRecord members of ``found`` (resources of ``entry``), with their Tags;
        None for one deleted since the query read it."""
        records = []
        # Describe gets each resource by name and a training job's final metrics: from here.
        with self.resources.preloaded(found), self.metrics.preloaded(
                r.arn for r in found if r.type == training_engine.TYPE):
            for resource in found:
                try:
                    records.append(entry.render(self.platform, resource, ctx))
                except AwsError:  # deleted since the query read it
                    records.append(None)
        if entry.tags:
            tags = self._tags([r.arn for r in found])
            for resource, record in zip(found, records):
                if record is not None:
                    _put(record, entry.tags, [{"Key": k, "Value": v}
                                              for k, v in tags.get(resource.arn, [])])
        return records

    def _tags(self, arns: list[str]) -> dict[str, list]:
        import sqlalchemy as sa

        out: dict[str, list] = {}
        if not arns:
            return out
        with self.db.session(write=False) as s:
            rows = s.execute(sa.select(tags_t.c.arn, tags_t.c.key, tags_t.c.value).where(
                tags_t.c.arn.in_(arns)).order_by(tags_t.c.id)).all()
        for arn, key, value in rows:
            out.setdefault(arn, []).append((key, value))
        return out

    # --- GetSearchSuggestions -------------------------------------------------------------------
    def get_search_suggestions(self, request: dict, ctx: RequestContext) -> dict:
        entry = self._searchable(request["Resource"])
        hint = (((request.get("SuggestionQuery") or {}).get("PropertyNameQuery") or {})
                .get("PropertyNameHint") or "")
        names: set[str] = set()
        roots = {k: v for k, v in entry.schema.keyed_roots().items() if k in SUGGESTED}
        python = {}
        with self.db.session(write=False):
            for root, steps in roots.items():
                if not _could_match(root, hint):
                    continue
                keys = self._keys_in_sql(entry, ctx, root, steps)
                if keys is None:
                    python[root] = steps
                else:
                    names |= {f"{root}.{k}" for k in keys}
            if python:
                names |= self._keys_in_python(entry, ctx, python)
        wanted = sorted(n for n in names if n.lower().startswith(hint.lower()))
        return {"PropertyNameSuggestions": [{"PropertyName": n}
                                            for n in wanted[:MAX_SUGGESTIONS]]}

    def _keys_in_sql(self, entry, ctx, root: str, steps) -> set[str] | None:
        import sqlalchemy as sa

        member = steps[0].key
        field = entry.fields.get(member)
        scope = [res_t.c.account_id == ctx.account_id, res_t.c.region == ctx.region,
                 res_t.c.type == entry.store_type]
        if isinstance(field, Rows):
            table, link, column = ((tags_t, tags_t.c.arn, tags_t.c.key) if field.table == "tags"
                                   else (finals_t, finals_t.c.source_arn, finals_t.c.name))
            query = sa.select(column).distinct().select_from(table.join(
                res_t, link == res_t.c.arn)).where(*scope)
        elif isinstance(field, Data) and len(steps) == 1:  # a map kept in data
            path = (field.path or member).split(".")
            if self.db.dialect == "postgresql":
                from sqlalchemy.dialects import postgresql

                node = res_t.c.data.op("#>", return_type=postgresql.JSONB)(
                    sa.literal(path, postgresql.ARRAY(sa.Text)))
                keys = sa.func.jsonb_object_keys(node).table_valued("value").render_derived(
                    name="k")
                query = sa.select(keys.c.value).distinct().select_from(res_t).join(
                    keys, sa.true()).where(*scope, sa.func.jsonb_typeof(node) == "object")
            else:
                json_path = "$" + "".join(f'."{k}"' for k in path)
                keys = sa.func.json_each(res_t.c.data, json_path).table_valued(
                    sa.column("key", sa.String)).alias("k")
                query = sa.select(keys.c.key).distinct().select_from(res_t).join(
                    keys, sa.true()).where(
                    *scope, sa.func.json_type(res_t.c.data, json_path) == "object")
        else:
            return None
        with self.db.session(write=False) as s:
            return {row[0] for row in s.execute(query.limit(MAX_SUGGESTIONS))}

    def _keys_in_python(self, entry, ctx, roots: dict) -> set[str]:
        found, _ = self.resources.list(ctx, entry.store_type)
        names = set()
        for record in self.render(entry, found, ctx):
            if record is None:
                continue
            for root, steps in roots.items():
                for value in evaluate.values(record, steps):
                    if isinstance(value, dict) and len(steps) == 1:
                        names |= {f"{root}.{k}" for k in value}
                    elif isinstance(value, dict):  # an element of a keyed list
                        key = value.get("Key", value.get("MetricName"))
                        if isinstance(key, str):
                            names.add(f"{root}.{key}")
        return names


def _could_match(root: str, hint: str) -> bool:
    h, r = hint.lower(), root.lower() + "."
    return r.startswith(h) or h.startswith(r)


def _put(record: dict, path: str, value) -> None:
    *outer, last = path.split(".")
    for key in outer:
        record = record.setdefault(key, {})
    record[last] = value


# --- renderers that add what AWS's records carry beyond Describe ------------------------------

def _render_trial(platform, trial, ctx) -> dict:
    out = platform.services.provider(Experiments).describe_trial({"TrialName": trial.name}, ctx)
    resources = platform.resources
    components, _ = resources.list(ctx, COMPONENT, sort_by="CreationTime",
                                   sort_order="Ascending",
                                   arns=[resources.linked(TRIAL_COMPONENT, source=trial.arn)])
    out["TrialComponentSummaries"] = [{k: v for k, v in {
        "TrialComponentName": c.name, "TrialComponentArn": c.arn,
        "TrialComponentSource": c.data.get("Source"), "CreationTime": c.creation_time}.items()
        if v is not None} for c in components]
    return out


def _render_component(platform, component, ctx) -> dict:
    out = platform.services.provider(Experiments).describe_trial_component(
        {"TrialComponentName": component.name}, ctx)
    resources = platform.resources
    trials, _ = resources.list(ctx, TRIAL, sort_by="CreationTime", sort_order="Ascending",
                               arns=[resources.linked(TRIAL_COMPONENT, destination=component.arn)])
    # Search answers these maps even when empty: the SDK's ExperimentAnalytics iterates them.
    for member in ("Parameters", "InputArtifacts", "OutputArtifacts"):
        out.setdefault(member, {})
    out["Parents"] = [{k: v for k, v in {"TrialName": t.name,
                                         "ExperimentName": t.data.get("ExperimentName")}.items()
                       if v is not None} for t in trials]
    source = (out.get("Source") or {}).get("SourceArn")
    if source:
        detail = {"SourceArn": source}
        job = resources.get_by_arn(ctx, source, type=training_engine.TYPE, missing_ok=True)
        if job is not None:
            detail["TrainingJob"] = platform.services.provider(TrainingJobs).describe_training_job(
                {"TrainingJobName": job.name}, ctx)
        out["SourceDetail"] = detail
    return out


def _render_model(platform, model, ctx) -> dict:
    described = platform.services.provider(Models).describe_model({"ModelName": model.name}, ctx)
    resources = platform.resources
    endpoints, _ = resources.list(ctx, ENDPOINT, sort_by="CreationTime", sort_order="Ascending")
    serving = []
    for e in endpoints:
        variants = (e.data.get("_config") or {}).get("ProductionVariants") or []
        if any((v.get("ModelName") or "").lower() == model.name.lower() for v in variants):
            serving.append({"EndpointName": e.name, "EndpointArn": e.arn,
                            "CreationTime": e.creation_time,
                            "LastModifiedTime": e.last_modified_time, "EndpointStatus": e.status})
    out = {"Model": described, "Endpoints": serving}
    last, _ = resources.list(ctx, TRANSFORM, where={"ModelName": model.name}, max_results=1)
    if last:
        out["LastBatchTransformJob"] = platform.services.provider(
            TransformJobs).describe_transform_job({"TransformJobName": last[0].name}, ctx)
    return out


def _render_model_card(platform, card, ctx) -> dict:
    """DescribeModelCard's answer, with what Search's record adds from the card's content:
    the model it documents (``model_overview.model_id``), its risk rating
    (``intended_uses.risk_rating``) and model package group
    (``model_package_details.model_package_group_name``)."""
    out = platform.services.provider(ModelCards).describe_model_card(
        {"ModelCardName": card.name}, ctx)
    try:
        content = json.loads(out.get("Content") or "{}")
    except ValueError:
        content = {}
    if not isinstance(content, dict):
        return out
    for member, (section, key) in (("ModelId", ("model_overview", "model_id")),
                                   ("RiskRating", ("intended_uses", "risk_rating")),
                                   ("ModelPackageGroupName", ("model_package_details",
                                                              "model_package_group_name"))):
        value = (content.get(section) or {}).get(key) if isinstance(
            content.get(section), dict) else None
        if isinstance(value, str):
            out[member] = value
    return out


# --- the resource types kamado searches --------------------------------------------------------

def _data(*members: str) -> dict:
    return {m: DATA for m in members}


register("TrainingJob", training_engine.TYPE, TrainingJobs.describe_training_job,
         aliases={"Metrics": "FinalMetricDataList"}, fields={
             "TrainingJobName": NAME, "TrainingJobArn": ARN, "TrainingJobStatus": STATUS,
             **_TIMES, "FinalMetricDataList": FINAL_METRICS,
             **_data("TuningJobArn", "ModelArtifacts", "SecondaryStatus", "FailureReason",
                     "HyperParameters", "AlgorithmSpecification", "RoleArn", "InputDataConfig",
                     "OutputDataConfig", "ResourceConfig", "VpcConfig", "StoppingCondition",
                     "TrainingStartTime", "TrainingEndTime", "SecondaryStatusTransitions",
                     "EnableNetworkIsolation", "EnableInterContainerTrafficEncryption",
                     "EnableManagedSpotTraining", "CheckpointConfig", "DebugHookConfig",
                     "ExperimentConfig", "DebugRuleConfigurations", "TensorBoardOutputConfig",
                     "ProfilerConfig", "Environment", "RetryStrategy")})
register("HyperParameterTuningJob", tuning_engine.TYPE,
         TuningJobs.describe_hyper_parameter_tuning_job, fields={
             "HyperParameterTuningJobName": NAME, "HyperParameterTuningJobArn": ARN,
             "HyperParameterTuningJobStatus": STATUS, **_TIMES,
             **_data("HyperParameterTuningJobConfig", "WarmStartConfig",
                     "HyperParameterTuningEndTime", "FailureReason")})
register("Experiment", EXPERIMENT, Experiments.describe_experiment, fields={
    "ExperimentName": NAME, "ExperimentArn": ARN, **_TIMES, **_data("Description", "Source")})
register("ExperimentTrial", TRIAL, _render_trial, fields={
    "TrialName": NAME, "TrialArn": ARN, **_TIMES,
    **_data("ExperimentName", "Source", "MetadataProperties")})
# A training job's component shows its job's Status, times, model and metrics as they are now
# (read from the job when described), so only what its own document holds is in SQL.
register("ExperimentTrialComponent", COMPONENT, _render_component, fields={
    "TrialComponentName": NAME, "TrialComponentArn": ARN, **_TIMES,
    **_data("Source", "Parameters", "InputArtifacts", "MetadataProperties", "LineageGroupArn")})
register("Endpoint", ENDPOINT, Endpoints.describe_endpoint, fields={
    "EndpointName": NAME, "EndpointArn": ARN, "EndpointStatus": STATUS, **_TIMES,
    **_data("EndpointConfigName", "ProductionVariants")})
register("Model", MODEL, _render_model, tags="Model.Tags", fields={
    "Model.ModelName": NAME, "Model.ModelArn": ARN, "Model.CreationTime": CREATED,
    **{f"Model.{m}": Data(m) for m in ("PrimaryContainer", "Containers", "ExecutionRoleArn",
                                        "VpcConfig", "EnableNetworkIsolation",
                                        "InferenceExecutionConfig")}})
register("ModelPackageGroup", GROUP, ModelRegistry.describe_model_package_group)
register("ModelPackage", PACKAGE, ModelRegistry.describe_model_package)
register("ModelCard", CARD, _render_model_card)
