// dashboard.js — the leader's live panel (数据): while a session is live, the panel is fetched again (htmx) when
// the room's stream reports a stock, ticker, offer or session event (at most every 300 ms), and every 15 s,
// since a neighbour's payment changes it without any room event.
(function () {
  "use strict";

  function start() {
    var panel = document.getElementById("live-panel");
    if (!panel || !panel.dataset.stream || !window.htmx) {
      return;
    }
    var refreshUrl = panel.dataset.refresh, pending = null;

    function refresh() {
      if (pending) {
        return;
      }
      pending = setTimeout(function () {
        pending = null;
        window.htmx.ajax("GET", refreshUrl, { target: "#live-panel", swap: "outerHTML" });
      }, 300);
    }

    var handlers = {};
    ["live.stock", "live.order_ticker", "live.offer_opened", "live.offer_closed", "live.session_ended"].forEach(
      function (type) { handlers[type] = refresh; }
    );
    window.linli.stream(panel.dataset.stream, handlers);
    setInterval(refresh, 15000);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
