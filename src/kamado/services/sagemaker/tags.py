"""SageMaker's AddTags, ListTags and DeleteTags, on any resource kamado keeps."""

from __future__ import annotations

from kamado.errors import ValidationError
from kamado.services.base import Provider, RequestContext

DEFAULT_MAX_RESULTS = 50


def _unknown(_name: str, arn: str) -> ValidationError:
    # AWS answers a tagging call on an ARN it does not know with a ValidationException.
    return ValidationError(f"Resource {arn} does not exist.")


class Tags(Provider):
    service = "sagemaker"

    def _resource(self, request: dict, ctx: RequestContext):
        return self.platform.resources.get_by_arn(ctx, request["ResourceArn"], on_missing=_unknown)

    def add_tags(self, request: dict, ctx: RequestContext) -> dict:
        resources = self.platform.resources
        with resources.transaction():
            res = self._resource(request, ctx)
            resources.add_tags(res.arn, request.get("Tags") or [])
        return {"Tags": list(request.get("Tags") or [])}

    def list_tags(self, request: dict, ctx: RequestContext) -> dict:
        res = self._resource(request, ctx)
        tags, token = self.platform.resources.list_tags(
            res.arn, max_results=request.get("MaxResults") or DEFAULT_MAX_RESULTS,
            next_token=request.get("NextToken") or None)
        return {"Tags": tags, **({"NextToken": token} if token else {})}

    def delete_tags(self, request: dict, ctx: RequestContext) -> dict:
        resources = self.platform.resources
        with resources.transaction():
            res = self._resource(request, ctx)
            resources.delete_tags(res.arn, request.get("TagKeys") or [])
        return {}
