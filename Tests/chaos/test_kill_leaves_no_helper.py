"""A server killed with SIGKILL mid-transcode leaves its ffmpeg running (nothing stops a child when its parent
dies that way); the next server on the same scratch folder kills it before it sweeps the folder, and the post
still goes live (issue 18: a kill at any point leaves nothing behind)."""

import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pysupport"))
from ephemera_testing import Server, ffmpeg  # noqa: E402


def helpers(directory):
    """Processes whose arguments name a path in `directory`."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                arguments = f.read().split(b"\0")
        except OSError:
            continue
        if any(argument.startswith(prefix + directory.encode() + b"/") for argument in arguments[1:] for prefix in (b"", b"file:")):
            found.append(int(pid))
    return found


class KillLeavesNoHelperTest(unittest.TestCase):
    def test_the_next_server_kills_the_ffmpeg_a_killed_one_left(self):
        server = Server()
        try:
            token = server.sign_up("encoder")
            clip = os.path.join(server.directory, "long.mp4")
            # Long enough that the server's encode takes seconds: 15 s of 1080x1920 in a codec it re-encodes.
            ffmpeg("-f", "lavfi", "-i", "testsrc2=size=1080x1920:rate=30:duration=15", "-c:v", "mpeg4", "-q:v", "8", clip)
            status, body = server.post_raw(token, clip)
            self.assertEqual(status, 201, body)
            segment = body["segments"][0]["id"]
            deadline = time.time() + 60
            while time.time() < deadline and not helpers(server.scratch_directory):
                time.sleep(0.05)
            self.assertTrue(helpers(server.scratch_directory), "the encode started")
            server.kill()
            left = helpers(server.scratch_directory)
            self.assertTrue(left, "a SIGKILLed server's ffmpeg goes on by itself (the reason for this test)")
            server.start()
            deadline = time.time() + 10
            while time.time() < deadline and set(helpers(server.scratch_directory)) & set(left):
                time.sleep(0.1)
            self.assertEqual(set(helpers(server.scratch_directory)) & set(left), set(), "the orphaned ffmpeg was killed")
            server.wait_live(token, segment, timeout=180)
        finally:
            server.stop()
        status, output = server.audit()
        server.remove()
        self.assertEqual(status, 0, output)


if __name__ == "__main__":
    unittest.main()
