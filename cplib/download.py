"""Downloading MVTec AD into an MVTec-layout root: streamed, resumable, checksum-verified, each category placed whole.

``python -m cplib download --data DIR`` calls :func:`download_mvtec`. Archives are kept in ``DIR/.downloads``
(delete it to free the space), so asking for more categories later needs no second download.
"""

from __future__ import annotations

import hashlib
import http.client
import lzma
import os
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from tqdm.auto import tqdm

from .errors import DataError
from .staging import remove, remove_stale, temporary

OFFICIAL_URL = (
    "https://www.mydrive.ch/shares/38536/3830184030e49fe74747669442f0f282/download/420938113-1629952094/"
    "mvtec_anomaly_detection.tar.xz"
)
OFFICIAL_SHA256 = "cf4313b13603bec67abb49ca959488f7eedce2a9f7795ec54446c649ac98cd3d"
MVTEC_PAGE = "https://www.mvtec.com/company/research/datasets/mvtec-ad"
MVTEC_CATEGORIES = tuple(
    "bottle cable capsule carpet grid hazelnut leather metal_nut pill screw tile toothbrush transistor wood "
    "zipper".split()
)
URL_ENV = "CPLIB_MVTEC_URL"
CHUNK = 1 << 20
TIMEOUT_S = 60
URL_SCHEMES = ("http", "https", "ftp", "file")
SAFE_EXTRACT = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
ARCHIVE_ERRORS = (tarfile.TarError, EOFError, lzma.LZMAError, zlib.error)


def download_mvtec(
    root: str | Path,
    categories: str | Iterable[str] | None = None,
    url: str | None = None,
    sha256: str | None = None,
    progress: bool = True,
) -> Path:
    """Download MVTec AD categories (all 15 by default) into root, skipping those already there; returns root.

    url defaults to $CPLIB_MVTEC_URL, then the official archive; a single archive is checked against sha256
    (default: the official archive's). A url containing ``{category}`` names one archive per category,
    checked only when sha256 is given. A root this call creates is removed again if it ends empty.

    Parameters
    ----------
    root : str or Path
        The folder to put the category folders in (created if missing).
    categories : str, iterable of str, or None, default None
        The categories to download; None: all 15.
    url : str or None, default None
        The archive's URL, or a template with ``{category}``; None: $CPLIB_MVTEC_URL, else the official archive.
    sha256 : str or None, default None
        The archive's SHA-256 to check; None: the official archive's for a single archive, no check per category.
    progress : bool, default True
        Show a progress bar while downloading.

    Returns
    -------
    Path
        `root`.
    """
    root = Path(root).expanduser()
    if root.exists() and not root.is_dir():
        raise DataError(f"{root} is a file: pass a folder (new or holding MVTec AD categories) to download into")
    url = url or os.environ.get(URL_ENV) or OFFICIAL_URL
    _check_url(url)
    requested = None if categories is None else [categories] if isinstance(categories, str) else list(categories)
    _check_official_names(url, requested)
    missing = [name for name in requested or MVTEC_CATEGORIES if not _present(root, name)]
    created = not root.exists()
    try:
        if "{category}" in url:
            for name in missing:
                _install(_fetch(url.replace("{category}", name), root, sha256, progress, name), root, [name])
        elif missing:
            _install(_fetch(url, root, sha256 or OFFICIAL_SHA256, progress), root, missing if requested else None)
    finally:
        if created and root.is_dir() and not any(root.iterdir()):
            root.rmdir()
    return root


def _check_url(url: str) -> None:
    """Refuse a URL urllib cannot fetch, before anything is created."""
    if urllib.parse.urlsplit(url).scheme.lower() not in URL_SCHEMES:
        schemes = ", ".join(URL_SCHEMES)
        raise DataError(f"--url {url!r} is not a URL: pass an {schemes} address (a local archive as file:///...)")


def _check_official_names(url: str, requested: list[str] | None) -> None:
    """Refuse misspelt categories before a 5 GB download of the official archive."""
    unknown = sorted(set(requested or ()) - set(MVTEC_CATEGORIES))
    if url == OFFICIAL_URL and unknown:
        raise DataError(f"unknown MVTec AD categories: {', '.join(unknown)}: choose from {', '.join(MVTEC_CATEGORIES)}")


def _present(root: Path, category: str) -> bool:
    """Whether a category is already in place (it has train/good)."""
    return (root / category / "train" / "good").is_dir()


