"""STS: who am I. Every kamado request is signed with the account's root key."""

from __future__ import annotations

from kamado.services.base import Provider, RequestContext


class Sts(Provider):
    service = "sts"

    def get_caller_identity(self, request: dict, ctx: RequestContext) -> dict:
        return {"UserId": ctx.account_id, "Account": ctx.account_id,
                "Arn": f"arn:aws:iam::{ctx.account_id}:root"}
