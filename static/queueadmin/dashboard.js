// queueadmin dashboard: live refresh, row selection, dismiss buttons.
// Loaded as a file (the Content-Security-Policy forbids inline scripts).
(function () {
  "use strict";

  var KEY_ON = "queueadmin.live";
  var KEY_EVERY = "queueadmin.liveEvery";
  var timer = null;

  function toggle() { return document.getElementById("live-toggle"); }
  function interval() { return document.getElementById("live-interval"); }

  function enabled() {
    var box = toggle();
    return !box || box.checked;
  }

  function hasSelection() {
    return document.querySelector('input[name="ids"]:checked') !== null;
  }

  function showState() {
    var label = document.getElementById("live-state");
    if (!label) return;
    var state = !enabled() ? "off" : document.hidden ? "paused" : "on";
    label.dataset.state = state;
    label.textContent = state === "on" ? "live" : state;
  }

  // True while the operator is typing in a form inside ``el`` (a token's
  // completion data): a text box there has the focus or holds text. A refresh
  // would replace the box and lose what was typed.
  function typing(el) {
    var active = document.activeElement;
    if (active && el.contains(active) && active.tagName === "TEXTAREA") return true;
    return Array.prototype.some.call(el.querySelectorAll("textarea"), function (box) {
      return box.value.trim() !== "";
    });
  }

  // Ask every element marked data-live to refresh itself (its hx-trigger
  // includes the "live" event). Skipped while the tab is hidden, for the
  // job table while rows are ticked so a refresh does not drop the selection,
  // and for any part where the operator is typing.
  function refresh() {
    if (!enabled() || document.hidden || !window.htmx) return;
    document.querySelectorAll("[data-live]").forEach(function (el) {
      if (el.id === "job-table" && hasSelection()) return;
      if (typing(el)) return;
      htmx.trigger(el, "live");
    });
  }

  // A refresh already on its way when the operator started typing must not
  // land either.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var el = event.detail.elt;
    if (el && el.hasAttribute && el.hasAttribute("data-live") && typing(el)) {
      event.detail.shouldSwap = false;
    }
  });

  function restart() {
    if (timer) clearInterval(timer);
    timer = null;
    var seconds = parseFloat(interval() ? interval().value : "2") || 2;
    if (enabled()) timer = setInterval(refresh, seconds * 1000);
    showState();
  }

  function load() {
    var box = toggle();
    var select = interval();
    if (box) {
      box.checked = localStorage.getItem(KEY_ON) !== "off";
      box.addEventListener("change", function () {
        localStorage.setItem(KEY_ON, box.checked ? "on" : "off");
        restart();
      });
    }
    if (select) {
      var saved = localStorage.getItem(KEY_EVERY);
      if (saved && select.querySelector('option[value="' + saved + '"]')) select.value = saved;
      select.addEventListener("change", function () {
        localStorage.setItem(KEY_EVERY, select.value);
        restart();
      });
    }
    document.addEventListener("visibilitychange", function () {
      showState();
      if (!document.hidden) refresh();
    });
    restart();
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.id === "select-all") {
      document.querySelectorAll('input[name="ids"]').forEach(function (box) {
        box.checked = target.checked;
      });
    }
    // A destructive submit button asks first (htmx's hx-confirm covers htmx requests only).
    var asks = target.closest && target.closest("button[data-confirm]");
    if (asks && !window.confirm(asks.dataset.confirm)) event.preventDefault();
    var dismiss = target.closest && target.closest("[data-dismiss]");
    if (dismiss) {
      var panel = document.querySelector(dismiss.dataset.dismiss);
      if (panel) panel.innerHTML = "";
    }
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", load);
  else load();
})();
