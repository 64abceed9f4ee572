"""Model cards through boto3: content checked against the model card JSON schema, versions,
statuses and what AWS forbids, and export jobs that write a readable PDF to S3."""

from __future__ import annotations

import json

from tests.e2e.registry.conftest import (BUCKET, as_content, card_content, refused, wait_export)
from tests.pdftext import text_of

ACCOUNT_ARN = "arn:aws:sagemaker:us-east-1:000000000000"


def test_a_card_is_created_described_and_versioned_by_content(sm):
    content = as_content(card_content())
    arn = sm.create_model_card(ModelCardName="churn-card", Content=content,
                               ModelCardStatus="Draft",
                               Tags=[{"Key": "team", "Value": "growth"}])["ModelCardArn"]
    assert arn == f"{ACCOUNT_ARN}:model-card/churn-card"
    card = sm.describe_model_card(ModelCardName="churn-card")
    assert (card["ModelCardName"], card["ModelCardVersion"], card["ModelCardStatus"]) == \
        ("churn-card", 1, "Draft")
    assert json.loads(card["Content"]) == card_content()
    assert sm.describe_model_card(ModelCardName=arn)["ModelCardArn"] == arn
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "growth"}]

    # New content is a new version; the old one stays readable.
    edited = card_content(business_details={"business_problem": "Churn, quarterly view"})
    sm.update_model_card(ModelCardName="churn-card", Content=as_content(edited))
    latest = sm.describe_model_card(ModelCardName="churn-card")
    assert latest["ModelCardVersion"] == 2
    assert json.loads(latest["Content"])["business_details"]["business_problem"] == \
        "Churn, quarterly view"
    assert latest["CreationTime"] == card["CreationTime"]
    first = sm.describe_model_card(ModelCardName="churn-card", ModelCardVersion=1)
    assert json.loads(first["Content"]) == card_content()

    # A status change alone makes no new version (AWS: "any edits other than an approval
    # status update ... result in additional model card versions").
    sm.update_model_card(ModelCardName="churn-card", ModelCardStatus="PendingReview")
    sm.update_model_card(ModelCardName="churn-card", ModelCardStatus="Approved")
    latest = sm.describe_model_card(ModelCardName="churn-card")
    assert (latest["ModelCardVersion"], latest["ModelCardStatus"]) == (2, "Approved")
    versions = sm.list_model_card_versions(ModelCardName="churn-card")[
        "ModelCardVersionSummaryList"]
    assert [(v["ModelCardVersion"], v["ModelCardStatus"]) for v in versions] == \
        [(2, "Approved"), (1, "Draft")]
    ascending = sm.list_model_card_versions(ModelCardName="churn-card", SortBy="Version",
                                            SortOrder="Ascending")
    assert [v["ModelCardVersion"] for v in ascending["ModelCardVersionSummaryList"]] == [1, 2]
    drafts = sm.list_model_card_versions(ModelCardName="churn-card", ModelCardStatus="Draft")
    assert [v["ModelCardVersion"] for v in drafts["ModelCardVersionSummaryList"]] == [1]
    metadata = sm.describe_model_card(ModelCardName="churn-card", IncludedData="MetadataOnly")
    assert "Content" not in metadata and metadata["ModelCardVersion"] == 2


def test_cards_are_listed_by_status_and_name(sm):
    for name, status in (("list-a", "Draft"), ("list-b", "Approved"), ("list-c", "Approved")):
        sm.create_model_card(ModelCardName=name, Content="{}", ModelCardStatus=status)
    approved = sm.list_model_cards(NameContains="list", ModelCardStatus="Approved",
                                   SortBy="Name", SortOrder="Ascending")["ModelCardSummaries"]
    assert [(c["ModelCardName"], c["ModelCardStatus"]) for c in approved] == \
        [("list-b", "Approved"), ("list-c", "Approved")]
    page = sm.list_model_cards(NameContains="list", MaxResults=2, SortBy="Name",
                               SortOrder="Ascending")
    rest = sm.list_model_cards(NameContains="list", MaxResults=2, SortBy="Name",
                               SortOrder="Ascending", NextToken=page["NextToken"])
    assert [c["ModelCardName"] for c in page["ModelCardSummaries"] + rest["ModelCardSummaries"]] \
        == ["list-a", "list-b", "list-c"]
    assert "NextToken" not in rest


