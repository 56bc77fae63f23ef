"""Uploaded files on their way to an import service: the size limit and the spooled copy.

The import services read a path, so an upload is written to a named temporary file first;
the REST API and the web page share this one copy of that step and of the limit.
"""

import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat


def upload_size_problem(upload: UploadedFile) -> str | None:
    """Return why ``upload`` is over ``ELEPHANT_MAX_UPLOAD_BYTES``, or None when it is not."""
    limit: int = settings.ELEPHANT_MAX_UPLOAD_BYTES
    size = upload.size or 0
    if size <= limit:
        return None
    return (
        f"{upload.name} is {filesizeformat(size)}; expected at most {filesizeformat(limit)} "
        f"(ELEPHANT_MAX_UPLOAD_BYTES={limit}). Import larger files with "
        "python manage.py import_dataset PATH --name NAME."
    )


def upload_spool(upload: UploadedFile, *, suffix: str) -> Path:
    """Write ``upload`` to a named temporary file ending in ``suffix``; the caller deletes it."""
    with tempfile.NamedTemporaryFile(delete=False, suffix=suffix) as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    return Path(handle.name)
