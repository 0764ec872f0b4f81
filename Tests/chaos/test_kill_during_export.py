"""A server killed with SIGKILL while it streams an export (issue 18): nothing is left behind (`ephemera audit`),
and after the restart the same export completes, whole and valid."""

import http.client
import io
import os
import sys
import unittest
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pysupport"))
from ephemera_testing import Server, ffmpeg  # noqa: E402


class KillDuringExportTest(unittest.TestCase):
    def test_an_export_cut_by_a_kill_leaves_nothing_and_completes_after_restart(self):
        server = Server()
        try:
            token = server.sign_up("exporter")
            for n in range(3):
                clip = os.path.join(server.directory, f"clip-{n}.mp4")
                ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=640x480:rate=25:duration=3,noise=alls={20 + n}:allf=t",
                       "-f", "lavfi", "-i", "sine=duration=3", "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "4M",
                       "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", clip)
                server.post(token, clip)

            def export():
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
                connection.request("GET", "/api/v1/me/export", headers={"Authorization": "Bearer " + token})
                return connection, connection.getresponse()

            connection, response = export()
            self.assertEqual(response.status, 200)
            self.assertEqual(len(response.read(64 * 1024)), 64 * 1024, "the export was under way")
            server.restart()  # SIGKILL mid-stream, then start again on the same data
            connection.close()

            connection, response = export()
            self.assertEqual(response.status, 200)
            archive = zipfile.ZipFile(io.BytesIO(response.read()))
            connection.close()
            self.assertIsNone(archive.testzip(), "every entry of the export after the restart is whole")
            self.assertEqual(len([n for n in archive.namelist() if n.endswith(".mp4")]), 3, archive.namelist())
        finally:
            server.stop()
        status, output = server.audit()
        server.remove()
        self.assertEqual(status, 0, output)


if __name__ == "__main__":
    unittest.main()
