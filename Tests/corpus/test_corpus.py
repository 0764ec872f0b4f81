"""The hostile media corpus against a real server (issue 18): every file ends in a specific 4xx with the API's
error shape (or a failed segment with its reason) or in a correct normalised segment; nothing connects to the
port the files point at; nothing served carries metadata; the server never errs, hangs or dies, and its peak
memory is reported. Writes .build/corpus-report.json (the figures README's "Reliability" table quotes)."""

import collections
import concurrent.futures
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pysupport"))
import corpus  # noqa: E402
from ephemera_testing import ROOT, Server  # noqa: E402

WORKERS = 3
SEGMENT_TIMEOUT = 180  # seconds: past every limit the server sets on ffmpeg (a hang is a failure)
ALLOWED_FORMAT_TAGS = {"major_brand", "minor_version", "compatible_brands", "encoder"}
ALLOWED_STREAM_TAGS = {"language", "handler_name", "vendor_id", "encoder"}


class Listener:
    """A TCP port on loopback that counts connections (and closes each at once)."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))  # the SDP file sends RTP here
        self.udp.settimeout(0.2)
        self.datagrams = 0
        self.running = True
        threading.Thread(target=self.accept, daemon=True).start()
        threading.Thread(target=self.receive, daemon=True).start()

    def accept(self):
        while self.running:
            try:
                client, _ = self.socket.accept()
            except OSError:
                return
            self.connections += 1
            client.close()

    def receive(self):
        while self.running:
            try:
                self.udp.recvfrom(65536)
                self.datagrams += 1
            except socket.timeout:
                continue
            except OSError:
                return

    def close(self):
        self.running = False
        self.socket.close()
        self.udp.close()


def post(server, token, entry):
    return server.post_raw(token, entry.path, entry.fields, sound=entry.sound)


def fetch(server, token, url):
    request = urllib.request.Request(url if url.startswith("http") else server.url + url)
    request.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()


def probe(path):
    result = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path],
                            capture_output=True, text=True, timeout=60)
    return json.loads(result.stdout or "{}")


def check_rendition(name, data, kind, directory):
    """Problems with one served rendition: codec, size, and any metadata left in it."""
    problems = []
    if corpus.MARKER in data:
        problems.append(f"{name} carries the marker")
    if b"root:x:0:0" in data:
        problems.append(f"{name} carries /etc/passwd")
    path = os.path.join(directory, uuid.uuid4().hex + "-" + name)
    with open(path, "wb") as f:
        f.write(data)
    info = probe(path)
    os.remove(path)
    streams = info.get("streams", [])
    video = [s for s in streams if s.get("codec_type") == "video"]
    if not video:
        return problems + [f"{name} has no picture"]
    width, height = video[0].get("width", 0), video[0].get("height", 0)
    if not (0 < width <= 1080 and 0 < height <= 1920):
        problems.append(f"{name} is {width}x{height}")
    if kind == "video":
        if video[0].get("codec_name") != "h264" or video[0].get("pix_fmt") != "yuv420p":
            problems.append(f"{name} is {video[0].get('codec_name')}/{video[0].get('pix_fmt')}")
        if width % 2 or height % 2:
            problems.append(f"{name} has odd dimensions {width}x{height}")
        if any(s.get("codec_type") not in ("video", "audio") for s in streams):
            problems.append(f"{name} keeps a {[s.get('codec_type') for s in streams]} stream")
        if any(s.get("codec_type") == "audio" and s.get("codec_name") != "aac" for s in streams):
            problems.append(f"{name} has non-AAC audio")
        if float(info.get("format", {}).get("duration", 0)) > 15.5:
            problems.append(f"{name} lasts {info['format']['duration']} s")
        if data.find(b"moov") > data.find(b"mdat"):
            problems.append(f"{name} is not faststart")
    else:
        if video[0].get("codec_name") != "mjpeg":
            problems.append(f"{name} is {video[0].get('codec_name')}")
        if b"Exif\x00\x00" in data[:65536]:
            problems.append(f"{name} keeps EXIF")
    extra = set(info.get("format", {}).get("tags", {})) - ALLOWED_FORMAT_TAGS
    for stream in streams:
        extra |= set(stream.get("tags", {})) - ALLOWED_STREAM_TAGS
    if extra:
        problems.append(f"{name} keeps metadata {sorted(extra)}")
    return problems


class CorpusTest(unittest.TestCase):
    def test_every_hostile_file_is_refused_or_normalised(self):
        listener = Listener()
        directory = tempfile.mkdtemp(prefix="ephemera-corpus-")
        started = time.time()
        entries = corpus.build(directory, listener.port)
        generated = time.time() - started
        self.assertGreaterEqual(len(entries), 200)
        if os.environ.get("CORPUS_FAMILY"):  # e.g. CORPUS_FAMILY=reference script/corpus-test: one family only
            entries = [entry for entry in entries if entry.family == os.environ["CORPUS_FAMILY"]]
        server = Server()
        tokens = [server.sign_up(f"corpus{n}") for n in range(WORKERS)]
        outcomes = []
        lock = threading.Lock()

        def run(index_entry):
            index, entry = index_entry
            token = tokens[index % WORKERS]
            began = time.time()
            status, body = post(server, token, entry)
            result = {"family": entry.family, "name": entry.name, "expect": entry.expect, "status": status,
                      "problems": []}
            if status == 201:
                states = []
                for segment in body["segments"]:
                    deadline = time.time() + SEGMENT_TIMEOUT
                    while True:
                        _, current = server.api("GET", f"/api/v1/stories/{segment['id']}", token)
                        if current.get("state") in ("live", "failed") or time.time() > deadline:
                            break
                        time.sleep(0.1)
                    states.append(current.get("state"))
                    if current.get("state") == "failed":
                        result["code"] = current.get("failureReason", "")
                        if not current.get("failureReason"):
                            result["problems"].append("failed without a reason")
                    elif current.get("state") == "live":
                        kind = current.get("kind")
                        media = current.get("media", {})
                        for name in ("video", "photo", "poster"):
                            if media.get(name):
                                result["problems"] += check_rendition(f"{name}", fetch(server, token, media[name]),
                                                                      "video" if name == "video" else "image", directory)
                        if current.get("durationSeconds", 0) > 15.5:
                            result["problems"].append(f"lasts {current['durationSeconds']} s")
                        if kind not in ("video", "photo"):
                            result["problems"].append(f"kind {kind}")
                    else:
                        result["problems"].append(f"still {current.get('state')} after {SEGMENT_TIMEOUT} s (a hang)")
                result["outcome"] = "live" if states and all(s == "live" for s in states) else "failed"
            elif 400 <= status < 500:
                error = body.get("error", {}) if isinstance(body, dict) else {}
                result["outcome"] = "refused"
                result["code"] = error.get("code", "")
                if not re.fullmatch(r"[a-z_]+", error.get("code", "")) or len(error.get("message", "")) < 15:
                    result["problems"].append(f"not the error shape: {body}")
            else:
                result["outcome"] = f"HTTP {status}"
                result["problems"].append(f"answered {status}: {body}")
            if entry.expect == "live" and result["outcome"] != "live":
                result["problems"].append(f"expected a live segment, got {result['outcome']} {result.get('code', '')}")
            if entry.expect == "refused" and result["outcome"] == "live":
                result["problems"].append("expected a refusal, but it went live")
            if server.process.poll() is not None:
                result["problems"].append("the server died")
            result["seconds"] = round(time.time() - began, 2)
            with lock:
                outcomes.append(result)

        try:
            with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
                list(pool.map(run, enumerate(entries)))
            status_text = open(f"/proc/{server.process.pid}/status").read()
            peak_mb = int(re.search(r"VmHWM:\s+(\d+)", status_text).group(1)) / 1024
            alive = server.process.poll() is None
            audit_status, audit_output = (None, "")
        finally:
            server.stop()
            listener.close()
        audit_status, audit_output = server.audit()
        server.remove()

        table = collections.defaultdict(collections.Counter)
        codes = collections.Counter()
        for result in outcomes:
            table[result["family"]][result["outcome"]] += 1
            if result.get("code"):
                codes[result["code"]] += 1
        report = {"files": len(outcomes), "families": {f: dict(c) for f, c in sorted(table.items())},
                  "codes": dict(codes.most_common()), "peakServerMB": round(peak_mb, 1),
                  "connectionsToListener": listener.connections, "datagramsToListener": listener.datagrams,
                  "slowestSeconds": max(r["seconds"] for r in outcomes), "generatedSeconds": round(generated, 1),
                  "problems": [r for r in outcomes if r["problems"]],
                  "outcomes": sorted(outcomes, key=lambda r: (r["family"], r["name"]))}
        os.makedirs(os.path.join(ROOT, ".build"), exist_ok=True)
        with open(os.path.join(ROOT, ".build", "corpus-report.json"), "w") as f:
            json.dump(report, f, indent=2)
        print(f"\n{len(outcomes)} files; peak server memory {peak_mb:.0f} MB; slowest {report['slowestSeconds']} s; "
              f"connections to the listener {listener.connections}, datagrams {listener.datagrams}")
        for family, counts in sorted(table.items()):
            print(f"  {family:10} " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
        print("  codes: " + ", ".join(f"{k} {v}" for k, v in codes.most_common()))
        for result in report["problems"]:
            print(f"  PROBLEM {result['family']} / {result['name']}: {result['problems']}")

        self.assertTrue(alive, "the server died")
        self.assertEqual(listener.connections, 0, "something connected to the port the files name")
        self.assertEqual(listener.datagrams, 0, "something sent datagrams to the port the files name")
        self.assertEqual(report["problems"], [])
        self.assertEqual(audit_status, 0, audit_output)
        self.assertLessEqual(peak_mb, 400, "server memory stays bounded")


if __name__ == "__main__":
    unittest.main()
