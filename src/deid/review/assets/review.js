"use strict";
// The review page: filters, lazy thumbnails with overlays, a large view with the
// report, keyboard navigation and per-image sign-off marks kept in localStorage.
// Everything it shows comes from the JSON block written by deid; nothing is fetched.
(function () {
  const DATA = JSON.parse(document.getElementById("deid-data").textContent);
  const ENTRIES = DATA.entries;
  const SVG = "http://www.w3.org/2000/svg";
  const STORE = "deid-review/1:";
  const STATUS_LABEL = {needs_review: "needs review", failed: "failed", redacted: "redacted", clean: "clean"};
  // Fixed colours for the text stage's categories, so a category looks the same on
  // every page; any other category gets one derived from its name.
  const CATEGORY_COLOUR = {
    name: "#7a4cc2", national_id: "#e8590c", resident_id: "#d9480f", health_plan_id: "#c2255c",
    medical_record_number: "#1971c2", ssn: "#a61e4d", phone: "#0c8599", date: "#b08900",
    email: "#5c940d", address: "#862e9c", identifier: "#495057", roster: "#e64980",
    deny_list: "#f03e3e", text: "#868e96", face: "#e0382e",
  };
  const $ = (id) => document.getElementById(id);
  const grid = $("grid"), viewer = $("viewer");
  let shown = [];     // indices into ENTRIES that pass the filters, in page order
  let current = -1;   // position in `shown` of the image in the large view

  function colour(category) {
    if (CATEGORY_COLOUR[category]) return CATEGORY_COLOUR[category];
    let h = 0;
    for (const ch of category) h = (h * 31 + ch.codePointAt(0)) % 360;
    return `hsl(${h} 65% 40%)`;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v; else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c);
    return node;
  }

  function svgEl(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    return node;
  }

  // ---- marks --------------------------------------------------------------------
  // A mark belongs to one output's exact bytes: a rerun that changes it asks again.
  function markKey(e) { return STORE + e.report + "#" + (e.sha256 || "none"); }

  function getMark(e) {
    try {
      const v = JSON.parse(localStorage.getItem(markKey(e)) || "null");
      return v && (v.mark === "approved" || v.mark === "rejected") ? v : null;
    } catch (err) { return null; }
  }

  function setMark(e, mark) {
    if (mark === "approved" && !e.image) return;  // nothing was written to approve
    if (mark) localStorage.setItem(markKey(e), JSON.stringify({mark, at: new Date().toISOString()}));
    else localStorage.removeItem(markKey(e));
    const card = grid.querySelector(`[data-i="${ENTRIES.indexOf(e)}"]`);
    if (card) paintMark(card, e);
    if (viewer.open) paintViewerMark(e);
    updateProgress();
  }

  function paintMark(card, e) {
    const m = getMark(e);
    card.classList.toggle("mark-approved", !!m && m.mark === "approved");
    card.classList.toggle("mark-rejected", !!m && m.mark === "rejected");
    const label = card.querySelector(".mark");
    label.className = "mark " + (m ? m.mark : "");
    label.textContent = m ? m.mark : "";
  }

  function updateProgress() {
    let approved = 0, rejected = 0;
    for (const e of ENTRIES) {
      const m = getMark(e);
      if (m && m.mark === "approved") approved++;
      if (m && m.mark === "rejected") rejected++;
    }
    $("progress").textContent = `${approved} approved, ${rejected} rejected, ` +
      `${ENTRIES.length - approved - rejected} unmarked`;
  }

  function exportSignoff() {
    const items = ENTRIES.map((e) => {
      const m = getMark(e);
      return {name: e.name, report: e.report, output: e.image, output_sha256: e.sha256,
              status: e.status, mark: m ? m.mark : null, marked_at: m ? m.at : null};
    });
    const counts = {approved: 0, rejected: 0, unmarked: 0};
    for (const i of items) counts[i.mark || "unmarked"]++;
    const doc = {format: "deid-signoff", version: 1, page: document.title,
                 reviewer: $("reviewer").value.trim() || null,
                 exported_at: new Date().toISOString(), counts, items};
    const blob = new Blob([JSON.stringify(doc, null, 2)], {type: "application/json"});
    const a = el("a", {href: URL.createObjectURL(blob), download: "signoff.json"});
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }

  // ---- overlays -----------------------------------------------------------------
  // The image and an SVG in output pixels fill the same box, the image with
  // object-fit: contain and the SVG with "meet", so both are letterboxed alike and the
  // overlays line up at any size without measuring the layout. An <img> (not an SVG
  // <image>) so the browser decodes it off the main thread.
  // `preview`: an embedded original, downscaled, so only its shape must match.
  function picture(e, src, label, preview = false) {
    const frame = el("div", {class: "frame"});
    const img = el("img", {src, alt: label, decoding: "async"});
    frame.append(img);
    const svg = e.size ? overlays(e, label) : null;
    if (svg) frame.append(svg);
    // Load state on the element: a broken link shows, and tests can wait for pixels.
    img.addEventListener("load", () => {
      img.setAttribute("data-state", "loaded");
      const [w, h] = e.size || [0, 0];
      const fits = preview
        ? Math.abs(img.naturalWidth / img.naturalHeight - w / h) < 0.01
        : img.naturalWidth === w && img.naturalHeight === h;
      if (svg && !fits) {
        // Not the image the report describes: boxes drawn on it would mislead.
        svg.remove();
        frame.setAttribute("title", "overlays hidden: the image is not the size its report gives");
        frame.classList.add("no-overlays");
      }
    });
    img.addEventListener("error", () => img.setAttribute("data-state", "error"));
    return frame;
  }

  function overlays(e, label) {
    const [w, h] = e.size;
    const svg = svgEl("svg", {viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: "xMidYMid meet",
                              role: "img", "aria-label": `${label}: overlays`});
    // What only the verification pass found is drawn heavier: the reviewer looks there
    // first, as the first pass missed it.
    for (const f of e.faces) {
      const late = f.verification === "escalated";
      svg.append(rect(f.box, late ? "ov-obscured ov-verify" : "ov-obscured",
                      `face: ${f.action}${late ? " (found by verification)" : ""}`));
      for (const eye of f.eyes) svg.append(rect(eye, "ov-obscured", "eye"));
      if (f.oral) {
        const poly = svgEl("polygon", {class: "ov-oral", points: f.oral.map((p) => p.join(",")).join(" ")});
        poly.append(tip("kept oral region"));
        svg.append(poly);
      }
    }
    for (const t of e.text) {
      const late = t.action === "redacted_on_verify";
      const r = rect(t.box, late ? "ov-text ov-verify" : "ov-text",
                     `${t.category}: ${t.masked} (${late ? "found by verification" : t.action})`);
      r.setAttribute("stroke", colour(t.category));
      r.setAttribute("data-category", t.category);
      svg.append(r);
    }
    return svg;
  }

  function rect(b, cls, title) {
    const r = svgEl("rect", {class: cls, x: b[0], y: b[1], width: Math.max(1, b[2] - b[0]),
                             height: Math.max(1, b[3] - b[1])});
    r.append(tip(title));
    return r;
  }

  function tip(text) {
    const t = svgEl("title", {});
    t.textContent = text;
    return t;
  }

  function setOverlay(kind, on) {
    document.body.classList.toggle("hide-" + kind, !on);
    $("show-" + kind).checked = on;
  }

  // ---- grid ---------------------------------------------------------------------
  // Cards are light until they scroll near the screen; then the image and overlays are
  // added, and removed again far off screen, so thousands of images stay fast.
  const observer = new IntersectionObserver((changes) => {
    for (const c of changes) {
      const thumb = c.target.querySelector(".thumb");
      if (c.isIntersecting && !thumb.firstChild) fillThumb(thumb, ENTRIES[+c.target.dataset.i]);
      else if (!c.isIntersecting && thumb.firstChild) thumb.replaceChildren();
    }
  }, {rootMargin: "300px 0px"});

  function fillThumb(thumb, e) {
    if (e.image) thumb.append(picture(e, e.image, e.name));
    else thumb.append(el("div", {class: "placeholder"}, "not written"));
  }

  function card(i) {
    const e = ENTRIES[i];
    const node = el("article", {class: `card status-${e.status}`, tabindex: "0", "data-i": String(i),
                                "data-status": e.status, "data-image": e.image ? "1" : "0"},
      el("div", {class: "thumb"}),
      el("div", {class: "meta"},
        el("div", {class: "name"}, e.name),
        el("span", {class: `badge ${e.status}`}, STATUS_LABEL[e.status] || e.status), " ",
        el("span", {class: "mark"}),
        el("div", {class: "codes"}, e.reasons.join(", ") || e.categories.join(", "))));
    paintMark(node, e);
    return node;
  }

  function passes(e, statuses, category, mark) {
    if (!statuses.has(e.status)) return false;
    if (category === "(none)" ? e.categories.length : category && !e.categories.includes(category)) return false;
    if (mark) {
      const m = getMark(e);
      if ((m ? m.mark : "unmarked") !== mark) return false;
    }
    return true;
  }

  function render() {
    const statuses = new Set([...document.querySelectorAll("#status-filter input:checked")]
      .map((b) => b.value));
    const category = $("category-filter").value, mark = $("mark-filter").value;
    observer.disconnect();
    shown = [];
    const frag = document.createDocumentFragment();
    ENTRIES.forEach((e, i) => {
      if (passes(e, statuses, category, mark)) {
        shown.push(i);
        frag.append(card(i));
      }
    });
    grid.replaceChildren(frag);
    for (const node of grid.children) observer.observe(node);
    $("empty").hidden = shown.length > 0;
  }

  function buildFilters() {
    const counts = {};
    for (const e of ENTRIES) counts[e.status] = (counts[e.status] || 0) + 1;
    const statuses = Object.keys(STATUS_LABEL).filter((s) => counts[s])
      .concat(Object.keys(counts).filter((s) => !(s in STATUS_LABEL)));
    for (const s of statuses) {
      const box = el("input", {type: "checkbox", value: s, name: "status"});
      box.checked = true;
      $("status-filter").append(el("label", {}, box, ` ${STATUS_LABEL[s] || s} (${counts[s]})`));
    }
    $("counts").textContent = `${ENTRIES.length} image(s): ` +
      statuses.map((s) => `${STATUS_LABEL[s] || s} ${counts[s]}`).join(", ") +
      ". Images needing review come first; publish only what you have looked at.";
    const categories = [...new Set(ENTRIES.flatMap((e) => e.categories))].sort();
    for (const c of categories) $("category-filter").append(el("option", {value: c}, c));
    $("category-filter").append(el("option", {value: "(none)"}, "none found"));
    for (const c of categories) {
      const sw = el("span", {class: "cat"});
      sw.style.background = colour(c);
      $("legend").append(el("span", {}, sw, c));
    }
  }

  // ---- large view ---------------------------------------------------------------
  function open(pos) {
    if (pos < 0 || pos >= shown.length) return;
    current = pos;
    const e = ENTRIES[shown[pos]];
    $("viewer-name").textContent = e.name;
    $("viewer-status").textContent = STATUS_LABEL[e.status] || e.status;
    $("viewer-status").className = `badge ${e.status}`;
    const images = [];
    if (e.image) images.push(figure(picture(e, e.image, e.name), "de-identified output"));
    else images.push(el("div", {class: "placeholder"}, "No output was written for this image."));
    if (DATA.originals) {
      images.push(e.original
        ? figure(picture(e, e.original, "original", true), "ORIGINAL (contains PHI)")
        : el("div", {class: "placeholder"}, "The original could not be shown."));
    }
    $("viewer-images").replaceChildren(...images);
    $("viewer-report").replaceChildren(...reportView(e));
    paintViewerMark(e);
    $("approve").disabled = !e.image;
    if (!viewer.open) viewer.showModal();
    const node = grid.querySelector(`[data-i="${shown[pos]}"]`);
    if (node) node.focus({preventScroll: false});
  }

  function figure(content, caption) {
    return el("figure", {}, content, el("figcaption", {}, caption));
  }

  function paintViewerMark(e) {
    const m = getMark(e);
    $("viewer-mark").className = "mark " + (m ? m.mark : "");
    $("viewer-mark").textContent = m ? m.mark : "unmarked";
  }

  function table(head, rows) {
    return el("table", {}, el("tr", {}, ...head.map((h) => el("th", {}, h))),
      ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", {}, c)))));
  }

  function reportView(e) {
    const parts = [el("p", {}, e.summary || "No report could be read for this image.")];
    if (e.reasons.length) parts.push(el("h2", {}, "Reasons"), el("p", {}, e.reasons.join(", ")));
    const late = e.faces.filter((f) => f.verification === "escalated").length +
      e.text.filter((t) => t.action === "redacted_on_verify").length;
    if (late) {
      parts.push(el("p", {class: "verify-note"}, `Found only by verification: ${late} ` +
        "region(s), drawn with heavy borders. Check that nothing else was missed there."));
    }
    if (e.faces.length) {
      parts.push(el("h2", {}, `Faces (${e.faces.length})`), table(["action", "role", "box"],
        e.faces.map((f) => [f.action, f.role || "", f.box.join(", ")])));
    }
    if (e.text.length) {
      parts.push(el("h2", {}, `Text (${e.text.length})`), table(["category", "masked", "action"],
        e.text.map((t) => {
          const sw = el("span", {class: "cat"});
          sw.style.background = colour(t.category);
          return [el("span", {}, sw, t.category), t.masked, t.action];
        })));
    }
    if (e.metadata.length) parts.push(el("h2", {}, "Metadata removed"), el("p", {}, e.metadata.join(", ")));
    const stages = Object.entries(e.timings);
    if (stages.length) {
      parts.push(el("h2", {}, "Timings (ms)"), table(["stage", "ms"],
        stages.map(([k, v]) => [k, String(v)])));
    }
    // In a new tab: following a link must not leave the page with unexported marks.
    const link = (href, text) => el("a", {href, target: "_blank", rel: "noopener noreferrer"}, text);
    const links = [link(e.report, "report JSON")];
    if (e.image) links.push(" · ", link(e.image, "output image"));
    parts.push(el("h2", {}, "Files"), el("p", {}, ...links));
    if (e.resumed) parts.push(el("p", {class: "codes"}, "Kept from an earlier run (resumed)."));
    return parts;
  }

  // ---- keyboard -----------------------------------------------------------------
  function focusedPos() {
    const node = document.activeElement && document.activeElement.closest(".card");
    return node ? shown.indexOf(+node.dataset.i) : -1;
  }

  function columns() {
    return getComputedStyle(grid).gridTemplateColumns.split(" ").length || 1;
  }

  function move(pos) {
    pos = Math.max(0, Math.min(shown.length - 1, pos));
    const node = grid.querySelector(`[data-i="${shown[pos]}"]`);
    if (node) node.focus();
  }

  function onKey(ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    // Typing in the reviewer box or a list is not a command; a ticked box keeps the keys.
    if (ev.target.closest && ev.target.closest("input:not([type=checkbox]), select, textarea")) return;
    const k = ev.key;
    if (k === "o" || k === "f" || k === "t") {
      const kind = {o: "oral", f: "obscured", t: "text"}[k];
      setOverlay(kind, !$("show-" + kind).checked);
      return;
    }
    const pos = viewer.open ? current : focusedPos();
    const e = pos >= 0 ? ENTRIES[shown[pos]] : null;
    if (e && (k === "a" || k === "r" || k === "u")) {
      setMark(e, {a: "approved", r: "rejected", u: null}[k]);
      return;
    }
    if (viewer.open) {
      if (k === "ArrowRight" || k === "j") open(current + 1);
      else if (k === "ArrowLeft" || k === "k") open(current - 1);
      else return;
    } else {
      if (k === "ArrowRight" || k === "j") move(pos + 1);
      else if (k === "ArrowLeft" || k === "k") move(pos - 1);
      else if (k === "ArrowDown") move(pos < 0 ? 0 : pos + columns());
      else if (k === "ArrowUp") move(pos - columns());
      else if ((k === "Enter" || k === " ") && pos >= 0) open(pos);
      else return;
    }
    ev.preventDefault();
  }

  // ---- wiring -------------------------------------------------------------------
  buildFilters();
  render();
  updateProgress();
  $("toolbar").addEventListener("change", (ev) => {
    const id = ev.target.id || "";
    if (id.startsWith("show-")) setOverlay(id.slice(5), ev.target.checked);
    else if (id !== "reviewer") render();
  });
  grid.addEventListener("click", (ev) => {
    const node = ev.target.closest(".card");
    if (node) open(shown.indexOf(+node.dataset.i));
  });
  $("export").addEventListener("click", exportSignoff);
  $("approve").addEventListener("click", () => setMark(ENTRIES[shown[current]], "approved"));
  $("reject").addEventListener("click", () => setMark(ENTRIES[shown[current]], "rejected"));
  $("clear").addEventListener("click", () => setMark(ENTRIES[shown[current]], null));
  $("prev").addEventListener("click", () => open(current - 1));
  $("next").addEventListener("click", () => open(current + 1));
  $("close").addEventListener("click", () => viewer.close());
  viewer.addEventListener("close", () => { $("viewer-images").replaceChildren(); move(current); });
  document.addEventListener("keydown", onKey);
})();
