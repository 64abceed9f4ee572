"""The model registry through boto3: model package groups, versioned and unversioned model
packages, approval, metadata, model cards inside packages, and AWS's refusals."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from tests.e2e.registry.conftest import (MODEL_DATA, XGBOOST, as_content, card_content, inference,
                                         refused, register)

ACCOUNT_ARN = "arn:aws:sagemaker:us-east-1:000000000000"
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Sid": "Share", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
    "Action": ["sagemaker:DescribeModelPackage"], "Resource": "*"}]})


def package_card() -> dict:
    """A model package's card: the package schema has no model_package_details and its
    model_overview holds only model_creator and model_artifact."""
    card = card_content()
    card["model_overview"] = {"model_creator": "ml-platform", "model_artifact": [MODEL_DATA]}
    return card


# --- groups -------------------------------------------------------------------------------------

def test_a_group_is_created_described_listed_and_deleted(sm):
    arn = sm.create_model_package_group(ModelPackageGroupName="Fraud-Detection",
                                        ModelPackageGroupDescription="Card fraud models",
                                        Tags=[{"Key": "team", "Value": "risk"}])
    assert arn["ModelPackageGroupArn"] == f"{ACCOUNT_ARN}:model-package-group/fraud-detection"
    group = sm.describe_model_package_group(ModelPackageGroupName="Fraud-Detection")
    assert group["ModelPackageGroupName"] == "Fraud-Detection"
    assert group["ModelPackageGroupDescription"] == "Card fraud models"
    assert group["ModelPackageGroupStatus"] == "Completed"
    assert group["CreatedBy"]["IamIdentity"]["Arn"] == "arn:aws:iam::000000000000:root"
    # By ARN too, and the tags are the group's.
    assert sm.describe_model_package_group(
        ModelPackageGroupName=arn["ModelPackageGroupArn"])["ModelPackageGroupName"] == \
        "Fraud-Detection"
    assert sm.list_tags(ResourceArn=arn["ModelPackageGroupArn"])["Tags"] == [
        {"Key": "team", "Value": "risk"}]

    code, message, _ = refused(sm.create_model_package_group,
                               ModelPackageGroupName="fraud-detection")
    assert code == "ValidationException" and "already exists" in message

    sm.delete_model_package_group(ModelPackageGroupName="Fraud-Detection")
    code, message, status = refused(sm.describe_model_package_group,
                                    ModelPackageGroupName="Fraud-Detection")
    assert (code, status) == ("ValidationException", 400)
    assert message == f"ModelPackageGroup {arn['ModelPackageGroupArn']} does not exist."


def test_groups_list_with_filters_sorting_and_paging(sm):
    names = [f"listing-{i}" for i in range(5)]
    for name in names:
        sm.create_model_package_group(ModelPackageGroupName=name)
    listed = sm.list_model_package_groups(NameContains="listing-")["ModelPackageGroupSummaryList"]
    assert [g["ModelPackageGroupName"] for g in listed] == names  # AWS's default: Ascending
    newest = sm.list_model_package_groups(NameContains="listing-", SortBy="Name",
                                          SortOrder="Descending")
    assert [g["ModelPackageGroupName"] for g in newest["ModelPackageGroupSummaryList"]] == \
        names[::-1]
    seen, token = [], None
    while True:
        page = sm.list_model_package_groups(NameContains="listing-", MaxResults=2,
                                            **({"NextToken": token} if token else {}))
        assert len(page["ModelPackageGroupSummaryList"]) <= 2
        seen += [g["ModelPackageGroupName"] for g in page["ModelPackageGroupSummaryList"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == names


def test_a_group_policy_is_put_read_and_deleted(sm):
    sm.create_model_package_group(ModelPackageGroupName="shared")
    answer = sm.put_model_package_group_policy(ModelPackageGroupName="shared",
                                               ResourcePolicy=POLICY)
    assert answer["ModelPackageGroupArn"] == f"{ACCOUNT_ARN}:model-package-group/shared"
    assert sm.get_model_package_group_policy(ModelPackageGroupName="shared")[
        "ResourcePolicy"] == POLICY
    sm.delete_model_package_group_policy(ModelPackageGroupName="shared")
    code, message, _ = refused(sm.get_model_package_group_policy, ModelPackageGroupName="shared")
    assert code == "ValidationException" and "resource policy" in message
    code, _, _ = refused(sm.put_model_package_group_policy, ModelPackageGroupName="shared",
                         ResourcePolicy="not a policy")
    assert code == "ValidationException"
    code, _, _ = refused(sm.put_model_package_group_policy, ModelPackageGroupName="nope",
                         ResourcePolicy=POLICY)
    assert code == "ValidationException"


# --- versions -----------------------------------------------------------------------------------

def test_versions_are_numbered_within_their_group_and_described_by_name_or_arn(sm):
    sm.create_model_package_group(ModelPackageGroupName="churn")
    sm.create_model_package_group(ModelPackageGroupName="other")
    first = register(sm, "churn", ModelPackageDescription="first cut")
    second = register(sm, "churn")
    elsewhere = register(sm, "other")
    assert first == f"{ACCOUNT_ARN}:model-package/churn/1"
    assert second == f"{ACCOUNT_ARN}:model-package/churn/2"
    assert elsewhere == f"{ACCOUNT_ARN}:model-package/other/1"

    for ref in (first, "churn/1", "Churn/1"):
        described = sm.describe_model_package(ModelPackageName=ref)
        assert described["ModelPackageArn"] == first
        assert described["ModelPackageGroupName"] == "churn"
        assert described["ModelPackageVersion"] == 1
        assert described["ModelPackageDescription"] == "first cut"
        assert described["ModelPackageStatus"] == "Completed"
        assert described["ModelPackageStatusDetails"] == {"ValidationStatuses": []}
        assert described["ModelApprovalStatus"] == "PendingManualApproval"
        assert described["InferenceSpecification"] == inference()

    # A deleted version's number is not given out again.
    sm.delete_model_package(ModelPackageName=second)
    code, message, _ = refused(sm.describe_model_package, ModelPackageName=second)
    assert code == "ValidationException" and message == f"ModelPackage {second} does not exist."
    assert register(sm, "churn") == f"{ACCOUNT_ARN}:model-package/churn/3"


def test_concurrent_registrations_get_distinct_gapless_versions(sm):
    sm.create_model_package_group(ModelPackageGroupName="busy")
    with ThreadPoolExecutor(max_workers=8) as pool:
        arns = list(pool.map(lambda _: register(sm, "busy"), range(16)))
    assert sorted(arns) == sorted({f"{ACCOUNT_ARN}:model-package/busy/{v}" for v in range(1, 17)})
    listed = sm.list_model_packages(ModelPackageGroupName="busy", MaxResults=100)
    assert [p["ModelPackageVersion"] for p in listed["ModelPackageSummaryList"]] == \
        list(range(1, 17))


def test_everything_a_version_is_registered_with_is_described(sm):
    sm.create_model_package_group(ModelPackageGroupName="full")
    metrics = {"ModelQuality": {"Statistics": {"ContentType": "application/json",
                                               "S3Uri": "s3://registry/reports/quality.json"}},
               "Bias": {"Report": {"ContentType": "application/json",
                                   "S3Uri": "s3://registry/reports/bias.json"}}}
    baselines = {"ModelDataQuality": {"Constraints": {
        "ContentType": "application/json", "S3Uri": "s3://registry/baselines/constraints.json"}}}
    source = {"SourceAlgorithms": [{"AlgorithmName": "xgboost-algorithm",
                                    "ModelDataUrl": MODEL_DATA}]}
    card = {"ModelCardContent": as_content(package_card()), "ModelCardStatus": "Draft"}
    arn = register(sm, "full", ModelMetrics=metrics, DriftCheckBaselines=baselines,
                   SourceAlgorithmSpecification=source, ModelCard=card,
                   CustomerMetadataProperties={"dataset": "2024-05", "owner": "risk"},
                   MetadataProperties={"CommitId": "abc123", "Repository": "git://models"},
                   Domain="MACHINE_LEARNING", Task="CLASSIFICATION",
                   SamplePayloadUrl="s3://registry/sample.tar.gz",
                   ModelApprovalStatus="Approved")
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelMetrics"] == metrics
    assert described["DriftCheckBaselines"] == baselines
    assert described["SourceAlgorithmSpecification"] == source
    assert described["ModelCard"] == card
    assert described["CustomerMetadataProperties"] == {"dataset": "2024-05", "owner": "risk"}
    assert described["MetadataProperties"]["CommitId"] == "abc123"
    assert (described["Domain"], described["Task"]) == ("MACHINE_LEARNING", "CLASSIFICATION")
    assert described["ModelApprovalStatus"] == "Approved"
    # MetadataOnly leaves the card's content out.
    metadata = sm.describe_model_package(ModelPackageName=arn, IncludedData="MetadataOnly")
    assert metadata["ModelCard"] == {"ModelCardStatus": "Draft"}


def test_approval_moves_as_aws_allows_and_never_back_to_pending(sm):
    sm.create_model_package_group(ModelPackageGroupName="approvals")
    arn = register(sm, "approvals")
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved",
                            ApprovalDescription="AUC 0.97 on holdout")
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["ApprovalDescription"] == "AUC 0.97 on holdout"
    assert described["LastModifiedBy"]["IamIdentity"]["Arn"] == "arn:aws:iam::000000000000:root"

    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected",
                            ApprovalDescription="drift found")
    assert sm.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "Rejected"

    code, message, _ = refused(sm.update_model_package, ModelPackageArn=arn,
                               ModelApprovalStatus="PendingManualApproval")
    assert code == "ValidationException"
    assert "from Rejected to PendingManualApproval" in message
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Rejected"
    assert described["ApprovalDescription"] == "drift found"

    listed = sm.list_model_packages(ModelPackageGroupName="approvals",
                                    ModelApprovalStatus="Rejected")["ModelPackageSummaryList"]
    assert [p["ModelPackageArn"] for p in listed] == [arn]
    assert sm.list_model_packages(ModelPackageGroupName="approvals",
                                  ModelApprovalStatus="Approved")["ModelPackageSummaryList"] == []


def test_customer_metadata_and_inference_specifications_are_updated(sm):
    sm.create_model_package_group(ModelPackageGroupName="meta")
    arn = register(sm, "meta", CustomerMetadataProperties={"a": "1", "b": "2"})
    sm.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"b": "3", "c": "4"},
                            CustomerMetadataPropertiesToRemove=["a"])
    assert sm.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"] == \
        {"b": "3", "c": "4"}
    code, message, _ = refused(sm.update_model_package, ModelPackageArn=arn,
                               CustomerMetadataProperties={"c": "5"},
                               CustomerMetadataPropertiesToRemove=["c"])
    assert code == "ValidationException" and "c" in message

    extra = {"Name": "compiled", "Description": "the same model, another container",
             "Containers": [{"Image": XGBOOST, "ModelDataUrl": MODEL_DATA}]}
    sm.update_model_package(ModelPackageArn=arn, AdditionalInferenceSpecificationsToAdd=[extra])
    assert sm.describe_model_package(ModelPackageName=arn)[
        "AdditionalInferenceSpecifications"] == [extra]
    code, message, _ = refused(sm.update_model_package, ModelPackageArn=arn,
                               AdditionalInferenceSpecificationsToAdd=[extra])
    assert code == "ValidationException" and "compiled" in message


def test_a_package_model_card_is_checked_against_the_schema_and_frozen_when_archived(sm):
    sm.create_model_package_group(ModelPackageGroupName="carded")
    # The package schema has no model_package_details: the full card's section is refused.
    full = card_content(model_package_details={"model_package_name": "x"})
    code, message, _ = refused(sm.create_model_package, ModelPackageGroupName="carded",
                               InferenceSpecification=inference(),
                               ModelCard={"ModelCardContent": as_content(full),
                                          "ModelCardStatus": "Draft"})
    assert code == "ValidationException"
    assert "model_package_details" in message and "model card schema" in message
    assert sm.list_model_packages(ModelPackageGroupName="carded")["ModelPackageSummaryList"] == []

    arn = register(sm, "carded", ModelCard={"ModelCardContent": as_content(package_card()),
                                            "ModelCardStatus": "Draft"})
    broken = package_card()
    broken["intended_uses"]["risk_rating"] = "Extreme"
    code, message, _ = refused(sm.update_model_package, ModelPackageArn=arn,
                               ModelCard={"ModelCardContent": as_content(broken)})
    assert code == "ValidationException" and "risk_rating" in message

    sm.update_model_package(ModelPackageArn=arn, ModelCard={"ModelCardStatus": "Archived"})
    changed = package_card()
    changed["business_details"]["line_of_business"] = "Enterprise"
    code, message, _ = refused(sm.update_model_package, ModelPackageArn=arn,
                               ModelCard={"ModelCardContent": as_content(changed)})
    assert (code, message) == ("ValidationException", "Model Card is in Archived state.")
    card = sm.describe_model_package(ModelPackageName=arn)["ModelCard"]
    assert card == {"ModelCardContent": as_content(package_card()), "ModelCardStatus": "Archived"}


def test_unversioned_packages(sm):
    sm.create_model_package_group(ModelPackageGroupName="beside")
    version = register(sm, "beside")
    arn = sm.create_model_package(ModelPackageName="standalone",
                                  InferenceSpecification=inference(),
                                  Tags=[{"Key": "kind", "Value": "unversioned"}])["ModelPackageArn"]
    assert arn == f"{ACCOUNT_ARN}:model-package/standalone"
    described = sm.describe_model_package(ModelPackageName="standalone")
    assert described["ModelPackageName"] == "standalone"
    assert "ModelPackageGroupName" not in described and "ModelApprovalStatus" not in described
    assert described["CertifyForMarketplace"] is False
    # ListModelPackages lists unversioned packages unless told otherwise.
    default = [p["ModelPackageArn"] for p in
               sm.list_model_packages(MaxResults=100)["ModelPackageSummaryList"]]
    assert arn in default and not any("/" in a.split("model-package/")[1] for a in default)
    versioned = [p["ModelPackageArn"] for p in sm.list_model_packages(
        ModelPackageType="Versioned", MaxResults=100)["ModelPackageSummaryList"]]
    assert arn not in versioned and version in versioned
    both = [p["ModelPackageArn"] for p in sm.list_model_packages(
        ModelPackageType="Both", MaxResults=100)["ModelPackageSummaryList"]]
    assert set(both) == set(default) | set(versioned)

    code, message, _ = refused(sm.update_model_package, ModelPackageArn=arn,
                               ModelApprovalStatus="Approved")
    assert code == "ValidationException" and "unversioned" in message
    code, message, _ = refused(sm.create_model_package, ModelPackageName="approved-alone",
                               InferenceSpecification=inference(),
                               ModelApprovalStatus="Approved")
    assert code == "ValidationException" and "versioned" in message
    sm.delete_model_package(ModelPackageName=arn)
    code, _, _ = refused(sm.describe_model_package, ModelPackageName="standalone")
    assert code == "ValidationException"


def test_list_model_packages_sorts_and_pages(sm):
    sm.create_model_package_group(ModelPackageGroupName="paged")
    arns = [register(sm, "paged") for _ in range(5)]
    newest_first = sm.list_model_packages(ModelPackageGroupName="paged", SortBy="CreationTime",
                                          SortOrder="Descending")["ModelPackageSummaryList"]
    assert [p["ModelPackageArn"] for p in newest_first] == arns[::-1]
    seen, token = [], None
    while True:
        page = sm.list_model_packages(ModelPackageGroupName="paged", MaxResults=2,
                                      **({"NextToken": token} if token else {}))
        seen += [p["ModelPackageArn"] for p in page["ModelPackageSummaryList"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == arns
    code, _, _ = refused(sm.list_model_packages, ModelPackageGroupName="paged",
                         NextToken="forged")
    assert code == "ValidationException"


def test_batch_describe_reports_each_package_or_why_not(sm):
    sm.create_model_package_group(ModelPackageGroupName="batch")
    good = register(sm, "batch", ModelApprovalStatus="Approved")
    missing = f"{ACCOUNT_ARN}:model-package/batch/42"
    answer = sm.batch_describe_model_package(ModelPackageArnList=[good, missing])
    summary = answer["ModelPackageSummaries"][good]
    assert summary["ModelPackageGroupName"] == "batch"
    assert summary["ModelPackageVersion"] == 1
    assert summary["ModelApprovalStatus"] == "Approved"
    assert summary["InferenceSpecification"] == inference()
    assert answer["BatchDescribeModelPackageErrorMap"][missing]["ErrorCode"] == \
        "ValidationException"


# --- refusals -----------------------------------------------------------------------------------

def test_a_group_that_still_has_packages_cannot_be_deleted(sm):
    sm.create_model_package_group(ModelPackageGroupName="keep")
    arn = register(sm, "keep")
    code, message, status = refused(sm.delete_model_package_group, ModelPackageGroupName="keep")
    assert (code, status) == ("ConflictException", 400)
    assert "still contains model packages" in message
    assert sm.describe_model_package_group(ModelPackageGroupName="keep")
    sm.delete_model_package(ModelPackageName=arn)
    sm.delete_model_package_group(ModelPackageGroupName="keep")
    code, _, _ = refused(sm.describe_model_package_group, ModelPackageGroupName="keep")
    assert code == "ValidationException"


def test_requests_aws_refuses(sm):
    sm.create_model_package_group(ModelPackageGroupName="strict")
    cases = [
        (dict(ModelPackageName="both", ModelPackageGroupName="strict",
              InferenceSpecification=inference()), "Both ModelPackageName and"),
        (dict(InferenceSpecification=inference()), "ModelPackageGroupName"),
        (dict(ModelPackageGroupName="no-such-group", InferenceSpecification=inference()),
         "model-package-group/no-such-group does not exist"),
        (dict(ModelPackageGroupName="strict", InferenceSpecification=inference(),
              Tags=[{"Key": "k", "Value": "v"}]), "tags of its model package group"),
        (dict(ModelPackageGroupName="strict",
              InferenceSpecification=inference(image="no-such-image")), "no-such-image"),
        (dict(ModelPackageGroupName="strict",
              InferenceSpecification=inference("s3://registry/missing.tar.gz")),
         "could not find model data"),
        (dict(ModelPackageGroupName="strict", InferenceSpecification=inference(),
              ModelApprovalStatus="Maybe"), "modelApprovalStatus"),
    ]
    for request, words in cases:
        code, message, _ = refused(sm.create_model_package, **request)
        assert code == "ValidationException", (request, message)
        assert words in message, (request, message)
    assert sm.list_model_packages(ModelPackageGroupName="strict")["ModelPackageSummaryList"] == []

    for call, kwargs in ((sm.describe_model_package, {"ModelPackageName": "strict/7"}),
                         (sm.delete_model_package, {"ModelPackageName": "ghost"}),
                         (sm.update_model_package, {"ModelPackageArn":
                                                    f"{ACCOUNT_ARN}:model-package/strict/7",
                                                    "ModelApprovalStatus": "Approved"}),
                         (sm.delete_model_package_group, {"ModelPackageGroupName": "ghost"})):
        code, message, _ = refused(call, **kwargs)
        assert code == "ValidationException" and "does not exist" in message
    assert sm.list_model_packages(ModelPackageGroupName="ghost")["ModelPackageSummaryList"] == []
