// Liên Xã pages: send each form once; keep a commune leader's forms while the link is down and
// send them when it is back; prefill the request form from the plan's suggestion; refresh the
// live list. Without script every form posts as usual.
(function () {
  // A second tap on "send", or Enter pressed again, while the first post is still on its way
  // (slow on a weak link) is not sent: the buttons are disabled and say so. The server also
  // acts once per form (its hidden one-time token), so a browser resending after a timeout is
  // safe too; the buttons come back after a while, or when the page is shown again from history.
  function hold(f) {
    var sending = document.body.dataset.sending || "…";
    f.dataset.sent = "1";
    f.querySelectorAll("button").forEach(function (b) {
      b.disabled = true; b.dataset.label = b.textContent; b.textContent = sending;
    });
  }
  function release(f) {
    delete f.dataset.sent;
    f.querySelectorAll("button").forEach(function (b) {
      b.disabled = false;
      if (b.dataset.label) { b.textContent = b.dataset.label; delete b.dataset.label; }
    });
  }

  // The queue. A form marked data-queue is posted with fetch: an answer (a result, or a 4xx/5xx
  // page) is shown as the browser would show it; no answer at all (offline, the link dropped, no
  // reply within TIMEOUT) puts the form's action and fields, its one-time token included, in
  // localStorage under the user's name. The queue is sent when the link is back (the "online"
  // event, a retry every RETRY ms, the next page load); the token makes a resend act once, so a
  // post that did reach the server before the link dropped is not done twice. A form the server
  // refuses (4xx: an old CSRF token, a 409, a field error) is dropped and its error kept for the
  // user; a 5xx is tried TRIES times. Another user's queue is never sent: it is deleted when
  // someone else's page loads, and the user's own on logout.
  var TIMEOUT = 30000, RETRY = 15000, TRIES = 3;
  var user = document.body.dataset.user || "";
  var L = {};
  try { L = JSON.parse(document.body.dataset.queueLabels || "{}"); } catch (_) { /* labels stay empty */ }
  var KEY = "lx-queue:" + user, REFUSED = "lx-refused:" + user;
  var usable = false;
  try { localStorage.setItem("lx-probe", "1"); localStorage.removeItem("lx-probe"); usable = !!user; } catch (_) { /* none */ }

  function read(k) { try { return JSON.parse(localStorage.getItem(k) || "[]"); } catch (_) { return []; } }
  function write(k, v) {
    try { if (v.length) localStorage.setItem(k, JSON.stringify(v)); else localStorage.removeItem(k); return true; }
    catch (_) { return false; }
  }
  function mine(k) { return k === KEY || k === REFUSED || !/^lx-(queue|refused):/.test(k); }
  if (usable) {
    for (var i = localStorage.length - 1; i >= 0; i--) {
      var k = localStorage.key(i);
      if (!mine(k)) localStorage.removeItem(k);
    }
  }

  // Offline pages (static/sw.js keeps the commune page and its map). A page shown from the kept
  // copy has data-kept: it says the time of its data, and its forms get fresh one-time tokens
  // (the kept copy's may have been used). The kept pages are another user's once the user
  // changes, and nobody's after a logout: they are dropped then.
  var kept = document.body.dataset.kept === "1";
  function forget() {
    try { if (window.caches) caches.delete("lx-pages"); } catch (_) { /* none kept */ }
    if (navigator.serviceWorker && navigator.serviceWorker.controller) navigator.serviceWorker.controller.postMessage("forget");
  }
  try {
    if (!user || localStorage.getItem("lx-page-user") !== user) forget();
    if (user) localStorage.setItem("lx-page-user", user); else localStorage.removeItem("lx-page-user");
  } catch (_) { if (!user) forget(); }
  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register("/sw.js").catch(function () { /* pages work without it */ });
  }
  var dataAt = document.getElementById("lx-data-at");
  function offline() { return kept || navigator.onLine === false; }

  function post(action, fields) {
    var ctl = new AbortController(), timer = setTimeout(function () { ctl.abort(); }, TIMEOUT);
    return fetch(action, {method: "POST", body: new URLSearchParams(fields), credentials: "same-origin",
                          signal: ctl.signal})
      .then(function (r) {
        return r.text().then(function (html) {
          clearTimeout(timer);
          return {ok: r.ok, status: r.status, url: r.url, redirected: r.redirected, html: html};
        });
      }, function (err) { clearTimeout(timer); throw err; });
  }
  function parse(html) { return new DOMParser().parseFromString(html, "text/html"); }
  function show(res) {
    // a result (the 303 after the action) is loaded; an error page replaces this one in place
    if (res.ok && res.redirected) { location.assign(res.url); return; }
    var doc = parse(res.html);
    document.title = doc.title;
    document.documentElement.replaceChild(document.adoptNode(doc.body), document.body);
    window.scrollTo(0, 0);
    paint();
  }
  function reason(res) {
    var doc = parse(res.html), errs = [];
    doc.querySelectorAll("main .err").forEach(function (e) { if (e.textContent.trim()) errs.push(e.textContent.trim()); });
    var h = doc.querySelector("main h1"), m = doc.querySelector("#error-message");
    if (!errs.length && m) errs.push((h ? h.textContent.trim() + ": " : "") + m.textContent.trim());
    return errs.join(" ") || "HTTP " + res.status;
  }
  function describe(f) {
    var parts = [];
    f.querySelectorAll("[data-q]").forEach(function (el) {
      var v = el.tagName === "SELECT" ? (el.selectedOptions[0] || {}).textContent : el.value;
      if (v && v.trim()) parts.push(v.trim());
    });
    return (f.dataset.queue || f.getAttribute("action")) + (parts.length ? ": " + parts.join(" · ") : "");
  }
  function content(fields) {  // what a form says, without its tokens: a second tap adds nothing
    return JSON.stringify(fields.filter(function (p) { return p[0] !== "csrf_token" && p[0] !== "idempotency_key"; }));
  }
  function freshToken() {
    var b = new Uint8Array(18);
    crypto.getRandomValues(b);
    return btoa(String.fromCharCode.apply(null, b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function enqueue(f, action, fields) {
    var q = read(KEY);
    var dup = q.some(function (o) { return o.action === action && content(o.fields) === content(fields); });
    if (!dup) q.push({action: action, fields: fields, label: describe(f), at: Date.now(), tries: 0});
    if (!write(KEY, q)) { HTMLFormElement.prototype.submit.call(f); return; }  // no room: post as usual
    // the form may be filled again for another action: it gets a fresh one-time token
    var once = f.querySelector("input[name=idempotency_key]");
    if (once) once.value = freshToken();
    release(f);
    paint();
  }
  function send(f, submitter) {
    var action = new URL(f.getAttribute("action") || location.href, location.href);
    var fields = Array.from(new FormData(f, submitter)).map(function (p) { return [p[0], String(p[1])]; });
    var path = action.pathname + action.search;
    if (navigator.onLine === false) { enqueue(f, path, fields); return; }
    post(path, fields).then(show, function () { enqueue(f, path, fields); });
  }

  var flushing = false;
  function flush(force) {
    var q = read(KEY);
    if (flushing || !usable || !q.length || (navigator.onLine === false && !force)) return;
    flushing = true;
    paint();
    var result = null;
    (function next() {
      var q = read(KEY), item = q[0];
      if (!item) return done();
      post(item.action, item.fields).then(function (res) {
        var rest = read(KEY).filter(function (o) { return o.at !== item.at || o.action !== item.action; });
        if (res.ok) result = res.url;
        else if (res.status >= 500 && ++item.tries < TRIES) { write(KEY, [item].concat(rest)); return done(); }
        else write(REFUSED, read(REFUSED).concat([{label: item.label, error: reason(res), at: Date.now()}]));
        write(KEY, rest);
        next();
      }, done);  // still no link: the rest waits for the next try
    })();
    function done() {
      flushing = false;
      if (result) location.assign(result); else paint();
    }
  }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function list(items, line) {
    var ul = el("ul");
    items.forEach(function (o) { ul.appendChild(el("li", line(o))); });
    return ul;
  }
  function hhmm(t) { var d = new Date(t); return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2); }
  function paint() {
    var box = document.getElementById("lx-queue"), bad = document.getElementById("lx-refused");
    if (!box || !bad) return;
    var q = usable ? read(KEY) : [], refused = usable ? read(REFUSED) : [];
    box.textContent = "";
    box.hidden = !q.length && !offline();
    if (dataAt) dataAt.hidden = !offline();
    if (offline()) box.appendChild(el("p", (L.offline || "") + (dataAt ? " · " + dataAt.textContent : ""), "lx-offline"));
    if (q.length) {
      var title = flushing ? L.flushing : q.length === 1 ? L.waiting_one : L.waiting_many;
      box.appendChild(el("p", String(title || "").replace("{n}", q.length)));
      box.appendChild(list(q, function (o) { return o.label + " (" + (L.saved_at || "") + " " + hhmm(o.at) + ")"; }));
      var now = el("button", L.send_now, "secondary");
      now.type = "button";
      now.disabled = flushing;
      now.addEventListener("click", function () { flush(true); });
      box.appendChild(now);
    }
    bad.textContent = "";
    bad.hidden = !refused.length;
    if (refused.length) {
      bad.appendChild(el("p", L.refused));
      bad.appendChild(list(refused, function (o) { return o.label + " — " + o.error; }));
      var ok = el("button", L.dismiss);
      ok.type = "button";
      ok.addEventListener("click", function () { write(REFUSED, []); paint(); });
      bad.appendChild(ok);
    }
  }

  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (e.defaultPrevented || !(f instanceof HTMLFormElement) || f.method.toLowerCase() !== "post") return;
    if (f.dataset.sent) { e.preventDefault(); return; }
    if (new URL(f.action, location.href).pathname === "/logout") { forget(); if (usable) { write(KEY, []); write(REFUSED, []); } }
    hold(f);
    if (usable && f.hasAttribute("data-queue")) { e.preventDefault(); send(f, e.submitter); return; }
    setTimeout(function () { release(f); }, 20000);
  });
  window.addEventListener("pageshow", function (e) {
    if (e.persisted) document.querySelectorAll("form[data-sent]").forEach(release);
  });
  function renew() {
    // a kept page with nothing to send is replaced by the current one once the server answers
    // (and nothing is being typed into it)
    if (!kept || (usable && read(KEY).length) || navigator.onLine === false) return false;
    var typing = document.activeElement && /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName);
    if (typing) return false;
    fetch("/healthz", {cache: "no-store"}).then(function (r) { if (r.ok) location.reload(); }, function () {});
    return true;
  }
  window.addEventListener("online", function () {
    if (renew()) return;
    flush();
    paint();
  });
  if (kept) setInterval(renew, RETRY);
  window.addEventListener("offline", paint);
  if (kept) {
    document.querySelectorAll("input[name=idempotency_key]").forEach(function (i) { i.value = freshToken(); });
  }
  if (!usable) paint();
  if (usable) {
    setInterval(flush, RETRY);
    paint();
    flush();
  }
  document.addEventListener("click", function (e) {
    // without script the link reloads the page with the form filled by the server
    var a = e.target instanceof Element && e.target.closest("a.prefill");
    var f = document.getElementById("request-form");
    if (!a || !f) return;
    e.preventDefault();
    f.resource.value = a.dataset.resource; f.quantity.value = a.dataset.quantity;
    f.to.value = a.dataset.to; f.incident_id.value = a.dataset.incident;
    f.scrollIntoView(); f.quantity.focus();
  });
  var live = document.getElementById("live");
  if (!live) return;
  // the page's words, in a JSON data block (no inline script: the CSP allows none)
  var dataEl = document.getElementById("lx-command-data");
  var data = dataEl ? JSON.parse(dataEl.textContent) : {};
  var labels = data.labels || {}, statuses = data.statuses || {}, units = data.units || {};
  // 1.556 on a Vietnamese page, 1,556 on an English one; a quantity with its unit, as the server writes it
  function fmt(n) { return Number(n).toLocaleString(document.documentElement.lang === "en" ? "en-US" : "vi-VN"); }
  function qty(n, res) { return (fmt(n) + " " + (units[res] || "")).trim(); }
  function esc(s) { var d = document.createElement("div"); d.textContent = s; return d.innerHTML; }
  function refresh() {
    return fetch(live.dataset.feed, {credentials: "same-origin"}).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (!d) return;
        document.getElementById("live-at").textContent = d.at;
        document.querySelector("#live-requests tbody").innerHTML = d.requests.map(function (r) {
          var old = r.outdated ? " <small class=\"warn\">" + esc(data.outdated || "") + "</small>" : "";
          return (r.outdated ? "<tr class=\"outdated\" id=\"live-outdated-" + r.id + "\">" : "<tr>") + "<td>" + r.id + old +
            "</td><td>" + esc(r.commune) + "</td><td>" + esc(labels[r.resource] || r.resource) +
            "</td><td>" + esc(qty(r.quantity, r.resource)) + "</td><td>" + esc(qty(r.remaining, r.resource)) + "</td><td>" +
            r.offers.map(function (o) { return esc(o.from) + ": " + fmt(o.quantity) + " (" + esc(statuses[o.status] || o.status) + ")"; }).join(" ") +
            "</td></tr>"; }).join("");
        document.querySelector("#live-offers tbody").innerHTML = d.in_progress.length ? d.in_progress.map(function (o) {
          return "<tr id=\"live-offer-" + o.id + "\"><td>" + o.request_id + "</td><td>" + esc(o.from) + "</td><td>" +
            esc(o.to) + "</td><td>" + esc(labels[o.resource] || o.resource) + "</td><td>" + esc(qty(o.quantity, o.resource)) +
            "</td><td>" + esc(statuses[o.status] || o.status) + "</td><td>" + esc(o.updated) + "</td></tr>"; }).join("")
          : "<tr><td colspan=\"7\">" + esc(data.none || "") + "</td></tr>";
        document.querySelector("#live-unmet tbody").innerHTML = d.unmet.map(function (u) {
          return "<tr><td>" + esc(u.commune) + "</td><td>" + esc(labels[u.resource] || u.resource) + "</td><td>" +
            esc(qty(u.quantity, u.resource)) + "</td><td>" + esc(u.escalate_to) + "</td></tr>"; }).join("");
        var bodies = Object.keys(d.escalations);
        document.getElementById("live-escalations").innerHTML = bodies.length ? bodies.map(function (b) {
          return "<li><b>" + esc(b) + "</b>: " + Object.keys(d.escalations[b]).map(function (k) {
            return esc((labels[k] || k) + ": " + qty(d.escalations[b][k], k)); }).join("; ") + "</li>"; }).join("")
          : "<li>" + esc(data.none || "") + "</li>";
      }).catch(function () {});
  }
  window.lxRefresh = refresh;
  setInterval(refresh, 10000);
})();

