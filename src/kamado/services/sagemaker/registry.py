"""SageMaker Model Registry: model package groups and the model packages in them.

A model package registered into a group (``ModelPackageGroupName``) is a *versioned* package:
its versions are numbered 1, 2, 3… in the order they were registered, under a lock on the
group's row, so that registrations racing each other still get distinct, gapless numbers; a
deleted version's number is not given out again. Its ARN is
``…:model-package/<group>/<version>`` and ``DescribeModelPackage`` takes that ARN or
``<group>/<version>``. A package created with ``ModelPackageName`` alone is *unversioned*.

AWS's rules, as its API reference states them: a versioned package starts
``PendingManualApproval`` unless the request says otherwise and is moved to ``Approved`` or
``Rejected`` with ``UpdateModelPackage`` (which updates versioned packages only); approval
does not apply to unversioned packages; a versioned package takes its group's tags, so a
request for one carries none; a group that still holds packages cannot be deleted. A
package's ``ModelCard`` content is checked against the model package model card schema
(:mod:`kamado.modelcards.schema`), and an ``Archived`` card's content no longer changes.

Resources: ``ModelPackageGroup`` rows (status: the group status) and ``ModelPackage`` rows
(named ``<group>/<version>`` or by their own name; status: the approval status, so listings
filter on an indexed column), a ``ModelPackageGroupVersion`` association from each group to
its versions.
"""

from __future__ import annotations

import json

from kamado.engine import artifacts
from kamado.errors import AwsError, ConflictError, ValidationError
from kamado.modelcards import schema as card_schema
from kamado.services.base import Provider, RequestContext
from kamado.services.sagemaker import lineage
from kamado.services.sagemaker.listing import DEFAULT_MAX_RESULTS, list_page, page
from kamado.store.resources import Resource

GROUP, PACKAGE = "ModelPackageGroup", "ModelPackage"
GROUP_VERSION = "ModelPackageGroupVersion"  # association: group ARN -> version ARN
APPROVED, REJECTED, PENDING = "Approved", "Rejected", "PendingManualApproval"
# Where each approval status may go. A version that has been decided (Approved or Rejected)
# can be decided again the other way, with a new ApprovalDescription; it is never sent back
# to PendingManualApproval, the status of a version nobody has looked at.
TRANSITIONS = {PENDING: {PENDING, APPROVED, REJECTED}, APPROVED: {APPROVED, REJECTED},
               REJECTED: {REJECTED, APPROVED}}
MAX_ADDITIONAL_SPECIFICATIONS = 15
ARCHIVED_CARD = "Model Card is in Archived state."
# Members of CreateModelPackage a package keeps and DescribeModelPackage returns as sent.
_ECHOED = ("ModelPackageDescription", "InferenceSpecification", "SourceAlgorithmSpecification",
           "CertifyForMarketplace", "MetadataProperties", "ModelMetrics", "Domain", "Task",
           "SamplePayloadUrl", "CustomerMetadataProperties", "DriftCheckBaselines",
           "AdditionalInferenceSpecifications", "SkipModelValidation", "SourceUri",
           "SecurityConfig", "ModelCard", "ModelLifeCycle", "ModelPackageRegistrationType",
           "ManagedStorageType")


# --- names and errors ---------------------------------------------------------------------

def group_arn(ctx, name: str) -> str:
    return ctx.arn("sagemaker", f"model-package-group/{name.lower()}")


def package_arn(ctx, name: str) -> str:
    return ctx.arn("sagemaker", f"model-package/{name.lower()}")


def _after(ref: str, marker: str) -> str:
    """The resource part of an ARN (``…:model-package/x/3`` -> ``x/3``), or ``ref`` itself."""
    if ref.startswith("arn:") and marker in ref:
        return ref.split(marker, 1)[1]
    return ref


def _group_missing(ctx):
    return lambda name, arn: ValidationError(
        f"ModelPackageGroup {arn or group_arn(ctx, name)} does not exist.")


def _package_missing(ctx):
    return lambda name, arn: ValidationError(
        f"ModelPackage {arn or package_arn(ctx, name)} does not exist.")


def _group_duplicate(name: str, arn: str) -> ValidationError:
    return ValidationError(f"Model Package Group already exists: {arn}")


