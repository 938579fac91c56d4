// Behaviour every page shares. Each part is an enhancement: without JavaScript the menu stays
// open, the secret can still be selected and copied by hand, and filters still apply.
(function () {
  "use strict";

  // The phone menu: a disclosure button that folds the navigation and the tools away.
  const toggle = document.querySelector(".menu-toggle");
  const topbar = document.querySelector(".topbar");
  if (toggle && topbar) {
    toggle.hidden = false;
    topbar.classList.add("collapsible");
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      topbar.classList.toggle("open", open);
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && topbar.classList.contains("open")) {
        toggle.setAttribute("aria-expanded", "false");
        topbar.classList.remove("open");
        toggle.focus();
      }
    });
  }

  // A copy button beside a shown-once secret ([data-copy] names the element holding the text).
  document.querySelectorAll("button[data-copy]").forEach((button) => {
    const source = document.getElementById(button.dataset.copy);
    const status = document.getElementById(button.dataset.copyStatus);
    button.hidden = false;
    button.addEventListener("click", async () => {
      const text = source.textContent.trim();
      let copied = false;
      try {
        await navigator.clipboard.writeText(text);
        copied = true;
      } catch (error) {
        // No clipboard permission (plain HTTP on another host): select the text for Ctrl-C.
        const range = document.createRange();
        range.selectNodeContents(source);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        copied = document.execCommand && document.execCommand("copy");
      }
      if (status) status.textContent = copied ? button.dataset.copied : button.dataset.selectHint;
    });
  });

  // A table wider than the screen scrolls inside its box: make that box reachable with the
  // keyboard (Tab, then the arrow keys) and name it after its table.
  function scrollers() {
    document.querySelectorAll(".scroll, .table-scroll").forEach((box) => {
      if (box.scrollWidth > box.clientWidth + 1) {
        const caption = box.querySelector("caption");
        box.tabIndex = 0;
        box.setAttribute("role", "region");
        if (caption) box.setAttribute("aria-label", caption.textContent.trim());
      } else if (box.getAttribute("role") === "region") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }
  scrollers();
  window.addEventListener("resize", scrollers);
  window.addEventListener("load", scrollers);
  document.addEventListener("toggle", scrollers, true);  // a <details> opened: its table shows

  // Filter forms put only what was chosen into the URL: a shared link carries no empty fields.
  document.querySelectorAll('form[method="get"]').forEach((form) => {
    form.addEventListener("formdata", (event) => {
      const kept = [...event.formData.entries()].filter(([, value]) => value !== "");
      [...new Set(event.formData.keys())].forEach((name) => event.formData.delete(name));
      kept.forEach(([name, value]) => event.formData.append(name, value));
    });
  });
})();
