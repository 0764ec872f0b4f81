"""The hostile media corpus (issue 18), generated at test time: nothing binary is committed. Every entry is a
file a stranger could upload, in families: truncations and corruptions of valid files, lying headers,
polyglots, files that name other files or URLs (aimed at a port the test listens on), decode bombs, formats
that are valid but unusual, and files carrying metadata that must not survive. `build(directory, listener_port)`
writes them and returns the entries."""

import io
import os
import random
import struct
import subprocess
import zlib

MARKER = b"EPHEMERA-CORPUS-MARKER"


class Entry:
    """One upload: `path` (the media part), `sound` (an optional sound part), `expect`: "refused" (must end in a
    specific 4xx or a failed segment), "live" (must become a correct normalised segment) or "either"."""

    def __init__(self, family, name, path, expect="either", sound=None, fields=None):
        self.family, self.name, self.path, self.expect, self.sound = family, name, path, expect, sound
        self.fields = fields or {}


def read(path):
    with open(path, "rb") as f:
        return f.read()


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def box(kind, payload):
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width, height, rows=None, extra=b""):
    """A PNG declaring width x height, with `rows` of pixel data (default: one tiny compressed row)."""
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    data = png_chunk(b"IDAT", zlib.compress(rows if rows is not None else b"\x00" * (1 + 3 * min(width, 64))))
    return b"\x89PNG\r\n\x1a\n" + header + extra + data + png_chunk(b"IEND", b"")


