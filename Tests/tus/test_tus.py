"""Resumable uploads with the real tus client, tuspy (PyPI), against a real `ephemera serve`: chunks with
checksums, a connection dropped in the middle of a PATCH, and a server killed and restarted mid-upload.
Run by script/tus-test, on the file store and (when script/s3 runs a test server) on S3."""

import os
import socket
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

from tusclient import client as tus
from tusclient.storage import filestorage

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "Tests", "pysupport"))
from ephemera_testing import Server, ffmpeg  # noqa: E402

CHUNK = 64 * 1024


class TusTest(unittest.TestCase):
    """On the file store: spools under the server's data folder."""
    media_store = "file"

    @classmethod
    def setUpClass(cls):
        cls.media = tempfile.mkdtemp(prefix="ephemera-tus-media-")
        cls.video = os.path.join(cls.media, "clip.mp4")
        # Compliant H.264 + AAC: remuxed, so a damaged byte anywhere would show in the result.
        ffmpeg("-f", "lavfi", "-i", "testsrc2=size=720x1280:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
               "-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", cls.video)
        cls.size = os.path.getsize(cls.video)

    def setUp(self):
        self.server = Server(media_store=self.media_store)
        self.token = self.server.sign_up("tus_" + self._testMethodName[-20:].strip("_").lower())
        self.client = tus.TusClient(self.server.url + "/api/v1/uploads",
                                    headers={"Authorization": "Bearer " + self.token})

    def tearDown(self):
        status, output = self.server.audit()
        self.server.remove()
        self.assertEqual(status, 0, output)

    def uploader(self, **options):
        return self.client.uploader(self.video, chunk_size=CHUNK, upload_checksum=True,
                                    metadata={"filename": "clip.mp4", "caption": "Sent with tuspy", "audience": "public"},
                                    **options)

    def head(self, url):
        request = urllib.request.Request(url, method="HEAD", headers={
            "Tus-Resumable": "1.0.0", "Authorization": "Bearer " + self.token})
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.headers["Upload-Offset"])

    def finish(self, uploader):
        """Uploads the rest; the last response names the segments, which go live with our caption."""
        uploader.upload()
        self.assertEqual(uploader.offset, self.size)
        segments = uploader.request.response_headers.get("ephemera-segments", "").split(",")
        self.assertEqual(len(segments), 1, uploader.request.response_headers)
        status, body = self.server.api("GET", uploader.url, self.token)
        self.assertEqual((status, body["complete"]), (200, True))
        self.assertEqual([s["id"] for s in body["segments"]], segments)
        segment = self.server.wait_live(self.token, segments[0])
        self.assertEqual(segment["caption"], "Sent with tuspy")
        self.assertAlmostEqual(segment["durationSeconds"], 4.0, delta=0.2)
        return segment

    def test_options_advertise_the_extensions(self):
        status, _ = self.server.api("OPTIONS", "/api/v1/uploads")
        self.assertEqual(status, 204)

    def test_upload_in_checksummed_chunks(self):
        uploader = self.uploader()
        uploader.upload_chunk()
        uploader.upload_chunk()
        self.assertEqual(uploader.offset, 2 * CHUNK)
        self.assertEqual(self.head(uploader.url), 2 * CHUNK)
        self.finish(uploader)

    def test_a_dropped_connection_resumes_from_the_servers_offset(self):
        uploader = self.uploader()
        uploader.upload_chunk()
        # A PATCH whose connection drops after part of its body: the server keeps what arrived.
        url = urllib.parse.urlparse(uploader.url)
        with open(self.video, "rb") as f:
            f.seek(CHUNK)
            part = f.read(150_000)
        with socket.create_connection((url.hostname, url.port)) as raw:
            raw.sendall((f"PATCH {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nTus-Resumable: 1.0.0\r\n"
                         f"Authorization: Bearer {self.token}\r\nUpload-Offset: {CHUNK}\r\n"
                         f"Content-Type: application/offset+octet-stream\r\nContent-Length: 400000\r\n\r\n").encode())
            raw.sendall(part)
            time.sleep(0.3)
        deadline = time.time() + 10
        while time.time() < deadline and self.head(uploader.url) == CHUNK:
            time.sleep(0.1)
        self.assertEqual(self.head(uploader.url), CHUNK + len(part))

        # A new client for the same URL asks the server where to continue, and finishes.
        resumed = self.client.uploader(self.video, url=uploader.url, chunk_size=CHUNK, upload_checksum=True)
        self.assertEqual(resumed.offset, CHUNK + len(part))
        self.finish(resumed)

    def test_an_upload_survives_a_server_restart(self):
        storage = filestorage.FileStorage(os.path.join(self.server.directory, "tus-urls.json"))
        uploader = self.uploader(store_url=True, url_storage=storage)
        for _ in range(3):
            uploader.upload_chunk()
        self.assertEqual(uploader.offset, 3 * CHUNK)
        self.server.restart()  # SIGKILL, then start again on the same port and data
        # The client finds its upload URL in its storage, asks the server for the offset, and goes on.
        resumed = self.uploader(store_url=True, url_storage=storage)
        self.assertEqual(resumed.url, uploader.url)
        self.assertEqual(resumed.offset, 3 * CHUNK)
        self.finish(resumed)

    def test_uploads_expire_a_day_after_creation_and_can_be_terminated(self):
        uploader = self.uploader()
        uploader.upload_chunk()
        request = urllib.request.Request(uploader.url, method="HEAD", headers={
            "Tus-Resumable": "1.0.0", "Authorization": "Bearer " + self.token})
        with urllib.request.urlopen(request, timeout=30) as response:
            expires = response.headers["Upload-Expires"]
        parsed = time.mktime(time.strptime(expires, "%a, %d %b %Y %H:%M:%S GMT")) - time.timezone
        self.assertAlmostEqual(parsed - time.time(), 24 * 3600, delta=120)
        # Termination removes it at once.
        request = urllib.request.Request(uploader.url, method="DELETE", headers={
            "Tus-Resumable": "1.0.0", "Authorization": "Bearer " + self.token})
        with urllib.request.urlopen(request, timeout=30) as response:
            self.assertEqual(response.status, 204)


@unittest.skipUnless(os.environ.get("EPHEMERA_TEST_S3_ENDPOINT") or os.environ.get("EPHEMERA_REQUIRE_S3"),
                     "no S3 test server (script/s3 start)")
class TusOnS3Test(TusTest):
    """The same, with media and spools in the object store: the restart test then resumes from the bucket."""
    media_store = "s3"


if __name__ == "__main__":
    unittest.main(verbosity=2)
