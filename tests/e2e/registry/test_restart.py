"""An export job the server recorded but never ran (it stopped first) is rendered by the next
server: export jobs live in the store, not in memory."""

from __future__ import annotations

from kamado.config import Config
from kamado.platform import Platform
from kamado.services.base import RequestContext
from kamado.services.sagemaker.modelcards import ModelCards
from tests.e2e.registry.conftest import as_content, card_content, wait_export
from tests.pdftext import text_of


def test_an_export_left_in_progress_is_finished_by_the_next_server(fresh_server):
    server = fresh_server.start()
    sm, s3 = server.client("sagemaker"), server.client("s3")
    s3.create_bucket(Bucket="cards")
    sm.create_model_card(ModelCardName="survivor", Content=as_content(card_content()),
                         ModelCardStatus="Approved")
    server.stop()

    # The same home opened without starting the engine: the job is recorded InProgress and
    # queued, and the platform closes before any slot takes it, as a server that dies would.
    platform = Platform(Config.load(server.home, _home_flag=True))
    try:
        cards = platform.services.provider(ModelCards)
        arn = cards.create_model_card_export_job(
            {"ModelCardName": "survivor", "ModelCardExportJobName": "after-restart",
             "OutputConfig": {"S3OutputPath": "s3://cards/out"}},
            RequestContext(account_id="000000000000", region=server.region))[
            "ModelCardExportJobArn"]
    finally:
        platform.close()

    server.start()
    job = wait_export(sm, arn)
    assert job["Status"] == "Completed", job.get("FailureReason")
    pdf = s3.get_object(Bucket="cards", Key="out/survivor/after-restart.pdf")["Body"].read()
    assert "survivor" in text_of(pdf)