def build(directory, port):
    os.makedirs(directory, exist_ok=True)
    entries = []
    url = f"http://127.0.0.1:{port}"

    def write(name, data):
        path = os.path.join(directory, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def make(name, *args):
        path = os.path.join(directory, name)
        ffmpeg(*args, path)
        return path

    def add(family, name, path, expect="either", **kw):
        entries.append(Entry(family, name, path, expect, **kw))

    # Valid bases, small so the corpus runs in minutes.
    src = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1", "-f", "lavfi", "-i",
           "sine=frequency=440:duration=1"]
    bases = {
        "mp4": make("base.mp4", *src, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    "-shortest"),
        "mov": make("base.mov", *src, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    "-shortest"),
        "webm": make("base.webm", *src, "-c:v", "libvpx", "-b:v", "300k", "-deadline", "realtime", "-c:a", "libvorbis",
                     "-shortest"),
        "mkv": make("base.mkv", *src, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    "-shortest"),
        "ts": make("base.ts", *src, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
                   "-shortest"),
        "jpeg": make("base.jpg", "-f", "lavfi", "-i", "testsrc2=size=640x480", "-frames:v", "1"),
        "png": make("base.png", "-f", "lavfi", "-i", "testsrc2=size=640x480", "-frames:v", "1"),
        "webp": make("base.webp", "-f", "lavfi", "-i", "testsrc2=size=640x480", "-frames:v", "1", "-c:v", "libwebp"),
        "gif": make("base.gif", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=1"),
    }
    # MPEG-TS and GIF are not among the containers Ephemera takes (MediaRules): refused with unsupported_media.
    for kind, path in bases.items():
        add("valid", f"valid {kind}", path, "refused" if kind in ("ts", "gif") else "live")

    # 1. Truncations at every 10 %.
    for kind, path in bases.items():
        data = read(path)
        for tenth in range(1, 10):
            add("truncated", f"{kind} cut at {tenth * 10} %",
                write(f"truncated-{tenth}0.{kind}", data[: len(data) * tenth // 10]))

    # 2. Corruptions: bytes overwritten at random (fixed seeds) past the first 64.
    for kind, path in bases.items():
        data = read(path)
        for seed in range(4):
            rng = random.Random(seed * 7919 + len(data))
            broken = bytearray(data)
            for _ in range(24):
                broken[rng.randrange(64, len(broken))] = rng.randrange(256)
            add("corrupted", f"{kind} with 24 bytes overwritten (seed {seed})", write(f"corrupted-{seed}.{kind}", bytes(broken)))

    mp4 = read(bases["mp4"])
    jpeg = read(bases["jpeg"])
    pngdata = read(bases["png"])
    gif = read(bases["gif"])

    # 3. Containers: moov-less, moov at the end, lying or wrong headers.
    faststart = make("faststart.mp4", "-i", bases["mp4"], "-c", "copy", "-movflags", "+faststart")
    add("container", "mp4 with moov first (faststart)", faststart, "live")
    add("container", "mp4 with moov at the end", bases["mp4"], "live")
    moov = mp4.find(b"moov") - 4
    add("container", "mp4 without its moov box", write("moovless.mp4", mp4[:moov] + mp4[moov + struct.unpack(">I", mp4[moov:moov + 4])[0]:]), "refused")
    add("container", "mp4 whose moov is renamed free (ffmpeg finds it)", write("moov-free.mp4", mp4.replace(b"moov", b"free", 1)))
    add("container", "mp4 whose mdat is renamed free", write("mdatless.mp4", mp4.replace(b"mdat", b"free", 1)))
    add("container", "ftyp then random bytes",
        write("ftyp-random.mp4", box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2") + random.Random(1).randbytes(4096)), "refused")
    add("container", "mp4 ftyp claiming quicktime", write("lying-brand.mov", mp4.replace(b"isom", b"qt  ", 1)))
    add("container", "EBML header then junk", write("ebml-junk.webm", b"\x1a\x45\xdf\xa3" + random.Random(2).randbytes(2048)), "refused")
    add("container", "random bytes", write("random.bin", random.Random(3).randbytes(8192)), "refused")
    add("container", "zeros", write("zeros.bin", bytes(8192)), "refused")
    add("container", "plain text", write("text.txt", b"just some words, not a picture\n" * 50), "refused")
    add("container", "an ELF executable", write("program.mp4", read("/bin/true")), "refused")
    add("container", "a ZIP file", write("archive.zip", zip_bytes()), "refused")
    add("container", "PNG signature then JPEG", write("png-then-jpeg.png", b"\x89PNG\r\n\x1a\n" + jpeg))
    add("container", "JPEG signature then random", write("jpeg-random.jpg", b"\xff\xd8\xff\xe0" + random.Random(4).randbytes(4096)), "refused")
    add("container", "a PDF", write("doc.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"), "refused")
    add("container", "an SVG with a script", write("image.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), "refused")
    add("container", "an HTML page", write("page.html", b"<!doctype html><html><body><script>alert(1)</script></body></html>"), "refused")
    add("container", "an empty moov box", write("empty-moov.mp4", box(b"ftyp", b"isom\x00\x00\x02\x00isom") + box(b"moov", b"")), "refused")
    add("container", "a box claiming 4 GB", write("huge-box.mp4", box(b"ftyp", b"isom\x00\x00\x02\x00isom") + b"\xff\xff\xff\xffmdat" + bytes(64)), "refused")

    # 4. Polyglots: each is either refused or served only as our re-encoded derivative.
    add("polyglot", "JPEG with a ZIP appended", write("jpeg-zip.jpg", jpeg + zip_bytes()))
    add("polyglot", "JPEG with HTML appended", write("jpeg-html.jpg", jpeg + b"<html><script>alert(1)</script></html>"))
    add("polyglot", "HTML then a JPEG", write("html-jpeg.jpg", b"<html><script>alert(1)</script></html>" + jpeg))
    add("polyglot", "MP4 with an HTML prefix", write("html-mp4.mp4", b"<html><script>alert(1)</script></html>\n" + mp4))
    add("polyglot", "GIF with a ZIP appended (GIFAR)", write("gifar.gif", gif + zip_bytes()))
    add("polyglot", "PNG with HTML after IEND", write("png-html.png", pngdata + b"<script>alert(1)</script>"))
    add("polyglot", "JPEG with HTML in a comment", write("jpeg-comment.jpg", jpeg[:2] + b"\xff\xfe" + struct.pack(">H", 42) + b"<script>alert(1)</script>" + bytes(15) + jpeg[2:]))
    add("polyglot", "PDF header then a JPEG", write("pdf-jpeg.jpg", b"%PDF-1.4\n" + jpeg))

    # 5. Files that name other files or URLs: every one aimed at the listener or at local files.
    def playlist(lines):
        return ("#EXTM3U\n#EXT-X-TARGETDURATION:4\n" + "".join(f"#EXTINF:4.0,\n{line}\n" for line in lines)
                + "#EXT-X-ENDLIST\n").encode()

    references = {
        "HLS playlist with http segments": playlist([f"{url}/a.ts", f"{url}/b.ts"]),
        "HLS playlist with file: segments": playlist(["file:///etc/passwd"]),
        "HLS playlist with a bare local path": playlist(["/etc/passwd"]),
        "HLS playlist with ../ paths": playlist(["../../../../../../etc/passwd"]),
        "HLS playlist with concat:": playlist(["concat:/etc/passwd|/etc/hostname"]),
        "HLS playlist with subfile:": playlist(["subfile,,start,0,end,128,,:/etc/passwd"]),
        "HLS playlist with an http key": (f'#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-KEY:METHOD=AES-128,URI="{url}/key"\n'
                                           f"#EXTINF:4.0,\n{url}/c.ts\n#EXT-X-ENDLIST\n").encode(),
        "HLS playlist with an http init map": (f'#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MAP:URI="{url}/init.mp4"\n'
                                                f"#EXTINF:4.0,\n{url}/d.m4s\n#EXT-X-ENDLIST\n").encode(),
        "HLS master playlist with an http variant": f"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\n{url}/variant.m3u8\n".encode(),
        "ffconcat listing a local file": b"ffconcat version 1.0\nfile /etc/passwd\n",
        "ffconcat listing an http URL": f"ffconcat version 1.0\nfile {url}/e.mp4\n".encode(),
        "concat: protocol as the body": b"concat:/etc/passwd|/etc/hostname",
        "an http URL as the body": f"{url}/f.mp4".encode(),
        "SDP aimed at the listener": (f"v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\n"
                                      f"m=video {port} RTP/AVP 96\na=rtpmap:96 H264/90000\n").encode(),
        "DASH manifest with http segments": (f'<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
                                             f'mediaPresentationDuration="PT4S"><Period><AdaptationSet><Representation id="1" '
                                             f'bandwidth="1000" codecs="avc1.42c00d" mimeType="video/mp4"><BaseURL>{url}/g.mp4</BaseURL>'
                                             f"</Representation></AdaptationSet></Period></MPD>").encode(),
        "AVI header with an HLS payload": avi_with_playlist(playlist([f"{url}/h.ts", "file:///etc/passwd"])),
        "AVI whose GAB2 subtitle packet holds an HLS playlist (the 2017 exploit)":
            avi_gab2(playlist([f"{url}/h2.ts", "file:///etc/passwd"])),
        "MOV with a reference atom to the listener": mov_reference(f"{url}/i.mov"),
        "MOV with a reference atom to a local file": mov_reference("file:///etc/passwd"),
    }
    for number, (name, data) in enumerate(references.items()):
        add("reference", name, write(f"reference-{number}.bin", data), "refused")
    add("reference", "MP4 whose data reference says the media is elsewhere", write("dref.mp4", mp4_external_dref(mp4, url)))
    add("reference", "MP4 whose data reference is a Mac alias to /etc/passwd",
        write("alis.mp4", mov_alias_reference(mp4, "/etc/passwd")))
    # The same through the sound part of a valid video.
    for name, data in [("HLS playlist as the sound part", playlist([f"{url}/k.aac"])),
                       ("ffconcat as the sound part", b"ffconcat version 1.0\nfile /etc/passwd\n"),
                       ("concat: as the sound part", b"concat:/etc/passwd|/etc/hostname")]:
        add("reference", name, bases["mp4"], "refused", sound=write(f"sound-{len(entries)}.bin", data))

    # 6. Decode bombs.
    add("bomb", "PNG declaring 100000x100000", write("bomb-png.png", png(100_000, 100_000)), "refused")
    add("bomb", "PNG declaring 5000x5000 (25 MP of zeros)", write("bomb-png-5k.png", png(5000, 5000, b"\x00" * (1 + 15000) * 10)), "refused")
    add("bomb", "JPEG declaring 60000x60000", write("bomb-jpeg.jpg", jpeg_with_size(jpeg, 60000, 60000)), "refused")
    add("bomb", "GIF declaring 65535x65535", write("bomb-gif.gif", gif[:6] + struct.pack("<HH", 65535, 65535) + gif[10:]), "refused")
    add("bomb", "WebP canvas 16383x16383", write("bomb-webp.webp", webp_vp8x(16383, 16383)), "refused")
    add("bomb", "10,000 frames of 2x2", make("frames.mp4", "-f", "lavfi", "-i", "color=size=2x2:rate=1000:duration=10",
                                              "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"))
    add("bomb", "a frame rate of 10,000/s", make("fps.mp4", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10000:duration=0.2",
                                                  "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"))
    add("bomb", "video 8192x8192", make("huge-video.mp4", "-f", "lavfi", "-i", "color=size=8192x8192:duration=0.04",
                                         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"), "refused")
    add("bomb", "video 4100x16", make("wide-video.mp4", "-f", "lavfi", "-i", "color=size=4100x16:duration=0.2",
                                       "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"), "refused")
    add("bomb", "60 s of video (too long)", make("long.mp4", "-f", "lavfi", "-i", "color=size=32x32:rate=5:duration=60",
                                                  "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"), "refused")
    add("bomb", "WAV declaring 2^31 Hz as the sound part", bases["mp4"], "refused",
        sound=write("wav-rate.wav", wav(2**31 - 1, 1, bytes(4000))))
    add("bomb", "WAV declaring 255 channels as the sound part", bases["mp4"], "refused",
        sound=write("wav-channels.wav", wav(48000, 255, bytes(255 * 2 * 10))))
    add("bomb", "video with 64 audio channels", make("channels.mkv", "-f", "lavfi", "-i", "testsrc2=size=64x64:duration=0.5",
                                                      "-f", "lavfi", "-i", "aevalsrc=" + "|".join(["0"] * 64) + ":s=8000:d=0.5",
                                                      "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast",
                                                      "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le"))

    # 7. Valid but unusual: each must become a correct segment (or a specific refusal, where ffmpeg 5.1 cannot read it).
    unusual = [
        ("HEVC 10-bit", "hevc10.mp4", ["-f", "lavfi", "-i", "testsrc2=size=320x240:duration=1", "-c:v", "libx265", "-preset",
                                         "ultrafast", "-pix_fmt", "yuv420p10le", "-x265-params", "log-level=none"], "live"),
        ("VP9 in WebM", "vp9.webm", ["-f", "lavfi", "-i", "testsrc2=size=320x240:duration=1", "-c:v", "libvpx-vp9",
                                      "-deadline", "realtime", "-cpu-used", "8"], "live"),
        ("AV1 in Matroska", "av1.mkv", ["-f", "lavfi", "-i", "testsrc2=size=128x96:duration=0.5", "-c:v", "libaom-av1",
                                         "-cpu-used", "8", "-crf", "50"], "live"),
        ("variable frame rate", "vfr.mp4", ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=2", "-vf",
                                             "setpts='N/30/TB+if(gt(N,20),0.5/TB,0)'", "-fps_mode", "vfr", "-c:v", "libx264",
                                             "-preset", "ultrafast", "-pix_fmt", "yuv420p"], "live"),
        ("rotated 90 degrees", "rotated.mp4", ["-f", "lavfi", "-i", "testsrc2=size=320x240:duration=1", "-c:v", "libx264",
                                                "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-metadata:s:v", "rotate=90"], "live"),
        ("odd size 321x241", "odd.mp4", ["-f", "lavfi", "-i", "testsrc2=size=321x241:duration=1", "-c:v", "libx264", "-preset",
                                          "ultrafast", "-pix_fmt", "yuv444p"], "live"),
        ("tiny 16x16 video", "tiny.mp4", ["-f", "lavfi", "-i", "testsrc2=size=16x16:duration=1", "-c:v", "libx264", "-preset",
                                           "ultrafast", "-pix_fmt", "yuv420p"], "live"),
        ("H.264 4:4:4", "yuv444.mp4", ["-f", "lavfi", "-i", "testsrc2=size=320x240:duration=1", "-c:v", "libx264", "-preset",
                                        "ultrafast", "-pix_fmt", "yuv444p"], "live"),
        ("ProRes in MOV", "prores.mov", ["-f", "lavfi", "-i", "testsrc2=size=320x240:duration=0.5", "-c:v", "prores"], "live"),
        ("MJPEG in AVI", "mjpeg.avi", ["-f", "lavfi", "-i", "testsrc2=size=320x240:duration=0.5", "-c:v", "mjpeg"], "refused"),
        ("MPEG-2 in MPEG-TS", "mpeg2.ts", ["-f", "lavfi", "-i", "testsrc2=size=320x240:duration=0.5", "-c:v", "mpeg2video"], "refused"),
        ("FLV", "video.flv", ["-f", "lavfi", "-i", "testsrc2=size=320x240:duration=0.5", "-c:v", "flv"], "refused"),
        ("interlaced H.264", "interlaced.mp4", ["-f", "lavfi", "-i", "testsrc2=size=320x240:duration=0.5", "-c:v", "libx264",
                                                 "-preset", "ultrafast", "-flags", "+ildct+ilme", "-pix_fmt", "yuv420p"], "live"),
        ("VP8 with alpha", "alpha.webm", ["-f", "lavfi", "-i", "testsrc2=size=160x120:duration=0.5,format=yuva420p", "-c:v",
                                           "libvpx", "-auto-alt-ref", "0"], "live"),
        ("16-bit PNG", "deep.png", ["-f", "lavfi", "-i", "testsrc2=size=320x240", "-frames:v", "1", "-pix_fmt", "rgb48be"], "live"),
        ("paletted PNG", "palette.png", ["-f", "lavfi", "-i", "testsrc2=size=320x240", "-frames:v", "1", "-pix_fmt", "pal8"], "live"),
        ("grey PNG with alpha", "greyalpha.png", ["-f", "lavfi", "-i", "testsrc2=size=320x240", "-frames:v", "1", "-pix_fmt",
                                                   "ya8"], "live"),
        ("odd size photo 333x777", "odd.jpg", ["-f", "lavfi", "-i", "testsrc2=size=333x777", "-frames:v", "1"], "live"),
        ("animated WebP", "animated.webp", ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=5:duration=1", "-c:v",
                                              "libwebp_anim", "-loop", "0"], "either"),
        ("animated PNG", "animated.apng", ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=5:duration=1", "-f", "apng",
                                            "-plays", "0"], "either"),
        ("a BMP", "image.bmp", ["-f", "lavfi", "-i", "testsrc2=size=320x240", "-frames:v", "1"], "refused"),
        ("a TIFF", "image.tiff", ["-f", "lavfi", "-i", "testsrc2=size=320x240", "-frames:v", "1"], "refused"),
        ("audio only (M4A)", "audio.m4a", ["-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac"], "refused"),
        ("audio only (MP3)", "audio.mp3", ["-f", "lavfi", "-i", "sine=duration=1"], "refused"),
        ("a video stream with no frames", "noframes.mp4", ["-f", "lavfi", "-i", "testsrc2=size=64x64:duration=1", "-frames:v",
                                                            "0", "-c:v", "libx264"], "refused"),
        ("audio with an empty video stream", "emptyvideo.mkv", ["-f", "lavfi", "-i", "testsrc2=size=64x64:duration=1", "-f",
                                                                 "lavfi", "-i", "sine=duration=1", "-map", "0:v", "-map", "1:a",
                                                                 "-frames:v", "0", "-c:v", "libx264", "-c:a", "aac"], "refused"),
    ]
    for name, file, args, expect in unusual:
        add("unusual", name, make(file, *args), expect)
    srt = write("subtitles.srt", b"1\n00:00:00,000 --> 00:00:01,000\nhello " + MARKER + b"\n\n")
    add("unusual", "subtitles only (Matroska)", make("subtitles.mkv", "-i", srt, "-c:s", "srt"), "refused")
    add("unusual", "zero-length file", write("empty.mp4", b""), "refused")
    progressive, cmyk = pillow_jpegs(directory)
    if progressive:
        add("unusual", "progressive JPEG", progressive, "live")
        add("unusual", "CMYK JPEG", cmyk, "live")

    # 8. Metadata that must not survive: GPS, EXIF, comments, titles, a subtitle stream.
    add("metadata", "MP4 with title, comment and location",
        make("meta.mp4", *src, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
             "-metadata", f"title={MARKER.decode()}", "-metadata", f"comment={MARKER.decode()}",
             "-metadata", "location=+48.8584+002.2945/", "-metadata", f"artist={MARKER.decode()}"), "live")
    add("metadata", "MOV with location and a stream title",
        make("meta.mov", *src, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
             "-metadata", "location=+48.8584+002.2945/", "-metadata:s:v", f"title={MARKER.decode()}"), "live")
    add("metadata", "WebM with a title tag",
        make("meta.webm", *src, "-c:v", "libvpx", "-deadline", "realtime", "-c:a", "libvorbis", "-shortest",
             "-metadata", f"title={MARKER.decode()}"), "live")
    add("metadata", "Matroska with a subtitle stream (and a picture shorter than its sound)",
        make("meta.mkv", *src, "-i", srt, "-map", "0:v", "-map", "1:a", "-map", "2:s", "-c:v", "libx264", "-preset",
             "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-c:s", "srt", "-shortest",
             "-metadata", f"title={MARKER.decode()}"), "live")
    add("metadata", "PNG with text chunks",
        write("meta.png", pngdata[:33] + png_chunk(b"tEXt", b"Comment\x00" + MARKER) + png_chunk(b"tEXt", b"GPS\x00" + MARKER)
              + pngdata[33:]), "live")
    add("metadata", "JPEG with a comment segment",
        write("meta-comment.jpg", jpeg[:2] + b"\xff\xfe" + struct.pack(">H", 2 + len(MARKER)) + MARKER + jpeg[2:]), "live")
    exif = pillow_exif(directory)
    if exif:
        add("metadata", "JPEG with EXIF GPS, camera and a description", exif, "live")
    add("metadata", "GIF with a comment extension", write("meta.gif", gif_with_comment(gif)), "refused")
    return entries


def zip_bytes():
    import zipfile
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
    return buffer.getvalue()


def wav(rate, channels, samples):
    block = channels * 2
    header = (b"RIFF" + struct.pack("<I", 36 + len(samples)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, channels, rate,
              (rate * block) & 0xFFFFFFFF, block & 0xFFFF, 16) + b"data" + struct.pack("<I", len(samples)))
    return header + samples


def jpeg_with_size(jpeg, width, height):
    """The JPEG with its SOF0 frame header declaring another size."""
    index = jpeg.find(b"\xff\xc0")
    if index < 0:
        index = jpeg.find(b"\xff\xc2")
    return jpeg[: index + 5] + struct.pack(">HH", height, width) + jpeg[index + 9:]


def webp_vp8x(width, height):
    chunk = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def avi_with_playlist(playlist):
    """An AVI header whose first chunk is an HLS playlist (the shape of the 2017 exploit)."""
    body = b"AVI LIST" + struct.pack("<I", 4 + len(playlist)) + b"hdrl" + playlist
    return b"RIFF" + struct.pack("<I", len(body)) + body


def avi_gab2(payload):
    """An AVI of one subtitle stream whose first packet is a GAB2 subtitle holding `payload` (the 2017 exploit's shape)."""
    def chunk(fourcc, data):
        return fourcc + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")
    def lst(kind, data):
        return chunk(b"LIST", kind + data)
    avih = struct.pack("<IIIIIIIIII", 40000, 0, 0, 0x10, 1, 0, 1, 0, 0, 0) + b"\x00" * 16
    strh = b"txts" + b"\x00\x00\x00\x00" + struct.pack("<IHHIIIIIIIIhhhh", 0, 0, 0, 0, 1, 25, 0, 1, 0, 0xFFFFFFFF, 0, 0, 0, 0, 0)
    name = "x".encode("utf-16-le") + b"\x00\x00"
    gab2 = b"GAB2\x00" + struct.pack("<H", 2) + struct.pack("<I", len(name)) + name + struct.pack("<H", 4) + struct.pack("<I", len(payload)) + payload
    movi = lst(b"movi", chunk(b"00tx", gab2))
    idx = chunk(b"idx1", b"00tx" + struct.pack("<III", 0x10, 4, len(gab2)))
    hdrl = lst(b"hdrl", chunk(b"avih", avih) + lst(b"strl", chunk(b"strh", strh) + chunk(b"strf", b"")))
    body = b"AVI " + hdrl + movi + idx
    return b"RIFF" + struct.pack("<I", len(body)) + body


def mov_alias_reference(mp4, path):
    """The MP4 with its data reference replaced by a Mac alias record ('alis') whose absolute path is `path`: the shape
    that makes a demuxer open another file for the track's samples (ffmpeg does so only with enable_drefs)."""
    record = b"\x00" * 10 + bytes([7]) + b"Volume1".ljust(27, b"\x00") + b"\x00" * 12 + bytes([6]) + b"passwd".ljust(63, b"\x00")
    record += b"\x00" * 16 + struct.pack(">hh", -1, -1) + b"\x00" * 16
    absolute = ("Volume1" + path.replace("/", ":")).encode()
    record += struct.pack(">hH", 2, len(absolute)) + absolute + (b"\x00" if len(absolute) % 2 else b"") + struct.pack(">hH", -1, 0)
    alis = struct.pack(">I", 12 + len(record)) + b"alis" + b"\x00\x00\x00\x00" + record
    dref = b"\x00\x00\x00\x00" + struct.pack(">I", 1) + alis
    containers = {b"moov", b"trak", b"mdia", b"minf", b"dinf"}

    def rewrite(data):
        out, offset = b"", 0
        while offset + 8 <= len(data):
            size, kind = struct.unpack(">I4s", data[offset:offset + 8])
            if size < 8 or offset + size > len(data):
                return out + data[offset:]
            payload = data[offset + 8:offset + size]
            if kind in containers:
                payload = rewrite(payload)
            elif kind == b"dref":
                payload = dref
            out += struct.pack(">I", 8 + len(payload)) + kind + payload
            offset += size
        return out + data[offset:]
    return rewrite(mp4)


def mov_reference(target):
    """A QuickTime movie with only a reference atom (rmra/rmda/rdrf) naming `target`."""
    rdrf = box(b"rdrf", b"\x00\x00\x00\x00" + b"url " + struct.pack(">I", len(target) + 1) + target.encode() + b"\x00")
    return box(b"ftyp", b"qt  \x00\x00\x02\x00qt  ") + box(b"moov", box(b"rmra", box(b"rmda", rdrf)))


def mp4_external_dref(mp4, target):
    """The MP4 with its data reference's 'url ' entry (self-contained) replaced by an external URL of the same size
    where possible: the media would have to be fetched from elsewhere."""
    marker = b"url \x00\x00\x00\x01"
    index = mp4.find(marker)
    if index < 0:
        return mp4
    # Clear the self-contained flag; the URL itself cannot grow in place, so an absent one means "elsewhere".
    return mp4[:index] + b"url \x00\x00\x00\x00" + mp4[index + len(marker):]


def gif_with_comment(gif):
    # After the header (6), logical screen descriptor (7) and any global colour table.
    flags = gif[10]
    offset = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    comment = b"\x21\xfe" + bytes([len(MARKER)]) + MARKER + b"\x00"
    return gif[:offset] + comment + gif[offset:]


def pillow_jpegs(directory):
    try:
        from PIL import Image
    except ImportError:
        return None, None
    image = Image.new("RGB", (400, 300), (200, 30, 30))
    progressive = os.path.join(directory, "progressive.jpg")
    image.save(progressive, "JPEG", progressive=True, quality=80)
    cmyk = os.path.join(directory, "cmyk.jpg")
    image.convert("CMYK").save(cmyk, "JPEG", quality=80)
    return progressive, cmyk


def pillow_exif(directory):
    try:
        from PIL import Image
    except ImportError:
        return None
    image = Image.new("RGB", (400, 300), (30, 200, 30))
    exif = Image.Exif()
    exif[0x010F] = MARKER.decode()  # Make
    exif[0x010E] = MARKER.decode()  # ImageDescription
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}  # GPS
    path = os.path.join(directory, "exif.jpg")
    image.save(path, "JPEG", exif=exif, comment=MARKER)
    return path
