// Liên Xã service worker: the commune page works with no link.
// - The page assets (fingerprinted URLs, filled in by the server) are kept at install and
//   answered from the cache: their URL changes when they do.
// - The commune page and its map are fetched from the network first; each good answer is kept,
//   replacing the last. With no link the kept copy is shown, marked so that the page says it is
//   the data of its time ("Dữ liệu lúc 14:05"): never stale data silently.
// - Nothing else is kept: no form post, no API answer, no other page. The kept pages are
//   dropped when the login page is shown (after a logout, or to another user) and when the page
//   asks (the logout button, another user's page).
var VERSION = "/*VERSION*/";
var ASSETS = /*ASSETS*/[];
var STATIC = "lx-static-" + VERSION, PAGES = "lx-pages";
var KEPT = /^\/(commune$|maps\/communes\/)/;

self.addEventListener("install", function (e) {
  e.waitUntil(caches.open(STATIC).then(function (c) { return c.addAll(ASSETS); }).then(function () {
    return self.skipWaiting();
  }));
});
self.addEventListener("activate", function (e) {
  e.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf("lx-static-") === 0 && n !== STATIC; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});
self.addEventListener("message", function (e) {
  if (e.data === "forget") e.waitUntil(caches.delete(PAGES));
});

function marked(res) {
  // the kept page, marked as kept: app.js shows its time and the offline notice
  return res.text().then(function (html) {
    var headers = new Headers(res.headers);
    headers.delete("content-length"); headers.delete("content-encoding");
    return new Response(html.replace("<body ", "<body data-kept=\"1\" "), {status: 200, headers: headers});
  });
}

function page(req, url) {
  return fetch(req).then(function (res) {
    var html = (res.headers.get("content-type") || "").indexOf("text/html") === 0;
    if (res.status === 200 && res.type === "basic" && !res.redirected && html) {
      var copy = res.clone();
      caches.open(PAGES).then(function (c) { return c.put(url.pathname + url.search, copy); });
    }
    return res;
  }, function () {
    return caches.open(PAGES).then(function (c) {
      return c.match(url.pathname + url.search).then(function (hit) {
        return hit || c.match(url.pathname, {ignoreSearch: true});
      });
    }).then(function (hit) {
      if (!hit) return Response.error();
      return req.mode === "navigate" || url.pathname === "/commune" ? marked(hit) : hit;
    });
  });
}

self.addEventListener("fetch", function (e) {
  var req = e.request, url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== location.origin) return;
  if (url.pathname === "/login") {
    e.waitUntil(caches.delete(PAGES));
    return;
  }
  if (ASSETS.indexOf(url.pathname + url.search) >= 0) {
    e.respondWith(caches.match(req).then(function (hit) { return hit || fetch(req); }));
    return;
  }
  if (KEPT.test(url.pathname)) e.respondWith(page(req, url));
});
