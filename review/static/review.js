// declscan review page: keyboard-first editing, page viewer (zoom/pan/highlight), claim heartbeat.
// No framework: forms post to the server, which redirects to the next flag.
(function () {
  "use strict";

  // Times are rendered in UTC by the server; show them in the operator's local time.
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var when = new Date(el.getAttribute("datetime"));
    if (!isNaN(when)) { el.textContent = when.toLocaleString("zh-CN", { hour12: false }); }
  });

  var dataEl = document.getElementById("review-data");
  if (!dataEl) { return; }
  var data = JSON.parse(dataEl.textContent);

  // ---- viewer ---------------------------------------------------------------------------------
  var viewport = document.getElementById("viewport");
  var stage = document.getElementById("stage");
  var img = document.getElementById("page-img");
  var hl = document.getElementById("hl");
  var zoomLabel = document.getElementById("zoom-level");
  var pageSelect = document.getElementById("page-select");
  var view = { scale: 1, x: 0, y: 0, page: 1 };
  var drag = null;

  // Keep the page on screen: a page larger than the viewport may not leave a gap at its edges.
  function clamp(offset, size, room) {
    return size > room ? Math.min(0, Math.max(room - size, offset)) : (room - size) / 2;
  }
  function apply() {
    if (img.naturalWidth && !drag) {
      view.x = clamp(view.x, img.naturalWidth * view.scale, viewport.clientWidth);
      view.y = clamp(view.y, img.naturalHeight * view.scale, viewport.clientHeight);
    }
    stage.style.transform = "translate(" + view.x + "px," + view.y + "px) scale(" + view.scale + ")";
    zoomLabel.textContent = Math.round(view.scale * 100) + "%";
  }
  function fit() {
    if (!img.naturalWidth) { return; }
    view.scale = Math.min(viewport.clientWidth / img.naturalWidth, viewport.clientHeight / img.naturalHeight);
    view.x = 0;
    view.y = 0;
    apply();
  }
  function zoomAt(factor, cx, cy) {
    var next = Math.min(Math.max(view.scale * factor, 0.1), 6);
    view.x = cx - (cx - view.x) * (next / view.scale);
    view.y = cy - (cy - view.y) * (next / view.scale);
    view.scale = next;
    apply();
  }
  function showPage(n, then) {
    if (view.page === n && img.complete && img.naturalWidth) { if (then) { then(); } return; }
    view.page = n;
    if (pageSelect) { pageSelect.value = String(n); }
    img.onload = function () { stage.style.width = img.naturalWidth + "px"; if (then) { then(); } else { fit(); } };
    img.src = "/api/v1/documents/" + encodeURIComponent(data.documentId) + "/pages/" + n;
    img.alt = "原件第 " + n + " 页";
  }
  function highlight(el) {
    var bbox = el && el.getAttribute("data-bbox");
    if (!bbox) { hl.hidden = true; return; }
    var b = bbox.split(",").map(Number);
    if (b[2] <= b[0] || b[3] <= b[1]) { hl.hidden = true; return; }
    showPage(Number(el.getAttribute("data-page") || 1), function () {
      hl.hidden = false;
      hl.style.left = b[0] + "px"; hl.style.top = b[1] + "px";
      hl.style.width = (b[2] - b[0]) + "px"; hl.style.height = (b[3] - b[1]) + "px";
      // Zoom so the field is readable, and centre it in the viewport.
      var want = Math.min(viewport.clientWidth * 0.8 / (b[2] - b[0]), 1.4);
      view.scale = Math.max(Math.min(want, 2.5), Math.min(view.scale, 1));
      view.x = viewport.clientWidth / 2 - ((b[0] + b[2]) / 2) * view.scale;
      view.y = viewport.clientHeight / 2 - ((b[1] + b[3]) / 2) * view.scale;
      apply();
    });
  }
  img.addEventListener("load", function () { stage.style.width = img.naturalWidth + "px"; });
  function start() { stage.style.width = img.naturalWidth + "px"; fit(); focusHighlight(); }
  // The field focused by autofocus got focus before this script ran: highlight it once the page is in.
  if (img.complete && img.naturalWidth) { setTimeout(start, 0); }
  else { img.addEventListener("load", function first() { img.removeEventListener("load", first); start(); }); }

  viewport.addEventListener("wheel", function (e) {
    e.preventDefault();
    var r = viewport.getBoundingClientRect();
    zoomAt(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });
  viewport.addEventListener("mousedown", function (e) { drag = { x: e.clientX - view.x, y: e.clientY - view.y }; viewport.classList.add("dragging"); });
  window.addEventListener("mousemove", function (e) { if (drag) { view.x = e.clientX - drag.x; view.y = e.clientY - drag.y; apply(); } });
  window.addEventListener("mouseup", function () {
    if (drag) { drag = null; viewport.classList.remove("dragging"); apply(); }
  });
  document.querySelectorAll("[data-zoom]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var kind = btn.getAttribute("data-zoom");
      if (kind === "fit") { fit(); } else { zoomAt(kind === "in" ? 1.25 : 0.8, viewport.clientWidth / 2, viewport.clientHeight / 2); }
    });
  });
  if (pageSelect) { pageSelect.addEventListener("change", function () { hl.hidden = true; showPage(Number(pageSelect.value)); }); }

  // ---- fields ---------------------------------------------------------------------------------
  function fieldOf(el) { return el && el.closest ? el.closest("[data-pointer]") : null; }
  function isDirty(el) {
    if (!el) { return false; }
    if (el.tagName === "SELECT") { return Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; }); }
    return "defaultValue" in el && el.value !== el.defaultValue;
  }
  function focusHighlight() {
    var el = fieldOf(document.activeElement);
    if (el) { highlight(el); }
  }
  document.addEventListener("focusin", function (e) {
    var el = fieldOf(e.target);
    document.querySelectorAll(".flag.active").forEach(function (f) { f.classList.remove("active"); });
    if (!el) { return; }
    var card = el.closest(".flag");
    if (card) { card.classList.add("active"); }
    highlight(el);
    if (el.select && el.tagName === "INPUT") { el.select(); }
  });
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      if (form.dataset.busy) { e.preventDefault(); return; }
      form.dataset.busy = "1";
    });
  });

  var toastEl = null;
  function toast(text) {
    if (!toastEl) { toastEl = document.createElement("div"); toastEl.className = "toast"; toastEl.setAttribute("role", "status"); document.body.appendChild(toastEl); }
    toastEl.textContent = text;
    toastEl.classList.add("show");
    setTimeout(function () { toastEl.classList.remove("show"); }, 2500);
  }

  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      if (isDirty(t)) { toast("当前字段有未保存的修改：先按 Enter 保存，或按 Esc 撤销"); return; }
      var approve = document.getElementById("approve");
      if (approve && !approve.disabled) { approve.form.requestSubmit(approve); }
      return;
    }
    if (e.key === "Enter" && !e.shiftKey && (t.tagName === "TEXTAREA" || t.tagName === "SELECT") && t.form) {
      e.preventDefault();  // one-line values: Enter saves, as in an input
      t.form.requestSubmit();
      return;
    }
    if (e.key === "Escape" && "defaultValue" in t && t.tagName !== "SELECT") {
      t.value = t.defaultValue;
      return;
    }
    var typing = t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT";
    if (!typing && (e.key === "+" || e.key === "=")) { zoomAt(1.25, viewport.clientWidth / 2, viewport.clientHeight / 2); }
    if (!typing && e.key === "-") { zoomAt(0.8, viewport.clientWidth / 2, viewport.clientHeight / 2); }
    if (!typing && e.key === "0") { fit(); }
  });

  document.querySelectorAll("[data-goto]").forEach(function (link) {
    link.addEventListener("click", function (e) {
      e.preventDefault();
      var target = document.querySelector('.flags [data-pointer="' + CSS.escape(link.getAttribute("data-goto")) + '"]');
      if (target) { target.focus(); }
    });
  });

  // ---- claim heartbeat: renew the claim while the operator is working ---------------------------
  if (data.editable) {
    var active = false;
    ["keydown", "mousedown", "input"].forEach(function (kind) { document.addEventListener(kind, function () { active = true; }); });
    setInterval(function () {
      if (!active) { return; }
      active = false;
      fetch("/api/v1/documents/" + encodeURIComponent(data.documentId) + "/claim", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": data.csrf },
        body: JSON.stringify({ take_over: false })
      }).then(function (r) {
        if (r.status === 409) { toast("认领已被他人接管：刷新页面查看"); }
      });
    }, 60000);
  }
})();
