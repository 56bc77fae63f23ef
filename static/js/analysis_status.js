// Analysis page (issue #15): times in the reader's own time zone, and the progress of a
// build in the background. Without this script the page still works: the progress panel
// reloads itself (a <meta refresh> in <noscript>) and has a Reload link.
(function () {
  "use strict";

  var POLL_MS = 2000;

  function localTimes() {
    var times = document.querySelectorAll("time[data-local-time][datetime]");
    if (!window.Intl || !Intl.DateTimeFormat) {
      return;
    }
    var format = new Intl.DateTimeFormat(undefined, {
      year: "numeric", month: "short", day: "numeric",
      hour: "2-digit", minute: "2-digit", timeZoneName: "short"
    });
    for (var t = 0; t < times.length; t++) {
      var when = new Date(times[t].getAttribute("datetime"));
      if (!isNaN(when.getTime())) {
        times[t].textContent = format.format(when);
      }
    }
  }

  function watch(panel) {
    var url = panel.getAttribute("data-status-url");
    var shown = panel.getAttribute("data-shown") === "true";
    var text = panel.querySelector("[data-progress-text]");
    var bar = panel.querySelector("[data-progress-bar]");
    var reload = panel.querySelector("[data-reload]");

    function show(state) {
      var progress = state.progress || {};
      if (state.status === "running" && progress.step) {
        text.textContent = "Computing… step " + progress.step + " of " + progress.steps +
          ": " + progress.stage;
      } else {
        text.textContent = progress.stage || "Waiting to start";
      }
      if (bar) {
        bar.max = progress.steps || 4;
        bar.value = progress.step || 0;
        bar.textContent = "step " + (progress.step || 0) + " of " + (progress.steps || 4);
      }
    }

    function poll() {
      var request = new XMLHttpRequest();
      request.open("GET", url);
      request.setRequestHeader("Accept", "application/json");
      request.onload = function () {
        var state = null;
        try {
          state = request.status === 200 ? JSON.parse(request.responseText) : null;
        } catch (error) {
          state = null;
        }
        if (!state) {
          window.setTimeout(poll, POLL_MS * 2);
          return;
        }
        if (state.current && !shown) {
          window.location.reload();  // the first result: show it in place of the panel
          return;
        }
        if (state.status === "failed") {
          window.location.reload();  // the page says what failed and offers to try again
          return;
        }
        if (state.current) {
          // A reader may be half-way down the last result: offer the new one, do not jump.
          text.textContent = "The analysis of the latest answers is ready.";
          if (bar) {
            bar.value = bar.max;
          }
          if (reload) {
            reload.textContent = "Show the new result";
          }
          return;
        }
        show(state);
        window.setTimeout(poll, POLL_MS);
      };
      request.onerror = function () {
        window.setTimeout(poll, POLL_MS * 2);
      };
      request.send();
    }

    window.setTimeout(poll, POLL_MS);
  }

  function init() {
    localTimes();
    var panel = document.getElementById("analysis-status");
    if (panel && panel.getAttribute("data-status") !== "failed") {
      watch(panel);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
