"""HTTP transport: one GET streamed into an open file and hashed on the way,
with every failure (HTTP status, network error, timeout, dropped or short
body, HTML page) turned into `WeightsDownloadError` or
`WeightsIntegrityError` with a message that says what to do.
"""

from __future__ import annotations

import hashlib
import http.client
import sys
import urllib.error
import urllib.parse
import urllib.request

from keras_attention.version import __version__
from keras_attention.zoo.integrity import (
    _CHUNK_SIZE,
    WeightsIntegrityError,
    _html_error,
)

_HTML_TYPES = ("text/html", "application/xhtml+xml")


class WeightsDownloadError(OSError):
    """A weights file could not be downloaded (HTTP error, network failure).

    Attributes:
        url: the URL that failed.
        status: the HTTP status code, or `None` for a network failure.
    """

    def __init__(
        self, message: str, *, url: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


def _progress(name: str, done: int, total: int | None, end: bool) -> None:
    if total:
        text = (
            f"\rDownloading {name}: {done / 1e6:.1f}/{total / 1e6:.1f} MB "
            f"({100 * done // total}%)"
        )
    else:
        text = f"\rDownloading {name}: {done / 1e6:.1f} MB"
    sys.stderr.write(text + ("\n" if end else ""))
    sys.stderr.flush()


def _stream_to_file(
    response, out, digest, *, total: int | None, name: str, progress: bool
) -> int:
    """Copy `response` into `out`, updating `digest`; return the byte count."""
    done = 0
    while chunk := response.read(_CHUNK_SIZE):
        out.write(chunk)
        digest.update(chunk)
        done += len(chunk)
        if progress:
            _progress(name, done, total, end=False)
    if progress:
        _progress(name, done, total, end=True)
    return done


def _content_length(response) -> int | None:
    value = response.headers.get("Content-Length")
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        return None
    return length if length >= 0 else None


def _http_to_file(
    url: str, out, *, timeout: float, progress: bool, name: str, note: str
) -> str:
    """Download `url` into the open file `out`; return its sha256."""
    request = urllib.request.Request(
        url,
        headers={
            "User-Agent": f"keras-attention/{__version__}",
            "Accept-Encoding": "identity",
        },
    )
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        e.close()
        raise WeightsDownloadError(
            f"Could not download {url}: HTTP {e.code} {e.reason}. Check the "
            f"URL (a 404 means the file is not there), then retry. {note}",
            url=url,
            status=e.code,
        ) from None
    except urllib.error.URLError as e:
        raise WeightsDownloadError(
            f"Could not download {url}: {e.reason}. Check the network "
            f"connection and the URL, then retry. {note}",
            url=url,
        ) from e
    except (OSError, http.client.HTTPException) as e:
        raise WeightsDownloadError(
            f"Could not download {url}: {type(e).__name__}: {e}. Check the "
            f"network connection and the URL, then retry. {note}",
            url=url,
        ) from e

    with response:
        content_type = response.headers.get_content_type()
        if content_type in _HTML_TYPES:
            raise _html_error(url, f"Content-Type: {content_type}", note)
        total = _content_length(response)
        digest = hashlib.sha256()
        try:
            done = _stream_to_file(
                response,
                out,
                digest,
                total=total,
                name=name,
                progress=progress,
            )
        except http.client.IncompleteRead as e:
            done = out.tell()
            expected = total if total is not None else done + (e.expected or 0)
            raise _truncated(url, expected, done, note) from None
        except TimeoutError as e:
            raise WeightsDownloadError(
                f"Download of {url} timed out after {timeout} s with "
                f"{out.tell()} of {total or 'unknown'} bytes received. "
                f"Retry, or raise `timeout`. {note}",
                url=url,
            ) from e
        except (OSError, http.client.HTTPException) as e:
            raise WeightsDownloadError(
                f"Connection lost while downloading {url} after "
                f"{out.tell()} of {total or 'unknown'} bytes "
                f"({type(e).__name__}: {e}). Retry. {note}",
                url=url,
            ) from e
    if total is not None and done != total:
        raise _truncated(url, total, done, note)
    return digest.hexdigest()


def _truncated(
    url: str, expected: int, got: int, note: str
) -> WeightsIntegrityError:
    return WeightsIntegrityError(
        f"Truncated download from {url}: expected {expected} bytes, got "
        f"{got} (the connection closed early). Retry. {note}",
        source=url,
        expected=expected,
        received=got,
    )
