"""Driver for bench/foundation: posts clips and times them, seeds a tray and measures its latency."""
import argparse, http.client, json, statistics, subprocess, time, uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

p = argparse.ArgumentParser()
p.add_argument("--base"); p.add_argument("--work"); p.add_argument("--authors", type=int, default=1000)
args = p.parse_args()
host = urlparse(args.base)

def call(method, path, token=None, body=None, content_type="application/json", conn=None):
    own = conn is None
    conn = conn or http.client.HTTPConnection(host.hostname, host.port, timeout=600)
    headers = {}
    if token: headers["Authorization"] = "Bearer " + token
    if body is not None:
        if isinstance(body, dict): body = json.dumps(body).encode()
        headers["Content-Type"] = content_type
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse(); data = r.read()
    if own: conn.close()
    return r.status, (json.loads(data) if data and data[:1] in (b"{", b"[") else data)

def sign_up(handle):
    status, body = call("POST", "/api/v1/accounts", body={"handle": handle, "password": "bench password"})
    assert status == 201, body
    return body["token"]

def multipart(path, fields):
    boundary = uuid.uuid4().hex
    out = b""
    for k, v in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
    out += f'--{boundary}\r\nContent-Disposition: form-data; name="media"; filename="f"\r\n\r\n'.encode()
    out += open(path, "rb").read() + f"\r\n--{boundary}--\r\n".encode()
    return out, "multipart/form-data; boundary=" + boundary

def post_and_wait(token, path, fields=None):
    body, ctype = multipart(path, fields or {})
    start = time.monotonic()
    status, res = call("POST", "/api/v1/stories", token, body, ctype)
    assert status == 201, res
    sid = res["segments"][0]["id"]
    while True:
        _, seg = call("GET", f"/api/v1/stories/{sid}", token)
        if seg["state"] != "processing": break
        time.sleep(0.05)
    assert seg["state"] == "live", seg
    return time.monotonic() - start

def bare_ffmpeg(path, copy):
    out = args.work + "/bare.mp4"
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", path, "-map", "0:v:0", "-map", "0:a:0"]
    cmd += (["-c", "copy"] if copy else
            ["-vf", "scale=w='min(1080,iw)':h='min(1920,ih)':force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1",
             "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-profile:v", "high", "-pix_fmt", "yuv420p",
             "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "48000"])
    cmd += ["-map_metadata", "-1", "-movflags", "+faststart", out]
    start = time.monotonic(); subprocess.run(cmd, check=True); return time.monotonic() - start

poster = sign_up("poster")
print("1. 15 s 1080x1920 clip made live (median of 3)")
for name, copy in [("reencode", False), ("compliant", True)]:
    clip = f"{args.work}/{name}.mp4"
    server = statistics.median(post_and_wait(poster, clip) for _ in range(3))
    bare = statistics.median(bare_ffmpeg(clip, copy) for _ in range(3))
    print(f"   {name:9s}: server {server:6.2f} s   bare ffmpeg {bare:6.2f} s   ratio {server / bare:5.2f}")

print(f"2. tray for a viewer following {args.authors} authors with live stories")
viewer = sign_up("viewer")
photo = args.work + "/photo.jpg"
subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240", "-frames:v", "1", photo], check=True)
def seed(i):
    t = sign_up(f"author{i:05d}")
    body, ctype = multipart(photo, {"audience": "followers"})
    assert call("POST", "/api/v1/stories", t, body, ctype)[0] == 201
    assert call("PUT", f"/api/v1/me/following/author{i:05d}", viewer)[0] == 204
with ThreadPoolExecutor(8) as pool: list(pool.map(seed, range(args.authors)))
while True:
    _, tray = call("GET", "/api/v1/tray", viewer)
    if len(tray["items"]) >= args.authors: break
    time.sleep(0.5)

def latency(path, n=300):
    conn = http.client.HTTPConnection(host.hostname, host.port)
    call("GET", path, viewer, conn=conn)
    samples = []
    for _ in range(n):
        s = time.monotonic(); status, _ = call("GET", path, viewer, conn=conn); samples.append(time.monotonic() - s)
        assert status == 200
    samples.sort()
    return statistics.median(samples) * 1000, samples[int(len(samples) * 0.95)] * 1000
tray_p50, tray_p95 = latency("/api/v1/tray")
me_p50, me_p95 = latency("/api/v1/me")
print(f"   GET /api/v1/tray: p50 {tray_p50:7.2f} ms  p95 {tray_p95:7.2f} ms  ({len(tray['items'])} items)")
print(f"   GET /api/v1/me  : p50 {me_p50:7.2f} ms  p95 {me_p95:7.2f} ms  (key lookup baseline)")
print(f"   ratio tray/me p50: {tray_p50 / me_p50:5.1f}")