def test_content_that_breaks_the_schema_is_refused(sm):
    cases = {
        "an unknown section": ({"model_summary": {}}, "'model_summary' was unexpected"),
        "a risk rating AWS does not know": (
            card_content(intended_uses={"risk_rating": "Severe"}), "$.intended_uses.risk_rating"),
        "a metric whose value is not its type": (
            card_content(evaluation_details=[{"name": "e", "metric_groups": [{
                "name": "g", "metric_data": [{"name": "auc", "type": "number",
                                              "value": "high"}]}]}]),
            "$.evaluation_details[0].metric_groups[0].metric_data[0].value"),
        "an evaluation without a name": (card_content(evaluation_details=[{}]), "'name'"),
        "a model version below one": (
            card_content(model_overview={"model_version": 0}), "model_version"),
        "a training metric without a value": (
            card_content(training_details={"training_job_details": {
                "training_metrics": [{"name": "auc"}]}}), "'value' is a required property"),
        "text that is not JSON": ("{not json", "not valid JSON"),
    }
    for case, (content, words) in cases.items():
        text = content if isinstance(content, str) else as_content(content)
        code, message, status = refused(sm.create_model_card, ModelCardName="broken",
                                        Content=text, ModelCardStatus="Draft")
        assert (code, status) == ("ValidationException", 400), case
        assert words in message, (case, message)
    code, _, _ = refused(sm.describe_model_card, ModelCardName="broken")
    assert code == "ResourceNotFound"

    sm.create_model_card(ModelCardName="kept", Content=as_content(card_content()),
                         ModelCardStatus="Draft")
    code, message, _ = refused(sm.update_model_card, ModelCardName="kept",
                               Content=as_content({"intended_uses": {"risk_rating": "Huge"}}))
    assert code == "ValidationException" and "risk_rating" in message
    assert sm.describe_model_card(ModelCardName="kept")["ModelCardVersion"] == 1


def test_what_aws_forbids_of_an_update(sm):
    sm.create_model_card(ModelCardName="rules", Content="{}", ModelCardStatus="Draft")
    code, message, _ = refused(sm.update_model_card, ModelCardName="rules", Content="{}",
                               ModelCardStatus="Approved")
    assert code == "ValidationException"
    assert message == ("You cannot update both model card content and model card status in a "
                       "single call.")
    sm.update_model_card(ModelCardName="rules", ModelCardStatus="Archived")
    for change in ({"Content": as_content(card_content())}, {"ModelCardStatus": "Draft"}):
        code, message, _ = refused(sm.update_model_card, ModelCardName="rules", **change)
        assert (code, message) == ("ValidationException", "Model Card is in Archived state.")
    card = sm.describe_model_card(ModelCardName="rules")
    assert (card["ModelCardVersion"], card["ModelCardStatus"], card["Content"]) == \
        (1, "Archived", "{}")


def test_names_in_use_and_unknown_cards(sm):
    sm.create_model_card(ModelCardName="taken", Content="{}", ModelCardStatus="Draft")
    code, _, _ = refused(sm.create_model_card, ModelCardName="taken", Content="{}",
                         ModelCardStatus="Draft")
    assert code == "ConflictException"
    for call, kwargs in ((sm.describe_model_card, {"ModelCardName": "ghost"}),
                         (sm.update_model_card, {"ModelCardName": "ghost", "Content": "{}"}),
                         (sm.delete_model_card, {"ModelCardName": "ghost"}),
                         (sm.list_model_card_versions, {"ModelCardName": "ghost"}),
                         (sm.describe_model_card, {"ModelCardName": "taken",
                                                   "ModelCardVersion": 9}),
                         (sm.create_model_card_export_job, {
                             "ModelCardName": "ghost", "ModelCardExportJobName": "x",
                             "OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/x"}}),
                         (sm.describe_model_card_export_job, {
                             "ModelCardExportJobArn":
                                 f"{ACCOUNT_ARN}:model-card/taken/export-job/none"})):
        code, _, status = refused(call, **kwargs)
        assert (code, status) == ("ResourceNotFound", 400), call

    sm.delete_model_card(ModelCardName="taken")
    code, _, _ = refused(sm.describe_model_card, ModelCardName="taken")
    assert code == "ResourceNotFound"
    # The name is free again, and the new card starts at version 1.
    sm.create_model_card(ModelCardName="taken", Content="{}", ModelCardStatus="Draft")
    assert sm.describe_model_card(ModelCardName="taken")["ModelCardVersion"] == 1


