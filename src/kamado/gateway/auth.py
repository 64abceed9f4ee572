"""AWS Signature Version 4 verification, header and presigned-URL forms.

botocore's ``auth.py`` is the oracle: every rule here (canonical URI, query, headers, payload
hash) reproduces what ``SigV4Auth`` / ``S3SigV4Auth`` / ``SigV4QueryAuth`` / ``S3SigV4QueryAuth``
compute on the client, so a request boto3 signed verifies byte for byte.

One older form is accepted too: S3 presigned URLs signed with Signature Version 2
(``AWSAccessKeyId``/``Signature``/``Expires``), because boto3's ``generate_presigned_url`` still
produces those by default for S3 in the regions that once supported SigV2 (us-east-1 among them).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Callable
from urllib.parse import quote, unquote

from kamado.errors import AuthFailure
from kamado.gateway.http import HttpRequest

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_SKEW = timedelta(minutes=15)
_MAX_PRESIGN_EXPIRES = 7 * 24 * 3600
_PRESIGN_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")
# S3 sub-resources that SigV2 includes in the string to sign (botocore's HmacV1Auth list).
_V2_SUBRESOURCES = frozenset((
    "accelerate acl cors defaultObjectAcl location logging partNumber policy requestPayment "
    "torrent versioning versionId versions website uploads uploadId response-content-type "
    "response-content-language response-expires response-cache-control "
    "response-content-disposition response-content-encoding delete lifecycle tagging restore "
    "storageClass notification replication analytics metrics inventory select select-type "
    "object-lock").split())


@dataclass
class Identity:
    access_key_id: str
    region: str          # from the credential scope
    service: str         # signing name from the scope (e.g. "sagemaker", "s3", "sts", "logs")
    date: str            # yyyymmdd of the scope
    signature: str       # hex, the seed signature for aws-chunked bodies
    signing_key: bytes   # derived key, for chunk signatures
    amz_date: str        # the request's x-amz-date (ISO basic), for chunk string-to-sign
    payload_hash: str    # the x-amz-content-sha256 value or the computed body hash

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


@dataclass
class _Signed:
    """What the client claims: the parts of the Authorization header or the presigned query."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: list[str]
    signature: str
    amz_date: str | None
    presigned: bool
    expires: int | None = None


# --- parsing ---------------------------------------------------------------------------------

def _split_query(query_string: str) -> list[tuple[str, str]]:
    """Raw (still percent-encoded) pairs, in order; a bare ``key`` is ``key=``."""
    pairs = []
    for part in query_string.split("&"):
        if part:
            key, _, value = part.partition("=")
            pairs.append((key, value))
    return pairs


def _query_params(req: HttpRequest) -> dict[str, str]:
    return {unquote(k): unquote(v) for k, v in _split_query(req.query_string)}


def _parse_credential(credential: str) -> tuple[str, str, str, str]:
    parts = credential.rsplit("/", 4)
    if len(parts) != 5 or not all(parts[:4]):
        raise AuthFailure("malformed", f"Credential should be scoped to a valid region, not "
                          f"'{credential}'. Expected "
                          "<key>/<yyyymmdd>/<region>/<service>/aws4_request.")
    access_key_id, date, region, service, terminator = parts
    if terminator != "aws4_request":
        raise AuthFailure("malformed", "Credential should be scoped with a valid terminator: "
                          f"'aws4_request', not '{terminator}'.")
    if len(date) != 8 or not date.isdigit():
        raise AuthFailure("malformed", f"Credential date '{date}' is not in yyyymmdd form.")
    return access_key_id, date, region, service


def _parse_header(value: str) -> dict[str, str]:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise AuthFailure("malformed", f"Unsupported Authorization type '{algorithm}'; kamado "
                          f"accepts only {ALGORITHM} (Signature Version 4).")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        name, sep, val = item.strip().partition("=")
        if sep:
            fields[name.strip()] = val.strip()
    missing = [n for n in ("Credential", "SignedHeaders", "Signature") if not fields.get(n)]
    if missing:
        raise AuthFailure("malformed", " ".join(
            f"Authorization header requires '{n}' parameter." for n in missing)
            + f" Authorization={value}")
    return fields


