"""The blob data plane of the default datastore's storage account (Azure Storage's Blob REST).

``azure-ai-ml`` builds the account URL from the datastore as ``https://{accountName}.blob.
{suffix}``; the emulator names the account ``127.0.0.1:PORT/<account>``, so requests arrive
path-style as ``/<account>.blob.core.windows.net/<container>/<blob>``. Served: Put Blob, Put
Block, Put Block List, Set Blob Metadata, Get Blob Properties (HEAD), Get Blob (with ranges),
List Blobs and Create Container. Errors are Storage's XML bodies with ``x-ms-error-code``, which
``azure-storage-blob`` turns into azure-core exceptions. Requests are loopback-only and any
SharedKey or SAS signature is accepted (the datastore's key is the emulator's, not a secret).
"""

from __future__ import annotations

import re
import tempfile
import uuid
from email.utils import formatdate
from pathlib import Path
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from werkzeug.exceptions import ClientDisconnected
from werkzeug.wrappers import Request, Response

from emulator.assets.blob_containers import BlobContainers, StoredBlob
from emulator.exceptions import BadArgument
from emulator.store.root import EmulatorRoot

#: The first path segment of a blob request: the account's host name, path-style.
BLOB_PATH = re.compile(r"/(?P<account>[a-z0-9]+)\.blob\.[^/]+(?P<rest>/.*)?")
_VERSION = "2025-01-05"
_META = "x-ms-meta-"
#: WSGI environ key of the request's raw ``x-ms-meta-*`` headers as ``[(name, value)]``: a WSGI
#: server may drop names with ``_`` (werkzeug does), so the emulator's server keeps them there.
RAW_METADATA_KEY = "amlemu.blob_metadata"
_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


