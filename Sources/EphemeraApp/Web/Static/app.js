// Ephemera web app: small, dependency-free, no build step. Pages are rendered by the server; this script
// adds the story viewer, posting, and the buttons that act through the HTTP API (session cookie + CSRF header).
"use strict";

(() => {
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));
  const csrf = () => ($('meta[name="csrf-token"]') || {}).content || "";
  const me = document.body.dataset.me || null;

  // The page's words come from its language's catalogue (`/static/strings-{lang}.js`, the same catalogue as the
  // server's pages), and its numbers and dates are written for that language (`<html lang>`).
  const lang = document.documentElement.lang || "en";
  const strings = window.ephemeraStrings || {};
  const numbers = new Intl.NumberFormat(lang);
  const decimals = new Intl.NumberFormat(lang, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const plurals = new Intl.PluralRules(lang);
  /** The catalogue's string for `key`, with each `{name}` replaced by `values[name]`. */
  function t(key, values) {
    let text = Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : key;
    for (const [name, value] of Object.entries(values || {})) text = text.split(`{${name}}`).join(String(value));
    return text;
  }
  /** `key_one` or `key_other` by the language's plural rule, with `{n}` the count written for the language. */
  function tn(key, n, values) {
    return t(`${key}_${plurals.select(n) === "one" ? "one" : "other"}`, Object.assign({}, values, { n: numbers.format(n) }));
  }

  /** Calls the API; resolves to the JSON body (or null), rejects with an Error carrying the API's message. */
  async function api(method, path, body) {
    const headers = { "X-CSRF-Token": csrf(), Accept: "application/json" };
    let payload;
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
    } catch (networkError) {
      throw new Error(t("js_offline"));
    }
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const error = new Error((data && data.error && data.error.message) || t("js_request_failed", { status: response.status }));
      error.code = data && data.error && data.error.code;
      error.status = response.status;
      throw error;
    }
    return data;
  }

  let toastTimer = 0;
  function toast(message) {
    const element = $(".toast");
    if (!element) return;
    element.textContent = message;
    element.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { element.hidden = true; }, 3200);
  }

  /** An API URL as a path on this site, so pages work whatever the server's public URL says. */
  function sitePath(url) {
    if (!url) return url;
    try {
      const parsed = new URL(url, location.href);
      return parsed.pathname + parsed.search;
    } catch (_) {
      return url;
    }
  }

  function age(iso) {
    const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (seconds < 60) return t("age_now");
    if (seconds < 3600) return t("age_minutes", { n: Math.floor(seconds / 60) });
    if (seconds < 86400) return t("age_hours", { n: Math.floor(seconds / 3600) });
    return t("age_days", { n: Math.floor(seconds / 86400) });
  }

  function hue(handle) {
    let hash = 2166136261;
    for (const byte of new TextEncoder().encode(handle)) hash = Math.imul(hash ^ byte, 16777619) >>> 0;
    return hash % 360;
  }

  function avatar(person) {
    const span = document.createElement("span");
    span.className = "avatar";
    span.style.setProperty("--hue", hue(person.handle));
    span.textContent = (person.displayName || person.handle || "?").charAt(0).toUpperCase();
    return span;
  }

  function formatBytes(bytes) {
    if (bytes < 1024 * 1024) return t("js_kilobytes", { n: numbers.format(Math.max(1, Math.round(bytes / 1024))) });
    return t("js_megabytes", { n: decimals.format(bytes / 1024 / 1024) });
  }

  // ---------------------------------------------------------------------------------------------------------
  // The story viewer

  // ---------------------------------------------------------------------------------------------------------
  // "Add to highlight" (my story in the viewer, my archive): a modal <dialog> with my highlights and a field to
  // start a new one. Adding replaces the highlight's list with the list plus this segment (PATCH).

  let pickerClosed = null;
  function openHighlightPicker(segmentId, onClose) {
    let dialog = $("dialog[data-highlight-picker]");
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.className = "picker";
      dialog.dataset.highlightPicker = "";
      dialog.setAttribute("aria-labelledby", "picker-title");
      dialog.innerHTML = `<h2 id="picker-title"></h2>
        <p class="picker-note" data-picker-note></p>
        <ul class="picker-list" data-picker-list></ul>
        <form class="form picker-new" data-picker-new>
          <label><span data-picker-new-label></span><input name="title" maxlength="40" required autocomplete="off"></label>
          <button class="button button-primary" type="submit" data-action="create-highlight"></button>
        </form>
        <button class="button" type="button" data-picker-cancel></button>`;
      $("#picker-title", dialog).textContent = t("add_to_highlight");
      $("[data-picker-new-label]", dialog).textContent = t("js_new_highlight");
      $("[data-picker-new] input", dialog).placeholder = t("js_highlight_placeholder");
      $("[data-action=create-highlight]", dialog).textContent = t("js_create");
      $("[data-picker-cancel]", dialog).textContent = t("cancel");
      document.body.appendChild(dialog);
      $("[data-picker-cancel]", dialog).addEventListener("click", () => dialog.close());
      dialog.addEventListener("close", () => { if (pickerClosed) pickerClosed(); });
      $("[data-picker-new]", dialog).addEventListener("submit", async (event) => {
        event.preventDefault();
        const form = event.currentTarget;
        const title = form.elements.title.value.trim();
        if (!title) return;
        form.querySelector("button").disabled = true;
        try {
          const made = await api("POST", "/api/v1/me/highlights", { title, segmentIds: [dialog.dataset.segment] });
          dialog.close();
          toast(t("js_added_to_new_highlight", { title: made.title }));
        } catch (error) {
          toast(error.message);
        } finally {
          form.querySelector("button").disabled = false;
        }
      });
    }
    dialog.dataset.segment = segmentId;
    pickerClosed = onClose || null;
    $("[data-picker-new]", dialog).reset();
    const list = $("[data-picker-list]", dialog);
    const note = $("[data-picker-note]", dialog);
    list.textContent = "";
    note.textContent = t("js_loading_highlights");
    note.hidden = false;
    dialog.showModal();
    api("GET", `/api/v1/users/${encodeURIComponent(me)}/highlights`).then((result) => {
      note.hidden = result.items.length > 0;
      note.textContent = t("js_no_highlights_yet");
      for (const highlight of result.items) {
        const item = document.createElement("li");
        const pick = document.createElement("button");
        pick.type = "button";
        pick.className = "picker-item";
        pick.dataset.pick = highlight.id;
        if (highlight.cover.poster) {
          const image = document.createElement("img");
          image.src = sitePath(highlight.cover.poster);
          image.alt = "";
          pick.appendChild(image);
        }
        const label = document.createElement("span");
        label.textContent = highlight.title;
        pick.appendChild(label);
        pick.addEventListener("click", async () => {
          pick.disabled = true;
          try {
            const opened = await api("GET", `/api/v1/highlights/${highlight.id}`);
            const ids = opened.segments.map((segment) => segment.id);
            if (ids.includes(dialog.dataset.segment)) {
              toast(t("js_already_in_highlight", { title: highlight.title }));
            } else {
              await api("PATCH", `/api/v1/highlights/${highlight.id}`, { segmentIds: ids.concat([dialog.dataset.segment]) });
              toast(t("js_added_to_highlight", { title: highlight.title }));
            }
            dialog.close();
          } catch (error) {
            pick.disabled = false;
            toast(error.message);
          }
        });
        item.appendChild(pick);
        list.appendChild(item);
      }
    }).catch((error) => { note.textContent = error.message; });
  }

  function initViewer() {
    const dataElement = $("#story-data");
    if (!dataElement) return;
    const state = JSON.parse(dataElement.textContent);
    const root = $("[data-viewer]");
    const stage = $("[data-stage]");
    const mediaBox = $("[data-media]");
    const barsBox = $("[data-bars]");
    const caption = $("[data-caption]");
    const segments = state.segments;
    let index = 0;
    let elapsed = 0; // milliseconds shown of a photo
    let lastTick = 0;
    let current = null; // the <img> or <video> on screen
    let ready = false; // media loaded enough to count time
    let held = false;
    let userPaused = false;
    let busy = false; // a download in progress
    let muted = true;
    let leaving = false;

    /** Leaves the viewer: an exit, unless it ran past its last segment (`afterLast`: that was a move on). */
    function close(afterLast) {
      if (leaving) return;
      if (afterLast !== true) noteEvent("exit");
      flushEvents(true);
      leaving = true;
      let target = "/";
      try {
        const from = new URL(document.referrer);
        const passing = ["/login", "/signup", "/new"].includes(from.pathname) || from.pathname.endsWith("/story");
        if (from.origin === location.origin && !passing) {
          target = from.pathname + from.search;
        }
      } catch (_) { /* no referrer */ }
      location.href = target;
    }

    const openSheet = () => $$("[data-sheet]").find((sheet) => !sheet.hidden);
    let typing = false; // writing a reply
    const isPaused = () => held || userPaused || busy || typing || !!openSheet() || !!$("dialog[open]") || document.hidden;

    function syncPause() {
      const paused = isPaused();
      root.dataset.pausedState = String(paused);
      $("[data-paused]").hidden = !(userPaused || held);
      const pauseButton = $('[data-action="pause"]');
      pauseButton.setAttribute("aria-label", paused ? t("play") : t("pause"));
      if (current && current.tagName === "VIDEO") {
        if (paused) current.pause();
        else if (ready) current.play().catch(() => {});
      }
    }

    document.addEventListener("keydown", (event) => {
      if (event.target.closest && event.target.closest("input, textarea, select")) {
        if (event.key === "Escape") closeSheets();
        return;
      }
      if (event.key === "Escape") {
        event.preventDefault();
        if (openSheet()) closeSheets(); else close();
      } else if (!segments.length) {
        return;
      } else if (event.key === "ArrowRight") {
        event.preventDefault();
        next();
      } else if (event.key === "ArrowLeft") {
        event.preventDefault();
        previous();
      } else if (event.key === " " || event.key === "Spacebar") {
        event.preventDefault();
        userPaused = !userPaused;
        syncPause();
      }
    });
    $$('[data-action="close"]').forEach((button) => button.addEventListener("click", close));

    if (!segments.length) {
      $$(".viewer-actions .action, [data-step]").forEach((button) => { button.hidden = true; });
      return;
    }

    for (const segment of segments) {
      const bar = document.createElement("div");
      bar.className = "bar";
      bar.dataset.segmentId = segment.id;
      const fill = document.createElement("span");
      fill.className = "bar-fill";
      bar.appendChild(fill);
      barsBox.appendChild(bar);
    }
    const fills = $$(".bar-fill", barsBox);

    if (state.start) {
      const found = segments.findIndex((segment) => segment.id === state.start);
      index = found >= 0 ? found : 0;
    } else {
      const unseen = segments.findIndex((segment) => !segment.seen);
      index = unseen >= 0 ? unseen : 0;
    }

    const durationOf = (segment) =>
      segment.kind === "video" ? segment.durationSeconds * 1000 : state.photoSeconds * 1000;

    function progressOf() {
      const segment = segments[index];
      if (current && current.tagName === "VIDEO" && !current.dataset.fallback) {
        const total = current.duration && isFinite(current.duration) ? current.duration : segment.durationSeconds;
        return total > 0 ? Math.min(1, current.currentTime / total) : 0;
      }
      return Math.min(1, elapsed / durationOf(segment));
    }

    function paintBars() {
      fills.forEach((fill, i) => {
        const fraction = i < index ? 1 : i > index ? 0 : progressOf();
        fill.style.width = `${(fraction * 100).toFixed(2)}%`;
      });
    }

    function tick(now) {
      const delta = lastTick ? now - lastTick : 0;
      lastTick = now;
      if (!leaving && segments.length) {
        const usesTimer = !current || current.tagName !== "VIDEO" || current.dataset.fallback;
        if (usesTimer && ready && !isPaused()) {
          elapsed += delta;
          if (elapsed >= durationOf(segments[index])) {
            next(true);
          }
        }
        paintBars();
      }
      requestAnimationFrame(tick);
    }

    // The keys came with the page; the service worker gets them before it is asked for any media.
    const decrypter = () => ("serviceWorker" in navigator && navigator.serviceWorker.controller) || null;
    function handKeys() {
      const worker = decrypter();
      if (!worker) return;
      worker.postMessage({
        type: "segments",
        segments: segments.filter((s) => s.mediaKey && s.encryptedMedia)
          .map((s) => ({ id: s.id, mediaKey: s.mediaKey, encryptedMedia: s.encryptedMedia, media: s.media })),
      });
    }
    handKeys();
    if ("serviceWorker" in navigator) navigator.serviceWorker.addEventListener("controllerchange", handKeys);

    /** A rendition's URL: decrypted by the service worker when one controls this page, else by the server. */
    function mediaURL(segment, rendition) {
      const encrypted = segment.encryptedMedia;
      if (decrypter() && segment.mediaKey && encrypted && (encrypted[rendition] || (rendition === "poster" && encrypted.photo))) {
        return `/decrypt/${encodeURIComponent(segment.id)}/${rendition}`;
      }
      const path = segment.media[rendition] || (rendition === "poster" ? segment.media.photo : null);
      return sitePath(path);
    }

    /** What the viewer shows when a segment's media cannot be fetched or fails authentication. */
    function mediaError(element) {
      element.dataset.fallback = "true";
      element.hidden = true;
      const notice = document.createElement("p");
      notice.className = "media-error";
      notice.dataset.mediaError = "";
      notice.setAttribute("role", "status");
      notice.textContent = t("js_story_not_shown");
      mediaBox.appendChild(notice);
      ready = true;
    }

    function recordView(segment) {
      // A highlight is watched past the story's end: views count the story only. Each time a segment is shown
      // is an impression (its insights); the server keeps one view per person.
      if (!me || segment.shownHere || state.highlight || state.archiveDay) return;
      segment.shownHere = true;
      api("POST", `/api/v1/stories/${segment.id}/views`).then(() => { segment.seen = true; })
        .catch(() => { segment.shownHere = false; });
    }

    // Insights: how a viewer moves through the story (on, back, away, to the end), gathered here and reported
    // in batches — counts only; the server keeps no name with them. Not for the author, nor in a highlight.
    const reporting = !state.isAuthor && !state.highlight;
    let pendingEvents = {};
    function noteEvent(event) {
      const segment = segments[index];
      if (!reporting || !segment) return;
      (pendingEvents[segment.id] = pendingEvents[segment.id] || []).push(event);
    }
    function flushEvents(leavingPage) {
      const batch = pendingEvents;
      pendingEvents = {};
      for (const [id, events] of Object.entries(batch)) {
        for (let at = 0; at < events.length; at += 50) {
          fetch(`/api/v1/stories/${encodeURIComponent(id)}/navigation`, {
            method: "POST", keepalive: leavingPage, credentials: "same-origin",
            headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf(), Accept: "application/json" },
            body: JSON.stringify({ events: events.slice(at, at + 50) }),
          }).catch(() => { /* counts only: a lost report loses a count, nothing else */ });
        }
      }
    }
    if (reporting) {
      setInterval(() => flushEvents(false), 10000);
      window.addEventListener("pagehide", () => {
        if (!leaving) noteEvent("exit");
        flushEvents(true);
      });
    }

    function show(newIndex) {
      index = newIndex;
      elapsed = 0;
      ready = false;
      const segment = segments[index];
      if (current && current.tagName === "VIDEO") {
        current.pause();
        current.removeAttribute("src");
        current.load();
      }
      mediaBox.textContent = "";
      let element;
      if (segment.kind === "video" && segment.media.video) {
        element = document.createElement("video");
        element.playsInline = true;
        element.muted = muted;
        element.preload = "auto";
        element.poster = mediaURL(segment, "poster") || "";
        element.addEventListener("canplay", () => { ready = true; syncPause(); }, { once: true });
        element.addEventListener("ended", () => { if (segments[index] === segment) next(true); });
        element.setAttribute("aria-label", segment.altText || segment.caption || t("js_video_story_by", { handle: state.author.handle }));
        element.addEventListener("error", () => {
          // An error state, never broken frames; the bar still moves for the segment's length, and the viewer
          // moves on.
          if (segments[index] === segment) mediaError(element);
        });
        element.src = mediaURL(segment, "video");
        $('[data-action="mute"]').hidden = false;
      } else {
        element = document.createElement("img");
        element.alt = segment.altText || segment.caption || t("js_story_by", { handle: state.author.handle });
        element.decoding = "async";
        element.addEventListener("load", () => { ready = true; });
        element.addEventListener("error", () => { if (segments[index] === segment) mediaError(element); });
        element.src = mediaURL(segment, segment.media.photo ? "photo" : "poster");
        $('[data-action="mute"]').hidden = true;
      }
      current = element;
      mediaBox.appendChild(element);
      if (element.tagName === "IMG" && element.complete) ready = true;
      caption.textContent = segment.caption || "";
      caption.hidden = !segment.caption;
      $("[data-age]").textContent = age(segment.createdAt);
      renderActions(segment);
      recordView(segment);
      syncPause();
      paintBars();
    }

    /** On to the next segment (or author): `completed` when the segment ran to its end, else a tap forward. */
    function next(completed) {
      if (leaving) return;
      noteEvent(completed === true ? "complete" : "forward");
      if (index < segments.length - 1) {
        show(index + 1);
      } else {
        if (state.next && state.next.length) {
          flushEvents(true);
          leaving = true;
          location.href = `/@${encodeURIComponent(state.next[0])}/story`;
        } else {
          close(true);
        }
      }
    }

    function previous() {
      noteEvent("back");
      if (index > 0) show(index - 1);
      else show(0);
    }

    // Tap left/right to move, hold to pause, swipe down to close.
    let pointer = null;
    $$("[data-tap]").forEach((zone) => {
      zone.addEventListener("pointerdown", (event) => {
        pointer = { x: event.clientX, y: event.clientY, at: performance.now(), zone: zone.dataset.tap };
        pointer.timer = setTimeout(() => { held = true; syncPause(); }, 220);
      });
      zone.addEventListener("pointerup", (event) => {
        if (!pointer) return;
        clearTimeout(pointer.timer);
        const start = pointer;
        pointer = null;
        const wasHeld = held;
        held = false;
        syncPause();
        if (event.clientY - start.y > 80) { close(); return; }
        if (wasHeld) return;
        if (start.zone === "next") next(); else previous();
      });
      zone.addEventListener("pointercancel", () => {
        if (pointer) clearTimeout(pointer.timer);
        pointer = null;
        held = false;
        syncPause();
      });
      zone.addEventListener("click", (event) => {
        // Keyboard activation (pointer clicks were handled on pointerup).
        if (event.detail === 0) { if (zone.dataset.tap === "next") next(); else previous(); }
      });
    });
    $$("[data-step]").forEach((arrow) => arrow.addEventListener("click", () => {
      if (arrow.dataset.step === "next") next(); else previous();
    }));
    document.addEventListener("visibilitychange", syncPause);

    $('[data-action="pause"]').addEventListener("click", () => { userPaused = !userPaused; syncPause(); });
    const muteButton = $('[data-action="mute"]');
    root.dataset.muted = "true";
    muteButton.addEventListener("click", () => {
      muted = !muted;
      root.dataset.muted = String(muted);
      muteButton.setAttribute("aria-label", muted ? t("unmute") : t("mute_sound"));
      if (current && current.tagName === "VIDEO") current.muted = muted;
    });

    // Actions of the segment on screen.
    const button = (action) => $(`.viewer-actions [data-action="${action}"]`);
    function renderActions(segment) {
      const isAuthor = state.isAuthor;
      $$("[data-author-only]").forEach((element) => { element.hidden = !isAuthor; });
      $$("[data-others-only]").forEach((element) => { element.hidden = isAuthor; });
      button("like").hidden = isAuthor;
      button("like").setAttribute("aria-pressed", String(!!segment.likedByMe));
      $('[data-count="likes"]').textContent = segment.counts.likes ? numbers.format(segment.counts.likes) : "";
      $('[data-count="comments"]').textContent = segment.counts.comments ? numbers.format(segment.counts.comments) : "";
      $('[data-count="views"]').textContent = numbers.format(segment.counts.views || 0);
      const replyBar = $("[data-reply-bar]");
      if (replyBar) replyBar.hidden = isAuthor || !me;
      $$('[data-action="react"]').forEach((element) => {
        element.setAttribute("aria-pressed", String(segment.myReaction === element.dataset.emoji));
      });
      const download = button("download");
      download.disabled = !isAuthor && !segment.allowDownloads;
      download.title = download.disabled ? t("js_downloads_off") : t("download");
      if (state.archiveDay) {
        // A day of my archive: past its story, so nothing to share or comment on; mine to keep, download or delete.
        for (const action of ["comment", "share"]) button(action).hidden = true;
      }
      if (state.highlight) {
        // A highlight is watched, not answered: likes, comments and replies belong to the story while it lasts.
        $$(".viewer-actions [data-action]").forEach((element) => { element.hidden = true; });
        if (replyBar) replyBar.hidden = true;
        button("edit-highlight").hidden = !isAuthor;
      } else {
        button("edit-highlight").hidden = true;
      }
    }

    const currentSegment = () => segments[index];
    const needsAccount = () => {
      if (me) return false;
      location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
      return true;
    };

    button("like").addEventListener("click", async () => {
      if (needsAccount()) return;
      const segment = currentSegment();
      const liked = !segment.likedByMe;
      segment.likedByMe = liked;
      segment.counts.likes += liked ? 1 : -1;
      renderActions(segment);
      try {
        await api(liked ? "PUT" : "DELETE", `/api/v1/stories/${segment.id}/like`);
      } catch (error) {
        segment.likedByMe = !liked;
        segment.counts.likes += liked ? -1 : 1;
        renderActions(segment);
        toast(error.message);
      }
    });

    button("share").addEventListener("click", async () => {
      if (needsAccount()) return;
      const segment = currentSegment();
      try {
        const { shareUrl } = await api("POST", `/api/v1/stories/${segment.id}/shares`);
        segment.counts.shares += 1;
        if (navigator.share) {
          userPaused = true;
          syncPause();
          await navigator.share({ title: t("js_share_title", { name: state.author.displayName }), url: shareUrl }).catch(() => {});
          userPaused = false;
          syncPause();
        } else if (navigator.clipboard && window.isSecureContext) {
          await navigator.clipboard.writeText(shareUrl)
            .then(() => toast(t("js_link_copied")))
            .catch(() => toast(shareUrl));
        } else {
          toast(shareUrl);
        }
        root.dataset.lastShareUrl = shareUrl;
      } catch (error) {
        toast(error.message);
      }
    });

    button("download").addEventListener("click", async () => {
      const segment = currentSegment();
      const box = $("[data-download]");
      const bar = $("[data-download-progress]");
      const label = $("[data-download-label]");
      const path = `/api/v1/stories/${segment.id}/download${state.isAuthor ? "?original=true" : ""}`;
      busy = true;
      syncPause();
      box.hidden = false;
      bar.value = 0;
      bar.removeAttribute("data-done");
      label.textContent = t("js_preparing");
      try {
        let response = await fetch(path, { credentials: "same-origin" });
        // 202: the server is making the watermarked copy (one encode at a time); ask again when it says.
        for (let tries = 0; response.status === 202 && tries < 150; tries++) {
          label.textContent = t("js_preparing_download");
          const wait = Math.min(30, Math.max(1, Number(response.headers.get("Retry-After")) || 2));
          await new Promise((resolve) => setTimeout(resolve, wait * 1000));
          response = await fetch(path, { credentials: "same-origin" });
        }
        if (response.status === 202) throw new Error(t("js_download_slow"));
        if (!response.ok) {
          const data = await response.json().catch(() => null);
          throw new Error((data && data.error && data.error.message) || t("js_download_failed", { status: response.status }));
        }
        const total = Number(response.headers.get("Content-Length")) || 0;
        const reader = response.body.getReader();
        const chunks = [];
        let received = 0;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          chunks.push(value);
          received += value.length;
          if (total) bar.value = Math.min(100, (received / total) * 100);
          label.textContent = total ? t("js_bytes_of", { done: formatBytes(received), total: formatBytes(total) }) : formatBytes(received);
        }
        bar.value = 100;
        bar.dataset.done = "true";
        label.textContent = t("js_downloaded", { size: formatBytes(received) });
        const disposition = response.headers.get("Content-Disposition") || "";
        const match = /filename="?([^";]+)"?/.exec(disposition);
        const blob = new Blob(chunks, { type: response.headers.get("Content-Type") || "application/octet-stream" });
        const link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = match ? match[1] : `ephemera-${segment.id}`;
        document.body.appendChild(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(link.href), 10000);
        segment.counts.downloads += 1;
        setTimeout(() => { box.hidden = true; }, 2500);
      } catch (error) {
        box.hidden = true;
        toast(error.message);
      } finally {
        busy = false;
        syncPause();
      }
    });

    button("delete").addEventListener("click", async () => {
      const segment = currentSegment();
      userPaused = true;
      syncPause();
      if (!window.confirm(t("js_confirm_delete_story"))) {
        userPaused = false;
        syncPause();
        return;
      }
      try {
        await api("DELETE", `/api/v1/stories/${segment.id}`);
        toast(t("js_deleted_restorable"));
        const removedIndex = index;
        segments.splice(removedIndex, 1);
        fills.splice(removedIndex, 1)[0].parentElement.remove();
        userPaused = false;
        if (!segments.length) {
          setTimeout(close, 900);
        } else {
          show(Math.min(removedIndex, segments.length - 1));
        }
      } catch (error) {
        userPaused = false;
        syncPause();
        toast(error.message);
      }
    });

    // Quick reactions (one per viewer, replaced by the next; the same one again takes it back) and private
    // replies, for everyone but the author.
    $$('[data-action="react"]').forEach((element) => element.addEventListener("click", async () => {
      if (needsAccount()) return;
      const segment = currentSegment();
      const before = segment.myReaction;
      const emoji = before === element.dataset.emoji ? null : element.dataset.emoji;
      segment.myReaction = emoji;
      renderActions(segment);
      try {
        if (emoji) await api("PUT", `/api/v1/stories/${segment.id}/reaction`, { emoji });
        else await api("DELETE", `/api/v1/stories/${segment.id}/reaction`);
      } catch (error) {
        segment.myReaction = before;
        renderActions(segment);
        toast(error.message);
      }
    }));
    const replyForm = $("[data-reply-form]");
    if (replyForm) {
      const field = replyForm.elements.text;
      field.addEventListener("focus", () => { typing = true; syncPause(); });
      field.addEventListener("blur", () => { typing = false; syncPause(); });
      replyForm.addEventListener("submit", async (event) => {
        event.preventDefault();
        if (needsAccount()) return;
        const text = field.value.trim();
        if (!text) return;
        const send = replyForm.querySelector('[data-action="send-reply"]');
        send.disabled = true;
        try {
          await api("POST", `/api/v1/stories/${currentSegment().id}/replies`, { text });
          field.value = "";
          field.blur();
          toast(t("js_reply_sent", { handle: state.author.handle }));
        } catch (error) {
          toast(error.message);
        } finally {
          send.disabled = false;
        }
      });
    }

    // Mute the author: their stories go to the end of my tray and are not entered from another story.
    const muteAuthor = button("mute-author");
    function paintMuteAuthor() {
      muteAuthor.setAttribute("aria-pressed", String(!!state.mutedByMe));
      muteAuthor.setAttribute("aria-label", t(state.mutedByMe ? "js_unmute_author" : "mute_author", { handle: state.author.handle }));
      muteAuthor.title = muteAuthor.getAttribute("aria-label");
    }
    paintMuteAuthor();
    muteAuthor.addEventListener("click", async () => {
      if (needsAccount()) return;
      const muting = !state.mutedByMe;
      try {
        await api(muting ? "PUT" : "DELETE", `/api/v1/me/muted/${encodeURIComponent(state.author.handle)}`);
        state.mutedByMe = muting;
        paintMuteAuthor();
        toast(t(muting ? "js_muted_author" : "js_unmuted_author", { handle: state.author.handle }));
      } catch (error) {
        toast(error.message);
      }
    });

    // The author's insights of the segment on screen: the counts, and a bar chart of views by hour (SVG).
    button("insights").addEventListener("click", async () => {
      const segment = currentSegment();
      const list = $("[data-insights]");
      const chart = $("[data-insights-chart]");
      list.textContent = "";
      chart.textContent = "";
      $('[data-sheet="insights"]').hidden = false;
      syncPause();
      try {
        const insights = await api("GET", `/api/v1/stories/${segment.id}/insights`);
        const rows = [
          ["impressions", numbers.format(insights.impressions)], ["reach", numbers.format(insights.reach)],
          ["completionRate", new Intl.NumberFormat(lang, { style: "percent" }).format(insights.completionRate)],
          ["tapsForward", numbers.format(insights.tapsForward)], ["tapsBack", numbers.format(insights.tapsBack)],
          ["exits", numbers.format(insights.exits)], ["replies", numbers.format(insights.replies)],
          ["reactions", numbers.format(insights.reactions)], ["shares", numbers.format(insights.shares)],
          ["downloads", numbers.format(insights.downloads)],
        ];
        // Each row by its API field: the label from the catalogue, the figure written for the language.
        for (const [field, value] of rows) {
          const item = document.createElement("div");
          const term = document.createElement("dt");
          term.textContent = t(`insight_${field}`);
          const number = document.createElement("dd");
          number.textContent = value;
          number.dataset.insight = field;
          item.append(term, number);
          list.appendChild(item);
        }
        chart.appendChild(viewsChart(insights.viewsByHour));
      } catch (error) {
        toast(error.message);
      }
    });

    /** Bars of distinct viewers by hour, drawn as SVG, with a sentence for screen readers. */
    function viewsChart(byHour) {
      const ns = "http://www.w3.org/2000/svg";
      const svg = document.createElementNS(ns, "svg");
      const width = 300;
      const height = 90;
      const most = Math.max(1, ...byHour);
      const step = width / Math.max(byHour.length, 24);  // a day's hours across, however few have passed
      svg.setAttribute("viewBox", `0 0 ${width} ${height + 14}`);
      svg.setAttribute("role", "img");
      const total = byHour.reduce((sum, n) => sum + n, 0);
      const peak = byHour.indexOf(Math.max(...byHour));
      svg.setAttribute("aria-label", total
        ? t("js_chart_summary", { viewers: tn("js_viewer_count", total), hours: tn("hours", byHour.length),
                                 hour: numbers.format(peak + 1), most: numbers.format(byHour[peak]) })
        : t("js_no_viewers_yet"));
      svg.dataset.bars = String(byHour.length);
      byHour.forEach((count, hour) => {
        const bar = document.createElementNS(ns, "rect");
        const barHeight = (count / most) * height;
        bar.setAttribute("x", String(hour * step + step * 0.15));
        bar.setAttribute("y", String(height - barHeight));
        bar.setAttribute("width", String(step * 0.7));
        bar.setAttribute("height", String(Math.max(barHeight, count ? 2 : 0.5)));
        bar.setAttribute("class", "chart-bar");
        svg.appendChild(bar);
      });
      const label = document.createElementNS(ns, "text");
      label.setAttribute("x", "0");
      label.setAttribute("y", String(height + 12));
      label.setAttribute("class", "chart-label");
      label.textContent = t("js_chart_label", { n: numbers.format(byHour.length) });
      svg.appendChild(label);
      return svg;
    }

    // The author adds the segment on screen to a highlight.
    button("add-highlight").addEventListener("click", () => {
      openHighlightPicker(currentSegment().id, syncPause);
      syncPause();
    });

    // The owner's highlight sheet: rename, cover, remove the segment on screen, first on the profile, delete.
    const highlightSheet = $('[data-sheet="highlight"]');
    if (state.highlight && highlightSheet) {
      const highlightForm = $("[data-highlight-form]");
      const sheetButton = (action) => $(`[data-sheet="highlight"] [data-action="${action}"]`);
      const change = async (body, done) => {
        try {
          const changed = await api("PATCH", `/api/v1/highlights/${state.highlight.id}`, body);
          state.highlight.title = changed.title;
          $("[data-highlight-title]").textContent = changed.title;
          toast(done);
          return changed;
        } catch (error) {
          toast(error.message);
          return null;
        }
      };
      button("edit-highlight").addEventListener("click", () => {
        highlightForm.elements.title.value = state.highlight.title;
        sheetButton("highlight-remove").disabled = segments.length < 2;
        highlightSheet.hidden = false;
        syncPause();
        highlightForm.elements.title.focus();
      });
      highlightForm.addEventListener("submit", async (event) => {
        event.preventDefault();
        if (await change({ title: highlightForm.elements.title.value }, t("js_renamed"))) closeSheets();
      });
      sheetButton("highlight-cover").addEventListener("click", async () => {
        if (await change({ coverSegmentId: currentSegment().id }, t("js_cover_now"))) closeSheets();
      });
      sheetButton("highlight-remove").addEventListener("click", async () => {
        const removed = currentSegment();
        const ids = state.highlight.segmentIds.filter((id) => id !== removed.id);
        if (!(await change({ segmentIds: ids }, t("js_removed_from_highlight")))) return;
        state.highlight.segmentIds = ids;
        const removedIndex = index;
        segments.splice(removedIndex, 1);
        fills.splice(removedIndex, 1)[0].parentElement.remove();
        closeSheets();
        show(Math.min(removedIndex, segments.length - 1));
      });
      sheetButton("highlight-first").addEventListener("click", async () => {
        try {
          await api("PUT", "/api/v1/me/highlights/order", { ids: [state.highlight.id] });
          toast(t("js_highlight_first"));
          closeSheets();
        } catch (error) {
          toast(error.message);
        }
      });
      sheetButton("highlight-delete").addEventListener("click", async () => {
        if (!window.confirm(t("js_confirm_delete_highlight", { title: state.highlight.title }))) return;
        try {
          await api("DELETE", `/api/v1/highlights/${state.highlight.id}`);
          leaving = true;
          location.href = `/@${encodeURIComponent(state.author.handle)}`;
        } catch (error) {
          toast(error.message);
        }
      });
    }

    // The author's edit sheet: caption, alt text, audience, comments and downloads (PATCH).
    const editForm = $("[data-edit-form]");
    button("edit").addEventListener("click", () => {
      const segment = currentSegment();
      editForm.elements.caption.value = segment.caption || "";
      editForm.elements.altText.value = segment.altText || "";
      editForm.elements.audience.value = segment.audience;
      editForm.elements.allowComments.checked = segment.allowComments;
      editForm.elements.allowDownloads.checked = segment.allowDownloads;
      $('[data-sheet="edit"]').hidden = false;
      syncPause();
      editForm.elements.caption.focus();
    });
    editForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const segment = currentSegment();
      const save = editForm.querySelector('[data-action="save-edit"]');
      save.disabled = true;
      try {
        const edited = await api("PATCH", `/api/v1/stories/${segment.id}`, {
          caption: editForm.elements.caption.value,
          altText: editForm.elements.altText.value,
          audience: editForm.elements.audience.value,
          allowComments: editForm.elements.allowComments.checked,
          allowDownloads: editForm.elements.allowDownloads.checked,
        });
        Object.assign(segment, {
          caption: edited.caption, altText: edited.altText, audience: edited.audience,
          allowComments: edited.allowComments, allowDownloads: edited.allowDownloads,
        });
        caption.textContent = segment.caption || "";
        caption.hidden = !segment.caption;
        if (current) {
          const spoken = segment.altText || segment.caption || t("js_story_by", { handle: state.author.handle });
          if (current.tagName === "IMG") current.alt = spoken; else current.setAttribute("aria-label", spoken);
        }
        renderActions(segment);
        closeSheets();
        toast(t("js_saved"));
      } catch (error) {
        toast(error.message);
      } finally {
        save.disabled = false;
      }
    });

    // Sheets: comments and viewers.
    function closeSheets() {
      $$("[data-sheet]").forEach((sheet) => { sheet.hidden = true; });
      syncPause();
    }
    $$('[data-action="close-sheet"]').forEach((element) => element.addEventListener("click", closeSheets));

    /** A list item of something a person wrote (a comment, a reply): avatar, handle, age, text. */
    function writtenItem(person, createdAt, words) {
      const item = document.createElement("li");
      item.appendChild(avatar(person));
      const body = document.createElement("div");
      const name = document.createElement("b");
      name.textContent = person.handle;
      const when = document.createElement("small");
      when.textContent = ` ${age(createdAt)}`;
      const text = document.createElement("p");
      text.textContent = words;
      body.append(name, when, text);
      item.appendChild(body);
      return item;
    }

    function commentItem(comment, segment) {
      const item = writtenItem(comment.author, comment.createdAt, comment.text);
      item.dataset.commentId = comment.id;
      if (me && (comment.author.handle === me || state.isAuthor)) {
        const remove = document.createElement("button");
        remove.className = "icon-button";
        remove.dataset.action = "delete-comment";
        remove.setAttribute("aria-label", t("js_delete_comment"));
        remove.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18"/></svg>';
        remove.addEventListener("click", async () => {
          try {
            await api("DELETE", `/api/v1/comments/${comment.id}`);
            item.remove();
            segment.counts.comments = Math.max(0, segment.counts.comments - 1);
            renderActions(segment);
          } catch (error) {
            toast(error.message);
          }
        });
        item.appendChild(remove);
      }
      return item;
    }

    button("comment").addEventListener("click", async () => {
      const segment = currentSegment();
      const sheet = $('[data-sheet="comments"]');
      const list = $("[data-comments]");
      list.textContent = "";
      sheet.hidden = false;
      sheet.dataset.segmentId = segment.id;
      $("[data-comments-off]").hidden = segment.allowComments;
      $("[data-comment-form]").hidden = !segment.allowComments || !me;
      syncPause();
      try {
        const page = await api("GET", `/api/v1/stories/${segment.id}/comments?limit=100`);
        for (const comment of page.items) list.appendChild(commentItem(comment, segment));
        if (!page.items.length) {
          const empty = document.createElement("li");
          empty.className = "sheet-note";
          empty.dataset.emptyNote = "true";
          empty.textContent = segment.allowComments ? t("js_no_comments") : "";
          list.appendChild(empty);
        }
        if (segment.allowComments && me) $("[data-comment-form] input").focus();
      } catch (error) {
        toast(error.message);
      }
    });

    $("[data-comment-form]").addEventListener("submit", async (event) => {
      event.preventDefault();
      const input = $("[data-comment-form] input");
      const text = input.value.trim();
      if (!text) return;
      const segment = currentSegment();
      try {
        const comment = await api("POST", `/api/v1/stories/${segment.id}/comments`, { text });
        input.value = "";
        const empty = $("[data-empty-note]");
        if (empty) empty.remove();
        $("[data-comments]").appendChild(commentItem(comment, segment));
        segment.counts.comments += 1;
        renderActions(segment);
      } catch (error) {
        toast(error.message);
      }
    });

    button("viewers").addEventListener("click", async () => {
      const segment = currentSegment();
      const sheet = $('[data-sheet="viewers"]');
      const list = $("[data-viewers]");
      list.textContent = "";
      sheet.hidden = false;
      syncPause();
      try {
        const [data, reactions, replies] = await Promise.all([
          api("GET", `/api/v1/stories/${segment.id}/viewers`),
          api("GET", `/api/v1/stories/${segment.id}/reactions`),
          api("GET", `/api/v1/stories/${segment.id}/replies?limit=100`),
        ]);
        const reacted = Object.entries(reactions.counts).sort((a, b) => b[1] - a[1]);
        const reactionLine = $("[data-reactions-summary]");
        reactionLine.hidden = !reacted.length;
        reactionLine.textContent = reacted.map(([emoji, count]) => `${emoji} ${numbers.format(count)}`).join("  ·  ")
          + (reactions.recent.length ? ` — ${reactions.recent.slice(0, 5).map((r) => `${r.account.handle} ${r.emoji}`).join(", ")}` : "");
        const replyList = $("[data-replies]");
        replyList.textContent = "";
        $("[data-replies-head]").hidden = !replies.items.length;
        for (const reply of replies.items) {
          const item = writtenItem(reply.from, reply.createdAt, reply.text);
          item.dataset.replyId = reply.id;
          replyList.appendChild(item);
        }
        const parts = [tn("js_view_count", data.count), tn("js_like_count", segment.counts.likes),
          tn("js_share_count", segment.counts.shares)];
        if (data.anonymousCount) parts.push(tn("js_without_view_history", data.anonymousCount));
        $("[data-viewers-summary]").textContent = parts.join(" · ");
        for (const viewer of data.viewers) {
          const item = document.createElement("li");
          item.appendChild(avatar(viewer.account));
          const name = document.createElement("p");
          name.textContent = viewer.account.displayName;
          const when = document.createElement("small");
          when.textContent = age(viewer.viewedAt);
          item.append(name, when);
          list.appendChild(item);
        }
      } catch (error) {
        toast(error.message);
      }
    });

    button("report").addEventListener("click", () => {
      if (needsAccount()) return;
      const form = $("[data-report-form]");
      form.reset();
      const sheet = $('[data-sheet="report"]');
      sheet.dataset.segmentId = currentSegment().id;
      sheet.hidden = false;
      syncPause();
    });

    $("[data-report-form]").addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target;
      const send = form.querySelector('[data-action="send-report"]');
      const segmentId = $('[data-sheet="report"]').dataset.segmentId;
      send.disabled = true;
      try {
        await api("POST", `/api/v1/stories/${segmentId}/reports`, {
          reason: form.elements.reason.value,
          details: form.elements.details.value,
        });
        closeSheets();
        toast(t("js_thanks_for_reporting"));
      } catch (error) {
        toast(error.message);
      } finally {
        send.disabled = false;
      }
    });

    // Swipe down on the stage itself (outside the tap zones) closes too.
    let swipeStart = null;
    stage.addEventListener("pointerdown", (event) => { swipeStart = event.clientY; });
    stage.addEventListener("pointerup", (event) => {
      if (swipeStart !== null && event.clientY - swipeStart > 120 && !openSheet()) close();
      swipeStart = null;
    });

    show(index);
    requestAnimationFrame(tick);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Posting

  function initComposer() {
    const composer = $("[data-composer]");
    const form = $("[data-post-form]");
    const maxSeconds = Number(composer.dataset.maxSeconds) || 15;
    const input = $("[data-media-input]");
    const frame = $("[data-preview-frame]");
    const media = $("[data-preview-media]");
    const empty = $("[data-preview-empty]");
    const overlay = $("[data-preview-text]");
    const submit = form.querySelector('[data-action="post"]');
    const errorBox = $("[data-post-error]");
    let file = null;
    let previewURL = null;

    function showError(message) {
      errorBox.textContent = message;
      errorBox.hidden = !message;
    }

    function applyLook() {
      const filter = (form.querySelector('input[name="filter"]:checked') || {}).value || "none";
      media.className = `preview-media filter-${filter}`;
      const text = form.elements.text.value.trim();
      overlay.textContent = text;
      overlay.hidden = !text;
      overlay.dataset.position = (form.querySelector('input[name="textPosition"]:checked') || {}).value || "bottom";
    }
    form.addEventListener("input", applyLook);
    form.addEventListener("change", applyLook);

    // A text story: typed here, previewed on its background at the size the server will draw it.
    let textMode = false;
    const textPreview = $("[data-text-preview]");
    const storyText = $("[data-story-text]");
    const sizes = textPreview.dataset.sizes.split(",").map((size) => size.split(":").map(Number));
    function paintTextPreview() {
      const chosen = form.querySelector('input[name="background"]:checked');
      textPreview.style.background = `linear-gradient(135deg, #${chosen.dataset.from}, #${chosen.dataset.to})`;
      textPreview.style.color = `#${chosen.dataset.ink}`;
      const text = storyText.value.trim();
      const [, , fontSize] = sizes.find(([upTo]) => text.length <= upTo) || sizes[sizes.length - 1];
      const words = $("[data-text-preview-words]");
      words.textContent = text || t("your_text");
      words.style.opacity = text ? "1" : ".5";
      words.style.fontSize = `${(fontSize / 1080) * textPreview.clientWidth}px`;
      $("[data-story-count]").textContent = `${numbers.format(storyText.value.length)}/${numbers.format(storyText.maxLength)}`;
      if (textMode) submit.disabled = !text;
    }
    function setTextMode(on) {
      textMode = on;
      textPreview.hidden = !on;
      $("[data-text-only]").hidden = !on;
      $$("[data-media-only]").forEach((element) => { element.hidden = on; });
      if (on) {
        file = null;
        empty.hidden = true;
        frame.hidden = true;
        $("[data-video-only]").hidden = true;
        $('[data-action="change-media"]').hidden = false;
        paintTextPreview();
        storyText.focus();
      }
    }
    $('[data-action="text-mode"]').addEventListener("click", () => setTextMode(true));
    storyText.addEventListener("input", paintTextPreview);
    $$('input[name="background"]').forEach((radio) => radio.addEventListener("change", paintTextPreview));
    window.addEventListener("resize", () => { if (textMode) paintTextPreview(); });

    function setFile(chosen) {
      setTextMode(false);
      file = chosen;
      showError("");
      if (previewURL) URL.revokeObjectURL(previewURL);
      previewURL = URL.createObjectURL(chosen);
      media.textContent = "";
      const isVideo = chosen.type.startsWith("video/") || /\.(mp4|mov|webm|mkv)$/i.test(chosen.name);
      let element;
      if (isVideo) {
        element = document.createElement("video");
        element.muted = true;
        element.loop = true;
        element.playsInline = true;
        element.autoplay = true;
        element.addEventListener("loadedmetadata", () => {
          const seconds = element.duration;
          const note = $("[data-duration-note]");
          if (isFinite(seconds) && seconds > maxSeconds) {
            note.textContent = t("js_video_too_long", { seconds: decimals.format(seconds), max: numbers.format(maxSeconds) });
          } else {
            note.textContent = isFinite(seconds) ? t("js_seconds", { n: decimals.format(seconds) }) : "";
          }
        });
        element.addEventListener("error", () => {
          $("[data-duration-note]").textContent = t("js_no_video_preview");
        });
      } else {
        element = document.createElement("img");
        element.alt = t("js_preview");
      }
      element.src = previewURL;
      media.appendChild(element);
      empty.hidden = true;
      frame.hidden = false;
      $("[data-video-only]").hidden = !isVideo;
      $('[data-action="change-media"]').hidden = false;
      submit.disabled = false;
      applyLook();
    }

    input.addEventListener("change", () => { if (input.files && input.files[0]) setFile(input.files[0]); });
    $('[data-action="change-media"]').addEventListener("click", () => input.click());

    // Recording in the browser: a countdown, then at most maxSeconds, stopping itself.
    const recorderBox = $("[data-recorder]");
    const recorderVideo = $("[data-recorder-video]");
    let stream = null;
    let recorder = null;
    let stopTimer = 0;
    let clockTimer = 0;

    function stopStream() {
      if (stream) stream.getTracks().forEach((track) => track.stop());
      stream = null;
      recorderVideo.srcObject = null;
    }

    $('[data-action="record"]').addEventListener("click", async () => {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.MediaRecorder) {
        showError(t("js_cannot_record"));
        return;
      }
      try {
        stream = await navigator.mediaDevices.getUserMedia({
          video: { facingMode: "user", width: { ideal: 1080 }, height: { ideal: 1920 } }, audio: true,
        });
      } catch (error) {
        showError(t("js_no_camera"));
        return;
      }
      recorderVideo.srcObject = stream;
      recorderBox.hidden = false;
      empty.hidden = true;
      frame.hidden = true;
    });

    $('[data-action="cancel-record"]').addEventListener("click", () => {
      clearTimeout(stopTimer);
      clearInterval(clockTimer);
      if (recorder && recorder.state !== "inactive") { recorder.onstop = null; recorder.stop(); }
      stopStream();
      recorderBox.hidden = true;
      if (file) frame.hidden = false; else empty.hidden = false;
    });

    $('[data-action="start-record"]').addEventListener("click", () => {
      const startButton = $('[data-action="start-record"]');
      const stopButton = $('[data-action="stop-record"]');
      const countdown = $("[data-countdown]");
      const clock = $("[data-rec-time]");
      startButton.hidden = true;
      let count = 3;
      countdown.hidden = false;
      countdown.textContent = String(count);
      const tickDown = setInterval(() => {
        count -= 1;
        if (count > 0) {
          countdown.textContent = String(count);
          return;
        }
        clearInterval(tickDown);
        countdown.hidden = true;
        const chunks = [];
        const type = ["video/webm;codecs=vp9,opus", "video/webm;codecs=vp8,opus", "video/webm", "video/mp4"]
          .find((candidate) => MediaRecorder.isTypeSupported(candidate)) || "";
        recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
        recorder.ondataavailable = (event) => { if (event.data.size) chunks.push(event.data); };
        recorder.onstop = () => {
          clearInterval(clockTimer);
          clearTimeout(stopTimer);
          clock.hidden = true;
          stopButton.hidden = true;
          startButton.hidden = false;
          const mime = (recorder.mimeType || "video/webm").split(";")[0];
          const extension = mime.includes("mp4") ? "mp4" : "webm";
          stopStream();
          recorderBox.hidden = true;
          setFile(new File(chunks, `recording.${extension}`, { type: mime }));
        };
        recorder.start(250);
        const started = performance.now();
        clock.hidden = false;
        stopButton.hidden = false;
        const paint = () => {
          const seconds = Math.min(maxSeconds, (performance.now() - started) / 1000);
          clock.textContent = `0:${String(Math.floor(seconds)).padStart(2, "0")} / 0:${String(maxSeconds).padStart(2, "0")}`;
        };
        paint();
        clockTimer = setInterval(paint, 200);
        // Stop a little before the limit: the container's own timing must stay within maxSeconds.
        stopTimer = setTimeout(() => { if (recorder.state !== "inactive") recorder.stop(); }, maxSeconds * 1000 - 150);
      }, 1000);
    });

    $('[data-action="stop-record"]').addEventListener("click", () => {
      if (recorder && recorder.state !== "inactive") recorder.stop();
    });

    // Upload with real progress (XMLHttpRequest reports upload progress; fetch does not), then follow the
    // new segments until they are live.
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!file && !textMode) { showError(t("js_choose_first")); return; }
      showError("");
      const data = new FormData();
      const fields = ["caption", "altText", "audience", "lifetime"];
      if (textMode) {
        data.append("kind", "text");
        data.append("text", storyText.value.trim());
        data.append("background", form.querySelector('input[name="background"]:checked').value);
      } else {
        data.append("media", file, file.name || "upload");
        fields.push("filter", "text", "trimStart", "trimEnd");
      }
      for (const name of fields) {
        const field = form.elements[name];
        const value = field && (field.value !== undefined ? field.value : "");
        if (value && String(value).trim()) data.append(name, String(value).trim());
      }
      if (!textMode && form.elements.text.value.trim()) {
        data.append("textPosition", (form.querySelector('input[name="textPosition"]:checked') || {}).value || "bottom");
      }
      if (!textMode && form.elements.split.checked) data.append("split", "true");
      // A local date and time from the picker, sent as an instant.
      const publishAt = form.elements.publishAt.value;
      if (publishAt) {
        const when = new Date(publishAt);
        if (Number.isNaN(when.getTime())) { showError(t("js_invalid_go_live")); return; }
        data.append("publishAt", when.toISOString());
      }
      const sound = !textMode && form.elements.sound.files && form.elements.sound.files[0];
      if (sound) data.append("sound", sound, sound.name);

      const uploadBox = $("[data-upload]");
      const bar = $("[data-upload-progress]");
      const label = $("[data-upload-label]");
      uploadBox.hidden = false;
      submit.disabled = true;
      bar.value = 0;
      const started = performance.now();
      const request = new XMLHttpRequest();
      request.open("POST", "/api/v1/stories");
      request.setRequestHeader("X-CSRF-Token", csrf());
      request.setRequestHeader("Accept", "application/json");
      request.upload.addEventListener("progress", (progress) => {
        if (!progress.lengthComputable) return;
        bar.value = (progress.loaded / progress.total) * 100;
        const seconds = (performance.now() - started) / 1000;
        const speed = seconds > 0 ? progress.loaded / seconds : 0;
        label.textContent = t("js_bytes_of", { done: formatBytes(progress.loaded), total: formatBytes(progress.total) })
          + (speed ? ` · ${t("js_per_second", { size: formatBytes(speed) })}` : "");
      });
      request.addEventListener("error", () => {
        submit.disabled = false;
        uploadBox.hidden = true;
        showError(t("js_upload_interrupted"));
      });
      request.addEventListener("load", () => {
        let body = null;
        try { body = JSON.parse(request.responseText); } catch (_) { body = null; }
        if (request.status !== 201 || !body) {
          submit.disabled = false;
          uploadBox.hidden = true;
          showError((body && body.error && body.error.message) || t("js_posting_failed", { status: request.status }));
          return;
        }
        bar.value = 100;
        label.textContent = t("js_uploaded");
        follow(body.segments);
      });
      request.send(data);
    });

    function follow(segments) {
      const list = $("[data-posted]");
      list.textContent = "";
      const items = segments.map((segment, i) => {
        const item = document.createElement("li");
        item.dataset.segmentId = segment.id;
        const name = document.createElement("span");
        name.textContent = segments.length > 1 ? t("js_part", { n: numbers.format(i + 1) }) : t("your_story");
        const status = document.createElement("b");
        item.append(name, status);
        list.appendChild(item);
        return { segment, item, status };
      });
      const paint = () => {
        for (const entry of items) {
          const stateName = entry.segment.state;
          entry.item.dataset.state = stateName;
          entry.status.dataset.state = stateName;
          entry.status.textContent = stateName === "processing" ? t("js_processing")
            : stateName === "live" ? t("js_live") : stateName === "failed" ? (entry.segment.failureReason || t("js_failed"))
            : stateName === "scheduled"
              ? t("js_scheduled_for", { when: new Date(entry.segment.publishAt).toLocaleString(lang, { dateStyle: "medium", timeStyle: "short" }) })
              : stateName;
        }
      };
      paint();
      const poll = async () => {
        let pending = false;
        for (const entry of items) {
          if (entry.segment.state !== "processing") continue;
          try {
            // Held by the server until the segment is live or failed (at most 25 s), so it shows at once.
            entry.segment = await api("GET", `/api/v1/stories/${entry.segment.id}?wait=25`);
          } catch (_) { /* try again on the next round */ }
          if (entry.segment.state === "processing") pending = true;
        }
        paint();
        if (pending) { setTimeout(poll, 200); return; }
        const live = items.filter((entry) => entry.segment.state === "live").length;
        if (live) {
          const link = document.createElement("a");
          link.className = "button button-primary button-block";
          link.href = `/@${encodeURIComponent(me)}/story`;
          link.textContent = t("js_view_your_story");
          link.dataset.action = "view-story";
          submit.replaceWith(link);
        } else {
          submit.disabled = false;
        }
      };
      poll();
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Buttons on the other pages

  document.addEventListener("click", async (event) => {
    const target = event.target.closest("[data-action]");
    if (!target || document.body.dataset.page === "story") return;
    const action = target.dataset.action;
    try {
      if (action === "follow" || action === "unfollow") {
        target.disabled = true;
        await api(action === "follow" ? "PUT" : "DELETE", `/api/v1/me/following/${encodeURIComponent(target.dataset.handle)}`);
        location.reload();
      } else if ((action === "mute-author" || action === "unmute-author") && target.dataset.handle) {
        target.disabled = true;
        await api(action === "mute-author" ? "PUT" : "DELETE", `/api/v1/me/muted/${encodeURIComponent(target.dataset.handle)}`);
        location.reload();
      } else if (action === "cancel-scheduled" && target.dataset.id) {
        if (!window.confirm(t("js_confirm_cancel_scheduled"))) return;
        target.disabled = true;
        await api("DELETE", `/api/v1/stories/${target.dataset.id}`);
        target.closest("li").remove();
        toast(t("js_cancelled"));
      } else if (action === "add-highlight" && target.dataset.id) {
        openHighlightPicker(target.dataset.id, () => target.focus());
      } else if (action === "restore" && target.dataset.id) {
        target.disabled = true;
        const segment = await api("POST", `/api/v1/stories/${target.dataset.id}/restore`);
        target.closest("li").remove();
        toast(segment.state === "live" ? t("js_restored_story") : t("js_restored_archive"));
      } else if (action === "dismiss" && target.dataset.id) {
        target.disabled = true;
        await api("POST", `/api/v1/moderation/reports/${target.dataset.id}/dismiss`);
        const item = target.closest("[data-item]");
        target.closest("li").remove();
        if (item && !item.querySelector("[data-report-id]")) item.remove();
        toast(t("js_report_dismissed"));
      } else if (action === "delete" && target.dataset.permanent && target.dataset.id) {
        if (!window.confirm(t("js_confirm_delete_now"))) return;
        target.disabled = true;
        await api("DELETE", `/api/v1/stories/${target.dataset.id}?permanent=true`);
        target.closest("li").remove();
        toast(t("js_deleted_for_good"));
      }
    } catch (error) {
      target.disabled = false;
      toast(error.message);
    }
  });

  // Forms that post their fields as JSON to an API endpoint (moderation, appeals). The button pressed may
  // carry a value of its own (restore or uphold).
  $$("[data-api-form]").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = {};
      for (const [name, value] of new FormData(form)) body[name] = value;
      const submitter = event.submitter;
      if (submitter && submitter.name) body[submitter.name] = submitter.value;
      const buttons = $$("button", form);
      buttons.forEach((button) => { button.disabled = true; });
      try {
        await api("POST", form.dataset.endpoint, body);
        toast(form.dataset.done || t("js_done"));
        if (form.hasAttribute("data-reload")) {
          setTimeout(() => location.reload(), 600);
        } else {
          const item = form.closest("[data-item]");
          if (item) item.remove();
        }
      } catch (error) {
        buttons.forEach((button) => { button.disabled = false; });
        toast(error.message);
      }
    });
  });

  $$("[data-danger-form]").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!window.confirm(form.dataset.confirm)) return;
      const button = form.querySelector("button");
      button.disabled = true;
      try {
        await api("DELETE", form.dataset.endpoint, { password: form.elements.password.value });
        form.reset();
        if (form.dataset.endpoint === "/api/v1/me") {
          location.href = "/";
        } else {
          toast(t("js_all_data_purging"));
        }
      } catch (error) {
        toast(error.message);
      } finally {
        button.disabled = false;
      }
    });
  });

  // The service worker that decrypts the viewer's media in the browser (sw.js). Only a secure context (HTTPS, or
  // this machine) may run one; elsewhere the viewer keeps using the server's decrypting /media/ path.
  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register("/sw.js").catch(() => { /* the /media/ path still works */ });
  }

  // The activity page: seeing it reads what it shows. Its GET changes nothing (a prefetch reads nothing); the
  // page, once shown, marks the inbox read and takes the badge away. The items keep their unread look until
  // the next visit, so what is new stays visible while it is being read.
  const unreadList = $("[data-mark-read]");
  if (unreadList && me) {
    api("POST", "/api/v1/me/activity/read")
      .then(() => {
        $$(".badge-count[data-unread], a[href=\"/activity\"] .dot").forEach((badge) => badge.remove());
        unreadList.dataset.read = "true";
      })
      .catch(() => { /* still unread: the next visit tries again */ });
  }

  const page = document.body.dataset.page;
  if (page === "story") initViewer();
  if (page === "new") initComposer();
})();