def _fetch(url: str, root: Path, sha256: str | None, progress: bool, category: str = "") -> Path:
    """The archive at url, downloaded into <root>/.downloads (resuming a .part file), checked when sha256 is given."""
    name = _archive_name(url)
    archive = root / ".downloads" / (name if category in name else f"{category}-{name}")
    if archive.is_file() and (sha256 is None or _sha256(archive) == sha256.lower()):
        return archive
    part = archive.with_name(archive.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    try:
        _stream(url, part, progress)
    except DataError:
        _remove_if_empty(part)
        raise
    if sha256 is not None and (actual := _sha256(part)) != sha256.lower():
        part.unlink()
        raise DataError(
            f"checksum mismatch for {url}: expected SHA-256 {sha256.lower()}, got {actual}; deleted the download "
            f"{part}. Rerun to download it again (for an archive other than the official one, pass its --sha256, "
            "or sha256= in Python)."
        )
    part.replace(archive)
    return archive


def _remove_if_empty(part: Path) -> None:
    """Delete a download that received nothing, and its .downloads folder if that leaves it empty."""
    if part.exists() and part.stat().st_size == 0:
        part.unlink()
    if not any(part.parent.iterdir()):
        part.parent.rmdir()


def _archive_name(url: str) -> str:
    """The file name at the end of a URL's path."""
    return PurePosixPath(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name or "mvtec_archive"


def _stream(url: str, part: Path, progress: bool) -> None:
    """Append the rest of url to part with a Range request, or start over when the server ignores Range."""
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            resumed = offset > 0 and response.headers.get("Content-Range", "").startswith(f"bytes {offset}-")
            start = offset if resumed else 0
            length = response.headers.get("Content-Length")
            total = start + int(length) if length else None
            bar = tqdm(
                total=total,
                initial=start,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=part.stem,
                disable=not progress,
            )
            with open(part, "ab" if resumed else "wb") as out, bar:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:  # nothing left to send: the .part is whole, the checksum decides
            return
        raise DataError(_manual_route(url, f"the server answered HTTP {error.code} {error.reason}", part)) from None
    except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError) as error:
        raise DataError(_manual_route(url, str(getattr(error, "reason", error)), part)) from None


def _manual_route(url: str, reason: str, part: Path) -> str:
    """The message for a failed download: what failed, whether a rerun resumes, and how to get the data by hand."""
    rerun = "Rerun to resume" if part.exists() and part.stat().st_size > 0 else "Check the connection and rerun"
    return (
        f"cannot download {url} ({reason}). {rerun}, or download MVTec AD in a browser from {MVTEC_PAGE}, "
        "extract the archive, and pass its folder as --data / root (or set CPLIB_DATASET)."
    )


def _sha256(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _install(archive: Path, root: Path, wanted: list[str] | None) -> None:
    """Extract the wanted categories (all when None) beside root, then move each complete category into root."""
    root.mkdir(parents=True, exist_ok=True)
    remove_stale(root)
    scratch = temporary(root)
    scratch.mkdir()
    try:
        _extract(archive, scratch, root, wanted)
        found = _category_folders(scratch)
        absent = sorted(set(wanted or ()) - found.keys())
        if absent:
            names = ", ".join(absent)
            raise DataError(
                f"{archive} has no category {names} (no <category>/train/good): check the names and the URL"
            )
        for name, folder in found.items():
            _place(folder, root / name)
    finally:
        remove(scratch)


def _category_folders(scratch: Path) -> dict[str, Path]:
    """The category folders extracted into scratch, at its top or one folder down, by name."""
    goods = [*scratch.glob("*/train/good"), *scratch.glob("*/*/train/good")]
    return {good.parent.parent.name: good.parent.parent for good in goods if good.is_dir()}


def _extract(archive: Path, scratch: Path, root: Path, wanted: list[str] | None) -> None:
    """Unpack the archive's files of wanted categories not yet in root into scratch, refusing unsafe paths."""
    try:
        with tarfile.open(archive) as tar:
            for member in tar:
                heads = _checked_parts(member, archive)[:2]
                keep = wanted is None or any(head in wanted for head in heads)
                if keep and (member.isfile() or member.isdir()) and not any(_present(root, head) for head in heads):
                    tar.extract(member, scratch, **SAFE_EXTRACT)
    except ARCHIVE_ERRORS as error:
        raise DataError(f"cannot extract {archive}: {error}. Delete the file and rerun to download it again.") from None


def _checked_parts(member: tarfile.TarInfo, archive: Path) -> tuple[str, ...]:
    """A member's path components, or a DataError when the path would leave the extraction folder."""
    parts = PurePosixPath(member.name).parts
    if member.name.startswith("/") or ".." in parts:
        raise DataError(f"refusing to extract {archive}: member {member.name!r} points outside the archive's folder")
    return parts


def _place(folder: Path, target: Path) -> None:
    """Move a complete category folder into place, never over an existing folder."""
    if target.exists():
        raise DataError(f"{target} exists but has no train/good folder: move it away or delete it, then rerun")
    folder.rename(target)
