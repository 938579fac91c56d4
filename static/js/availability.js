// The availability page refreshes itself: every 30 seconds (while the tab is visible) it fetches
// the same URL and swaps in the new figures, then charts.js draws the new panel. No reload, so
// the reader's scroll position stays where it was.
(function () {
  "use strict";
  const holder = document.getElementById("availability");
  if (!holder) return;
  const seconds = Number(holder.dataset.refreshSeconds) || 30;

  async function refresh() {
    if (document.hidden) return;
    try {
      const response = await fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (!response.ok) return;
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = page.getElementById("availability");
      const current = document.getElementById("availability");
      if (!fresh || !current) return;
      current.replaceWith(fresh);
      if (window.hubCharts) window.hubCharts.drawAll(fresh);
    } catch (error) {
      // Offline or restarting: keep the figures shown and try again next time.
    }
  }

  window.setInterval(refresh, seconds * 1000);
})();
