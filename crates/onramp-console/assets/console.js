// onramp console: the only script. It refreshes the parts of a page marked data-live every
// 5 s while the page is visible (statuses converge, health and charts move), and asks before a
// form marked data-confirm deletes something. Everything else is plain HTML forms.
(function () {
  "use strict";
  var EVERY_MS = 5000;

  document.addEventListener("submit", function (e) {
    var msg = e.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) {
      e.preventDefault();
    }
  });

  function refresh() {
    if (document.hidden || !document.querySelector("[data-live]")) {
      return;
    }
    fetch(window.location.href, {
      headers: { "X-Console-Refresh": "1" },
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (r) {
      if (r.status === 401) {
        window.location.reload(); // the session ended: the page sends us to the login
        return null;
      }
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (!html) {
        return;
      }
      var fresh = new DOMParser().parseFromString(html, "text/html");
      document.querySelectorAll("[data-live]").forEach(function (el) {
        var next = fresh.getElementById(el.id);
        // Never replace what the operator is typing into.
        if (next && !el.contains(document.activeElement)) {
          el.innerHTML = next.innerHTML;
        }
      });
      var stamp = document.getElementById("refreshed");
      if (stamp) {
        stamp.textContent = new Date().toLocaleTimeString();
      }
    }).catch(function () { /* offline for a moment: try again next time */ });
  }

  window.setInterval(refresh, EVERY_MS);
})();