def _parse(req: HttpRequest) -> _Signed:
    header = req.headers.get("authorization")
    query = _query_params(req) if "X-Amz-" in req.query_string else {}
    presigned = any(p in query for p in _PRESIGN_PARAMS)
    if header is None and not presigned:
        raise AuthFailure("missing", "Request is missing Authentication Token")
    if header is not None and presigned:
        raise AuthFailure("malformed", "Only one auth mechanism allowed; only the X-Amz-Algorithm "
                          "query parameter or the Authorization header should be specified.")
    if header is not None:
        fields = _parse_header(header)
        akid, date, region, service = _parse_credential(fields["Credential"])
        return _Signed(akid, date, region, service, fields["SignedHeaders"].split(";"),
                       fields["Signature"], _amz_date_of(req), presigned=False)

    missing = [p for p in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                           "X-Amz-SignedHeaders", "X-Amz-Signature") if not query.get(p)]
    if missing:
        raise AuthFailure("malformed", "Query-string authentication requires the parameters "
                          + ", ".join(missing) + ".")
    if query["X-Amz-Algorithm"] != ALGORITHM:
        raise AuthFailure("malformed", f"X-Amz-Algorithm only supports '{ALGORITHM}'.")
    try:
        expires = int(query["X-Amz-Expires"])
    except ValueError:
        expires = -1
    if not 1 <= expires <= _MAX_PRESIGN_EXPIRES:
        raise AuthFailure("malformed", "X-Amz-Expires must be a number of seconds between 1 and "
                          f"{_MAX_PRESIGN_EXPIRES} (a week).")
    akid, date, region, service = _parse_credential(query["X-Amz-Credential"])
    return _Signed(akid, date, region, service, query["X-Amz-SignedHeaders"].split(";"),
                   query["X-Amz-Signature"], query["X-Amz-Date"], presigned=True, expires=expires)


def _amz_date_of(req: HttpRequest) -> str | None:
    value = req.headers.get("x-amz-date")
    if value:
        return value.strip()
    # botocore signs with the Date header instead when the request already carries one; the
    # string-to-sign still uses the ISO basic form of that instant.
    value = req.headers.get("date")
    if value:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return when.astimezone(timezone.utc).strftime(_AMZ_DATE_FORMAT)
    return None


def _is_sigv2_presigned(req: HttpRequest) -> bool:
    if "authorization" in req.headers or "AWSAccessKeyId=" not in req.query_string:
        return False
    names = {unquote(k) for k, _ in _split_query(req.query_string)}
    return {"AWSAccessKeyId", "Signature", "Expires"} <= names and "X-Amz-Algorithm" not in names


def scope_of(req: HttpRequest, *, default_region: str = "us-east-1"
             ) -> tuple[str, str, str] | None:
    """(access_key_id, region, service) the request claims, unverified; None if unsigned."""
    if _is_sigv2_presigned(req):
        return _query_params(req)["AWSAccessKeyId"], default_region, "s3"
    try:
        signed = _parse(req)
    except AuthFailure:
        return None
    return signed.access_key_id, signed.region, signed.service


# --- canonical request -----------------------------------------------------------------------

def _remove_dot_segments(path: str) -> str:
    # RFC 3986 5.2.4, plus dropping empty segments: AWS services (not S3) collapse '//'.
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    lead = "/" if path.startswith("/") else ""
    trail = "/" if path.endswith("/") and segments else ""
    return lead + "/".join(segments) + trail


def canonical_uri(path: str, service: str) -> str:
    if service == "s3":
        # S3 signs the path exactly as sent: no normalisation, no second encoding.
        return path or "/"
    # Other services sign the sent (already encoded) path encoded once more, as botocore does.
    return quote(_remove_dot_segments(path) or "/", safe="/~")


