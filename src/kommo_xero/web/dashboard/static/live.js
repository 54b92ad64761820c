// Live refresh for the kommo-xero dashboard (our own code, no libraries).
// Polls a cheap "change stamp"; when it moves, fetches this page again and swaps every
// element marked data-live for its fresh copy, keeping checked boxes and focused fields.
(function () {
  "use strict";
  var body = document.body;
  if (!body.hasAttribute("data-live-enabled")) return;
  var interval = parseInt(body.getAttribute("data-poll-ms"), 10) || 2000;
  var changesUrl = body.getAttribute("data-changes-url");
  var indicator = document.getElementById("live-indicator");
  var lastStamp = null;
  var busy = false;

  function setState(state) {
    if (!indicator) return;
    indicator.classList.toggle("stale", state === "stale");
    indicator.classList.toggle("flash", state === "flash");
    var text = indicator.querySelector(".live-text");
    if (text) text.textContent = state === "stale" ? "Reconnecting" : "Live";
  }

  function checkedIn(region) {
    var keep = {};
    region.querySelectorAll("input[type=checkbox]:checked").forEach(function (box) {
      keep[box.name + "=" + box.value] = true;
    });
    return keep;
  }

  function swap(fresh) {
    document.querySelectorAll("[data-live]").forEach(function (region) {
      if (!region.id) return;
      var replacement = fresh.getElementById(region.id);
      if (!replacement) return;
      if (region.contains(document.activeElement) && document.activeElement !== document.body) return;
      var keep = checkedIn(region);
      var node = document.importNode(replacement, true);
      node.querySelectorAll("input[type=checkbox]").forEach(function (box) {
        if (keep[box.name + "=" + box.value]) box.checked = true;
      });
      region.replaceWith(node);
    });
  }

  function refresh() {
    return fetch(window.location.href, { credentials: "same-origin", headers: { "X-Live": "1" } })
      .then(function (answer) {
        if (answer.redirected || !answer.ok) throw new Error("page " + answer.status);
        return answer.text();
      })
      .then(function (html) {
        swap(new DOMParser().parseFromString(html, "text/html"));
        setState("flash");
        window.setTimeout(function () { setState("ok"); }, 400);
      });
  }

  function poll() {
    if (busy || document.hidden) return;
    busy = true;
    fetch(changesUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) {
        if (answer.status === 401) { window.location.reload(); throw new Error("signed out"); }
        if (!answer.ok) throw new Error("changes " + answer.status);
        return answer.json();
      })
      .then(function (data) {
        var changed = lastStamp !== null && data.stamp !== lastStamp;
        lastStamp = data.stamp;
        setState("ok");
        return changed ? refresh() : null;
      })
      .catch(function () { setState("stale"); })
      .then(function () { busy = false; });
  }

  poll();
  window.setInterval(poll, interval);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
})();
