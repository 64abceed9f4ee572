"""S3's own error codes, worded as S3 words them, so botocore clients see the same errors."""

from __future__ import annotations

from kamado.errors import AwsError


def no_such_bucket(bucket: str) -> AwsError:
    return AwsError("The specified bucket does not exist", code="NoSuchBucket", status=404,
                    BucketName=bucket)


def no_such_key(key: str) -> AwsError:
    return AwsError("The specified key does not exist.", code="NoSuchKey", status=404, Key=key)


def no_such_upload(upload_id: str) -> AwsError:
    return AwsError("The specified upload does not exist. The upload ID may be invalid, or the "
                    "upload may have been aborted or completed.", code="NoSuchUpload",
                    status=404, UploadId=upload_id)


def bucket_owned_by_you(bucket: str) -> AwsError:
    return AwsError("Your previous request to create the named bucket succeeded and you already "
                    "own it.", code="BucketAlreadyOwnedByYou", status=409, BucketName=bucket)


def bucket_exists(bucket: str) -> AwsError:
    return AwsError("The requested bucket name is not available. The bucket namespace is shared "
                    "by all users of the system. Please select a different name and try again.",
                    code="BucketAlreadyExists", status=409, BucketName=bucket)


def bucket_not_empty(bucket: str) -> AwsError:
    return AwsError("The bucket you tried to delete is not empty", code="BucketNotEmpty",
                    status=409, BucketName=bucket)


def invalid_bucket_name(bucket: str) -> AwsError:
    return AwsError("The specified bucket is not valid.", code="InvalidBucketName", status=400,
                    BucketName=bucket)


def key_too_long(size: int, limit: int) -> AwsError:
    return AwsError("Your key is too long", code="KeyTooLongError", status=400,
                    Size=str(size), MaxSizeAllowed=str(limit))


def invalid_range(size: int, requested: str = "") -> AwsError:
    fields = {"ActualObjectSize": str(size)}
    if requested:
        fields["RangeRequested"] = requested
    return AwsError("The requested range is not satisfiable", code="InvalidRange", status=416,
                    headers={"Content-Range": f"bytes */{size}"}, **fields)


def invalid_part(message: str = "One or more of the specified parts could not be found.  The "
                 "part may not have been uploaded, or the specified entity tag may not match "
                 "the part's entity tag.", **fields: str) -> AwsError:
    return AwsError(message, code="InvalidPart", status=400, **fields)


def invalid_part_order() -> AwsError:
    return AwsError("The list of parts was not in ascending order. Parts must be ordered by part "
                    "number.", code="InvalidPartOrder", status=400)


def entity_too_small(part_number: int, size: int, minimum: int) -> AwsError:
    return AwsError("Your proposed upload is smaller than the minimum allowed object size.",
                    code="EntityTooSmall", status=400, ProposedSize=str(size),
                    MinSizeAllowed=str(minimum), PartNumber=str(part_number))


def precondition_failed(condition: str) -> AwsError:
    return AwsError("At least one of the pre-conditions you specified did not hold",
                    code="PreconditionFailed", status=412, Condition=condition)


def not_modified(etag: str | None = None, last_modified: str | None = None) -> AwsError:
    headers = {}
    if etag:
        headers["ETag"] = etag
    if last_modified:
        headers["Last-Modified"] = last_modified
    return AwsError("Not Modified", code="NotModified", status=304, headers=headers)


def bad_digest(message: str = "The Content-MD5 you specified did not match what we "
               "received.") -> AwsError:
    return AwsError(message, code="BadDigest", status=400)


def invalid_digest() -> AwsError:
    return AwsError("The Content-MD5 you specified was invalid.", code="InvalidDigest",
                    status=400)


def invalid_argument(message: str, name: str | None = None, value: str | None = None) -> AwsError:
    fields = {}
    if name is not None:
        fields["ArgumentName"] = name
        fields["ArgumentValue"] = "" if value is None else str(value)
    return AwsError(message, code="InvalidArgument", status=400, **fields)


def invalid_request(message: str) -> AwsError:
    return AwsError(message, code="InvalidRequest", status=400)


def malformed_xml() -> AwsError:
    return AwsError("The XML you provided was not well-formed or did not validate against our "
                    "published schema", code="MalformedXML", status=400)


def incomplete_body() -> AwsError:
    return AwsError("The request body ended before all of it was stored; nothing was written.",
                    code="IncompleteBody", status=400)
