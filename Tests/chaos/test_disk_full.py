"""A full disk (issue 18): the data folder and the scratch folder each on a small tmpfs of their own. Filled up,
a post fails with a clear 507 (or 503) in the API's error shape and leaves nothing half-made (`ephemera audit`);
when space returns, posting works again without a restart."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pysupport"))
from ephemera_testing import Server, ffmpeg  # noqa: E402


def mount_tmpfs(path, megabytes):
    os.makedirs(path, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m,mode=0700", "tmpfs", path],
                            capture_output=True, text=True)
    return result.returncode == 0, result.stderr.strip()


def fill(path, leave_bytes):
    """Writes a filler file until `leave_bytes` are left free on `path`'s file system."""
    free = shutil.disk_usage(path).free
    filler = os.path.join(path, "filler")
    with open(filler, "wb") as f:
        remaining = max(0, free - leave_bytes)
        chunk = b"\0" * (1 << 20)
        while remaining > 0:
            written = f.write(chunk[:min(len(chunk), remaining)])
            remaining -= written
    return filler


class DiskFullTest(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("mounting a small tmpfs needs root (script/test runs as root here)")
        self.root = tempfile.mkdtemp(prefix="ephemera-diskfull-")
        self.mounts = []
        for name, size in (("data", 48), ("scratch", 48)):
            path = os.path.join(self.root, name)
            ok, error = mount_tmpfs(path, size)
            if not ok:
                self.skipTest(f"cannot mount a tmpfs here: {error}")
            self.mounts.append(path)
        self.clip = os.path.join(self.root, "clip.mp4")
        ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x480:rate=25:duration=3,noise=alls=30:allf=t", "-f", "lavfi",
               "-i", "sine=duration=3", "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "6M", "-pix_fmt", "yuv420p",
               "-c:a", "aac", "-shortest", self.clip)

    def tearDown(self):
        for path in reversed(getattr(self, "mounts", [])):
            subprocess.run(["umount", "-l", path], capture_output=True)
        shutil.rmtree(getattr(self, "root", ""), ignore_errors=True)

    def check_full(self, full_path):
        server = Server(data_directory=os.path.join(self.mounts[0], "ephemera"),
                        scratch_directory=os.path.join(self.mounts[1], "ephemera"))
        try:
            token = server.sign_up("full")
            size = os.path.getsize(self.clip)
            filler = fill(full_path, size // 2)
            status, body = server.post_raw(token, self.clip)
            self.assertIn(status, (507, 503), f"a post on a full disk: {status} {body}")
            error = body.get("error", {})
            self.assertTrue(error.get("code") and len(error.get("message", "")) > 20, body)
            # Nothing half-made: no segment of hers exists, in any state.
            _, mine = server.api("GET", "/api/v1/users/full/story", token)
            self.assertEqual([s for s in mine.get("segments", [])], [], mine)
            # Space returns: posting works again, without a restart.
            os.remove(filler)
            status, body = server.post_raw(token, self.clip)
            self.assertEqual(status, 201, body)
            server.wait_live(token, body["segments"][0]["id"])
        finally:
            server.stop()
        audit_status, audit_output = server.audit()
        self.assertEqual(audit_status, 0, audit_output)

    def test_a_resumable_upload_completed_on_a_full_disk_completes_when_space_returns(self):
        """Its last byte fits in the spool, but the data folder has no room for the post it would become
        (`storage_full` at completion): 507, and the upload is not marked failed, so the client's retried last
        PATCH completes it once space returns."""
        import base64
        import json
        import urllib.request
        server = Server(data_directory=os.path.join(self.mounts[0], "ephemera"),
                        scratch_directory=os.path.join(self.mounts[1], "ephemera"))
        try:
            token = server.sign_up("tusfull")
            data = open(self.clip, "rb").read()

            def call(method, url, body=b"", headers=None):
                request = urllib.request.Request(url if url.startswith("http") else server.url + url, data=body or None,
                                                 method=method)
                for key, value in {"Authorization": "Bearer " + token, "Tus-Resumable": "1.0.0", **(headers or {})}.items():
                    request.add_header(key, value)
                try:
                    with urllib.request.urlopen(request, timeout=120) as response:
                        return response.status, dict(response.headers), response.read()
                except urllib.error.HTTPError as error:
                    return error.code, dict(error.headers), error.read()

            status, headers, _ = call("POST", "/api/v1/uploads", headers={
                "Upload-Length": str(len(data)), "Upload-Metadata": "filename " + base64.b64encode(b"clip.mp4").decode()})
            self.assertEqual(status, 201)
            location = headers["Location"]
            patch = {"Content-Type": "application/offset+octet-stream"}
            last = len(data) - 1
            status, _, _ = call("PATCH", location, data[:last], {**patch, "Upload-Offset": "0"})
            self.assertEqual(status, 204)
            filler = fill(self.mounts[0], 4 << 20)  # room for the last byte, not for the renditions and reserve
            status, _, body = call("PATCH", location, data[last:], {**patch, "Upload-Offset": str(last)})
            self.assertEqual(status, 507, body)
            self.assertEqual(json.loads(body)["error"]["code"], "storage_full")
            status, headers, _ = call("HEAD", location)
            self.assertEqual((status, headers.get("Upload-Offset")), (200, str(len(data))), "every byte was kept")
            _, _, body = call("GET", location)
            self.assertNotIn("failure", json.loads(body or b"{}"), "a full disk is not the file's fault")
            os.remove(filler)
            # The client retries its last PATCH (nothing left to send): the post is made now.
            status, _, body = call("PATCH", location, b"", {**patch, "Upload-Offset": str(len(data))})
            self.assertEqual(status, 204, body)
            _, _, body = call("GET", location)
            segments = json.loads(body).get("segments", [])
            self.assertTrue(segments, body)
            server.wait_live(token, segments[0]["id"])
        finally:
            server.stop()
        audit_status, audit_output = server.audit()
        self.assertEqual(audit_status, 0, audit_output)

    def test_a_full_data_folder_refuses_posts_clearly_and_recovers(self):
        self.check_full(self.mounts[0])

    def test_a_full_scratch_folder_refuses_posts_clearly_and_recovers(self):
        self.check_full(self.mounts[1])


if __name__ == "__main__":
    unittest.main()
