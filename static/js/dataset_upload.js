// Dataset upload page (issue #15): a drop zone that fills the file input, and upload
// progress. Without this script the page is a plain multipart form that works the same;
// with it the same POST goes through XMLHttpRequest, whose upload events drive <progress>.
(function () {
  "use strict";

  function init() {
    var form = document.getElementById("dataset-upload");
    if (!form) {
      return;
    }
    var input = form.querySelector("input[type=file]");
    var zone = form.querySelector("[data-drop-zone]");
    var box = form.querySelector("[data-upload-progress]");
    var bar = form.querySelector("progress");
    var status = document.getElementById("upload-status");
    var button = form.querySelector("button[type=submit]");
    var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10) || 0;

    // A summary from the server gets the focus, so screen readers and keyboards start there.
    var summary = document.querySelector("[data-error-summary]");
    if (summary) {
      summary.focus();
    }

    function say(text) {
      status.textContent = text;
    }

    if (zone && input) {
      ["dragenter", "dragover"].forEach(function (type) {
        zone.addEventListener(type, function (event) {
          event.preventDefault();
          zone.classList.add("dragging");
        });
      });
      ["dragleave", "drop"].forEach(function (type) {
        zone.addEventListener(type, function () {
          zone.classList.remove("dragging");
        });
      });
      zone.addEventListener("drop", function (event) {
        event.preventDefault();
        var files = event.dataTransfer && event.dataTransfer.files;
        if (!files || files.length === 0) {
          return;
        }
        if (files.length > 1) {
          say("Drop one file; " + files.length + " were dropped.");
          return;
        }
        input.files = files;
        say("Chosen: " + files[0].name);
      });
    }

    form.addEventListener("submit", function (event) {
      if (!window.FormData || !window.XMLHttpRequest) {
        return; // the plain form post
      }
      var file = input && input.files && input.files[0];
      if (file && maxBytes && file.size > maxBytes) {
        // The server refuses it too; saying so now saves sending it.
        event.preventDefault();
        say(file.name + " is " + file.size + " bytes; expected at most " + maxBytes +
          " bytes. Import larger files with python manage.py import_dataset.");
        input.focus();
        return;
      }
      event.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          bar.value = Math.round((100 * e.loaded) / e.total);
        }
      });
      xhr.upload.addEventListener("load", function () {
        bar.value = 100;
        say("Uploaded; checking every line of the file…");
      });
      xhr.addEventListener("load", function () {
        var type = xhr.getResponseHeader("Content-Type") || "";
        if (xhr.status === 200 && type.indexOf("application/json") === 0) {
          window.location.assign(JSON.parse(xhr.responseText).location);
          return;
        }
        // The server's page with its error summary replaces this one's content.
        var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var main = doc.getElementById("main");
        if (!main) {
          say("The server answered " + xhr.status + "; nothing was imported. Try again.");
          button.disabled = false;
          return;
        }
        document.getElementById("main").innerHTML = main.innerHTML;
        init();
      });
      xhr.addEventListener("error", function () {
        say("The upload failed (network error); nothing was imported. Try again.");
        box.hidden = true;
        button.disabled = false;
      });
      bar.value = 0;
      box.hidden = false;
      button.disabled = true;
      say("Uploading " + (file ? file.name : "") + "…");
      xhr.send(new FormData(form));
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