def canonical_query(query_string: str, *, drop_signature: bool = False) -> str:
    pairs = []
    for key, value in _split_query(query_string):
        key = quote(unquote(key), safe="-_.~")
        if drop_signature and key == "X-Amz-Signature":
            continue
        pairs.append((key, quote(unquote(value), safe="-_.~")))
    # Sorted by encoded name, then by encoded value for repeated names.
    pairs.sort()
    return "&".join(f"{k}={v}" for k, v in pairs)


def _canonical_headers(req: HttpRequest, names: list[str]) -> str:
    lines = []
    for name in names:
        value = req.headers.get(name, "")
        lines.append(f"{name}:{' '.join(value.split())}\n")
    return "".join(lines)


def _payload_hash(req: HttpRequest, signed: _Signed, body_sha256: str | None) -> str:
    declared = req.headers.get("x-amz-content-sha256")
    if declared is not None:
        return declared.strip()
    if signed.presigned and signed.service == "s3":
        return UNSIGNED_PAYLOAD
    if body_sha256 is not None:
        return body_sha256
    return hashlib.sha256(req.body).hexdigest() if req.body else EMPTY_SHA256


def canonical_request(req: HttpRequest, signed: _Signed, payload_hash: str) -> str:
    return "\n".join([
        req.method.upper(),
        canonical_uri(req.path, signed.service),
        canonical_query(req.query_string, drop_signature=signed.presigned),
        _canonical_headers(req, signed.signed_headers),
        ";".join(signed.signed_headers),
        payload_hash,
    ])


# --- keys and signatures ---------------------------------------------------------------------

def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


@lru_cache(maxsize=1024)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    # Four HMACs per request add up; the key changes only daily per (secret, region, service).
    k_date = _hmac(f"AWS4{secret}".encode("utf-8"), date)
    return _hmac(_hmac(_hmac(k_date, region), service), "aws4_request")


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    return "\n".join([ALGORITHM, amz_date, scope,
                      hashlib.sha256(canonical.encode("utf-8")).hexdigest()])


def sign(key: bytes, string: str) -> str:
    return hmac.new(key, string.encode("utf-8"), hashlib.sha256).hexdigest()


# --- verification ----------------------------------------------------------------------------

def _fmt(when: datetime) -> str:
    return when.strftime(_AMZ_DATE_FORMAT)


def _check_time(signed: _Signed, when: datetime, now: datetime) -> None:
    if signed.presigned:
        if now > when + timedelta(seconds=signed.expires or 0):
            raise AuthFailure("presign_expired", "Request has expired")
        if when - now > _SKEW:
            raise AuthFailure("presign_expired", "Request is not yet valid")
        return
    if abs(now - when) <= _SKEW:
        return
    if signed.service == "s3":
        raise AuthFailure("expired", "The difference between the request time and the current "
                          "time is too large.")
    if when < now:
        raise AuthFailure("expired", f"Signature expired: {_fmt(when)} is now earlier than "
                          f"{_fmt(now - _SKEW)} ({_fmt(now)} - 15 min.)")
    raise AuthFailure("expired", f"Signature not yet current: {_fmt(when)} is still later than "
                      f"{_fmt(now + _SKEW)} ({_fmt(now)} + 15 min.)")