def _package_duplicate(name: str, arn: str) -> ValidationError:
    return ValidationError(f"Model Package already exists: {arn}")


def get_group(resources, ctx, ref: str, *, for_update: bool = False) -> Resource:
    """A group by name or ARN, or AWS's ValidationException."""
    return resources.get(ctx, GROUP, _after(ref, ":model-package-group/"), for_update=for_update,
                         on_missing=_group_missing(ctx))


def get_package(resources, ctx, ref: str, *, for_update: bool = False) -> Resource:
    """A package by name, ``<group>/<version>`` or ARN, or AWS's ValidationException."""
    return resources.get(ctx, PACKAGE, _after(ref, ":model-package/"), for_update=for_update,
                         on_missing=_package_missing(ctx))


def versioned(package: Resource) -> bool:
    return bool(package.data.get("ModelPackageGroupName"))


def _created_by(ctx) -> dict:
    """Who made a resource: every kamado request is signed with the account's root key."""
    return {"IamIdentity": {"Arn": f"arn:aws:iam::{ctx.account_id}:root",
                            "PrincipalId": ctx.account_id}}


def _present(**fields) -> dict:
    return {k: v for k, v in fields.items() if v is not None}


class ModelRegistry(Provider):
    service = "sagemaker"

    def __init__(self, platform) -> None:
        super().__init__(platform)
        self.resources = platform.resources
        self.resources.register(GROUP, label="Model package group",
                                on_duplicate=_group_duplicate)
        self.resources.register(PACKAGE, label="Model package",
                                on_duplicate=_package_duplicate)

    # --- groups -----------------------------------------------------------------------------
    def create_model_package_group(self, request: dict, ctx: RequestContext) -> dict:
        name = request["ModelPackageGroupName"]
        arn = group_arn(ctx, name)
        data = _present(ModelPackageGroupDescription=request.get("ModelPackageGroupDescription"),
                        ManagedConfiguration=request.get("ManagedConfiguration"),
                        CreatedBy=_created_by(ctx))
        self.resources.create(ctx, GROUP, name, arn, data, status="Completed",
                              tags=request.get("Tags") or None)
        return {"ModelPackageGroupArn": arn}

    def describe_model_package_group(self, request: dict, ctx: RequestContext) -> dict:
        group = get_group(self.resources, ctx, request["ModelPackageGroupName"])
        return _present(
            ModelPackageGroupName=group.name, ModelPackageGroupArn=group.arn,
            ModelPackageGroupDescription=group.data.get("ModelPackageGroupDescription"),
            CreationTime=group.creation_time, CreatedBy=group.data.get("CreatedBy") or {},
            ModelPackageGroupStatus=group.status,
            ManagedConfiguration=group.data.get("ManagedConfiguration"))

    def list_model_package_groups(self, request: dict, ctx: RequestContext) -> dict:
        if request.get("CrossAccountFilterOption") == "CrossAccount":
            # Groups other accounts share with this one: kamado has no resource sharing.
            return {"ModelPackageGroupSummaryList": []}
        request = {"SortOrder": "Ascending", **request}  # AWS's default order for this list
        return page("ModelPackageGroupSummaryList",
                    *list_page(self.resources, ctx, GROUP, request), lambda g: _present(
                        ModelPackageGroupName=g.name, ModelPackageGroupArn=g.arn,
                        ModelPackageGroupDescription=g.data.get("ModelPackageGroupDescription"),
                        CreationTime=g.creation_time, ModelPackageGroupStatus=g.status))

    def delete_model_package_group(self, request: dict, ctx: RequestContext) -> dict:
        with self.resources.transaction():
            # Locked: a version being registered at this moment waits, then finds no group.
            group = get_group(self.resources, ctx, request["ModelPackageGroupName"],
                              for_update=True)
            if self.resources.has_links(GROUP_VERSION, source=group.arn):
                raise ConflictError(
                    f"Model Package Group {group.arn} still contains model packages; delete "
                    "every model package in the group (ListModelPackages with "
                    "ModelPackageGroupName lists them) before deleting the group.")
            self.resources.delete(ctx, GROUP, group.name)
        return {}

    # --- group policies -----------------------------------------------------------------------
    def put_model_package_group_policy(self, request: dict, ctx: RequestContext) -> dict:
        policy = request["ResourcePolicy"]
        try:
            document = json.loads(policy)
        except ValueError:
            document = None
        if not isinstance(document, dict) or "Statement" not in document:
            raise ValidationError("ResourcePolicy must be a JSON policy document with a "
                                  "Statement.")
        with self.resources.transaction():
            group = get_group(self.resources, ctx, request["ModelPackageGroupName"],
                              for_update=True)
            self.resources.update(ctx, GROUP, group.name, {"_ResourcePolicy": policy})
        return {"ModelPackageGroupArn": group.arn}

    def get_model_package_group_policy(self, request: dict, ctx: RequestContext) -> dict:
        group = get_group(self.resources, ctx, request["ModelPackageGroupName"])
        if "_ResourcePolicy" not in group.data:
            raise ValidationError(f"Cannot find resource policy for ModelPackageGroup "
                                  f"{group.arn}.")
        return {"ResourcePolicy": group.data["_ResourcePolicy"]}

    def delete_model_package_group_policy(self, request: dict, ctx: RequestContext) -> dict:
        with self.resources.transaction():
            group = get_group(self.resources, ctx, request["ModelPackageGroupName"],
                              for_update=True)
            if "_ResourcePolicy" not in group.data:
                raise ValidationError(f"Cannot find resource policy for ModelPackageGroup "
                                      f"{group.arn}.")
            self.resources.update(ctx, GROUP, group.name, {"_ResourcePolicy": None})
        return {}

    # --- packages ---------------------------------------------------------------------------
    def create_model_package(self, request: dict, ctx: RequestContext) -> dict:
        name, group_ref = request.get("ModelPackageName"), request.get("ModelPackageGroupName")
        if name and group_ref:
            raise ValidationError("Both ModelPackageName and ModelPackageGroupName are provided "
                                  "in the input. Cannot determine which one to use.")
        if not name and not group_ref:
            raise ValidationError("Either ModelPackageGroupName (a versioned model package) or "
                                  "ModelPackageName (an unversioned one) is required.")
        data = self._checked(ctx, request)
        data["CreatedBy"] = _created_by(ctx)
        data["ModelPackageStatus"] = "Completed"
        if name:
            return {"ModelPackageArn": self._create_unversioned(ctx, name, request, data)}
        return {"ModelPackageArn": self._create_version(ctx, group_ref, request, data)}

    def _create_unversioned(self, ctx, name: str, request: dict, data: dict) -> str:
        if request.get("ModelApprovalStatus"):
            raise ValidationError("ModelApprovalStatus applies to versioned model packages "
                                  "only: give ModelPackageGroupName instead of "
                                  "ModelPackageName to register a version.")
        arn = package_arn(ctx, name)
        data.setdefault("CertifyForMarketplace", False)
        with self.resources.transaction():
            self.resources.create(ctx, PACKAGE, name, arn,
                                  {**data, "ModelPackageName": name, "_Versioned": False},
                                  status=None, tags=request.get("Tags") or None)
            lineage.record_model_package(self.resources, ctx, arn, data)
        return arn

    def _create_version(self, ctx, group_ref: str, request: dict, data: dict) -> str:
        if request.get("Tags"):
            raise ValidationError("A versioned model package takes the tags of its model "
                                  "package group; Tags cannot be given with "
                                  "ModelPackageGroupName.")
        if request.get("CertifyForMarketplace"):
            raise ValidationError("CertifyForMarketplace does not apply to versioned model "
                                  "packages.")
        token = request.get("ClientToken")
        with self.resources.transaction():
            # The group's row lock makes version numbering one registration at a time.
            group = get_group(self.resources, ctx, group_ref, for_update=True)
            if token:
                same, _ = self.resources.list(
                    ctx, PACKAGE, where={"_ClientToken": token}, max_results=1,
                    arns=[self.resources.linked(GROUP_VERSION, source=group.arn)])
                if same:  # the same request again: the version it made, not a new one
                    return same[0].arn
                data["_ClientToken"] = token
            version = int(group.data.get("_LastVersion", 0)) + 1
            name = f"{group.name}/{version}"
            arn = package_arn(ctx, name)
            data.update(ModelPackageName=group.name, ModelPackageGroupName=group.name,
                        ModelPackageVersion=version, _Versioned=True)
            status = request.get("ModelApprovalStatus") or PENDING
            self.resources.create(ctx, PACKAGE, name, arn, data, status=status)
            self.resources.update(ctx, GROUP, group.name, {"_LastVersion": version})
            self.resources.associate(GROUP_VERSION, group.arn, arn)
            lineage.record_model_package(self.resources, ctx, arn, data, group)
        return arn

    def _checked(self, ctx, request: dict) -> dict:
        """The document a CreateModelPackage request stores, or the ValidationException."""
        if request.get("ValidationSpecification"):
            raise ValidationError("ValidationSpecification is not served by kamado yet: it "
                                  "does not run validation transform jobs. Register the "
                                  "package without it.")
        inference = request.get("InferenceSpecification")
        if inference:
            self._check_inference(ctx, inference, "InferenceSpecification")
        additional = request.get("AdditionalInferenceSpecifications") or []
        self._check_additional(ctx, additional)
        if request.get("ModelCard"):
            self._check_card(request["ModelCard"])
        return {k: request[k] for k in _ECHOED if k in request}

    def _check_inference(self, ctx, spec: dict, where: str) -> None:
        """Each container's image must be one kamado can serve, and its model data must exist:
        what CreateModel would refuse later is refused at registration."""
        for i, container in enumerate(spec.get("Containers") or []):
            at = f"{where}.Containers.{i + 1}"
            if not container.get("Image"):
                raise ValidationError(f"{at}.Image is required.")
            image = self.platform.engine.images.resolve(container["Image"], ctx.region)
            if image.serve is None:
                raise ValidationError(f"{at}.Image {container['Image']} ({image.name}) has no "
                                      "serve program, so it cannot host a model.")
            url = container.get("ModelDataUrl")
            if url and not artifacts.object_exists(url, config=self.platform.config,
                                                   objects=self.platform.objects):
                raise ValidationError(f"{at}.ModelDataUrl: could not find model data at "
                                      f"{url}.")

    def _check_additional(self, ctx, specs: list[dict], existing: list[dict] = ()) -> None:
        names = [s["Name"] for s in existing]
        if len(names) + len(specs) > MAX_ADDITIONAL_SPECIFICATIONS:
            raise ValidationError(f"A model package has at most {MAX_ADDITIONAL_SPECIFICATIONS} "
                                  "additional inference specifications.")
        for i, spec in enumerate(specs):
            if spec["Name"] in names:
                raise ValidationError(f"Additional inference specification names must be "
                                      f"unique; {spec['Name']} is used twice.")
            names.append(spec["Name"])
            self._check_inference(ctx, spec, f"AdditionalInferenceSpecifications.{i + 1}")

    @staticmethod
    def _check_card(card: dict) -> None:
        content = card.get("ModelCardContent")
        if content is None:
            return
        try:
            card_schema.parse(content, card_schema.PACKAGE)
        except card_schema.ContentError as exc:
            raise ValidationError("ModelCard.ModelCardContent does not follow the model "
                                  f"package model card schema: {exc}") from None
        except card_schema.MissingDependency as exc:
            raise AwsError(str(exc), code="InternalFailure", status=500) from None

    def describe_model_package(self, request: dict, ctx: RequestContext) -> dict:
        package = get_package(self.resources, ctx, request["ModelPackageName"])
        out = self.description(package)
        if request.get("IncludedData") == "MetadataOnly" and out.get("ModelCard"):
            out["ModelCard"] = {k: v for k, v in out["ModelCard"].items()
                                if k != "ModelCardContent"}
        return out

    @staticmethod
    def description(package: Resource) -> dict:
        d = package.data
        return _present(**{k: d[k] for k in _ECHOED if k in d},
                        ModelPackageName=d.get("ModelPackageName") or package.name,
                        ModelPackageGroupName=d.get("ModelPackageGroupName"),
                        ModelPackageVersion=d.get("ModelPackageVersion"),
                        ModelPackageArn=package.arn, CreationTime=package.creation_time,
                        ModelPackageStatus=d.get("ModelPackageStatus", "Completed"),
                        ModelPackageStatusDetails={"ValidationStatuses": []},
                        ModelApprovalStatus=package.status, CreatedBy=d.get("CreatedBy"),
                        LastModifiedTime=package.last_modified_time,
                        LastModifiedBy=d.get("LastModifiedBy"),
                        ApprovalDescription=d.get("ApprovalDescription"))

    def list_model_packages(self, request: dict, ctx: RequestContext) -> dict:
        kind = request.get("ModelPackageType")
        arns, where = [], {}
        if request.get("ModelPackageGroupName"):
            group_name = _after(request["ModelPackageGroupName"], ":model-package-group/")
            group = self.resources.get(ctx, GROUP, group_name, missing_ok=True)
            if group is None or kind == "Unversioned":
                return {"ModelPackageSummaryList": []}
            arns.append(self.resources.linked(GROUP_VERSION, source=group.arn))
        elif kind != "Both":  # without a group AWS lists unversioned packages by default
            where["_Versioned"] = kind == "Versioned"
        items, token = self.resources.list(
            ctx, PACKAGE, name_contains=request.get("NameContains"),
            created_after=request.get("CreationTimeAfter"),
            created_before=request.get("CreationTimeBefore"),
            status_equals=request.get("ModelApprovalStatus"),
            sort_by=request.get("SortBy") or "CreationTime",
            sort_order=request.get("SortOrder") or "Ascending",  # AWS's default for this list
            max_results=request.get("MaxResults") or DEFAULT_MAX_RESULTS,
            next_token=request.get("NextToken") or None, where=where or None, arns=arns)
        return page("ModelPackageSummaryList", items, token, self._summary)

    @staticmethod
    def _summary(p: Resource) -> dict:
        d = p.data
        return _present(ModelPackageName=d.get("ModelPackageName") or p.name,
                        ModelPackageGroupName=d.get("ModelPackageGroupName"),
                        ModelPackageVersion=d.get("ModelPackageVersion"), ModelPackageArn=p.arn,
                        ModelPackageDescription=d.get("ModelPackageDescription"),
                        CreationTime=p.creation_time,
                        ModelPackageStatus=d.get("ModelPackageStatus", "Completed"),
                        ModelApprovalStatus=p.status, ModelLifeCycle=d.get("ModelLifeCycle"),
                        ModelPackageRegistrationType=d.get("ModelPackageRegistrationType"))

    def batch_describe_model_package(self, request: dict, ctx: RequestContext) -> dict:
        found, errors = {}, {}
        for arn in request["ModelPackageArnList"]:
            package = self.resources.get(ctx, PACKAGE, _after(arn, ":model-package/"),
                                         missing_ok=True)
            if package is None:
                errors[arn] = {"ErrorCode": "ValidationException",
                               "ErrorResponse": f"ModelPackage {arn} does not exist."}
            elif not versioned(package):
                errors[arn] = {"ErrorCode": "ValidationException",
                               "ErrorResponse": f"ModelPackage {arn} is not a versioned model "
                                                "package."}
            else:
                d = package.data
                found[arn] = _present(
                    ModelPackageGroupName=d["ModelPackageGroupName"],
                    ModelPackageVersion=d.get("ModelPackageVersion"), ModelPackageArn=package.arn,
                    ModelPackageDescription=d.get("ModelPackageDescription"),
                    CreationTime=package.creation_time,
                    InferenceSpecification=d.get("InferenceSpecification") or {"Containers": []},
                    ModelPackageStatus=d.get("ModelPackageStatus", "Completed"),
                    ModelApprovalStatus=package.status,
                    ModelPackageRegistrationType=d.get("ModelPackageRegistrationType"))
        out: dict = {"ModelPackageSummaries": found}
        if errors:
            out["BatchDescribeModelPackageErrorMap"] = errors
        return out

    def update_model_package(self, request: dict, ctx: RequestContext) -> dict:
        keep = set(request.get("CustomerMetadataProperties") or {})
        both = keep & set(request.get("CustomerMetadataPropertiesToRemove") or [])
        if both:
            raise ValidationError("CustomerMetadataProperties and "
                                  "CustomerMetadataPropertiesToRemove both name "
                                  f"{', '.join(sorted(both))}.")
        with self.resources.transaction():
            package = get_package(self.resources, ctx, request["ModelPackageArn"],
                                  for_update=True)
            if not versioned(package):
                raise ValidationError(f"UpdateModelPackage updates versioned model packages; "
                                      f"{package.arn} is unversioned.")
            status = package.status
            wanted = request.get("ModelApprovalStatus")
            if wanted and wanted not in TRANSITIONS.get(status, {wanted}):
                raise ValidationError(f"Cannot update ModelApprovalStatus of {package.arn} from "
                                      f"{status} to {wanted}: a model package version that has "
                                      "been Approved or Rejected cannot go back to "
                                      "PendingManualApproval.")
            if request.get("InferenceSpecification"):
                self._check_inference(ctx, request["InferenceSpecification"],
                                      "InferenceSpecification")
            added = request.get("AdditionalInferenceSpecificationsToAdd") or []
            self._check_additional(ctx, added,
                                   package.data.get("AdditionalInferenceSpecifications") or [])
            if "ModelCard" in request:
                self._check_card_update(package.data.get("ModelCard"), request["ModelCard"])

            def change(data: dict) -> dict:
                for key in ("ApprovalDescription", "InferenceSpecification", "SourceUri",
                            "ModelLifeCycle", "ModelPackageRegistrationType"):
                    if key in request:
                        data[key] = request[key]
                if "ModelCard" in request:
                    data["ModelCard"] = {**(data.get("ModelCard") or {}), **request["ModelCard"]}
                metadata = {**(data.get("CustomerMetadataProperties") or {}),
                            **(request.get("CustomerMetadataProperties") or {})}
                for key in request.get("CustomerMetadataPropertiesToRemove") or []:
                    metadata.pop(key, None)
                if metadata:
                    data["CustomerMetadataProperties"] = metadata
                else:
                    data.pop("CustomerMetadataProperties", None)
                if added:
                    data["AdditionalInferenceSpecifications"] = [
                        *(data.get("AdditionalInferenceSpecifications") or []), *added]
                data["LastModifiedBy"] = _created_by(ctx)
                return data
            self.resources.update(ctx, PACKAGE, package.name, change, status=wanted or status)
            if wanted and wanted != status:
                lineage.record_approval(self.resources, ctx, package.arn, wanted)
        return {"ModelPackageArn": package.arn}

    def _check_card_update(self, current: dict | None, new: dict) -> None:
        current = current or {}
        if current.get("ModelCardStatus") == "Archived":
            changes_content = ("ModelCardContent" in new and new["ModelCardContent"]
                               != current.get("ModelCardContent"))
            changes_status = new.get("ModelCardStatus", "Archived") != "Archived"
            if changes_content or changes_status:
                raise ValidationError(ARCHIVED_CARD)
        self._check_card(new)

    def delete_model_package(self, request: dict, ctx: RequestContext) -> dict:
        with self.resources.transaction():
            package = get_package(self.resources, ctx, request["ModelPackageName"],
                                  for_update=True)
            self.resources.delete(ctx, PACKAGE, package.name)
        return {}


def deployable(resources, ctx, ref: str, specification: str | None = None) -> tuple[str, dict]:
    """What CreateModel deploys for ``ModelPackageName`` ``ref``: the package's ARN and the
    inference specification (the main one, or the additional one named ``specification``).
    A versioned package must be Approved: AWS's CreateModelPackage reference says a versioned
    model's approval status must be Approved to deploy it."""
    package = get_package(resources, ctx, ref)
    if versioned(package) and package.status != APPROVED:
        raise ValidationError(f"Model package {package.arn} is {package.status}; a versioned "
                              "model package must be Approved (UpdateModelPackage "
                              "ModelApprovalStatus=Approved) before it is deployed.")
    if specification:
        for spec in package.data.get("AdditionalInferenceSpecifications") or []:
            if spec["Name"] == specification:
                return package.arn, spec
        raise ValidationError(f"Model package {package.arn} has no additional inference "
                              f"specification named {specification}.")
    spec = package.data.get("InferenceSpecification")
    if not spec:
        raise ValidationError(f"Model package {package.arn} has no InferenceSpecification, so "
                              "it cannot be deployed (algorithm resources named by "
                              "SourceAlgorithmSpecification are not served by kamado yet).")
    return package.arn, spec
