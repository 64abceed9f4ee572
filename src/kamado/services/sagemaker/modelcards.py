"""SageMaker Model Cards: cards, their versions, and export jobs that render a card to PDF.

As AWS documents it: a card's ``Content`` follows the model card JSON schema (checked with
:mod:`kamado.modelcards.schema`; content that breaks it is a ``ValidationException`` naming
where); every change of content makes a new version, while a change of ``ModelCardStatus``
alone does not ("any edits other than an approval status update made to a model card result in
additional model card versions"); one call cannot change both; an ``Archived`` card takes no
more updates ("Model Card is in Archived state") but can still be exported. An export job is
``InProgress`` until the engine has rendered the card (:mod:`kamado.modelcards.render`) and
written ``<S3OutputPath>/<card>/<job>.pdf``, then ``Completed`` with that URI in
``ExportArtifacts.S3ExportArtifacts``, or ``Failed`` with a ``FailureReason``.

Resources: a ``ModelCard`` row per card (status: the card's current status), a
``ModelCardVersion`` row per version (``<card>/<n>``, its content and the status it has), a
``ModelCardExportJob`` row per export job (``<card>/<job>``), linked from the card.
"""

from __future__ import annotations

import json
import logging

from kamado.engine import artifacts
from kamado.engine.engine import Scope
from kamado.errors import AwsError, ConflictError, ResourceNotFound, ValidationError
from kamado.modelcards import schema as card_schema
from kamado.services.base import Provider, RequestContext
from kamado.services.sagemaker.listing import DEFAULT_MAX_RESULTS, list_page, page
from kamado.store.resources import Resource
from kamado.store.types import now

log = logging.getLogger("kamado.modelcards")

CARD, VERSION, EXPORT = "ModelCard", "ModelCardVersion", "ModelCardExportJob"
CARD_VERSION, CARD_EXPORT = "ModelCardVersionOf", "ModelCardExportJobOf"  # card -> version/job
ARCHIVED = "Archived"
ARCHIVED_MESSAGE = "Model Card is in Archived state."


def card_arn(ctx, name: str) -> str:
    return ctx.arn("sagemaker", f"model-card/{name.lower()}")


def export_job_arn(ctx, card: str, job: str) -> str:
    return ctx.arn("sagemaker", f"model-card/{card.lower()}/export-job/{job.lower()}")


def _card_name(ref: str) -> str:
    """A card's name from its name or ARN."""
    if ref.startswith("arn:") and ":model-card/" in ref:
        return ref.split(":model-card/", 1)[1].split("/", 1)[0]
    return ref


def _card_missing(name: str, arn: str) -> ResourceNotFound:
    return ResourceNotFound(f"Model card {name or arn} does not exist.")


def _card_duplicate(name: str, arn: str) -> ConflictError:
    return ConflictError(f"Model card {name} already exists ({arn}).")


def _job_duplicate(name: str, arn: str) -> ConflictError:
    return ConflictError(f"Model card export job {arn} already exists.")


def _created_by(ctx) -> dict:
    return {"IamIdentity": {"Arn": f"arn:aws:iam::{ctx.account_id}:root",
                            "PrincipalId": ctx.account_id}}


def _parse(content: str) -> dict:
    try:
        return card_schema.parse(content)
    except card_schema.ContentError as exc:
        raise ValidationError(f"Content does not follow the model card JSON schema: {exc}") \
            from None
    except card_schema.MissingDependency as exc:
        raise AwsError(str(exc), code="InternalFailure", status=500) from None


def _present(**fields) -> dict:
    return {k: v for k, v in fields.items() if v is not None}


