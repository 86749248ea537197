/*
 * Drag and drop for the attachment upload forms.
 *
 * Each form marked data-drop-zone keeps its plain file input, which works on
 * its own; this script lets a file be dropped on the form as well: the dropped
 * file is put into the input and the form is sent, as if it had been chosen.
 */
(function () {
  "use strict";

  var forms = document.querySelectorAll("form[data-drop-zone]");
  Array.prototype.forEach.call(forms, function (form) {
    var input = form.querySelector("input[type=file]");
    if (!input || !window.DataTransfer) {
      return;
    }
    form.classList.add("drop-zone");
    var hint = document.createElement("p");
    hint.className = "hint";
    hint.textContent = "Or drop a file here.";
    form.insertBefore(hint, form.firstChild);

    function over(event) {
      event.preventDefault();
      form.classList.add("drop-active");
    }
    function leave() {
      form.classList.remove("drop-active");
    }
    form.addEventListener("dragenter", over);
    form.addEventListener("dragover", over);
    form.addEventListener("dragleave", leave);
    form.addEventListener("drop", function (event) {
      event.preventDefault();
      leave();
      var files = event.dataTransfer && event.dataTransfer.files;
      if (!files || files.length !== 1) {
        hint.textContent = "Drop one file at a time.";
        return;
      }
      var chosen = new DataTransfer();
      chosen.items.add(files[0]);
      input.files = chosen.files;
      hint.textContent = "Uploading " + files[0].name + "...";
      form.submit();
    });
  });
}());
