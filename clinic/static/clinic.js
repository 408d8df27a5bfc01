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

    // Phone: the top menu folds behind its button (CSS shows the button on narrow screens).
    document.querySelectorAll(".menu-button").forEach(function (button) {
      var header = button.closest(".topbar");
      header.classList.add("menu-folds");
      button.hidden = false;
      button.addEventListener("click", function () {
        var open = button.getAttribute("aria-expanded") !== "true";
        button.setAttribute("aria-expanded", open ? "true" : "false");
        header.classList.toggle("menu-open", open);
      });
    });

    // Narrow screens: a table wider than its box becomes stacked rows (ui.css,
    // "table.stacked"), each cell labelled with its column's name; one that fits stays a
    // table. A table with data-no-stack keeps its grid (and scrolls inside its box).
    var tables = [];
    document.querySelectorAll("main table").forEach(function (table) {
      if (table.hasAttribute("data-no-stack") || !table.tHead || !table.tHead.rows.length) { return; }
      var names = [];
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (head) {
        for (var i = 0; i < head.colSpan; i++) { names.push(head.textContent.trim()); }
      });
      Array.prototype.forEach.call(table.tBodies, function (body) {
        Array.prototype.forEach.call(body.rows, function (row) {
          var column = 0;
          Array.prototype.forEach.call(row.cells, function (cell) {
            if (cell.colSpan === 1 && names[column]) { cell.setAttribute("data-label", names[column]); }
            column += cell.colSpan;
          });
        });
      });
      table.classList.add("labelled");
      tables.push(table);
    });
    function stackWideTables() {
      tables.forEach(function (table) {
        table.classList.remove("stacked");
        var box = table.parentElement, style = window.getComputedStyle(box);
        var room = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        if (table.offsetWidth > room + 1) { table.classList.add("stacked"); }
      });
    }
    if (tables.length) {
      var pending = false;
      stackWideTables();
      window.addEventListener("resize", function () {
        if (pending) { return; }
        pending = true;
        window.requestAnimationFrame(function () { pending = false; stackWideTables(); });
      });
    }

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
