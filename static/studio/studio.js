// Theme toggle (auto -> light -> dark), copy buttons, and a toast when an htmx call is refused.
(function () {
  const KEY = "flowstudio.theme";
  const ICONS = { auto: "◐", light: "☀", dark: "☾" };
  function apply(mode) {
    if (mode === "light" || mode === "dark") document.documentElement.dataset.theme = mode;
    else delete document.documentElement.dataset.theme;
    document.querySelectorAll("[data-theme-toggle]").forEach((button) => {
      button.textContent = ICONS[mode] || ICONS.auto;
      button.title = "Theme: " + (mode || "auto") + " (click to change)";
      button.dataset.mode = mode || "auto";
    });
  }
  document.addEventListener("DOMContentLoaded", () => apply(localStorage.getItem(KEY) || "auto"));
  document.addEventListener("click", (event) => {
    const toggle = event.target.closest("[data-theme-toggle]");
    if (toggle) {
      const next = { auto: "light", light: "dark", dark: "auto" }[toggle.dataset.mode || "auto"];
      if (next === "auto") localStorage.removeItem(KEY); else localStorage.setItem(KEY, next);
      apply(next);
    }
    const copy = event.target.closest("[data-copy]");
    if (copy) {
      const source = document.querySelector(copy.dataset.copy);
      if (source) {
        source.select();
        (navigator.clipboard ? navigator.clipboard.writeText(source.value) : Promise.reject()).catch(() => document.execCommand("copy"));
        copy.textContent = "Copied";
      }
    }
    // Close other open menus when one is opened or the page is clicked elsewhere.
    document.querySelectorAll("details.menu[open]").forEach((menu) => {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  function toast(text) {
    const box = document.getElementById("toasts");
    if (!box) return;
    const item = document.createElement("div");
    item.className = "toast";
    item.setAttribute("role", "alert");
    item.textContent = text;
    box.appendChild(item);
    setTimeout(() => item.remove(), 6000);
  }
  document.addEventListener("htmx:responseError", (event) => {
    const xhr = event.detail.xhr;
    const doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    const message = doc.querySelector("[data-error-message]");
    toast(message ? message.textContent.trim() : "The request failed (" + xhr.status + ").");
  });
})();