// The unread counter in the header, and the commune page's lists (sections marked data-live):
// every POLL ms the small /api/v1/notifications/unread answer is read; when a new notification
// has arrived the counter changes and the page is fetched again in the background and its live
// sections are swapped in, unless the leader is typing in one. Without script the counter and
// the lists are as the page was served, and a reload shows the new ones.
(function () {
  var badge = document.getElementById("lx-unread");
  if (!badge || !window.fetch) return;
  var POLL = 15000, latest = null;
  function busy(el) { return el.contains(document.activeElement) && document.activeElement !== document.body; }
  function swap() {
    var live = document.querySelectorAll("[data-live]");
    if (!live.length || !window.DOMParser) return null;
    return fetch(location.href, {credentials: "same-origin"}).then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        live.forEach(function (el) {
          var fresh = el.id && doc.getElementById(el.id);
          if (fresh && !busy(el)) el.replaceWith(document.importNode(fresh, true));
        });
      });
  }
  function poll() {
    // no link: nothing to ask (the offline banner says so); the next round asks again
    if (navigator.onLine === false) return Promise.resolve();
    return fetch(badge.dataset.feed, {credentials: "same-origin"}).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (!d) return;
        badge.textContent = String(d.unread);
        var changed = latest !== null && d.latest !== latest;
        latest = d.latest;
        if (changed) return swap();
      }).catch(function () { /* offline: try again next round */ });
  }
  window.lxPoll = poll;
  poll();
  setInterval(poll, POLL);
})();
