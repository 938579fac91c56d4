// Parts of a page that refresh themselves: [data-refresh-url] holds a [data-refresh-target]
// whose content is fetched again every data-refresh-seconds (the server answers the part
// alone when asked with "X-Refresh: 1"), and a [data-refresh-state] line that says how fresh
// it is. Nothing is fetched while the tab is hidden; showing it again refreshes at once.
(function () {
  "use strict";

  function setUp(box) {
    var url = box.getAttribute("data-refresh-url");
    var seconds = Number(box.getAttribute("data-refresh-seconds")) || 30;
    var target = box.querySelector("[data-refresh-target]");
    var state = box.querySelector("[data-refresh-state]");
    var updatedAt = Date.now();
    var failed = false;
    var busy = false;

    function say() {
      if (!state) return;
      if (document.hidden) {
        state.textContent = box.getAttribute("data-text-paused");
        state.setAttribute("data-state", "paused");
        return;
      }
      var ago = Math.max(0, Math.round((Date.now() - updatedAt) / 1000));
      state.textContent = failed
        ? box.getAttribute("data-text-failed")
        : box.getAttribute("data-text-updated").replace("{seconds}", String(ago));
      state.setAttribute("data-state", failed ? "failed" : "live");
    }

    function refresh() {
      if (document.hidden || busy) return;
      busy = true;
      fetch(url, { headers: { "X-Refresh": "1" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.text();
        })
        .then(function (html) {
          target.innerHTML = html;
          updatedAt = Date.now();
          failed = false;
          box.dispatchEvent(new CustomEvent("refreshed", { bubbles: true }));
        })
        .catch(function () { failed = true; })
        .then(function () { busy = false; say(); });
    }

    setInterval(function () {
      if (!document.hidden && Date.now() - updatedAt >= seconds * 1000 - 250) refresh();
      say();
    }, 1000);
    document.addEventListener("visibilitychange", function () {
      say();
      if (!document.hidden) refresh();
    });
    say();
  }

  document.querySelectorAll("[data-refresh-url]").forEach(setUp);
})();
