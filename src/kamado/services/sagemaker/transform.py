"""SageMaker batch transform: CreateTransformJob, DescribeTransformJob, ListTransformJobs,
StopTransformJob (inference-contract.md §12).

The provider checks the request and records the job InProgress; the engine runs it
(:mod:`kamado.engine.transform`).
"""

from __future__ import annotations

from kamado.engine.engine import Scope
from kamado.engine.transform.jsonpath import JsonPath, PathError
from kamado.engine.transform.processing import DataProcessing
from kamado.engine.transform.run import DEFAULT_PAYLOAD_MB, TYPE
from kamado.errors import ValidationError
from kamado.services.base import Provider, RequestContext
from kamado.services.sagemaker import lifecycle
from kamado.services.sagemaker.listing import list_page
from kamado.services.sagemaker.models import model_arn
from kamado.storage.uri import is_s3

_ECHOED = ("ModelName", "MaxConcurrentTransforms", "ModelClientConfig", "MaxPayloadInMB",
           "BatchStrategy", "Environment", "TransformInput", "TransformOutput",
           "DataCaptureConfig", "TransformResources", "DataProcessing", "ExperimentConfig")
MAX_TOTAL_PAYLOAD_MB = 100


def _present(**fields) -> dict:
    return {k: v for k, v in fields.items() if v is not None}


def _missing(name: str, arn: str) -> ValidationError:
    return ValidationError(f"Could not find requested job with name {name or arn}")


def _duplicate(name: str, arn: str) -> ValidationError:
    return ValidationError(f"Job name must be unique within an AWS account and region, and a "
                           f"job with this name already exists ({arn})")


class TransformJobs(Provider):
    service = "sagemaker"

    def __init__(self, platform) -> None:
        super().__init__(platform)
        self.resources = platform.resources
        self.engine = platform.engine
        self.resources.register(TYPE, label="Transform job", on_duplicate=_duplicate,
                                on_missing=_missing)

    def create_transform_job(self, request: dict, ctx: RequestContext) -> dict:
        name = request["TransformJobName"]
        arn = ctx.arn("sagemaker", f"transform-job/{name.lower()}")
        model = request["ModelName"]
        if self.resources.get(ctx, "Model", model, missing_ok=True) is None:
            raise ValidationError(f'Could not find model "{model_arn(ctx, model)}".')
        data = {k: request[k] for k in _ECHOED if k in request}
        data["TransformInput"] = tin = {"CompressionType": "None", "SplitType": "None",
                                        **request["TransformInput"]}
        data["TransformOutput"] = tout = {"AssembleWith": "None", **request["TransformOutput"]}
        self._check(request, tin, tout)
        self.resources.create(ctx, TYPE, name, arn, data, status="InProgress",
                              tags=request.get("Tags") or None)
        self.engine.transforms.submit(Scope(ctx.account_id, ctx.region), name, arn)
        return {"TransformJobArn": arn}

    @staticmethod
    def _check(request: dict, tin: dict, tout: dict) -> None:
        s3 = tin["DataSource"]["S3DataSource"]
        if not is_s3(s3["S3Uri"]):
            raise ValidationError(f"TransformInput.DataSource.S3DataSource.S3Uri must be an "
                                  f"s3:// URI; got {s3['S3Uri']}.")
        if s3["S3DataType"] not in ("S3Prefix", "ManifestFile"):
            raise ValidationError(f"S3DataType {s3['S3DataType']} is not supported by kamado's "
                                  "batch transform (S3Prefix and ManifestFile are).")
        if not is_s3(tout["S3OutputPath"]):
            raise ValidationError(f"TransformOutput.S3OutputPath must be an s3:// URI; got "
                                  f"{tout['S3OutputPath']}.")
        payload = request.get("MaxPayloadInMB")
        if payload is not None and payload > MAX_TOTAL_PAYLOAD_MB:
            raise ValidationError(f"MaxPayloadInMB must be at most {MAX_TOTAL_PAYLOAD_MB}; "
                                  f"got {payload}.")
        concurrency = request.get("MaxConcurrentTransforms") or 0
        if concurrency * (payload if payload is not None else DEFAULT_PAYLOAD_MB) \
                > MAX_TOTAL_PAYLOAD_MB:
            raise ValidationError(f"MaxConcurrentTransforms ({concurrency}) times "
                                  f"MaxPayloadInMB ({payload or DEFAULT_PAYLOAD_MB}) must not "
                                  f"exceed {MAX_TOTAL_PAYLOAD_MB}.")
        if (request.get("ModelClientConfig") or {}).get("InvocationsMaxRetries", 0) > 3:
            raise ValidationError("ModelClientConfig.InvocationsMaxRetries must be at most 3.")
        processing = request.get("DataProcessing") or {}
        for member in ("InputFilter", "OutputFilter"):
            try:
                JsonPath(processing.get(member))
            except PathError as exc:
                raise ValidationError(f"DataProcessing.{member}: {exc}.") from None
        try:
            DataProcessing.check(processing, tin.get("ContentType"), tout.get("Accept"))
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def describe_transform_job(self, request: dict, ctx: RequestContext) -> dict:
        job = self.resources.get(ctx, TYPE, request["TransformJobName"])
        d = job.data
        out = {k: d[k] for k in _ECHOED if k in d}
        resolved = d.get("_resolved") or {}
        for key in ("BatchStrategy", "MaxConcurrentTransforms"):
            if key not in out and key in resolved:
                out[key] = resolved[key]
        out.setdefault("MaxPayloadInMB", resolved.get("MaxPayloadInMB", DEFAULT_PAYLOAD_MB))
        out.update(_present(
            TransformJobName=job.name, TransformJobArn=job.arn, TransformJobStatus=job.status,
            FailureReason=d.get("FailureReason"), CreationTime=job.creation_time,
            TransformStartTime=d.get("TransformStartTime"),
            TransformEndTime=d.get("TransformEndTime")))
        return out

    def list_transform_jobs(self, request: dict, ctx: RequestContext) -> dict:
        items, token = list_page(self.resources, ctx, TYPE, request,
                                 status_equals=request.get("StatusEquals"))
        return _present(TransformJobSummaries=[_present(
            TransformJobName=j.name, TransformJobArn=j.arn, CreationTime=j.creation_time,
            TransformEndTime=j.data.get("TransformEndTime"),
            LastModifiedTime=j.last_modified_time, TransformJobStatus=j.status,
            FailureReason=j.data.get("FailureReason")) for j in items], NextToken=token)

    def stop_transform_job(self, request: dict, ctx: RequestContext) -> dict:
        name = request["TransformJobName"]
        job = lifecycle.begin_stop(self.resources, ctx, TYPE, name, "transform job")
        if job is None:
            return {}
        if self.engine.stop(job.arn) == "queued":
            self.engine.transforms.end(Scope(ctx.account_id, ctx.region), name, "Stopped")
        return {}