def _verify_sigv2_presigned(req: HttpRequest, secret_for: Callable[[str], str | None],
                            now: datetime, region: str) -> Identity:
    query = _query_params(req)
    akid, given, expires = query["AWSAccessKeyId"], query["Signature"], query["Expires"]
    if not expires.isdigit():
        raise AuthFailure("malformed", f"Invalid Expires value '{expires}'.")
    secret = secret_for(akid)
    if secret is None:
        raise AuthFailure("unknown_key", "The AWS Access Key Id you provided does not exist in "
                          "our records.")

    def header(name: str) -> str:
        # botocore moves Content-Type/MD5 and x-amz-* headers into the query of a presigned URL.
        value = req.headers.get(name)
        return (value if value is not None else query.get(name, "")).strip()

    amz = {k.lower(): v.strip() for k, v in query.items() if k.lower().startswith("x-amz-")}
    amz.update({k: ",".join(p.strip() for p in v.split(","))
                for k, v in req.headers.items() if k.startswith("x-amz-")})
    resource = req.path or "/"
    subresources = sorted(
        ((unquote(k), unquote(v) if sep else None) for k, sep, v in
         (part.partition("=") for part in req.query_string.split("&") if part)),
        key=lambda kv: kv[0])
    subresources = [kv for kv in subresources if kv[0] in _V2_SUBRESOURCES]
    if subresources:
        resource += "?" + "&".join(k if v is None else f"{k}={v}" for k, v in subresources)
    lines = [req.method.upper(), header("content-md5"), header("content-type"), expires]
    lines += [f"{k}:{amz[k]}" for k in sorted(amz)]
    lines.append(resource)
    expected = base64.b64encode(hmac.new(secret.encode("utf-8"), "\n".join(lines).encode("utf-8"),
                                         hashlib.sha1).digest()).decode()
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
        raise AuthFailure("signature", "The request signature we calculated does not match the "
                          "signature you provided. Check your key and signing method.")
    if now.timestamp() > int(expires):
        raise AuthFailure("presign_expired", "Request has expired")
    return Identity(access_key_id=akid, region=region, service="s3",
                    date=now.strftime("%Y%m%d"), signature=given, signing_key=b"",
                    amz_date=now.strftime(_AMZ_DATE_FORMAT), payload_hash=UNSIGNED_PAYLOAD)


def verify(req: HttpRequest, secret_for: Callable[[str], str | None], *,
           now: datetime | None = None, body_sha256: str | None = None,
           default_region: str = "us-east-1") -> Identity:
    """Check the request's signature; return who signed it, or raise ``AuthFailure``.

    ``default_region`` is the region reported for a SigV2 presigned URL, which names none.
    """
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    if _is_sigv2_presigned(req):
        return _verify_sigv2_presigned(req, secret_for, now, default_region)
    signed = _parse(req)
    s3 = signed.service == "s3"
    if not signed.amz_date:
        raise AuthFailure("malformed", "Authorization header requires existence of either a "
                          "'X-Amz-Date' or a 'Date' header.")
    try:
        when = datetime.strptime(signed.amz_date, _AMZ_DATE_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        raise AuthFailure("malformed", f"X-Amz-Date '{signed.amz_date}' is not in ISO 8601 basic "
                          "form (yyyymmddThhmmssZ).") from None
    if "host" not in signed.signed_headers:
        raise AuthFailure("malformed", "'Host' must be a 'SignedHeader' in the AWS Authorization.")

    secret = secret_for(signed.access_key_id)
    if secret is None:
        raise AuthFailure("unknown_key", "The AWS Access Key Id you provided does not exist in "
                          "our records." if s3 else
                          "The security token included in the request is invalid.")
    if signed.amz_date[:8] != signed.date:
        # S3 calls this a malformed header; the JSON and query services a bad signature.
        raise AuthFailure("malformed" if s3 else "signature",
                          "Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
                          f"of date from HTTP: '{signed.date}' != '{signed.amz_date[:8]}', from "
                          f"'{signed.amz_date}'.")

    payload_hash = _payload_hash(req, signed, body_sha256)
    key = signing_key(secret, signed.date, signed.region, signed.service)
    scope = f"{signed.date}/{signed.region}/{signed.service}/aws4_request"
    expected = sign(key, string_to_sign(signed.amz_date, scope,
                                        canonical_request(req, signed, payload_hash)))
    if not hmac.compare_digest(expected.encode(), signed.signature.encode("ascii", "replace")):
        raise AuthFailure("signature", (
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.") if s3 else (
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. "
            "Consult the service documentation for details."))

    _check_time(signed, when, now)
    return Identity(access_key_id=signed.access_key_id, region=signed.region,
                    service=signed.service, date=signed.date, signature=expected,
                    signing_key=key, amz_date=signed.amz_date, payload_hash=payload_hash)
