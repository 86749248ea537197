/*
 * Autosave and preview for the Review Report editor.
 *
 * Every few seconds (data-autosave-ms, from REPORT_AUTOSAVE_SECONDS), if the
 * text changed, the form is posted to the autosave address, which keeps it as
 * the report's one working draft (updated in place, never a new version) and
 * answers {kept, draft, etag, saved_at}. The draft token and ETag go back into
 * the form, so the next save (automatic or by the button) is not taken for
 * someone else's. Versions are made only by "Save version" (or by submitting).
 *
 * "Preview" asks the server to render the text through the report's sanitiser
 * and shows the answer beside the form. The page works without this file: the
 * buttons post the same form, and the server answers with the preview drawn in.
 */
(function () {
  "use strict";

  var form = document.getElementById("report-form");
  if (!form || !window.fetch || !window.FormData) {
    return;
  }
  var url = form.getAttribute("data-autosave-url");
  var previewUrl = form.getAttribute("data-preview-url");
  var interval = parseInt(form.getAttribute("data-autosave-ms"), 10);
  if (!(interval >= 200)) {
    interval = 30000;
  }
  var status = document.getElementById("autosave-status");
  var submitForm = document.getElementById("submit-form");
  var previewButton = document.getElementById("preview-button");
  var previewPanel = document.getElementById("preview");
  var changed = false;
  var saving = false;
  var stopped = false;
  var leaving = false;
  var hasDraft = form.getAttribute("data-has-draft") === "yes";

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  function setField(name, value) {
    var fields = document.querySelectorAll('input[name="' + name + '"]');
    for (var i = 0; i < fields.length; i += 1) {
      fields[i].value = value;
    }
  }

  function csrfToken() {
    var field = form.querySelector('input[name="csrf_token"]');
    return field ? field.value : "";
  }

  function post(address) {
    var headers = { "Accept": "application/json" };
    var token = csrfToken();
    if (token) {
      headers["X-CSRFToken"] = token;
    }
    return fetch(address, { method: "POST", body: new FormData(form), headers: headers, credentials: "same-origin" })
      .then(function (response) {
        return response.json()
          .catch(function () { return null; })
          .then(function (body) { return { code: response.status, ok: response.ok, body: body }; });
      });
  }

  function problemText(body) {
    if (body && body.errors) {
      for (var key in body.errors) {
        if (Object.prototype.hasOwnProperty.call(body.errors, key) && body.errors[key].length) {
          return body.errors[key][0];
        }
      }
    }
    return (body && body.detail) || "the server did not accept it.";
  }

  function saved(body) {
    setField("etag", body.etag);
    setField("draft", body.draft);
    hasDraft = !!body.kept;
    if (hasDraft) {
      say("Unsaved working draft kept" + (body.saved_at ? " at " + body.saved_at : "") +
          ". Press Save version to add it to the history.");
    } else {
      say("No unsaved changes: the text is the saved version's.");
    }
  }

  function refused(code, body) {
    changed = true;
    if (code === 412) {
      // Someone else saved or changed the working draft: stop, so their text is never overwritten unseen.
      stopped = true;
      say("Not saved automatically: " + problemText(body) +
          (body && body.latest ? " Version " + body.latest + " is the newest." : "") +
          " Autosave has stopped; press Save version to keep your text as a new version.");
      return;
    }
    if (code === 401 || code === 403 || code === 404 || code === 409) {
      stopped = true;
    }
    say("Not saved automatically: " + problemText(body) + (stopped ? "" : " Trying again shortly."));
  }

  function save() {
    if (!changed || saving || stopped || leaving) {
      return;
    }
    saving = true;
    changed = false;
    post(url)
      .then(function (result) {
        saving = false;
        if (result.ok && result.body && result.body.etag) {
          saved(result.body);
        } else if (result.ok) {
          // A login page instead of JSON: the session has ended.
          stopped = true;
          changed = true;
          say("Not saved automatically: you may need to log in again. Press Save version to keep your text.");
        } else {
          refused(result.code, result.body);
        }
      })
      .catch(function () {
        saving = false;
        changed = true;
        say("Not saved automatically: no connection. Trying again shortly.");
      });
  }

  function showPreview(sections) {
    for (var key in sections) {
      if (Object.prototype.hasOwnProperty.call(sections, key)) {
        var box = document.getElementById("preview-" + key);
        if (box) {
          // Rendered and sanitised by the server, as the report page shows it.
          box.innerHTML = sections[key] || "Not written.";
        }
      }
    }
    if (previewPanel) {
      previewPanel.hidden = false;
    }
  }

  if (previewButton && previewUrl) {
    previewButton.addEventListener("click", function (event) {
      event.preventDefault();
      post(previewUrl)
        .then(function (result) {
          if (result.ok && result.body && result.body.sections) {
            showPreview(result.body.sections);
            var heading = document.getElementById("preview-heading");
            if (heading) {
              heading.setAttribute("tabindex", "-1");
              heading.focus();
            }
          } else {
            say("No preview: " + problemText(result.body));
          }
        })
        .catch(function () { say("No preview: no connection."); });
    });
  }

  form.addEventListener("input", function () { changed = true; });
  form.addEventListener("change", function () { changed = true; });
  form.addEventListener("submit", function () { leaving = true; });

  if (submitForm) {
    submitForm.addEventListener("submit", function (event) {
      if (changed || saving || hasDraft) {
        event.preventDefault();
        say("Press Save version first: submitting freezes the last saved version, not your working draft.");
        return;
      }
      leaving = true;
    });
  }

  window.addEventListener("beforeunload", function (event) {
    if (changed && !leaving) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  window.setInterval(save, interval);
}());
