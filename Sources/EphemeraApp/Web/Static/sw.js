// Ephemera's service worker: the viewer's media decrypted in the browser (README, "Media for clients that
// decrypt"). The page asks for /decrypt/{segment}/{poster|video|photo}; this worker fetches the covering chunks of
// the segment's ciphertext (plain immutable bytes, cacheable, from this site or a presigned object-store URL) and
// decrypts them with WebCrypto, so the server looks nothing up and decrypts nothing per request. Nothing else is
// intercepted. A chunk that fails authentication ends the response with an error: no unauthenticated byte is ever
// handed to the page.
"use strict";

const HEADER_LENGTH = 24;
const TAG_LENGTH = 16;
const MAGIC = "EPH1";
const CHUNKS_PER_FETCH = 16; // one ciphertext request per 1 MiB of plaintext at the default 64 KiB chunk
const CONTENT_TYPES = { video: "video/mp4", poster: "image/jpeg", photo: "image/jpeg" };

/** Segment id → a promise of {key: CryptoKey, links, media}. */
const segments = new Map();
/** Ciphertext URL → a promise of its parsed header. */
const headers = new Map();

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

// The viewer hands over the keys of the segments it is about to show (they came with the page).
self.addEventListener("message", (event) => {
  const data = event.data;
  if (!data || data.type !== "segments" || !Array.isArray(data.segments)) return;
  for (const segment of data.segments) {
    if (segment && typeof segment.id === "string" && segment.mediaKey && segment.encryptedMedia) {
      remember(segment.id, Promise.resolve(segment));
    }
  }
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || event.request.method !== "GET") return;
  const match = /^\/decrypt\/([A-Za-z0-9_-]+)\/(video|poster|photo)$/.exec(url.pathname);
  if (!match) return;
  event.respondWith(respond(event.request, match[1], match[2]));
});

function remember(id, segmentPromise) {
  const entry = segmentPromise.then(async (segment) => ({
    key: await crypto.subtle.importKey("raw", fromBase64url(segment.mediaKey), "AES-GCM", false, ["decrypt"]),
    links: segment.encryptedMedia,
    media: segment.media || {},
  }));
  segments.set(id, entry);
  entry.catch(() => { if (segments.get(id) === entry) segments.delete(id); });
  return entry;
}

/** The segment's key and links: from the page, or — after this worker was restarted — from the API. */
function entry(id) {
  return segments.get(id) || remember(id, fetch(`/api/v1/stories/${id}`, {
    credentials: "same-origin", headers: { Accept: "application/json" },
  }).then((response) => {
    if (!response.ok) throw new Error(`segment ${id}: ${response.status}`);
    return response.json();
  }).then((segment) => {
    if (!segment.mediaKey || !segment.encryptedMedia) throw new Error(`segment ${id} has no media to decrypt`);
    return segment;
  }));
}

function fromBase64url(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/") + "==".slice(0, (4 - (text.length % 4)) % 4);
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** A ciphertext link on this site is fetched from this origin, whatever host the server's public URL names. */
function located(link) {
  const url = new URL(link, self.location.href);
  return url.pathname.startsWith("/ciphertext/") ? self.location.origin + url.pathname : url.href;
}

async function respond(request, id, rendition) {
  let segment;
  try {
    segment = await entry(id);
  } catch (_) {
    return new Response(null, { status: 404 });
  }
  const link = segment.links[rendition] || (rendition === "poster" ? segment.links.photo : null);
  if (!link) return new Response(null, { status: 404 });
  const url = located(link);
  let header;
  try {
    header = await readHeader(url);
  } catch (_) {
    // The ciphertext cannot be fetched here (an object store without CORS for this site, a link past its
    // expiry): the server's decrypting path serves it instead, with the same access check.
    const fallback = segment.media[rendition] || (rendition === "poster" ? segment.media.photo : null);
    if (!fallback) return new Response(null, { status: 502 });
    const range = request.headers.get("Range");
    return fetch(new URL(fallback, self.location.href).pathname, {
      credentials: "same-origin", headers: range ? { Range: range } : {},
    });
  }
  const length = header.plaintextLength;
  const range = parseRange(request.headers.get("Range"), length);
  if (range === "unsatisfiable") {
    return new Response(null, { status: 416, headers: { "Content-Range": `bytes */${length}` } });
  }
  const [start, end] = range || [0, length - 1];
  const responseHeaders = {
    "Content-Type": CONTENT_TYPES[rendition],
    "Content-Length": String(Math.max(0, end - start + 1)),
    "Accept-Ranges": "bytes",
  };
  if (range) responseHeaders["Content-Range"] = `bytes ${start}-${end}/${length}`;
  const body = length === 0 ? null : plaintext(url, header, segment.key, start, end);
  return new Response(body, { status: range ? 206 : 200, headers: responseHeaders });
}

/** `bytes=a-b`, `bytes=a-` or `bytes=-n` against `length`; null for no (or a multi-range) header. */
function parseRange(value, length) {
  if (!value) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!match || (match[1] === "" && match[2] === "")) return null;
  let start;
  let end;
  if (match[1] === "") {
    start = Math.max(0, length - Number(match[2]));
    end = length - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === "" ? length - 1 : Math.min(Number(match[2]), length - 1);
  }
  if (start >= length || start > end) return "unsatisfiable";
  return [start, end];
}

