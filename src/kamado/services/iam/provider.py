"""IAM roles: what a SageMaker user creates to name an execution role, and what the SDK reads
back to check one (``GetRole``, ``SimulatePrincipalPolicy``).

kamado has one permission model: whoever holds the account's key may do everything, and a job
acts as the account. Roles are therefore records with AWS's shape and rules (unique names,
policies to detach before a delete, AWS's error codes), and a policy simulation answers
``allowed`` for every action of an existing role, because kamado would allow it. IAM is a global
service: roles belong to the account, whatever region a request is signed for.
"""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import replace
from urllib.parse import quote

from kamado.errors import AwsError
from kamado.services.base import Provider, RequestContext

ROLE = "IamRole"
GLOBAL = "aws-global"  # the region IAM's resources are kept under
DEFAULT_MAX_ITEMS = 100
_ID_CHARS = string.ascii_uppercase + string.digits


def no_such_role(name: str, arn: str = "") -> AwsError:
    return AwsError(f"The role with name {name} cannot be found.", code="NoSuchEntity",
                    status=404)


def role_exists(name: str, arn: str = "") -> AwsError:
    return AwsError(f"Role with name {name} already exists.", code="EntityAlreadyExists",
                    status=409)


def _policy_document(text: str, what: str) -> str:
    try:
        document = json.loads(text)
    except ValueError:
        raise AwsError(f"This {what} contains invalid Json", code="MalformedPolicyDocument",
                       status=400) from None
    if not isinstance(document, dict) or not isinstance(document.get("Statement"), (list, dict)):
        raise AwsError(f"This {what} has no Statement.", code="MalformedPolicyDocument",
                       status=400)
    return text


def _page(items: list, request: dict) -> tuple[list, dict]:
    """IAM's Marker/MaxItems paging over an already ordered list."""
    start = 0
    if request.get("Marker"):
        try:
            start = int(request["Marker"])
        except ValueError:
            raise AwsError("Invalid Marker.", code="ValidationError", status=400) from None
    size = request.get("MaxItems") or DEFAULT_MAX_ITEMS
    chunk = items[start:start + size]
    more = start + size < len(items)
    return chunk, {"IsTruncated": more, **({"Marker": str(start + size)} if more else {})}