class ModelCards(Provider):
    service = "sagemaker"

    def __init__(self, platform) -> None:
        super().__init__(platform)
        self.resources = platform.resources
        self.engine = platform.engine
        self.resources.register(CARD, label="Model card", on_duplicate=_card_duplicate,
                                on_missing=_card_missing)
        self.resources.register(VERSION, label="Model card version")
        self.resources.register(EXPORT, label="Model card export job",
                                on_duplicate=_job_duplicate)
        # Export jobs a stopped server left InProgress are rendered again (they write one file).
        for job in self.resources.scan(EXPORT, statuses=("InProgress",)):
            self.engine.submit(ExportRun(self, Scope(job.account_id, job.region), job.name,
                                         job.arn))

    def _card(self, ctx, ref: str, *, for_update: bool = False) -> Resource:
        return self.resources.get(ctx, CARD, _card_name(ref), for_update=for_update)

    def _version(self, ctx, card: Resource, version: int | None) -> Resource:
        number = version or card.data["ModelCardVersion"]
        found = self.resources.get(ctx, VERSION, f"{card.name}/{number}", missing_ok=True)
        if found is None:
            raise ResourceNotFound(f"Model card {card.name} has no version {number}.")
        return found

    def _add_version(self, ctx, card_name: str, arn: str, number: int, content: str,
                     status: str) -> None:
        version_arn = f"{arn}/version/{number}"
        self.resources.create(ctx, VERSION, f"{card_name}/{number}", version_arn,
                              {"ModelCardName": card_name, "ModelCardVersion": number,
                               "Content": content}, status=status)
        self.resources.associate(CARD_VERSION, arn, version_arn)

    # --- cards ------------------------------------------------------------------------------
    def create_model_card(self, request: dict, ctx: RequestContext) -> dict:
        name, content = request["ModelCardName"], request["Content"]
        _parse(content)
        arn = card_arn(ctx, name)
        status = request["ModelCardStatus"]
        data = _present(ModelCardVersion=1, SecurityConfig=request.get("SecurityConfig"),
                        CreatedBy=_created_by(ctx))
        with self.resources.transaction():
            self.resources.create(ctx, CARD, name, arn, data, status=status,
                                  tags=request.get("Tags") or None)
            self._add_version(ctx, name, arn, 1, content, status)
        return {"ModelCardArn": arn}

    def describe_model_card(self, request: dict, ctx: RequestContext) -> dict:
        card = self._card(ctx, request["ModelCardName"])
        version = self._version(ctx, card, request.get("ModelCardVersion"))
        out = _present(
            ModelCardArn=card.arn, ModelCardName=card.name,
            ModelCardVersion=version.data["ModelCardVersion"], Content=version.data["Content"],
            ModelCardStatus=version.status, SecurityConfig=card.data.get("SecurityConfig"),
            CreationTime=card.creation_time, CreatedBy=card.data.get("CreatedBy") or {},
            LastModifiedTime=version.last_modified_time,
            LastModifiedBy=version.data.get("LastModifiedBy") or card.data.get("CreatedBy"))
        if request.get("IncludedData") == "MetadataOnly":
            out.pop("Content")
        return out

    def list_model_cards(self, request: dict, ctx: RequestContext) -> dict:
        return page("ModelCardSummaries", *list_page(
            self.resources, ctx, CARD, request, status_equals=request.get("ModelCardStatus")),
            lambda c: {"ModelCardName": c.name, "ModelCardArn": c.arn,
                       "ModelCardStatus": c.status, "CreationTime": c.creation_time,
                       "LastModifiedTime": c.last_modified_time})

    def list_model_card_versions(self, request: dict, ctx: RequestContext) -> dict:
        card = self._card(ctx, request["ModelCardName"])
        # Versions are numbered in the order they were made: by version is by creation time.
        items, token = self.resources.list(
            ctx, VERSION, created_after=request.get("CreationTimeAfter"),
            created_before=request.get("CreationTimeBefore"),
            status_equals=request.get("ModelCardStatus"), sort_by="CreationTime",
            sort_order=request.get("SortOrder") or "Descending",
            max_results=request.get("MaxResults") or DEFAULT_MAX_RESULTS,
            next_token=request.get("NextToken") or None,
            arns=[self.resources.linked(CARD_VERSION, source=card.arn)])
        return page("ModelCardVersionSummaryList", items, token, lambda v: {
            "ModelCardName": card.name, "ModelCardArn": card.arn,
            "ModelCardStatus": v.status, "ModelCardVersion": v.data["ModelCardVersion"],
            "CreationTime": v.creation_time, "LastModifiedTime": v.last_modified_time})

    def update_model_card(self, request: dict, ctx: RequestContext) -> dict:
        content, status = request.get("Content"), request.get("ModelCardStatus")
        if content is not None and status is not None:
            raise ValidationError("You cannot update both model card content and model card "
                                  "status in a single call.")
        if content is None and status is None:
            raise ValidationError("Give Content or ModelCardStatus to update the model card.")
        if content is not None:
            _parse(content)
        with self.resources.transaction():
            card = self._card(ctx, request["ModelCardName"], for_update=True)
            if card.status == ARCHIVED:
                raise ValidationError(ARCHIVED_MESSAGE)
            latest = card.data["ModelCardVersion"]
            if content is not None:
                number = latest + 1
                self._add_version(ctx, card.name, card.arn, number, content, card.status)
                self.resources.update(ctx, CARD, card.name, {"ModelCardVersion": number})
            else:
                self.resources.update(ctx, VERSION, f"{card.name}/{latest}",
                                      {"LastModifiedBy": _created_by(ctx)}, status=status)
                self.resources.update(ctx, CARD, card.name, None, status=status)
        return {"ModelCardArn": card.arn}

    def delete_model_card(self, request: dict, ctx: RequestContext) -> dict:
        with self.resources.transaction():
            card = self._card(ctx, request["ModelCardName"], for_update=True)
            jobs = self.resources.links(CARD_EXPORT, source=card.arn)
            for link in jobs:
                job = self.resources.get_by_arn(ctx, link.destination_arn, type=EXPORT,
                                                missing_ok=True)
                if job is not None and job.status == "InProgress":
                    raise ConflictError(f"Model card {card.name} has an export job in "
                                        f"progress ({job.data['ModelCardExportJobName']}); "
                                        "delete the card once it has ended.")
            for link in [*self.resources.links(CARD_VERSION, source=card.arn), *jobs]:
                row = self.resources.get_by_arn(ctx, link.destination_arn, missing_ok=True)
                if row is not None:
                    self.resources.delete(ctx, row.type, row.name)
            self.resources.delete(ctx, CARD, card.name)
        return {}

    # --- export jobs --------------------------------------------------------------------------
    def create_model_card_export_job(self, request: dict, ctx: RequestContext) -> dict:
        job_name = request["ModelCardExportJobName"]
        output = dict(request["OutputConfig"])
        if not output["S3OutputPath"].startswith("s3://"):
            raise ValidationError(f"OutputConfig.S3OutputPath must be an s3:// URI; got "
                                  f"{output['S3OutputPath']}.")
        with self.resources.transaction():
            card = self._card(ctx, request["ModelCardName"])
            version = self._version(ctx, card, request.get("ModelCardVersion"))
            arn = export_job_arn(ctx, card.name, job_name)
            self.resources.create(ctx, EXPORT, f"{card.name}/{job_name}", arn, {
                "ModelCardExportJobName": job_name, "ModelCardName": card.name,
                "ModelCardVersion": version.data["ModelCardVersion"], "OutputConfig": output},
                status="InProgress")
            self.resources.associate(CARD_EXPORT, card.arn, arn)
        self.engine.submit(ExportRun(self, Scope(ctx.account_id, ctx.region),
                                     f"{card.name}/{job_name}", arn))
        return {"ModelCardExportJobArn": arn}

    def _job(self, ctx, arn: str) -> Resource:
        missing = ResourceNotFound(f"Model card export job {arn} does not exist.")
        if ":model-card/" not in arn or "/export-job/" not in arn:
            raise missing
        card, job = arn.split(":model-card/", 1)[1].split("/export-job/", 1)
        found = self.resources.get(ctx, EXPORT, f"{card}/{job}", missing_ok=True)
        if found is None:
            raise missing
        return found

    @staticmethod
    def _job_summary(job: Resource) -> dict:
        d = job.data
        return {"ModelCardExportJobName": d["ModelCardExportJobName"],
                "ModelCardExportJobArn": job.arn, "Status": job.status,
                "ModelCardName": d["ModelCardName"], "ModelCardVersion": d["ModelCardVersion"],
                "CreatedAt": job.creation_time, "LastModifiedAt": job.last_modified_time}

    def describe_model_card_export_job(self, request: dict, ctx: RequestContext) -> dict:
        job = self._job(ctx, request["ModelCardExportJobArn"])
        return _present(**self._job_summary(job), OutputConfig=job.data["OutputConfig"],
                        FailureReason=job.data.get("FailureReason"),
                        ExportArtifacts=job.data.get("ExportArtifacts"))

    def list_model_card_export_jobs(self, request: dict, ctx: RequestContext) -> dict:
        card = self.resources.get(ctx, CARD, _card_name(request["ModelCardName"]),
                                  missing_ok=True)
        if card is None:
            return {"ModelCardExportJobSummaries": []}
        version = request.get("ModelCardVersion")
        contains = (request.get("ModelCardExportJobNameContains") or "").lower()

        def wanted(job: Resource) -> bool:
            return ((version is None or job.data["ModelCardVersion"] == version)
                    and contains in job.data["ModelCardExportJobName"].lower())
        items, token = self.resources.list(
            ctx, EXPORT, created_after=request.get("CreationTimeAfter"),
            created_before=request.get("CreationTimeBefore"),
            status_equals=request.get("StatusEquals"),
            sort_by=request.get("SortBy") or "CreationTime",
            sort_order=request.get("SortOrder") or "Descending",
            max_results=request.get("MaxResults") or DEFAULT_MAX_RESULTS,
            next_token=request.get("NextToken") or None,
            where=wanted if version is not None or contains else None,
            arns=[self.resources.linked(CARD_EXPORT, source=card.arn)])
        return page("ModelCardExportJobSummaries", items, token, self._job_summary)

    # --- the engine's side ------------------------------------------------------------------
    def export(self, scope: Scope, name: str) -> None:
        """Render one export job's card version and write the PDF; the job ends Completed or
        Failed. Called by :class:`ExportRun` in an engine slot."""
        from kamado.modelcards.render import CardInfo, render

        job = self.resources.get(scope, EXPORT, name, missing_ok=True)
        if job is None or job.status != "InProgress":
            return  # deleted, or already ended by an earlier run
        d = job.data
        uri = artifacts.join_uri(d["OutputConfig"]["S3OutputPath"], d["ModelCardName"],
                                 f"{d['ModelCardExportJobName']}.pdf")
        try:
            card = self.resources.get(scope, CARD, d["ModelCardName"])
            version = self.resources.get(scope, VERSION,
                                         f"{card.name}/{d['ModelCardVersion']}")
            pdf = render(json.loads(version.data["Content"]), CardInfo(
                name=card.name, version=d["ModelCardVersion"], status=version.status,
                arn=card.arn, created=card.creation_time, modified=version.last_modified_time,
                exported=now()))
            artifacts.write_bytes(uri, pdf, config=self.platform.config,
                                  objects=self.platform.objects)
        except Exception as exc:  # noqa: BLE001 - any failure is the job's FailureReason
            log.warning("model card export %s failed: %s", job.arn, exc)
            reason = (f"Could not write the model card to {uri}: {exc}"
                      if isinstance(exc, OSError) else f"{type(exc).__name__}: {exc}")
            self._end(scope, name, "Failed", {"FailureReason": reason[:1024]})
            return
        self._end(scope, name, "Completed", {"ExportArtifacts": {"S3ExportArtifacts": uri}})

    def _end(self, scope: Scope, name: str, status: str, changes: dict) -> None:
        try:
            self.resources.update(scope, EXPORT, name, changes, status=status,
                                  expect_status="InProgress")
        except AwsError:
            pass  # the job (and its card) was deleted meanwhile, or another run ended it


class ExportRun:
    """One export job as an engine task (``key``, ``run``, ``stop``, ``abandon``)."""

    def __init__(self, cards: ModelCards, scope: Scope, name: str, arn: str) -> None:
        self.cards, self.scope, self.name, self.key = cards, scope, name, arn

    def run(self) -> None:
        try:
            self.cards.export(self.scope, self.name)
        finally:
            self.cards.engine.release(self)

    def stop(self) -> None:
        """An export cannot be stopped (the API has no StopModelCardExportJob)."""

    def abandon(self) -> None:
        """Left InProgress: the next server renders it again."""