function readHeader(url) {
  let header = headers.get(url);
  if (!header) {
    header = fetchBytes(url, 0, HEADER_LENGTH - 1).then((bytes) => {
      if (String.fromCharCode(...bytes.subarray(0, 4)) !== MAGIC) throw new Error("not an eph1 blob");
      const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_LENGTH);
      const chunkSize = view.getUint32(4);
      const plaintextLength = Number(view.getBigUint64(8));
      if (chunkSize === 0) throw new Error("not an eph1 blob");
      return {
        aad: bytes.slice(0, HEADER_LENGTH),
        salt: bytes.slice(16, 24),
        chunkSize,
        plaintextLength,
        chunkCount: plaintextLength === 0 ? 1 : Math.ceil(plaintextLength / chunkSize),
      };
    });
    headers.set(url, header);
    header.catch(() => { if (headers.get(url) === header) headers.delete(url); });
  }
  return header;
}

async function fetchBytes(url, first, last, signal) {
  const response = await fetch(url, { headers: { Range: `bytes=${first}-${last}` }, credentials: "omit", signal });
  if (response.status !== 206 && response.status !== 200) throw new Error(`ciphertext: ${response.status}`);
  let bytes = new Uint8Array(await response.arrayBuffer());
  if (response.status === 200) bytes = bytes.subarray(first, last + 1);
  if (bytes.length !== last - first + 1) throw new Error("ciphertext: short read");
  return bytes;
}

function plaintextLengthOf(header, index) {
  return index === header.chunkCount - 1 ? header.plaintextLength - index * header.chunkSize : header.chunkSize;
}

async function openChunk(header, key, index, sealed) {
  const iv = new Uint8Array(12);
  iv.set(header.salt, 0);
  const last = index === header.chunkCount - 1;
  new DataView(iv.buffer).setUint32(8, (index | (last ? 0x80000000 : 0)) >>> 0);
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv, additionalData: header.aad, tagLength: TAG_LENGTH * 8 }, key, sealed);
  return new Uint8Array(plain);
}

/** The plaintext bytes start…end, fetched and decrypted a group of chunks at a time as the reader asks. */
function plaintext(url, header, key, start, end) {
  const sealedSize = header.chunkSize + TAG_LENGTH;
  const lastChunk = Math.floor(end / header.chunkSize);
  let next = Math.floor(start / header.chunkSize);
  const abort = new AbortController();
  return new ReadableStream({
    async pull(controller) {
      if (next > lastChunk) {
        controller.close();
        return;
      }
      const upto = Math.min(lastChunk, next + CHUNKS_PER_FETCH - 1);
      const first = HEADER_LENGTH + next * sealedSize;
      const last = HEADER_LENGTH + upto * sealedSize + plaintextLengthOf(header, upto) + TAG_LENGTH - 1;
      const bytes = await fetchBytes(url, first, last, abort.signal);
      for (let index = next; index <= upto; index++) {
        const offset = (index - next) * sealedSize;
        const chunk = await openChunk(header, key, index,
          bytes.subarray(offset, offset + plaintextLengthOf(header, index) + TAG_LENGTH));
        const chunkStart = index * header.chunkSize;
        controller.enqueue(chunk.subarray(Math.max(start, chunkStart) - chunkStart,
          Math.min(end, chunkStart + chunk.length - 1) - chunkStart + 1));
      }
      next = upto + 1;
    },
    cancel() { abort.abort(); },
  }, { highWaterMark: 0 });
}
