/* Small progressive enhancements; every page works without them. No inline scripts (CSP). */
(function () {
  "use strict";

  function onReady(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  onReady(function () {
    // Pickers that show a new board as soon as they change.
    document.querySelectorAll("[data-autosubmit]").forEach(function (input) {
      input.addEventListener("change", function () {
        if (input.form && (input.type !== "date" || input.value)) { input.form.submit(); }
      });
    });

    // "Print" on the day sheet.
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });

    // Ask before destructive buttons.
    document.querySelectorAll("[data-confirm]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });

    // Calendar link fields select their text for copying.
    document.querySelectorAll("[data-copy]").forEach(function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });

    // Free-time chips fill the time input on the reschedule page.
    document.querySelectorAll("[data-fill-time]").forEach(function (button) {
      button.addEventListener("click", function () {
        var target = document.getElementById(button.getAttribute("data-target"));
        if (target) { target.value = button.getAttribute("data-fill-time"); target.focus(); }
      });
    });

    // Wizard: show the protocol or the custom-pattern fields for the chosen mode.
    var modes = document.querySelectorAll("[data-toggle-mode]");
    function showMode() {
      var chosen = document.querySelector("[data-toggle-mode]:checked");
      if (!chosen) { return; }
      document.querySelectorAll("[data-mode-panel]").forEach(function (panel) {
        panel.hidden = panel.getAttribute("data-mode-panel") !== chosen.value;
      });
    }
    modes.forEach(function (radio) { radio.addEventListener("change", showMode); });
    showMode();
  });
})();
