// Liên Xã pages: prefill the request form from the plan's suggestion; refresh the live list.
(function () {
  document.querySelectorAll("a.prefill").forEach(function (a) {
    a.addEventListener("click", function () {
      var f = document.getElementById("request-form");
      f.resource.value = a.dataset.resource; f.quantity.value = a.dataset.quantity;
      f.to.value = a.dataset.to; f.incident_id.value = a.dataset.incident;
    });
  });
  var live = document.getElementById("live");
  if (!live) return;
  var labels = window.LX_LABELS || {};
  function fmt(n) { return Number(n).toLocaleString("vi-VN"); }
  function esc(s) { var d = document.createElement("div"); d.textContent = s; return d.innerHTML; }
  function refresh() {
    fetch(live.dataset.feed, {credentials: "same-origin"}).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (!d) return;
        document.getElementById("live-at").textContent = d.at;
        document.querySelector("#live-requests tbody").innerHTML = d.requests.map(function (r) {
          return "<tr><td>" + r.id + "</td><td>" + esc(r.commune) + "</td><td>" + esc(labels[r.resource] || r.resource) +
            "</td><td>" + fmt(r.quantity) + "</td><td>" + fmt(r.remaining) + "</td><td>" +
            r.offers.map(function (o) { return esc(o.from) + ": " + fmt(o.quantity) + " (" + esc(o.status) + ")"; }).join(" ") +
            "</td></tr>"; }).join("");
        document.querySelector("#live-unmet tbody").innerHTML = d.unmet.map(function (u) {
          return "<tr><td>" + esc(u.commune) + "</td><td>" + esc(labels[u.resource] || u.resource) + "</td><td>" +
            fmt(u.quantity) + "</td><td>" + esc(u.escalate_to) + "</td></tr>"; }).join("");
      }).catch(function () {});
  }
  setInterval(refresh, 10000);
})();
