"""Chaos with nothing lost (issue 18): resumable uploads while the server is killed with SIGKILL and started
again, over and over. Each client speaks tus itself (so it sees every acknowledgement): it sends 32 KiB parts
with their SHA-256, and after every failure asks the server where it is and goes on from there. Checked: no
offset the server acknowledged is ever lost (a HEAD after a restart never answers less), every upload ends in a
live segment whose picture and sound are the very bytes sent (the clips are compliant, so the server copies
their packets: their stream hashes must match), and `ephemera audit` finds no orphan. CHAOS_UPLOADS and
CHAOS_KILLS size it (script/test: 50 and 20; script/chaos: more). Writes .build/chaos-report.json."""

import base64
import concurrent.futures
import hashlib
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pysupport"))
from ephemera_testing import ROOT, Server, ffmpeg  # noqa: E402

UPLOADS = int(os.environ.get("CHAOS_UPLOADS", "50"))
KILLS = int(os.environ.get("CHAOS_KILLS", "20"))
ACCOUNTS = 5
PART = 32 * 1024


def stream_hashes(path):
    """SHA-256 of each stream's packets (not their timestamps): equal when one file's packets were copied."""
    result = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-map", "0", "-c", "copy", "-f", "streamhash",
                             "-hash", "sha256", "-"], capture_output=True, text=True, check=True)
    return result.stdout.strip()


class Upload:
    def __init__(self, server, token, path):
        self.server, self.token, self.path = server, token, path
        with open(path, "rb") as f:
            self.data = f.read()
        self.acknowledged = 0  # the highest offset the server has acknowledged
        # (acknowledged, then reported) whenever the server reported less than it had acknowledged; ("refused",
        # status) when the upload was refused for good
        self.lost = []
        self.retries = 0
        self.location = None
        self.segments = []

    def request(self, method, path, headers=None, body=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=20)
        try:
            connection.request(method, path, body=body, headers={"Tus-Resumable": "1.0.0",
                                                                 "Authorization": "Bearer " + self.token,
                                                                 **(headers or {})})
            response = connection.getresponse()
            response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}
        finally:
            connection.close()

    def retrying(self, attempt):
        """Runs `attempt` until it returns, waiting out a server being killed and started."""
        while True:
            try:
                return attempt()
            except (OSError, http.client.HTTPException):
                self.retries += 1
                time.sleep(0.1 + random.random() * 0.2)

    def run(self, pace):
        metadata = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                            {"filename": os.path.basename(self.path), "audience": "public"}.items())

        def create():
            status, headers = self.request("POST", "/api/v1/uploads", {"Upload-Length": str(len(self.data)),
                                                                       "Upload-Metadata": metadata})
            if status != 201:
                raise OSError(f"creation answered {status}")
            return headers["location"].split("/api/v1/uploads/")[1]
        upload_id = self.retrying(create)
        self.location = "/api/v1/uploads/" + upload_id
        offset = 0
        while True:
            if offset >= len(self.data) and self.segments:
                return self
            part = self.data[offset:offset + PART]
            digest = base64.b64encode(hashlib.sha256(part).digest()).decode()
            try:
                status, headers = self.request("PATCH", self.location, {
                    "Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset),
                    "Upload-Checksum": "sha256 " + digest}, part)
            except (OSError, http.client.HTTPException):
                status, headers = None, {}
            if status == 204:
                offset = int(headers["upload-offset"])
                self.acknowledged = max(self.acknowledged, offset)
                if headers.get("ephemera-segments"):
                    self.segments = headers["ephemera-segments"].split(",")
                time.sleep(pace)
                continue
            if status is not None and 400 <= status < 500 and status not in (409, 429, 460):
                # Refused for good (the upload failed): a lost upload, reported, not retried for ever.
                self.lost.append(("refused", status))
                return self
            # A failure (the server gone, 409, 503…): ask where the server is, and go on from there.
            self.retries += 1

            def where():
                head_status, head = self.request("HEAD", self.location)
                if head_status != 200:
                    raise OSError(f"HEAD answered {head_status}")
                return int(head["upload-offset"])
            time.sleep(0.1)
            reported = self.retrying(where)
            if reported < self.acknowledged:
                self.lost.append((self.acknowledged, reported))
            offset = reported
            if offset >= len(self.data) and not self.segments:
                # Complete on the server before its answer reached us: the status names the segments.
                def segments():
                    status_code, _ = self.request("GET", self.location)
                    connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=20)
                    connection.request("GET", self.location, headers={"Authorization": "Bearer " + self.token})
                    body = json.loads(connection.getresponse().read())
                    connection.close()
                    return [s["id"] for s in body.get("segments", [])]
                self.segments = self.retrying(segments)
                if not self.segments:
                    time.sleep(0.2)


