// Share bars (a cell's value against the largest): the width comes from data-share, set here
// because the Content-Security-Policy allows no inline style attribute.
(function () {
  "use strict";
  document.querySelectorAll(".bar[data-share]").forEach(function (bar) {
    bar.style.width = Math.max(0, Math.min(100, Number(bar.getAttribute("data-share")) || 0)) + "%";
  });
})();
