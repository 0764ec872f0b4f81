"""Shared by the Python test suites (browser, tus): a real `ephemera serve` on loopback with a throwaway data
folder, an API helper for setting up what a test is not about, and ffmpeg-made media."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("EPHEMERA_BIN", os.path.join(ROOT, ".build", "debug", "ephemera"))
PASSWORD = "correct horse battery"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


class Server:
    """A real `ephemera serve`. `restart()` starts it again on the same port and data folder."""

    def __init__(self, extra_arguments=(), media_store="file", data_directory=None, scratch_directory=None,
                 environment=None):
        self.directory = tempfile.mkdtemp(prefix="ephemera-pytest-")
        self.data_directory = data_directory or os.path.join(self.directory, "data")
        self.scratch_directory = scratch_directory or os.path.join(self.directory, "scratch")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_arguments = list(extra_arguments)
        self.environment = dict(os.environ)
        if media_store == "s3":
            # The test S3 server script/test started (script/s3), a bucket of this server's own.
            self.environment.update({
                "EPHEMERA_MEDIA_STORE": "s3",
                "EPHEMERA_S3_ENDPOINT": os.environ["EPHEMERA_TEST_S3_ENDPOINT"],
                "EPHEMERA_S3_BUCKET": "pytest-" + uuid.uuid4().hex[:20],
                "EPHEMERA_S3_ACCESS_KEY_ID": os.environ["EPHEMERA_TEST_S3_ACCESS_KEY_ID"],
                "EPHEMERA_S3_SECRET_ACCESS_KEY": os.environ["EPHEMERA_TEST_S3_SECRET_ACCESS_KEY"],
            })
        self.environment.update(environment or {})
        self.log = open(os.path.join(self.directory, "server.log"), "ab")
        self.process = None
        self.start()

    def start(self):
        self.process = subprocess.Popen(
            [BINARY, "serve", "--port", str(self.port), "--data-dir", self.data_directory,
             "--scratch-dir", self.scratch_directory, "--rate-limits", "off",
             "--public-url", self.url, *self.extra_arguments],
            stdout=self.log, stderr=subprocess.STDOUT, env=self.environment)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the server did not become ready; see " + self.log.name)

    def kill(self):
        """SIGKILL: no chance to tidy up, as in a crash."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=20)

    def restart(self):
        self.kill()
        self.start()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()

    def remove(self):
        self.stop()
        if not os.environ.get("EPHEMERA_KEEP_TEST_DATA"):
            shutil.rmtree(self.directory, ignore_errors=True)

    def audit(self):
        """`ephemera audit` on the server's data: (exit status, output)."""
        result = subprocess.run([BINARY, "audit", "--data-dir", self.data_directory],
                                capture_output=True, text=True, env=self.environment)
        return result.returncode, result.stdout + result.stderr

    def log_offset(self):
        """Where the server's log ends now: pass it to `request_paths` to see only what came after."""
        self.log.flush()
        return os.path.getsize(self.log.name)

    def request_paths(self, since=0):
        """The paths of the requests the server logged (one `request` line each) since a `log_offset()`."""
        with open(self.log.name, "rb") as log:
            log.seek(since)
            text = log.read().decode(errors="replace")
        return [match.group(1) for match in re.finditer(r"\bpath=(\S+)", text)]

    def blob(self, segment_id, rendition):
        """The file holding a segment's encrypted rendition on the file media store."""
        for directory, _, files in os.walk(os.path.join(self.data_directory, "media")):
            if os.path.basename(directory) == segment_id and rendition in files:
                return os.path.join(directory, rendition)
        raise AssertionError(f"no stored {rendition} for {segment_id}")

    def promote(self, handle, role="moderator"):
        """`ephemera user promote` on the server's data, as an operator would (beside the running server)."""
        subprocess.run([BINARY, "user", "promote", handle, "--role", role, "--data-dir", self.data_directory],
                       check=True, capture_output=True, env=self.environment)

    # The API, for setting up what a test is not about (accounts, extra segments) and for checking results.
    def api(self, method, path, token=None, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(path if path.startswith("http") else self.url + path, data=data, method=method)
        if token:
            request.add_header("Authorization", "Bearer " + token)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                raw = response.read()
                return response.status, (json.loads(raw) if raw and response.headers.get_content_type() == "application/json" else raw)
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def sign_up(self, handle):
        status, body = self.api("POST", "/api/v1/accounts", body={"handle": handle, "password": PASSWORD})
        assert status == 201, body
        return body["token"]

    def sign_in(self, handle):
        status, body = self.api("POST", "/api/v1/sessions", body={"handle": handle, "password": PASSWORD})
        assert status == 201, body
        return body["token"]

    def post(self, token, path, fields=None):
        boundary = "ephemera-" + uuid.uuid4().hex
        parts = []
        for name, value in (fields or {}).items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        with open(path, "rb") as f:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="media"; filename="{os.path.basename(path)}"\r\n'
                         f'Content-Type: application/octet-stream\r\n\r\n'.encode() + f.read() + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        request = urllib.request.Request(self.url + "/api/v1/stories", data=b"".join(parts), method="POST")
        request.add_header("Authorization", "Bearer " + token)
        request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
        with urllib.request.urlopen(request, timeout=60) as response:
            ids = [segment["id"] for segment in json.loads(response.read())["segments"]]
        for segment_id in ids:
            self.wait_live(token, segment_id)
        return ids

    def post_raw(self, token, path, fields=None, sound=None):
        """`POST /api/v1/stories` with `path` as the media part (and `sound`, a sound part): (status, JSON body),
        whatever the answer."""
        boundary = "ephemera-" + uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                 for k, v in (fields or {}).items()]
        for field, file in (("media", path), ("sound", sound)):
            if file:
                with open(file, "rb") as f:
                    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="upload"\r\n'
                                 f'Content-Type: application/octet-stream\r\n\r\n'.encode() + f.read() + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        request = urllib.request.Request(self.url + "/api/v1/stories", data=b"".join(parts), method="POST")
        request.add_header("Authorization", "Bearer " + token)
        request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw)
            except ValueError:
                return error.code, {"unparsed": raw[:300].decode(errors="replace")}

    def wait_live(self, token, segment_id, timeout=90):
        deadline = time.time() + timeout
        while time.time() < deadline:
            status, body = self.api("GET", f"/api/v1/stories/{segment_id}", token)
            if status == 200 and body["state"] in ("live", "failed"):
                assert body["state"] == "live", body
                return body
            time.sleep(0.3)
        raise AssertionError(f"segment {segment_id} did not go live")
