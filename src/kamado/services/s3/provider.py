"""S3 over the wire, served by the built-in object store.

The store (:mod:`kamado.storage.objectstore`) keeps the objects; this layer adds what belongs to
the API: checking Content-MD5 and x-amz-checksum-* against the bytes received, conditional
requests and ranges, CopySource parsing, paging tokens, URL-encoded listings and the shapes of
the responses botocore expects.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from urllib.parse import quote, unquote

from kamado.errors import AwsError
from kamado.gateway.http import FileRange, Payload
from kamado.services.base import Provider, RequestContext
from kamado.storage import checksums as cks
from kamado.storage import s3errors
from kamado.storage.conditions import check_read, parse_copy_range, parse_range
from kamado.storage.objectstore import CompletedPart, ObjectInfo, ObjectStore

MAX_KEYS = 1000
MAX_DELETE = 1000
# Per-object headers S3 stores and sends back as they were given.
STORED_HEADERS = ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage",
                  "Expires", "WebsiteRedirectLocation", "StorageClass")
_OVERRIDES = {"ResponseCacheControl": "CacheControl", "ResponseContentDisposition":
              "ContentDisposition", "ResponseContentEncoding": "ContentEncoding",
              "ResponseContentLanguage": "ContentLanguage", "ResponseContentType": "ContentType",
              "ResponseExpires": "Expires"}
_TOKEN_TAG = b"kamado-list:"


def owner(account_id: str) -> dict:
    # S3 names owners by a 64-hex canonical user id; derive a stable one from the account.
    return {"DisplayName": "kamado",
            "ID": hashlib.sha256(f"kamado-owner:{account_id}".encode()).hexdigest()}


def _encode_token(position: str) -> str:
    return base64.urlsafe_b64encode(_TOKEN_TAG + position.encode("utf-8")).decode("ascii")


def _decode_token(token: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
        if raw.startswith(_TOKEN_TAG):
            return raw[len(_TOKEN_TAG):].decode("utf-8")
    except (ValueError, UnicodeError):
        pass
    raise s3errors.invalid_argument("The continuation token provided is incorrect",
                                    "continuation-token", token)


def parse_copy_source(value: str) -> tuple[str, str]:
    """``bucket/key`` (URL-encoded, maybe ``/``-led, maybe ``?versionId=``) -> (bucket, key)."""
    text = value[1:] if value.startswith("/") else value
    text, _, version = text.partition("?versionId=")
    bucket, _, key = unquote(text).partition("/")
    if not bucket or not key:
        raise s3errors.invalid_argument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            "x-amz-copy-source", value)
    if version and version != "null":  # no versioning here: only the null version exists
        raise AwsError("The specified version does not exist.", code="NoSuchVersion",
                       status=404, Key=key, VersionId=version)
    return bucket, key


def _stored_headers(request: dict) -> dict:
    headers = {name: request[name] for name in STORED_HEADERS if request.get(name) is not None}
    if "ContentEncoding" in headers:
        # aws-chunked describes how the SDK framed this request's body, not the object.
        kept = [e.strip() for e in headers["ContentEncoding"].split(",")
                if e.strip() and e.strip().lower() != "aws-chunked"]
        if kept:
            headers["ContentEncoding"] = ",".join(kept)
        else:
            del headers["ContentEncoding"]
    if headers.get("StorageClass") == "STANDARD":
        del headers["StorageClass"]  # S3 leaves the default unsaid
    return headers


def _checksum_members(sums: dict, checksum_type: str | None) -> dict:
    out = {cks.member(alg): value for alg, value in sums.items()}
    if out and checksum_type:
        out["ChecksumType"] = checksum_type
    return out


def _check_max(value, name: str, default: int = MAX_KEYS) -> int:
    if value is None:
        return default
    if value < 0:
        raise s3errors.invalid_argument(f"Argument {name} must be an integer between 0 and "
                                        "2147483647", name, str(value))
    return min(value, default)


class S3(Provider):
    service = "s3"

    @property
    def store(self) -> ObjectStore:
        return self.platform.objects

    # --- buckets ------------------------------------------------------------------------------
    def create_bucket(self, request: dict, ctx: RequestContext) -> dict:
        config = request.get("CreateBucketConfiguration") or {}
        region = config.get("LocationConstraint") or ctx.region or "us-east-1"
        if region == "EU":  # the legacy name S3 still accepts
            region = "eu-west-1"
        try:
            self.store.create_bucket(request["Bucket"], region, owner=ctx.account_id)
        except AwsError as exc:
            # S3 answers a repeated CreateBucket of one's own us-east-1 bucket, sent to
            # us-east-1, with 200 and does nothing; every other region says 409.
            if not (exc.code == "BucketAlreadyOwnedByYou" and region == "us-east-1"
                    and self.store.head_bucket(request["Bucket"]).region == "us-east-1"):
                raise
        return {"Location": f"/{request['Bucket']}"}

    def head_bucket(self, request: dict, ctx: RequestContext) -> dict:
        info = self.store.head_bucket(request["Bucket"])
        return {"BucketRegion": info.region, "AccessPointAlias": False}

    def delete_bucket(self, request: dict, ctx: RequestContext) -> dict:
        self.store.delete_bucket(request["Bucket"])
        return {}

    def get_bucket_location(self, request: dict, ctx: RequestContext) -> dict:
        info = self.store.head_bucket(request["Bucket"])
        # us-east-1 is the one region S3 reports as an empty constraint.
        return {"LocationConstraint": None if info.region == "us-east-1" else info.region}

    def list_buckets(self, request: dict, ctx: RequestContext) -> dict:
        limit = request.get("MaxBuckets")
        if limit is not None and not 1 <= limit <= 10000:
            raise s3errors.invalid_argument("Argument max-buckets must be between 1 and 10000",
                                            "max-buckets", str(limit))
        token = request.get("ContinuationToken")
        after = _decode_token(token) if token else ""
        buckets, truncated = self.store.list_buckets(
            prefix=request.get("Prefix") or "", start_after=after, limit=limit,
            region=request.get("BucketRegion"))
        out: dict = {"Buckets": [{"Name": b.name, "CreationDate": b.created,
                                  "BucketRegion": b.region} for b in buckets],
                     "Owner": owner(ctx.account_id)}
        if request.get("Prefix") is not None:
            out["Prefix"] = request["Prefix"]
        if truncated:
            out["ContinuationToken"] = _encode_token(buckets[-1].name)
        return out

    # --- checking what was received -----------------------------------------------------------
    def _verify_body(self, request: dict, body, required=()) -> dict[str, str]:
        """Check Content-MD5 and any x-amz-checksum-* against the body; return the checksums
        to keep: those the client sent or named, plus ``required`` ones."""
        payload = body if isinstance(body, Payload) else None
        data = b"" if body is None else (None if payload else bytes(body))
        md5_hex = payload.md5_hex if payload else hashlib.md5(data).hexdigest()
        if request.get("ContentMD5") is not None:
            try:
                given = base64.b64decode(request["ContentMD5"], validate=True)
            except (binascii.Error, ValueError):
                given = b""
            if len(given) != 16:
                raise s3errors.invalid_digest()
            if given.hex() != md5_hex:
                raise s3errors.bad_digest()

        claimed: dict[str, str] = {}
        for alg in cks.KNOWN:
            value = request.get(cks.member(alg))
            if value is None and payload is not None:
                value = payload.trailers.get(cks.header(alg))
            if value is not None:
                claimed[alg] = value
        if len(claimed) > 1:
            raise s3errors.invalid_request("Expecting a single x-amz-checksum- header. Multiple "
                                           "checksum Types are not allowed.")
        wanted = list(claimed)
        named = request.get("ChecksumAlgorithm")
        for alg in ([named.upper()] if named else []) + [a for a in required if a]:
            if alg not in wanted:
                wanted.append(alg)
        for alg in wanted:
            cks.check_supported(alg)
        known = dict(payload.checksums) if payload else {}
        missing = [a for a in wanted if a not in known]
        if missing:
            if payload is not None:
                known.update(cks.of_file(payload.path, missing))
            else:
                known.update({a: cks.of_bytes(a, data) for a in missing})
        for alg, value in claimed.items():
            if cks.encode(cks.decode(alg, value)) != known[alg]:
                raise cks.mismatch(alg)
        return {alg: known[alg] for alg in wanted}

    # --- objects ------------------------------------------------------------------------------
    def put_object(self, request: dict, ctx: RequestContext) -> dict:
        bucket, key, body = request["Bucket"], request["Key"], request.get("Body")
        self.store.head_bucket(bucket)
        sums = self._verify_body(request, body)
        info = self.store.put_object(
            bucket, key, body, content_type=request.get("ContentType"),
            metadata=request.get("Metadata"), headers=_stored_headers(request), checksums=sums,
            checksum_type="FULL_OBJECT", if_match=request.get("IfMatch"),
            if_none_match=request.get("IfNoneMatch"))
        return {"ETag": info.etag, **_checksum_members(info.checksums, info.checksum_type)}

    def _object_out(self, info: ObjectInfo, request: dict) -> dict:
        out = {"ETag": info.etag, "LastModified": info.last_modified, "ContentLength": info.size,
               "ContentType": info.content_type, "Metadata": dict(info.metadata),
               "AcceptRanges": "bytes"}
        out.update(info.headers)
        for param, member in _OVERRIDES.items():
            if request.get(param) is not None:
                out[member] = request[param]
        return out

    def _read(self, request: dict, with_body: bool) -> dict:
        info = self.store.get_object(request["Bucket"], request["Key"])
        check_read(info.etag, info.last_modified, if_match=request.get("IfMatch"),
                   if_none_match=request.get("IfNoneMatch"),
                   if_modified_since=request.get("IfModifiedSince"),
                   if_unmodified_since=request.get("IfUnmodifiedSince"))
        out = self._object_out(info, request)
        span = None
        part_number = request.get("PartNumber")
        if part_number is not None:
            if request.get("Range"):
                raise s3errors.invalid_request("Cannot specify both Range header and partNumber "
                                               "query parameter")
            span = self._part_span(info, part_number)
            if info.part_sizes:
                out["PartsCount"] = len(info.part_sizes)
        else:
            span = parse_range(request.get("Range"), info.size)
        if span is not None:
            start, length = span
            out["__http_status__"] = 206
            out["ContentRange"] = f"bytes {start}-{start + length - 1}/{info.size}"
            out["ContentLength"] = length
        elif request.get("ChecksumMode") == "ENABLED":
            # Only a whole object's checksum can be checked against the bytes sent.
            out.update(_checksum_members(info.checksums, info.checksum_type))
        if with_body:
            start, length = span if span is not None else (0, info.size)
            out["Body"] = FileRange(info.path, start, length)
        return out

    @staticmethod
    def _part_span(info: ObjectInfo, number: int) -> tuple[int, int] | None:
        sizes = info.part_sizes or [info.size]
        if not 1 <= number <= len(sizes):
            raise AwsError("The requested partnumber is not satisfiable", code="InvalidPartNumber",
                           status=416, PartNumberRequested=str(number),
                           ActualPartCount=str(len(sizes)))
        if not info.part_sizes:
            return None  # a single-part object's part 1 is all of it
        start = sum(sizes[:number - 1])
        return start, sizes[number - 1]

    def get_object(self, request: dict, ctx: RequestContext) -> dict:
        return self._read(request, with_body=True)

    def head_object(self, request: dict, ctx: RequestContext) -> dict:
        return self._read(request, with_body=False)

    def delete_object(self, request: dict, ctx: RequestContext) -> dict:
        self.store.delete_object(request["Bucket"], request["Key"])
        return {}

    def delete_objects(self, request: dict, ctx: RequestContext) -> dict:
        delete = request.get("Delete") or {}
        entries = delete.get("Objects") or []
        if not entries or len(entries) > MAX_DELETE:
            raise s3errors.malformed_xml()
        results = self.store.delete_objects(request["Bucket"], [e["Key"] for e in entries])
        deleted, errors = [], []
        for entry, (key, error) in zip(entries, results):
            if error is None:
                item = {"Key": key}
                if entry.get("VersionId"):
                    item["VersionId"] = entry["VersionId"]
                deleted.append(item)
            else:
                errors.append({"Key": key, "Code": error.code, "Message": error.message})
        out: dict = {}
        if deleted and not delete.get("Quiet"):
            out["Deleted"] = deleted
        if errors:
            out["Errors"] = errors
        return out

    def copy_object(self, request: dict, ctx: RequestContext) -> dict:
        src_bucket, src_key = parse_copy_source(request["CopySource"])
        bucket, key = request["Bucket"], request["Key"]
        directive = (request.get("MetadataDirective") or "COPY").upper()
        if directive not in ("COPY", "REPLACE"):
            raise s3errors.invalid_argument("Unknown metadata directive.",
                                            "x-amz-metadata-directive", directive)
        headers = _stored_headers(request)
        changes = directive == "REPLACE" or any(request.get(k) for k in (
            "StorageClass", "WebsiteRedirectLocation", "ServerSideEncryption", "SSEKMSKeyId"))
        if (src_bucket, src_key) == (bucket, key) and not changes:
            raise s3errors.invalid_request(
                "This copy request is illegal because it is trying to copy an object to itself "
                "without changing the object's metadata, storage class, website redirect "
                "location or encryption attributes.")
        self.store.head_bucket(bucket)
        info = self.store.copy_object(
            src_bucket, src_key, bucket, key, replace_metadata=directive == "REPLACE",
            content_type=request.get("ContentType"), metadata=request.get("Metadata"),
            headers=headers, check=lambda src: self._check_copy_source(src, request),
            header_overrides={k: headers[k] for k in ("StorageClass", "WebsiteRedirectLocation")
                              if k in headers},
            if_match=request.get("IfMatch"), if_none_match=request.get("IfNoneMatch"))
        result = {"ETag": info.etag, "LastModified": info.last_modified,
                  **_checksum_members(info.checksums, info.checksum_type)}
        return {"CopyObjectResult": result}

    @staticmethod
    def _check_copy_source(src: ObjectInfo, request: dict) -> None:
        check_read(src.etag, src.last_modified, if_match=request.get("CopySourceIfMatch"),
                   if_none_match=request.get("CopySourceIfNoneMatch"),
                   if_modified_since=request.get("CopySourceIfModifiedSince"),
                   if_unmodified_since=request.get("CopySourceIfUnmodifiedSince"),
                   copy_source=True)

    # --- listing ------------------------------------------------------------------------------
    def _listing(self, request: dict, ctx: RequestContext, marker: str | None,
                 with_owner: bool) -> tuple[dict, object]:
        encode = request.get("EncodingType") == "url"
        if request.get("EncodingType") not in (None, "url"):
            raise s3errors.invalid_argument("Invalid Encoding Method specified in Request",
                                            "encoding-type", request["EncodingType"])

        def enc(text: str) -> str:
            return quote(text, safe="/") if encode else text

        max_keys = _check_max(request.get("MaxKeys"), "max-keys")
        prefix, delimiter = request.get("Prefix") or "", request.get("Delimiter") or ""
        page = self.store.list_objects(request["Bucket"], prefix, delimiter, max_keys, marker)
        contents = []
        for o in page.objects:
            item = {"Key": enc(o.key), "LastModified": o.last_modified, "ETag": o.etag,
                    "Size": o.size, "StorageClass": o.headers.get("StorageClass", "STANDARD")}
            if o.checksums:
                item["ChecksumAlgorithm"] = sorted(o.checksums)
                if o.checksum_type:
                    item["ChecksumType"] = o.checksum_type
            if with_owner:
                item["Owner"] = owner(ctx.account_id)
            contents.append(item)
        out: dict = {"Name": request["Bucket"], "Prefix": enc(prefix), "MaxKeys": max_keys,
                     "IsTruncated": page.truncated}
        if contents:
            out["Contents"] = contents
        _add_grouping(out, page.prefixes, delimiter, encode, enc)
        return out, page

    def list_objects_v2(self, request: dict, ctx: RequestContext) -> dict:
        token = request.get("ContinuationToken")
        marker = _decode_token(token) if token else request.get("StartAfter") or None
        out, page = self._listing(request, ctx, marker, with_owner=bool(request.get("FetchOwner")))
        out["KeyCount"] = len(out.get("Contents", [])) + len(out.get("CommonPrefixes", []))
        if token:
            out["ContinuationToken"] = token
        if request.get("StartAfter"):
            out["StartAfter"] = (quote(request["StartAfter"], safe="/")
                                 if request.get("EncodingType") == "url" else request["StartAfter"])
        if page.truncated:
            out["NextContinuationToken"] = _encode_token(page.last)
        return out

    def list_objects(self, request: dict, ctx: RequestContext) -> dict:
        marker = request.get("Marker") or None
        out, page = self._listing(request, ctx, marker, with_owner=True)
        encode = request.get("EncodingType") == "url"
        # V1 encodes keys and markers but not the prefix (botocore decodes just those).
        out["Prefix"] = request.get("Prefix") or ""
        out["Marker"] = quote(marker or "", safe="/") if encode else (marker or "")
        if page.truncated and request.get("Delimiter"):
            # Without a delimiter clients resume from the last key; with one S3 says where.
            out["NextMarker"] = quote(page.last, safe="/") if encode else page.last
        return out

    # --- multipart uploads --------------------------------------------------------------------
    def create_multipart_upload(self, request: dict, ctx: RequestContext) -> dict:
        algorithm = (request.get("ChecksumAlgorithm") or "").upper() or None
        checksum_type = request.get("ChecksumType")
        if algorithm:
            cks.check_supported(algorithm)
        if checksum_type and not algorithm:
            raise s3errors.invalid_request("The x-amz-checksum-type header can only be used "
                                           "with the x-amz-checksum-algorithm header.")
        if checksum_type == "FULL_OBJECT" and algorithm not in cks.CRC_ALGORITHMS:
            raise s3errors.invalid_request(f"The FULL_OBJECT checksum type cannot be used with "
                                           f"the {algorithm.lower()} checksum algorithm.")
        if algorithm and not checksum_type:
            checksum_type = "COMPOSITE"
        upload = self.store.create_upload(
            request["Bucket"], request["Key"], content_type=request.get("ContentType"),
            metadata=request.get("Metadata"), headers=_stored_headers(request),
            checksum_algorithm=algorithm, checksum_type=checksum_type)
        out = {"Bucket": upload.bucket, "Key": upload.key, "UploadId": upload.upload_id}
        if algorithm:
            out.update(ChecksumAlgorithm=algorithm, ChecksumType=checksum_type)
        return out

    def upload_part(self, request: dict, ctx: RequestContext) -> dict:
        bucket, key, upload_id = request["Bucket"], request["Key"], request["UploadId"]
        upload = self.store.get_upload(bucket, key, upload_id)
        body = request.get("Body")
        sums = self._verify_body(request, body, required=[upload.checksum_algorithm])
        if upload.checksum_algorithm and set(sums) - {upload.checksum_algorithm}:
            other = sorted(set(sums) - {upload.checksum_algorithm})[0]
            raise s3errors.invalid_request(
                f"Checksum Type mismatch occurred, expected checksum Type: "
                f"{upload.checksum_algorithm.lower()}, actual checksum Type: {other.lower()}")
        part = self.store.upload_part(bucket, key, upload_id, request["PartNumber"], body, sums)
        return {"ETag": part.etag, **_checksum_members(part.checksums, None)}

    def upload_part_copy(self, request: dict, ctx: RequestContext) -> dict:
        src_bucket, src_key = parse_copy_source(request["CopySource"])
        bucket, key, upload_id = request["Bucket"], request["Key"], request["UploadId"]
        upload = self.store.get_upload(bucket, key, upload_id)
        copy_range = request.get("CopySourceRange")

        def byte_range(src: ObjectInfo) -> tuple[int, int]:
            return parse_copy_range(copy_range, src.size) if copy_range else (0, src.size)

        part, _ = self.store.copy_part(
            bucket, key, upload_id, request["PartNumber"], src_bucket, src_key, byte_range,
            check=lambda src: self._check_copy_source(src, request),
            checksum_algorithms=[upload.checksum_algorithm] if upload.checksum_algorithm else [])
        result = {"ETag": part.etag, "LastModified": part.last_modified,
                  **_checksum_members(part.checksums, None)}
        return {"CopyPartResult": result}

    def complete_multipart_upload(self, request: dict, ctx: RequestContext) -> dict:
        bucket, key = request["Bucket"], request["Key"]
        parts = []
        for p in (request.get("MultipartUpload") or {}).get("Parts") or []:
            if p.get("PartNumber") is None or p.get("ETag") is None:
                raise s3errors.malformed_xml()
            parts.append(CompletedPart(p["PartNumber"], p["ETag"],
                                       {alg: p[cks.member(alg)] for alg in cks.KNOWN
                                        if p.get(cks.member(alg))}))
        expected = {alg: request[cks.member(alg)] for alg in cks.KNOWN
                    if request.get(cks.member(alg))}
        info = self.store.complete_upload(
            bucket, key, request["UploadId"], parts, expected_checksums=expected,
            if_match=request.get("IfMatch"), if_none_match=request.get("IfNoneMatch"))
        host = (ctx.headers or {}).get("host")
        path = f"/{bucket}/{quote(key, safe='/')}"
        return {"Location": f"http://{host}{path}" if host else path, "Bucket": bucket,
                "Key": key, "ETag": info.etag,
                **_checksum_members(info.checksums, info.checksum_type)}

    def abort_multipart_upload(self, request: dict, ctx: RequestContext) -> dict:
        self.store.abort_upload(request["Bucket"], request["Key"], request["UploadId"])
        return {}

    def list_parts(self, request: dict, ctx: RequestContext) -> dict:
        max_parts = _check_max(request.get("MaxParts"), "max-parts")
        marker = request.get("PartNumberMarker") or 0
        upload, parts, truncated = self.store.list_parts(
            request["Bucket"], request["Key"], request["UploadId"], marker, max_parts)
        out: dict = {
            "Bucket": upload.bucket, "Key": upload.key, "UploadId": upload.upload_id,
            "PartNumberMarker": marker, "MaxParts": max_parts, "IsTruncated": truncated,
            "Initiator": owner(ctx.account_id), "Owner": owner(ctx.account_id),
            "StorageClass": upload.headers.get("StorageClass", "STANDARD"),
            "Parts": [{"PartNumber": p.part_number, "LastModified": p.last_modified,
                       "ETag": p.etag, "Size": p.size,
                       **_checksum_members(p.checksums, None)} for p in parts]}
        if parts:
            out["NextPartNumberMarker"] = parts[-1].part_number
        if upload.checksum_algorithm:
            out.update(ChecksumAlgorithm=upload.checksum_algorithm,
                       ChecksumType=upload.checksum_type)
        return out

    def list_multipart_uploads(self, request: dict, ctx: RequestContext) -> dict:
        encode = request.get("EncodingType") == "url"

        def enc(text: str) -> str:
            return quote(text, safe="/") if encode else text

        max_uploads = _check_max(request.get("MaxUploads"), "max-uploads")
        prefix, delimiter = request.get("Prefix") or "", request.get("Delimiter") or ""
        key_marker = request.get("KeyMarker") or ""
        id_marker = request.get("UploadIdMarker") or ""
        listed = self.store.list_uploads(request["Bucket"], prefix, delimiter, key_marker,
                                         id_marker, max_uploads)
        uploads = []
        for u in listed.uploads:
            item = {"UploadId": u.upload_id, "Key": enc(u.key), "Initiated": u.initiated,
                    "StorageClass": u.headers.get("StorageClass", "STANDARD"),
                    "Owner": owner(ctx.account_id), "Initiator": owner(ctx.account_id)}
            if u.checksum_algorithm:
                item.update(ChecksumAlgorithm=u.checksum_algorithm, ChecksumType=u.checksum_type)
            uploads.append(item)
        out: dict = {"Bucket": request["Bucket"], "KeyMarker": enc(key_marker),
                     "UploadIdMarker": id_marker, "Prefix": enc(prefix),
                     "MaxUploads": max_uploads, "IsTruncated": listed.truncated}
        if uploads:
            out["Uploads"] = uploads
        _add_grouping(out, listed.prefixes, delimiter, encode, enc)
        if listed.truncated:
            out["NextKeyMarker"] = enc(listed.next_key_marker or "")
            if listed.next_upload_id_marker:
                out["NextUploadIdMarker"] = listed.next_upload_id_marker
        return out


def _add_grouping(out: dict, prefixes, delimiter: str | None, encode: bool, enc) -> None:
    """What every S3 listing answers alike: common prefixes, delimiter, encoding type."""
    if prefixes:
        out["CommonPrefixes"] = [{"Prefix": enc(p)} for p in prefixes]
    if delimiter:
        out["Delimiter"] = enc(delimiter)
    if encode:
        out["EncodingType"] = "url"
