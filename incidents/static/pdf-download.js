/*
 * PDF downloads that say they are being prepared.
 *
 * A PDF takes a few seconds to draw. A link marked data-pdf-download is
 * fetched here instead of followed: while it is drawn, the link reads
 * "Preparing the PDF…" with a spinner and a status region says so to screen
 * readers; once it has arrived it is saved under the server's file name and
 * the status offers it again. Anything but a PDF (a refusal, an error page)
 * is left to the browser: the link is then followed as usual. Without this
 * file (or without fetch), the link is an ordinary link.
 */
(function () {
  "use strict";

  if (!window.fetch || !window.URL || !URL.createObjectURL) {
    return;
  }

  function fileName(response, fallback) {
    var header = response.headers.get("Content-Disposition") || "";
    var match = /filename="?([^";]+)"?/i.exec(header);
    return match ? match[1] : fallback;
  }

  function setUp(link) {
    var label = link.innerHTML;
    var status = document.createElement("span");
    status.className = "pdf-status";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    link.insertAdjacentElement("afterend", status);
    var busy = false;

    function done(text, url, name) {
      busy = false;
      link.removeAttribute("aria-busy");
      link.classList.remove("pdf-preparing");
      link.innerHTML = label;
      status.textContent = text + " ";
      if (url) {
        var again = document.createElement("a");
        again.href = url;
        again.download = name;
        again.textContent = "Save " + name + " again";
        status.appendChild(again);
      }
    }

    link.addEventListener("click", function (event) {
      // A new tab or window, a save-as: leave it to the browser.
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
        return;
      }
      event.preventDefault();
      if (busy) {
        return;
      }
      busy = true;
      var started = Date.now();
      link.setAttribute("aria-busy", "true");
      link.classList.add("pdf-preparing");
      link.innerHTML = '<span class="spinner" aria-hidden="true"></span> Preparing the PDF\u2026';
      // The link already shows "Preparing the PDF…"; the status says it again only to screen readers.
      status.innerHTML = '<span class="sr-only">Preparing the PDF. </span>It usually takes 2 to 5 seconds.';
      fetch(link.href, {credentials: "same-origin"}).then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf("application/pdf") !== 0) {
          throw new Error("not a PDF");
        }
        var name = fileName(response, "report.pdf");
        return response.blob().then(function (blob) {
          var url = URL.createObjectURL(blob);
          var save = document.createElement("a");
          save.href = url;
          save.download = name;
          save.hidden = true;
          document.body.appendChild(save);
          save.click();
          save.remove();
          var seconds = ((Date.now() - started) / 1000).toFixed(1);
          done("The PDF is ready (" + seconds + " s) and saved as " + name + ".", url, name);
        });
      }).catch(function () {
        // The server's own answer (its error page, a sign-in) says what went wrong.
        done("", null, "");
        window.location.href = link.href;
      });
    });
  }

  var links = document.querySelectorAll("a[data-pdf-download]");
  for (var i = 0; i < links.length; i++) {
    setUp(links[i]);
  }
}());
