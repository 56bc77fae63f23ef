/* Participant flow: keyboard shortcuts, client-side timing and local times. Pages work without it. */
(function () {
  "use strict";
  /* Times are sent in UTC (the no-script text); show them in the browser's own time zone. */
  var times = document.querySelectorAll("time[data-local-time][datetime]");
  for (var t = 0; t < times.length; t++) {
    var when = new Date(times[t].getAttribute("datetime"));
    if (isNaN(when.getTime()) || !window.Intl || !Intl.DateTimeFormat) { continue; }
    times[t].textContent = new Intl.DateTimeFormat(undefined, {
      hour: "2-digit", minute: "2-digit", timeZoneName: "short"
    }).format(when);
  }
  var auto = document.querySelector("form[data-autosubmit]");
  if (auto) { auto.submit(); return; }
  var form = document.querySelector("form[data-trial-form]");
  if (!form) { return; }
  /* A trial page can be the answer POST's response (the next trial comes with it): make its
     history entry a GET of the same address, so a reload or Back shows the current trial
     instead of asking to send the last answer again. */
  if (window.history && history.replaceState) { history.replaceState(null, "", location.href); }
  var start = window.performance ? performance.now() : Date.now();
  var duration = form.querySelector("[data-client-duration]");
  var sent = false;
  function stamp() {
    var now = window.performance ? performance.now() : Date.now();
    if (duration) { duration.value = String(Math.round(now - start)); }
  }
  form.addEventListener("submit", function (event) {
    if (sent) { event.preventDefault(); return; }  // a second click; the key would dedupe anyway
    sent = true;
    stamp();
  });
  function submit() {
    if (form.requestSubmit) { form.requestSubmit(); } else { stamp(); form.submit(); }
  }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (target && (target.tagName === "TEXTAREA" || (target.tagName === "INPUT" && target.type === "text"))) { return; }
    if (event.key === "Enter") {
      /* Enter on a button or link does what that control says ("Stop taking part" withdraws). */
      if (target && target.closest && target.closest("a[href], button, select, summary")) { return; }
      var needsChoice = form.querySelector("input[data-key]");
      if (!needsChoice || form.querySelector("input[data-key]:checked")) {
        event.preventDefault();
        submit();
      }
      return;
    }
    var options = form.querySelectorAll("input[data-key]");
    for (var i = 0; i < options.length; i++) {
      if (options[i].getAttribute("data-key") === event.key && !options[i].disabled) {
        options[i].checked = true;
        options[i].focus();
        event.preventDefault();
        return;
      }
    }
  });
})();
