"""The MVTec AD download helper against small archives served from file:// URLs and a loopback HTTP server only."""

from __future__ import annotations

import hashlib
import io
import socket
import tarfile
import threading
import urllib.error
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import cplib.download as download
from cplib.data import list_categories, load_split
from cplib.download import MVTEC_PAGE, OFFICIAL_URL, download_mvtec
from cplib.errors import DataError

LOOPBACK = "127.0.0.1"
DEAD_PID = 2**31 - 1  # above any pid_max: no process has this id


class ArchiveServer(ThreadingHTTPServer):
    """Serves fixed bytes by path on loopback, honouring Range when asked, and records what it was asked for."""

    def __init__(self, files: dict[str, bytes]) -> None:
        super().__init__((LOOPBACK, 0), RangeHandler)
        self.files = files
        self.honour_range = True
        self.requests: list[tuple[str, str | None]] = []
        self.sent = 0

    def url(self, path: str) -> str:
        """The http:// address of a served path."""
        return f"http://{LOOPBACK}:{self.server_address[1]}{path}"


class RangeHandler(BaseHTTPRequestHandler):
    """GET with optional 'Range: bytes=N-' support, as file hosts do."""

    server: ArchiveServer

    def do_GET(self) -> None:
        body, asked = self.server.files.get(self.path), self.headers.get("Range")
        self.server.requests.append((self.path, asked))
        if body is None:
            self.send_error(404)
            return
        start = int(asked.removeprefix("bytes=").removesuffix("-")) if asked and self.server.honour_range else 0
        if start and start >= len(body):
            self.send_error(416)
            return
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        self.wfile.write(body[start:])
        self.server.sent += len(body) - start

    def log_message(self, *args: object) -> None:
        """Keep test output quiet."""


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy, no configured URL, and any connection to an address other than loopback fails the test."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", download.URL_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    connect = socket.create_connection

    def loopback_connection(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
        assert address[0] in (LOOPBACK, "localhost"), f"test tried to reach {address[0]}"
        return connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", loopback_connection)


@pytest.fixture
def archive(tmp_path: Path, mvtec) -> bytes:
    """A tar.xz in MVTec layout with two small categories, cat_a and cat_b."""
    return make_archive(tmp_path / "source", mvtec, ["cat_a", "cat_b"])


@pytest.fixture
def server(archive: bytes, tmp_path: Path, mvtec) -> Iterator[ArchiveServer]:
    """A loopback HTTP server holding the two-category archive and one archive per category."""
    per_category = {f"/{name}.tar.xz": make_archive(tmp_path / name, mvtec, [name]) for name in ("cat_a", "cat_b")}
    httpd = ArchiveServer({"/mvtec.tar.xz": archive, **per_category})
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def make_archive(source: Path, mvtec, categories: list[str], top: str = "") -> bytes:
    """The bytes of a tar.xz holding small MVTec-layout categories, under an optional top folder."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:xz") as tar:
        for name in categories:
            tar.add(
                mvtec.category(source, name, shape=(8, 8), train=2, test={"good": 1, "crack": 1}), arcname=top + name
            )
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    """The hex SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def files(folder: Path) -> dict[str, bytes]:
    """Every file under folder by relative path, with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_file_url_downloads_checks_and_extracts_every_category(tmp_path: Path, archive: bytes) -> None:
    served = tmp_path / "served" / "mvtec.tar.xz"
    served.parent.mkdir()
    served.write_bytes(archive)
    root = tmp_path / "mvtec"
    assert download_mvtec(root, url=served.as_uri(), sha256=sha256(archive), progress=False) == root
    assert list_categories(root) == ["cat_a", "cat_b"]
    assert files(root / "cat_a") == files(tmp_path / "source" / "cat_a")
    assert load_split(root, "cat_b", "test", size=8).labels.tolist() == [1, 0]
    assert (root / ".downloads" / "mvtec.tar.xz").read_bytes() == archive
    assert not list((root / ".downloads").glob("*.part"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mvtec", "served", "source"]


def test_http_download_takes_the_url_from_the_environment(
    tmp_path: Path, server: ArchiveServer, archive: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(download.URL_ENV, server.url("/mvtec.tar.xz"))
    root = download_mvtec(tmp_path / "mvtec", categories=["cat_b"], sha256=sha256(archive), progress=True)
    assert list_categories(root) == ["cat_b"]
    assert server.requests == [("/mvtec.tar.xz", None)]


def test_checksum_mismatch_deletes_the_download(tmp_path: Path, server: ArchiveServer) -> None:
    root = tmp_path / "mvtec"
    with pytest.raises(DataError, match="checksum mismatch.*deleted"):
        download_mvtec(root, url=server.url("/mvtec.tar.xz"), sha256="0" * 64, progress=False)
    assert list((root / ".downloads").iterdir()) == []
    assert list_categories(root) == []


def test_a_single_archive_is_checked_against_the_official_checksum_by_default(
    tmp_path: Path, server: ArchiveServer
) -> None:
    with pytest.raises(DataError, match=f"expected SHA-256 {download.OFFICIAL_SHA256}"):
        download_mvtec(tmp_path / "mvtec", url=server.url("/mvtec.tar.xz"), progress=False)


def test_resumes_a_partial_download_with_a_range_request(tmp_path: Path, server: ArchiveServer, archive: bytes) -> None:
    root = tmp_path / "mvtec"
    half = len(archive) // 2
    (root / ".downloads").mkdir(parents=True)
    (root / ".downloads" / "mvtec.tar.xz.part").write_bytes(archive[:half])
    download_mvtec(root, url=server.url("/mvtec.tar.xz"), sha256=sha256(archive), progress=False)
    assert server.requests == [("/mvtec.tar.xz", f"bytes={half}-")]
    assert server.sent == len(archive) - half
    assert list_categories(root) == ["cat_a", "cat_b"]


def test_restarts_when_the_server_ignores_range(tmp_path: Path, server: ArchiveServer, archive: bytes) -> None:
    root = tmp_path / "mvtec"
    (root / ".downloads").mkdir(parents=True)
    (root / ".downloads" / "mvtec.tar.xz.part").write_bytes(b"\xff" * (len(archive) // 2))
    server.honour_range = False
    download_mvtec(root, url=server.url("/mvtec.tar.xz"), sha256=sha256(archive), progress=False)
    assert server.sent == len(archive)
    assert (root / ".downloads" / "mvtec.tar.xz").read_bytes() == archive
    assert list_categories(root) == ["cat_a", "cat_b"]


def test_a_whole_part_file_answered_416_is_used(tmp_path: Path, server: ArchiveServer, archive: bytes) -> None:
    root = tmp_path / "mvtec"
    (root / ".downloads").mkdir(parents=True)
    (root / ".downloads" / "mvtec.tar.xz.part").write_bytes(archive)
    download_mvtec(root, url=server.url("/mvtec.tar.xz"), sha256=sha256(archive), progress=False)
    assert server.sent == 0
    assert list_categories(root) == ["cat_a", "cat_b"]


def test_categories_already_present_are_skipped(tmp_path: Path, server: ArchiveServer, archive: bytes, mvtec) -> None:
    root = tmp_path / "mvtec"
    mine = mvtec.category(root, "cat_a", shape=(5, 5), train=1, test={"good": 1})
    before = files(mine)
    download_mvtec(
        root, categories=["cat_a", "cat_b"], url=server.url("/mvtec.tar.xz"), sha256=sha256(archive), progress=False
    )
    assert files(mine) == before
    assert list_categories(root) == ["cat_a", "cat_b"]
    server.requests.clear()
    download_mvtec(root, categories=["cat_a", "cat_b"], url=server.url("/nothing-to-fetch.tar.xz"), progress=False)
    assert server.requests == []


def test_category_template_fetches_one_archive_per_missing_category(
    tmp_path: Path, server: ArchiveServer, mvtec
) -> None:
    root = tmp_path / "mvtec"
    mvtec.category(root, "cat_a", shape=(5, 5), train=1, test={"good": 1})
    download_mvtec(root, categories=["cat_a", "cat_b"], url=server.url("/{category}.tar.xz"), progress=False)
    assert server.requests == [("/cat_b.tar.xz", None)]
    assert list_categories(root) == ["cat_a", "cat_b"]
    assert (root / ".downloads" / "cat_b.tar.xz").is_file()


def test_archive_with_a_top_folder_is_unwrapped(tmp_path: Path, mvtec) -> None:
    served = tmp_path / "wrapped.tar.xz"
    served.write_bytes(make_archive(tmp_path / "source", mvtec, ["cat_a"], top="mvtec_anomaly_detection/"))
    checksum = sha256(served.read_bytes())
    root = download_mvtec(
        tmp_path / "mvtec", categories=["cat_a"], url=served.as_uri(), sha256=checksum, progress=False
    )
    assert list_categories(root) == ["cat_a"]
    assert not (root / "mvtec_anomaly_detection").exists()


def test_a_single_category_may_be_named_as_a_string(tmp_path: Path, server: ArchiveServer, archive: bytes) -> None:
    download_mvtec(tmp_path / "mvtec", "cat_a", url=server.url("/mvtec.tar.xz"), sha256=sha256(archive), progress=False)
    assert list_categories(tmp_path / "mvtec") == ["cat_a"]


def test_a_category_missing_from_the_archive_is_named(tmp_path: Path, server: ArchiveServer, archive: bytes) -> None:
    with pytest.raises(DataError, match="no category cat_z"):
        download_mvtec(
            tmp_path / "mvtec", ["cat_z"], url=server.url("/mvtec.tar.xz"), sha256=sha256(archive), progress=False
        )
    assert list_categories(tmp_path / "mvtec") == []


def test_unsafe_member_paths_are_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:xz") as tar:
        tar.addfile(tarfile.TarInfo("../escaped.txt"), io.BytesIO(b""))
    served = tmp_path / "evil.tar.xz"
    served.write_bytes(buffer.getvalue())
    with pytest.raises(DataError, match="refusing to extract"):
        download_mvtec(tmp_path / "a" / "mvtec", url=served.as_uri(), sha256=sha256(buffer.getvalue()), progress=False)
    assert not list(tmp_path.rglob("escaped.txt"))


def test_a_broken_archive_names_the_file(tmp_path: Path, server: ArchiveServer) -> None:
    server.files["/broken.tar.xz"] = b"not an archive at all"
    with pytest.raises(DataError, match=r"cannot extract .*broken.tar.xz"):
        download_mvtec(tmp_path / "mvtec", categories=["broken"], url=server.url("/{category}.tar.xz"), progress=False)
    assert list_categories(tmp_path / "mvtec") == []


def test_offline_names_the_manual_route(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(DataError) as caught:
        download_mvtec(tmp_path / "mvtec", url=f"http://{LOOPBACK}:{closed_port}/mvtec.tar.xz", progress=False)
    message = str(caught.value)
    for words in (f"{LOOPBACK}:{closed_port}", MVTEC_PAGE, "--data", "CPLIB_DATASET"):
        assert words in message


def test_http_error_names_the_status_and_the_manual_route(tmp_path: Path, server: ArchiveServer) -> None:
    with pytest.raises(DataError, match=f"HTTP 404.*{MVTEC_PAGE}"):
        download_mvtec(tmp_path / "mvtec", url=server.url("/gone.tar.xz"), progress=False)


def test_the_official_archive_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def offline(request, timeout: float) -> None:
        asked.append(request.full_url)
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(download.urllib.request, "urlopen", offline)
    with pytest.raises(DataError, match="no network in tests"):
        download_mvtec(tmp_path / "mvtec", categories=["bottle"], progress=False)
    assert asked == [OFFICIAL_URL]


def test_misspelt_official_categories_fail_before_downloading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(download.urllib.request, "urlopen", pytest.fail)
    with pytest.raises(DataError, match="unknown MVTec AD categories: bottel"):
        download_mvtec(tmp_path / "mvtec", categories=["bottel", "screw"], progress=False)


def closed_port_url() -> str:
    """An http:// address on loopback where nothing listens: a download that receives nothing."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return f"http://{LOOPBACK}:{probe.getsockname()[1]}/mvtec.tar.xz"


def test_offline_with_nothing_downloaded_promises_no_resume_and_leaves_no_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        download_mvtec(tmp_path / "mvtec", url=closed_port_url(), progress=False)
    assert "resume" not in str(caught.value) and "Check the connection and rerun" in str(caught.value)
    assert not (tmp_path / "mvtec" / ".downloads").exists()


def test_offline_with_a_partial_download_keeps_it_and_says_rerun_resumes(tmp_path: Path) -> None:
    part = tmp_path / "mvtec" / ".downloads" / "mvtec.tar.xz.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"first bytes")
    with pytest.raises(DataError, match="Rerun to resume"):
        download_mvtec(tmp_path / "mvtec", url=closed_port_url(), progress=False)
    assert part.read_bytes() == b"first bytes"


def test_data_pointing_at_a_file_is_refused_before_downloading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(download.urllib.request, "urlopen", pytest.fail)
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    with pytest.raises(DataError, match=r"notes.txt is a file: pass a folder"):
        download_mvtec(target, categories=["bottle"], progress=False)
    assert target.read_text() == "mine"


def test_extraction_leftovers_of_a_dead_run_are_removed(tmp_path: Path, archive: bytes) -> None:
    (tmp_path / "archive.tar.xz").write_bytes(archive)
    stale = tmp_path / f".mvtec.tmp-{DEAD_PID}" / "cat_a"
    stale.mkdir(parents=True)
    download_mvtec(
        tmp_path / "mvtec", url=(tmp_path / "archive.tar.xz").as_uri(), sha256=sha256(archive), progress=False
    )
    assert list_categories(tmp_path / "mvtec") == ["cat_a", "cat_b"]
    assert not list(tmp_path.glob(".mvtec.tmp-*"))