def test_an_export_job_writes_a_readable_pdf_of_the_card(sm, s3):
    sm.create_model_card(ModelCardName="exported-card", Content=as_content(card_content()),
                         ModelCardStatus="Draft")
    sm.update_model_card(ModelCardName="exported-card", Content=as_content(card_content(
        additional_information={"caveats_and_recommendations": "Second version."})))
    arn = sm.create_model_card_export_job(
        ModelCardName="exported-card", ModelCardVersion=1, ModelCardExportJobName="first-pdf",
        OutputConfig={"S3OutputPath": f"s3://{BUCKET}/exports"})["ModelCardExportJobArn"]
    assert arn == f"{ACCOUNT_ARN}:model-card/exported-card/export-job/first-pdf"
    job = wait_export(sm, arn)
    assert job["Status"] == "Completed", job.get("FailureReason")
    assert (job["ModelCardName"], job["ModelCardVersion"]) == ("exported-card", 1)
    assert job["OutputConfig"] == {"S3OutputPath": f"s3://{BUCKET}/exports"}
    uri = job["ExportArtifacts"]["S3ExportArtifacts"]
    assert uri == f"s3://{BUCKET}/exports/exported-card/first-pdf.pdf"
    assert job["LastModifiedAt"] >= job["CreatedAt"]

    pdf = s3.get_object(Bucket=BUCKET, Key="exports/exported-card/first-pdf.pdf")["Body"].read()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    text = text_of(pdf)
    assert "exported-card" in text
    assert "0.973412" in text  # validation:auc, in the training metrics table
    assert "0.9591" in text  # accuracy, in the evaluation's metric table
    assert "Intended uses" in text and "Rank customers by churn risk." in text
    assert "Second version." not in " ".join(text)  # version 1 was asked for

    # The latest version when none is named; the listing filters by version and status.
    latest = sm.create_model_card_export_job(
        ModelCardName="exported-card", ModelCardExportJobName="latest-pdf",
        OutputConfig={"S3OutputPath": f"s3://{BUCKET}/exports"})["ModelCardExportJobArn"]
    assert wait_export(sm, latest)["ModelCardVersion"] == 2
    jobs = sm.list_model_card_export_jobs(ModelCardName="exported-card", SortBy="Name",
                                          SortOrder="Ascending")["ModelCardExportJobSummaries"]
    assert [(j["ModelCardExportJobName"], j["ModelCardVersion"], j["Status"]) for j in jobs] == \
        [("first-pdf", 1, "Completed"), ("latest-pdf", 2, "Completed")]
    only_v2 = sm.list_model_card_export_jobs(ModelCardName="exported-card", ModelCardVersion=2)
    assert [j["ModelCardExportJobName"] for j in only_v2["ModelCardExportJobSummaries"]] == \
        ["latest-pdf"]
    named = sm.list_model_card_export_jobs(ModelCardName="exported-card",
                                           ModelCardExportJobNameContains="FIRST")
    assert [j["ModelCardExportJobName"] for j in named["ModelCardExportJobSummaries"]] == \
        ["first-pdf"]
    code, _, _ = refused(sm.create_model_card_export_job, ModelCardName="exported-card",
                         ModelCardExportJobName="first-pdf",
                         OutputConfig={"S3OutputPath": f"s3://{BUCKET}/exports"})
    assert code == "ConflictException"

    # An archived card can still be exported.
    sm.update_model_card(ModelCardName="exported-card", ModelCardStatus="Archived")
    archived = sm.create_model_card_export_job(
        ModelCardName="exported-card", ModelCardExportJobName="archived-pdf",
        OutputConfig={"S3OutputPath": f"s3://{BUCKET}/exports"})["ModelCardExportJobArn"]
    assert wait_export(sm, archived)["Status"] == "Completed"


def test_an_export_that_cannot_write_fails_with_a_reason(sm):
    sm.create_model_card(ModelCardName="nowhere-card", Content="{}", ModelCardStatus="Draft")
    arn = sm.create_model_card_export_job(
        ModelCardName="nowhere-card", ModelCardExportJobName="lost",
        OutputConfig={"S3OutputPath": "s3://no-such-bucket/exports"})["ModelCardExportJobArn"]
    job = wait_export(sm, arn)
    assert job["Status"] == "Failed"
    assert "s3://no-such-bucket/exports/nowhere-card/lost.pdf" in job["FailureReason"]
    assert "ExportArtifacts" not in job
    failed = sm.list_model_card_export_jobs(ModelCardName="nowhere-card", StatusEquals="Failed")
    assert [j["ModelCardExportJobName"] for j in failed["ModelCardExportJobSummaries"]] == ["lost"]
    # Deleting the card takes its versions and export jobs with it.
    sm.delete_model_card(ModelCardName="nowhere-card")
    code, _, _ = refused(sm.describe_model_card_export_job, ModelCardExportJobArn=arn)
    assert code == "ResourceNotFound"