class ChaosTest(unittest.TestCase):
    def test_uploads_survive_repeated_kills_with_nothing_lost(self):
        directory = tempfile.mkdtemp(prefix="ephemera-chaos-")
        clips = []
        for n in range(UPLOADS):
            path = os.path.join(directory, f"clip-{n}.mp4")
            # Compliant (H.264 yuv420p + AAC), so the server copies the packets; noise makes each about 400 KB.
            ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=25:duration=2,noise=alls={20 + n % 30}:allf=t",
                   "-f", "lavfi", "-i", f"sine=frequency={300 + n * 7}:duration=2", "-c:v", "libx264", "-preset",
                   "ultrafast", "-b:v", "1500k", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", path)
            clips.append(path)
        server = Server()
        tokens = [server.sign_up(f"chaos{n}") for n in range(ACCOUNTS)]
        uploads = [Upload(server, tokens[n % ACCOUNTS], path) for n, path in enumerate(clips)]
        total = sum(len(u.data) for u in uploads)
        kills = 0
        started = time.time()
        try:
            with concurrent.futures.ThreadPoolExecutor(UPLOADS) as pool:
                # Paced so the uploads span the kills: each part waits a moment after its acknowledgement.
                futures = [pool.submit(u.run, 0.25 + random.random() * 0.25) for u in uploads]
                rng = random.Random(18)
                while kills < KILLS:
                    time.sleep(0.2 + rng.random() * 0.6)
                    server.restart()  # SIGKILL, then start again on the same data
                    kills += 1
                for future in futures:
                    future.result(timeout=600)
            upload_seconds = time.time() - started

            # Every upload is a segment; processing (interrupted too) finishes after the last restart.
            identical = 0
            problems = []
            for upload in uploads:
                if upload.lost:
                    problems.append(f"{upload.path}: acknowledged offsets lost {upload.lost}")
                if len(upload.segments) != 1:
                    problems.append(f"{upload.path}: segments {upload.segments}")
                    continue
                segment = server.wait_live(upload.token, upload.segments[0], timeout=180)
                served = os.path.join(directory, "served-" + os.path.basename(upload.path))
                status, body = server.api("GET", segment["media"]["video"], upload.token)
                self.assertEqual(status, 200)
                with open(served, "wb") as f:
                    f.write(body)
                if stream_hashes(served) == stream_hashes(upload.path):
                    identical += 1
                else:
                    problems.append(f"{upload.path}: the served packets differ from those sent")
        finally:
            server.stop()
        audit_status, audit_output = server.audit()
        server.remove()
        report = {"uploads": UPLOADS, "kills": kills, "bytesSent": total, "identical": identical,
                  "acknowledgedOffsetsLost": sum(len(u.lost) for u in uploads),
                  "retries": sum(u.retries for u in uploads), "uploadSeconds": round(upload_seconds, 1),
                  "auditClean": audit_status == 0, "problems": problems}
        os.makedirs(os.path.join(ROOT, ".build"), exist_ok=True)
        with open(os.path.join(ROOT, ".build", "chaos-report.json"), "w") as f:
            json.dump(report, f, indent=2)
        print(f"\n{UPLOADS} uploads ({total:,} bytes) through {kills} kills in {upload_seconds:.0f} s: "
              f"{identical} byte-identical, {report['acknowledgedOffsetsLost']} acknowledged offsets lost, "
              f"{report['retries']} retries, audit {'clean' if audit_status == 0 else 'NOT clean'}")
        self.assertEqual(problems, [])
        self.assertEqual(identical, UPLOADS)
        self.assertEqual(kills, KILLS)
        self.assertEqual(audit_status, 0, audit_output)


if __name__ == "__main__":
    unittest.main()
