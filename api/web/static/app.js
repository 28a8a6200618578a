// Liên Xã pages: send each form once; prefill the request form from the plan's suggestion;
// refresh the live list.
(function () {
  // A second tap on "send", or Enter pressed again, while the first post is still on its way
  // (slow on a weak link) is not sent: the buttons are disabled and say so. The server also
  // acts once per form (its hidden one-time token), so a browser resending after a timeout is
  // safe too; the buttons come back after a while, or when the page is shown again from history.
  var sending = document.body.dataset.sending || "…";
  function release(f) {
    delete f.dataset.sent;
    f.querySelectorAll("button").forEach(function (b) {
      b.disabled = false;
      if (b.dataset.label) { b.textContent = b.dataset.label; delete b.dataset.label; }
    });
  }
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (e.defaultPrevented || !(f instanceof HTMLFormElement) || f.method.toLowerCase() !== "post") return;
    if (f.dataset.sent) { e.preventDefault(); return; }
    f.dataset.sent = "1";
    f.querySelectorAll("button").forEach(function (b) {
      b.disabled = true; b.dataset.label = b.textContent; b.textContent = sending;
    });
    setTimeout(function () { release(f); }, 20000);
  });
  window.addEventListener("pageshow", function (e) {
    if (e.persisted) document.querySelectorAll("form[data-sent]").forEach(release);
  });
  document.querySelectorAll("a.prefill").forEach(function (a) {
    // without script the link reloads the page with the form filled by the server
    a.addEventListener("click", function (e) {
      var f = document.getElementById("request-form");
      e.preventDefault();
      f.resource.value = a.dataset.resource; f.quantity.value = a.dataset.quantity;
      f.to.value = a.dataset.to; f.incident_id.value = a.dataset.incident;
      f.scrollIntoView(); f.quantity.focus();
    });
  });
  var live = document.getElementById("live");
  if (!live) return;
  var labels = window.LX_LABELS || {}, statuses = window.LX_STATUS || {};
  function fmt(n) { return Number(n).toLocaleString("vi-VN"); }
  function esc(s) { var d = document.createElement("div"); d.textContent = s; return d.innerHTML; }
  function refresh() {
    return fetch(live.dataset.feed, {credentials: "same-origin"}).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (!d) return;
        document.getElementById("live-at").textContent = d.at;
        document.querySelector("#live-requests tbody").innerHTML = d.requests.map(function (r) {
          return "<tr><td>" + r.id + "</td><td>" + esc(r.commune) + "</td><td>" + esc(labels[r.resource] || r.resource) +
            "</td><td>" + fmt(r.quantity) + "</td><td>" + fmt(r.remaining) + "</td><td>" +
            r.offers.map(function (o) { return esc(o.from) + ": " + fmt(o.quantity) + " (" + esc(statuses[o.status] || o.status) + ")"; }).join(" ") +
            "</td></tr>"; }).join("");
        document.querySelector("#live-offers tbody").innerHTML = d.in_progress.length ? d.in_progress.map(function (o) {
          return "<tr id=\"live-offer-" + o.id + "\"><td>" + o.request_id + "</td><td>" + esc(o.from) + "</td><td>" +
            esc(o.to) + "</td><td>" + esc(labels[o.resource] || o.resource) + "</td><td>" + fmt(o.quantity) +
            "</td><td>" + esc(statuses[o.status] || o.status) + "</td><td>" + esc(o.updated) + "</td></tr>"; }).join("")
          : "<tr><td colspan=\"7\">" + esc(window.LX_NONE || "") + "</td></tr>";
        document.querySelector("#live-unmet tbody").innerHTML = d.unmet.map(function (u) {
          return "<tr><td>" + esc(u.commune) + "</td><td>" + esc(labels[u.resource] || u.resource) + "</td><td>" +
            fmt(u.quantity) + "</td><td>" + esc(u.escalate_to) + "</td></tr>"; }).join("");
        var bodies = Object.keys(d.escalations);
        document.getElementById("live-escalations").innerHTML = bodies.length ? bodies.map(function (b) {
          return "<li><b>" + esc(b) + "</b>: " + Object.keys(d.escalations[b]).map(function (k) {
            return fmt(d.escalations[b][k]) + " " + esc(labels[k] || k); }).join("; ") + "</li>"; }).join("")
          : "<li>" + esc(window.LX_NONE || "") + "</li>";
      }).catch(function () {});
  }
  window.lxRefresh = refresh;
  setInterval(refresh, 10000);
})();
