/*
 * Autosave for the Review Report editor.
 *
 * Every 30 seconds, if the text changed, the form is posted to the autosave
 * address, which saves it as a new draft version and answers {number, etag}.
 * The new ETag goes back into the form so the next save (automatic or by the
 * button) is not taken for someone else's. The page works without this file:
 * the "Save draft" button posts the same form.
 */
(function () {
  "use strict";

  var INTERVAL_MS = 30000;
  var form = document.getElementById("report-form");
  if (!form || !window.fetch || !window.FormData) {
    return;
  }
  var url = form.getAttribute("data-autosave-url");
  var status = document.getElementById("autosave-status");
  var submitForm = document.getElementById("submit-form");
  var submitVersion = document.getElementById("submit-version");
  var changed = false;
  var saving = false;
  var stopped = false;
  var leaving = false;

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  function setEtag(etag) {
    var fields = document.querySelectorAll('input[name="etag"]');
    for (var i = 0; i < fields.length; i += 1) {
      fields[i].value = etag;
    }
  }

  function csrfToken() {
    var field = form.querySelector('input[name="csrf_token"]');
    return field ? field.value : "";
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
    setEtag(body.etag);
    if (submitVersion) {
      submitVersion.textContent = "version " + body.number;
    }
    say("Saved automatically as version " + body.number + (body.saved_at ? " (" + body.saved_at + ")" : "") + ".");
  }

  function refused(code, body) {
    changed = true;
    if (code === 412) {
      // Someone else saved: stop, so their version is never overwritten without the person seeing it.
      stopped = true;
      say("Not saved automatically: " + problemText(body) +
          (body && body.latest ? " Version " + body.latest + " is the newest." : "") +
          " Autosave has stopped; press Save draft to keep your text as a new version.");
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
    var headers = { "Accept": "application/json" };
    var token = csrfToken();
    if (token) {
      headers["X-CSRFToken"] = token;
    }
    fetch(url, { method: "POST", body: new FormData(form), headers: headers, credentials: "same-origin" })
      .then(function (response) {
        return response.json()
          .catch(function () { return null; })
          .then(function (body) { return { code: response.status, ok: response.ok, body: body }; });
      })
      .then(function (result) {
        saving = false;
        if (result.ok && result.body && result.body.etag) {
          saved(result.body);
        } else if (result.ok) {
          // A login page instead of JSON: the session has ended.
          stopped = true;
          changed = true;
          say("Not saved automatically: you may need to log in again. Press Save draft to keep your text.");
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

  form.addEventListener("input", function () { changed = true; });
  form.addEventListener("change", function () { changed = true; });
  form.addEventListener("submit", function () { leaving = true; });

  if (submitForm) {
    submitForm.addEventListener("submit", function (event) {
      if (changed || saving) {
        event.preventDefault();
        say("Save your changes first: submitting freezes the last saved version.");
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

  window.setInterval(save, INTERVAL_MS);
}());
