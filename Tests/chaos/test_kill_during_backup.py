"""`ephemera backup --output-dir` killed with SIGKILL at different moments (issue 18): each backup is either whole
(a `backup-*.tar` that restores) or absent (only an interrupted `.partial`/staging leftover, which the next rotating
backup removes once it is older than any backup could still be running); the server beside it is untouched
(`ephemera audit`), and a backup after the kills restores every story."""

import os
import subprocess
import sys
import tarfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pysupport"))
from ephemera_testing import BINARY, Server, ffmpeg  # noqa: E402

KILLS = int(os.environ.get("CHAOS_BACKUP_KILLS", "6"))


def leftovers(directory):
    return sorted(name for name in os.listdir(directory) if name.endswith(".partial") or ".staging-" in name)


def backups(directory):
    return sorted(name for name in os.listdir(directory) if name.startswith("backup-") and name.endswith(".tar"))


class KillDuringBackupTest(unittest.TestCase):
    def test_a_killed_backup_is_whole_or_absent_and_the_next_one_restores(self):
        server = Server()
        output = os.path.join(server.directory, "backups")
        os.makedirs(output)
        try:
            token = server.sign_up("keeper")
            posted = []
            for n in range(3):
                clip = os.path.join(server.directory, f"clip-{n}.mp4")
                ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=640x480:rate=25:duration=4,noise=alls={20 + n}:allf=t",
                       "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "8M", "-pix_fmt", "yuv420p", clip)
                posted.extend(server.post(token, clip))

            command = [BINARY, "backup", "--output-dir", output, "--data-dir", server.data_directory]
            interrupted = 0
            for attempt in range(KILLS):
                before = set(os.listdir(output))
                process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                           env=server.environment)
                # Kill at a different moment each time: while the database snapshot is staged (even attempts),
                # or once the tar is being written (odd ones).
                wanted = ".staging-" if attempt % 2 == 0 else ".partial"
                deadline = time.time() + 30
                while time.time() < deadline and process.poll() is None:
                    if any(wanted in name for name in set(os.listdir(output)) - before):
                        break
                process.kill()
                process.wait(timeout=20)
                new = set(os.listdir(output)) - before
                if any(".partial" in name or ".staging-" in name for name in new):
                    interrupted += 1
                # Whatever stands under a backup's own name is whole: a tar that lists its manifest.
                for name in backups(output):
                    with tarfile.open(os.path.join(output, name)) as archive:
                        self.assertIn("manifest.json", archive.getnames(), name)
            print(f"\n{interrupted} of {KILLS} kills landed mid-backup; {len(backups(output))} backups completed before "
                  "their kill", file=sys.stderr)
            self.assertGreater(interrupted, 0, "at least one kill landed mid-backup")
            self.assertEqual(server.api("GET", "/readyz")[0], 200, "the server beside the backups is unharmed")

            # An orphaned `tar` of a killed backup may still be finishing its .partial: let it, then age every
            # leftover past the longest a backup can run, as if the next backup came hours later.
            deadline = time.time() + 30
            while time.time() < deadline and subprocess.run(["pgrep", "-f", output], capture_output=True).returncode == 0:
                time.sleep(0.1)
            stale = time.time() - 7 * 3600
            for name in leftovers(output):
                os.utime(os.path.join(output, name), (stale, stale))
            kept_before = backups(output)
            result = subprocess.run(command, capture_output=True, text=True, env=server.environment)
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            self.assertEqual(leftovers(output), [], result.stdout)
            latest = (set(backups(output)) - set(kept_before)).pop()

            restored = os.path.join(server.directory, "restored")
            result = subprocess.run([BINARY, "restore-backup", os.path.join(output, latest), "--data-dir", restored,
                                     "--keyring-dir", os.path.join(server.data_directory, "keyring")],
                                    capture_output=True, text=True, env=server.environment)
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            self.assertIn("3 segments", result.stdout)
            copy = Server(data_directory=restored,
                          environment={"EPHEMERA_KEYRING_DIR": os.path.join(server.data_directory, "keyring")})
            try:
                reader = copy.sign_in("keeper")
                for segment_id in posted:
                    status, video = copy.api("GET", f"/media/{segment_id}/video.mp4", token=reader)
                    self.assertEqual(status, 200, segment_id)
                    self.assertGreater(len(video), 100_000, "the restored video decrypts whole")
            finally:
                copy.stop()
            status, audit = copy.audit()
            copy.remove()
            self.assertEqual(status, 0, audit)
        finally:
            server.stop()
        status, output_text = server.audit()
        server.remove()
        self.assertEqual(status, 0, output_text)


if __name__ == "__main__":
    unittest.main()