class Iam(Provider):
    service = "iam"

    def __init__(self, platform) -> None:
        super().__init__(platform)
        self.resources = platform.resources
        self.resources.register(ROLE, label="Role", on_duplicate=role_exists,
                                on_missing=no_such_role)

    @staticmethod
    def _scope(ctx: RequestContext) -> RequestContext:
        return replace(ctx, region=GLOBAL)

    def _role(self, ctx: RequestContext, name: str, *, for_update: bool = False):
        return self.resources.get(self._scope(ctx), ROLE, name, for_update=for_update)

    def _shape(self, role, *, full: bool) -> dict:
        data = role.data
        shape = {"Path": data["Path"], "RoleName": role.name, "RoleId": data["RoleId"],
                 "Arn": role.arn, "CreateDate": role.creation_time,
                 # IAM returns policy documents URL-encoded; botocore decodes them.
                 "AssumeRolePolicyDocument": quote(data["AssumeRolePolicyDocument"], safe=""),
                 "MaxSessionDuration": data["MaxSessionDuration"]}
        if data.get("Description"):
            shape["Description"] = data["Description"]
        if full:
            tags = self.resources.list_tags(role.arn)[0]
            if tags:
                shape["Tags"] = tags
            shape["RoleLastUsed"] = {}
        return shape

    # --- roles --------------------------------------------------------------------------------
    def create_role(self, request: dict, ctx: RequestContext) -> dict:
        path = request.get("Path") or "/"
        if not (path.startswith("/") and path.endswith("/")):
            raise AwsError("The specified value for path is invalid. It must begin and end "
                           "with / and contain only alphanumeric characters and/or / characters.",
                           code="ValidationError", status=400)
        document = _policy_document(request["AssumeRolePolicyDocument"], "trust policy")
        name = request["RoleName"]
        data = {"Path": path, "RoleId": "AROA" + "".join(secrets.choice(_ID_CHARS)
                                                         for _ in range(17)),
                "AssumeRolePolicyDocument": document,
                "MaxSessionDuration": request.get("MaxSessionDuration") or 3600,
                "Description": request.get("Description"), "Attached": [], "Inline": {}}
        arn = f"arn:aws:iam::{ctx.account_id}:role{path}{name}"
        role = self.resources.create(self._scope(ctx), ROLE, name, arn,
                                     {k: v for k, v in data.items() if v is not None},
                                     tags=request.get("Tags") or None)
        return {"Role": self._shape(role, full=False)}

    def get_role(self, request: dict, ctx: RequestContext) -> dict:
        return {"Role": self._shape(self._role(ctx, request["RoleName"]), full=True)}

    def list_roles(self, request: dict, ctx: RequestContext) -> dict:
        prefix = request.get("PathPrefix") or "/"
        roles, _ = self.resources.list(self._scope(ctx), ROLE, sort_by="Name",
                                       sort_order="Ascending",
                                       where=lambda r: r.data["Path"].startswith(prefix))
        chunk, paging = _page(roles, request)
        return {"Roles": [self._shape(r, full=False) for r in chunk], **paging}

    def update_role(self, request: dict, ctx: RequestContext) -> dict:
        changes = {k: request[k] for k in ("Description", "MaxSessionDuration") if k in request}
        self.resources.update(self._scope(ctx), ROLE, request["RoleName"], changes)
        return {}

    def update_assume_role_policy(self, request: dict, ctx: RequestContext) -> dict:
        document = _policy_document(request["PolicyDocument"], "trust policy")
        self.resources.update(self._scope(ctx), ROLE, request["RoleName"],
                              {"AssumeRolePolicyDocument": document})
        return {}

    def delete_role(self, request: dict, ctx: RequestContext) -> dict:
        name = request["RoleName"]
        with self.resources.transaction():
            role = self._role(ctx, name, for_update=True)
            if role.data["Attached"]:
                raise AwsError("Cannot delete entity, must detach all policies first.",
                               code="DeleteConflict", status=409)
            if role.data["Inline"]:
                raise AwsError("Cannot delete entity, must delete policies first.",
                               code="DeleteConflict", status=409)
            self.resources.delete(self._scope(ctx), ROLE, name)
        return {}

    # --- tags ---------------------------------------------------------------------------------
    def tag_role(self, request: dict, ctx: RequestContext) -> dict:
        self.resources.add_tags(self._role(ctx, request["RoleName"]).arn, request["Tags"])
        return {}

    def untag_role(self, request: dict, ctx: RequestContext) -> dict:
        self.resources.delete_tags(self._role(ctx, request["RoleName"]).arn, request["TagKeys"])
        return {}

    def list_role_tags(self, request: dict, ctx: RequestContext) -> dict:
        tags = self.resources.list_tags(self._role(ctx, request["RoleName"]).arn)[0]
        chunk, paging = _page(tags, request)
        return {"Tags": chunk, **paging}

    # --- managed policies attached to a role ------------------------------------------------------
    def attach_role_policy(self, request: dict, ctx: RequestContext) -> dict:
        arn = request["PolicyArn"]
        # Only AWS's managed policies exist here: kamado keeps no customer-managed policies.
        if not arn.startswith("arn:aws:iam::aws:policy/"):
            raise AwsError(f"Policy {arn} does not exist or is not attachable.",
                           code="NoSuchEntity", status=404)
        self.resources.update(self._scope(ctx), ROLE, request["RoleName"], lambda d: {
            **d, "Attached": d["Attached"] + ([arn] if arn not in d["Attached"] else [])})
        return {}

    def detach_role_policy(self, request: dict, ctx: RequestContext) -> dict:
        arn = request["PolicyArn"]
        with self.resources.transaction():
            role = self._role(ctx, request["RoleName"], for_update=True)
            if arn not in role.data["Attached"]:
                raise AwsError(f"Policy {arn} was not found.", code="NoSuchEntity", status=404)
            self.resources.update(self._scope(ctx), ROLE, role.name, lambda d: {
                **d, "Attached": [a for a in d["Attached"] if a != arn]})
        return {}

    def list_attached_role_policies(self, request: dict, ctx: RequestContext) -> dict:
        prefix = request.get("PathPrefix") or "/"
        attached = [{"PolicyName": a.rsplit("/", 1)[1], "PolicyArn": a}
                    for a in self._role(ctx, request["RoleName"]).data["Attached"]
                    if a.split(":policy", 1)[1].startswith(prefix)]
        chunk, paging = _page(attached, request)
        return {"AttachedPolicies": chunk, **paging}

    # --- inline policies ----------------------------------------------------------------------
    def put_role_policy(self, request: dict, ctx: RequestContext) -> dict:
        document = _policy_document(request["PolicyDocument"], "policy")
        name = request["PolicyName"]
        self.resources.update(self._scope(ctx), ROLE, request["RoleName"], lambda d: {
            **d, "Inline": {**d["Inline"], name: document}})
        return {}

    def get_role_policy(self, request: dict, ctx: RequestContext) -> dict:
        role = self._role(ctx, request["RoleName"])
        name = request["PolicyName"]
        if name not in role.data["Inline"]:
            raise AwsError(f"The role policy with name {name} cannot be found.",
                           code="NoSuchEntity", status=404)
        return {"RoleName": role.name, "PolicyName": name,
                "PolicyDocument": quote(role.data["Inline"][name], safe="")}

    def delete_role_policy(self, request: dict, ctx: RequestContext) -> dict:
        name = request["PolicyName"]
        with self.resources.transaction():
            role = self._role(ctx, request["RoleName"], for_update=True)
            if name not in role.data["Inline"]:
                raise AwsError(f"The role policy with name {name} cannot be found.",
                               code="NoSuchEntity", status=404)
            self.resources.update(self._scope(ctx), ROLE, role.name, lambda d: {
                **d, "Inline": {k: v for k, v in d["Inline"].items() if k != name}})
        return {}

    def list_role_policies(self, request: dict, ctx: RequestContext) -> dict:
        names = sorted(self._role(ctx, request["RoleName"]).data["Inline"])
        chunk, paging = _page(names, request)
        return {"PolicyNames": chunk, **paging}

    # --- simulation ---------------------------------------------------------------------------
    def simulate_principal_policy(self, request: dict, ctx: RequestContext) -> dict:
        source = request["PolicySourceArn"]
        prefix = f"arn:aws:iam::{ctx.account_id}:role/"
        if not source.startswith(prefix):
            raise AwsError(f"Principal {source} is not a role of this account; kamado "
                           "simulates policies for roles only.", code="NoSuchEntity", status=404)
        name = source.rsplit("/", 1)[1]
        role = self._role(ctx, name)
        if role.arn != source:
            raise no_such_role(name)
        # Everything is allowed: kamado does not enforce IAM policies (module docstring).
        results = [{"EvalActionName": action, "EvalResourceName": resource,
                    "EvalDecision": "allowed", "MatchedStatements": [],
                    "MissingContextValues": []}
                   for action in request["ActionNames"]
                   for resource in (request.get("ResourceArns") or ["*"])]
        chunk, paging = _page(results, request)
        return {"EvaluationResults": chunk, **paging}
