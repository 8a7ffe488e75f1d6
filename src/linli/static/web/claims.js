// claims.js — the claim form's photo previews: what was chosen with the camera or from the gallery, shown as
// thumbnails before sending. Read as data: URLs (the content security policy allows data: images, not blob:).
(function () {
  "use strict";

  function preview(container, inputs) {
    container.textContent = "";
    inputs.forEach(function (input) {
      Array.prototype.forEach.call(input.files || [], function (file) {
        var reader = new FileReader();
        reader.onload = function () {
          var img = document.createElement("img");
          img.src = reader.result;
          img.alt = file.name;
          img.className = "thumb";
          container.appendChild(img);
        };
        reader.readAsDataURL(file);
      });
    });
  }

  document.querySelectorAll("[data-testid=photo-field]").forEach(function (field) {
    var inputs = Array.prototype.slice.call(field.querySelectorAll("input.photo-input"));
    var container = field.querySelector(".photo-previews");
    inputs.forEach(function (input) {
      input.addEventListener("change", function () { preview(container, inputs); });
    });
  });
})();
