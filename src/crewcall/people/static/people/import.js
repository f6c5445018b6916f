/*
 * The employee import page (people/_import_panel.html): while the CSV uploads, a
 * <progress> shows how much was sent (htmx's `htmx:xhr:progress`); once all of it is
 * sent, "Checking N rows…" until the answer (the count, or the per-row report) replaces
 * the panel. N is counted in the browser when the file is chosen.
 */
(function () {
  "use strict";

  function formOf(element) {
    return element && element.closest ? element.closest("[data-import-form]") : null;
  }

  function countRows(text) {
    var lines = text.split(/\r\n|\n|\r/).filter(function (line) {
      return line.replace(/[,;\s]/g, "") !== "";
    });
    return Math.max(lines.length - 1, 0); // the header is no employee
  }

  function show(form, state, text, loaded, total) {
    var box = form.querySelector(".import-progress");
    var status = form.querySelector("#import-status");
    var bar = form.querySelector("progress");
    if (!box || !status || !bar) {
      return;
    }
    box.hidden = false;
    form.setAttribute("data-import-state", state);
    status.textContent = text;
    if (state === "checking") {
      bar.removeAttribute("value"); // indeterminate while the server checks
    } else {
      bar.max = total || 1;
      bar.value = loaded || 0;
    }
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    var form = formOf(input);
    if (!form || !input.files || !input.files.length) {
      return;
    }
    form.removeAttribute("data-rows");
    input.files[0].text().then(function (text) {
      form.setAttribute("data-rows", String(countRows(text)));
    }, function () {
      form.removeAttribute("data-rows");
    });
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = formOf(event.target);
    if (form) {
      show(form, "uploading", form.getAttribute("data-uploading"), 0, 1);
    }
  });

  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = formOf(event.target);
    var detail = event.detail || {};
    // Both the upload and the answer report progress: once all was sent, it is checking.
    if (!form || form.getAttribute("data-import-state") !== "uploading" || !detail.lengthComputable) {
      return;
    }
    if (detail.loaded < detail.total) {
      show(form, "uploading", form.getAttribute("data-uploading"), detail.loaded, detail.total);
      return;
    }
    var rows = form.getAttribute("data-rows") || "?";
    show(form, "checking", form.getAttribute("data-checking").replace("%(rows)s", rows));
  });
})();