class BlobError(Exception):
    """A Storage error: HTTP status, ``x-ms-error-code`` and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def handle(root: EmulatorRoot, request: Request, account: str, rest: str) -> Response:
    """Answer one Blob REST request for ``account``; ``rest`` is ``/<container>[/<blob>]``."""
    try:
        response = _dispatch(BlobContainers(root), request, account, rest)
    except BlobError as exc:
        response = _error(exc.status, exc.code, exc.message, request.method)
    except BadArgument as exc:  # Storage's code when state names one (InvalidBlockList)
        code = exc.code if exc.code != BadArgument.code else "InvalidInput"
        response = _error(400, code, str(exc), request.method)
    except ClientDisconnected:
        response = _error(
            400,
            "InvalidInput",
            "The request body ended before Content-Length bytes arrived (the client "
            "disconnected); nothing was stored.",
            request.method,
        )
    response.headers["x-ms-request-id"] = str(uuid.uuid4())
    response.headers["x-ms-version"] = _VERSION
    response.headers["Date"] = formatdate(usegmt=True)
    return response


def _dispatch(store: BlobContainers, request: Request, account: str, rest: str) -> Response:
    container, _, name = rest.lstrip("/").partition("/")
    if not container:
        raise BlobError(400, "InvalidUri", "The request URI names no container.")
    comp = request.args.get("comp")
    if not name:
        if request.args.get("restype") != "container":
            raise BlobError(400, "InvalidUri", "A container request needs restype=container.")
        if request.method == "PUT":
            return Response(status=201)  # containers exist implicitly; creating one is a no-op
        if request.method == "GET" and comp == "list":
            prefix = request.args.get("prefix", "")
            return _list(account, container, prefix, store.list(account, container, prefix))
        if request.method in ("GET", "HEAD"):
            return Response(status=200)
        raise BlobError(405, "UnsupportedHttpVerb", f"{request.method} is not supported here.")
    if request.method == "PUT":
        return _put(store, request, account, container, name, comp)
    if request.method in ("GET", "HEAD"):
        blob = store.get(account, container, name)
        if blob is None:
            raise BlobError(404, "BlobNotFound", "The specified blob does not exist.")
        if request.method == "HEAD":
            return _with_properties(Response(status=200), blob)
        return _download(store, request, blob)
    raise BlobError(405, "UnsupportedHttpVerb", f"{request.method} is not supported here.")


def _put(
    store: BlobContainers,
    request: Request,
    account: str,
    container: str,
    name: str,
    comp: str | None,
) -> Response:
    raw = request.environ.get(RAW_METADATA_KEY, list(request.headers.items()))
    metadata = {key[len(_META) :]: value for key, value in raw if key.lower().startswith(_META)}
    content_type = request.headers.get("x-ms-blob-content-type", "application/octet-stream")
    if comp == "block":
        block_id = request.args.get("blockid", "")
        if not block_id:
            raise BlobError(400, "InvalidQueryParameterValue", "Put Block needs a blockid.")
        store.stage_block(account, container, name, block_id, request.get_data())
        return Response(status=201)
    if comp == "blocklist":
        ids = _block_list(request.get_data())
        blob = store.commit_blocks(account, container, name, ids, content_type, metadata)
        return _with_etag(Response(status=201), blob)
    if comp == "metadata":
        updated = store.set_metadata(account, container, name, metadata)
        if updated is None:
            raise BlobError(404, "BlobNotFound", "The specified blob does not exist.")
        return _with_etag(Response(status=200), updated)
    if comp is not None:
        raise BlobError(400, "InvalidQueryParameterValue", f"comp={comp} is not supported.")
    if request.headers.get("x-ms-blob-type", "BlockBlob") != "BlockBlob":
        raise BlobError(
            400, "InvalidHeaderValue", "Only block blobs are supported (x-ms-blob-type)."
        )
    with tempfile.NamedTemporaryFile() as tmp:
        for chunk in iter(lambda: request.stream.read(1024 * 1024), b""):
            tmp.write(chunk)
        tmp.flush()
        blob = store.put(account, container, name, Path(tmp.name), content_type, metadata)
    return _with_etag(Response(status=201), blob)


def _block_list(body: bytes) -> list[str]:
    """The block ids of a Put Block List body, in order (Latest/Committed/Uncommitted alike)."""
    try:
        tree = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise BlobError(400, "InvalidXmlDocument", f"The block list is not XML: {exc}") from exc
    return [element.text or "" for element in tree]


def _download(store: BlobContainers, request: Request, blob: StoredBlob) -> Response:
    """Get Blob: the whole content, or the requested range (206) read from the file alone, so a
    large model downloaded in ranges is not read whole for every range."""
    start, end = 0, blob.size - 1
    response = Response(status=200)
    header = request.headers.get("x-ms-range") or request.headers.get("Range")
    if header:
        found = _RANGE.fullmatch(header.strip())
        if found is None:
            raise BlobError(400, "InvalidRange", f"The range {header!r} is not bytes=N-M.")
        start = int(found.group(1))
        end = min(int(found.group(2)) if found.group(2) else blob.size - 1, blob.size - 1)
        if start >= blob.size:  # an empty blob too: the client then asks without a range
            raise BlobError(416, "InvalidRange", "The range specified is invalid.")
        response.status_code = 206
        response.headers["Content-Range"] = f"bytes {start}-{end}/{blob.size}"
    with open(store.content_path(blob), "rb") as fh:
        fh.seek(start)
        data = fh.read(max(end - start + 1, 0))
    response.set_data(data)
    return _with_properties(response, blob, length=len(data))


def _with_etag(response: Response, blob: StoredBlob) -> Response:
    response.headers["ETag"] = blob.etag
    response.headers["Last-Modified"] = formatdate(blob.modified, usegmt=True)
    response.headers["x-ms-request-server-encrypted"] = "true"
    return response


def _with_properties(response: Response, blob: StoredBlob, length: int | None = None) -> Response:
    _with_etag(response, blob)
    response.headers["Content-Type"] = blob.content_type
    response.headers["Content-Length"] = str(blob.size if length is None else length)
    response.headers["x-ms-blob-type"] = "BlockBlob"
    response.headers["x-ms-creation-time"] = formatdate(blob.modified, usegmt=True)
    for key, value in blob.metadata.items():
        response.headers[_META + key] = value
    return response


def _list(account: str, container: str, prefix: str, blobs: list[StoredBlob]) -> Response:
    items = "".join(
        f"<Blob><Name>{escape(b.name)}</Name><Properties>"
        f"<Last-Modified>{formatdate(b.modified, usegmt=True)}</Last-Modified>"
        f"<Etag>{escape(b.etag)}</Etag><Content-Length>{b.size}</Content-Length>"
        f"<Content-Type>{escape(b.content_type)}</Content-Type><BlobType>BlockBlob</BlobType>"
        "</Properties><Metadata>"
        + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in b.metadata.items())
        + "</Metadata></Blob>"
        for b in blobs
    )
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<EnumerationResults ServiceEndpoint="https://{account}.blob.core.windows.net/" '
        f'ContainerName="{escape(container)}"><Prefix>{escape(prefix)}</Prefix>'
        f"<Blobs>{items}</Blobs><NextMarker /></EnumerationResults>"
    )
    return Response(body, status=200, content_type="application/xml")


def _error(status: int, code: str, message: str, method: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
    )
    response = Response(
        b"" if method == "HEAD" else body, status=status, content_type="application/xml"
    )
    response.headers["x-ms-error-code"] = code
    return response
