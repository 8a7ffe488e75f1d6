// print.js — 「打印」 on the pick list: the browser's print dialog (the print stylesheet is in linli.css).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-print]");
    if (button) {
      event.preventDefault();
      window.print();
    }
  });
})();
