// host_panel.js — the host's control panel (/brands/{b}/console/sessions/{s}/host), live from the room's SSE stream:
// the order ticker, quota left per offer, stock per listing, comments, and what another host changed (the phase,
// an offer opened or closed, the session started or ended). The buttons are plain forms; htmx posts them and swaps
// the controls in place, and a refusal (409, 422, 429) is swapped in too, so its message shows beside the button.
(function () {
  "use strict";

  var panel = document.querySelector("[data-testid=host-panel]");
  if (!panel || !window.linli) {
    return;
  }
  var sessionId = panel.getAttribute("data-session-id");
  var OFFER_STATUS = { draft: "草稿", open: "进行中", closed: "已关闭" };
  var STATUS = { scheduled: "未开播", live: "直播中", ended: "已结束", cancelled: "已取消" };
  var KEEP_TICKER = 10;
  var KEEP_COMMENTS = 20;

  var all = window.linli.all, setText = window.linli.setText, el = window.linli.el;

  // Each action form says in which state it applies (data-show-when); the others are hidden.
  function showForms(root, state) {
    all("form[data-show-when]", root).forEach(function (form) {
      form.hidden = form.getAttribute("data-show-when").split(" ").indexOf(state) < 0;
    });
  }

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 409 || status === 422 || status === 429) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // While one of the panel's own actions is on its way, what the stream says of the controls waits for that
  // action's swap: the stream often brings the action's own event before its answer, and a control shown changed
  // early would be redrawn under the host's hands (a note being typed lost). Applied after the swap, it is
  // the same state, or a later one from another host.
  var waiting = [];
  function actionOnItsWay() {
    return Boolean(document.querySelector("#host-controls .htmx-request, #host-controls.htmx-request"));
  }
  function applyWaiting() {
    if (actionOnItsWay()) {
      setTimeout(applyWaiting, 50);
      return;
    }
    var run = waiting;
    waiting = [];
    run.forEach(function (apply) { apply(); });
  }
  function afterOwnActions(handler) {
    return function (data) {
      if (waiting.length === 0 && !actionOnItsWay()) {
        handler(data);
        return;
      }
      if (waiting.length === 0) {
        setTimeout(applyWaiting, 50);
      }
      waiting.push(function () { handler(data); });
    };
  }

  // --- what the stream says ----------------------------------------------------------------------
  function offerStatus(offerId, status) {
    var row = document.querySelector("[data-host-offer='" + offerId + "']");
    if (!row) {
      return;  // an offer this page has not rendered: the next swap or reload shows it
    }
    row.setAttribute("data-offer-status", status);
    all("[data-offer-status-text]", row).forEach(function (node) {
      node.textContent = OFFER_STATUS[status] || status;
      node.className = "status status-offer-" + status;
    });
    showForms(row, status);
  }

  function showPhase(phase) {
    var phases = document.querySelector("[data-testid=phases]");
    if (!phases) {
      return;
    }
    all("[data-phase-index]", phases).forEach(function (node) {
      var current = phase && Number(node.getAttribute("data-phase-index")) === phase.index;
      node.classList.toggle("current", Boolean(current));
      if (current) {
        node.setAttribute("aria-current", "step");
      } else {
        node.removeAttribute("aria-current");
      }
    });
    setText("[data-testid=current-phase]", phase ? "当前：" + phase.title : "未开播");
    if (!phase) {
      return;
    }
    // The host now sees this phase: 下一环节 moves on from it (the server refuses a stale one).
    all("[data-expected-phase]", phases).forEach(function (input) { input.value = String(phase.index); });
    var last = all("[data-phase-index]", phases).length - 1;
    showForms(phases, phase.index < last ? "live" : "no");
  }

  function showStatus(status) {
    setText("[data-testid=session-status]", STATUS[status] || status);
    var card = document.querySelector("[data-testid=status-card]");
    if (card) {
      card.setAttribute("data-session-status", status);
      showForms(card, status);
    }
    var phases = document.querySelector("[data-testid=phases]");
    if (phases && status !== "live") {
      showForms(phases, "no");  // no phase to move on to once the session is over
    }
  }

  function addComment(comment) {
    window.linli.appendComment(document.querySelector("[data-testid=comments]"), comment, KEEP_COMMENTS);
  }

  var source = window.linli.stream("/api/v1/live-sessions/" + sessionId + "/events", {
    snapshot: function (data) {
      (data.listings || []).forEach(function (x) { setText("[data-listing-remaining='" + x.id + "']", x.remaining); });
      (data.offers || []).forEach(function (x) { setText("[data-offer-remaining='" + x.id + "']", x.remaining); });
      (data.comments || []).forEach(addComment);
    },
    "live.stock": function (data) {
      setText("[data-listing-remaining='" + data.listing_id + "']", data.listing_remaining);
      if (data.offer_id !== null && data.offer_id !== undefined) {
        setText("[data-offer-remaining='" + data.offer_id + "']", data.offer_remaining);
      }
    },
    "live.listing_updated": function (data) { setText("[data-listing-remaining='" + data.id + "']", data.remaining); },
    "live.offer_opened": afterOwnActions(function (data) { offerStatus(data.id, "open"); }),
    "live.offer_closed": afterOwnActions(function (data) {
      offerStatus(data.offer_id, "closed");
      setText("[data-offer-remaining='" + data.offer_id + "']", data.remaining);
    }),
    "live.phase_changed": afterOwnActions(function (data) { showPhase(data.current_phase); }),
    "live.session_started": afterOwnActions(function (data) { showStatus("live"); showPhase(data.current_phase); }),
    "live.session_ended": afterOwnActions(function () { showStatus("ended"); }),
    "live.session_cancelled": afterOwnActions(function () { showStatus("cancelled"); }),
    session_ended: function (data) {
      source.close();  // the server closes the stream when the session is over: do not reconnect to it
      afterOwnActions(function () { showStatus(data.status); })(data);
    },
    "live.comment": addComment,
    "live.order_ticker": function (data) {
      var list = document.querySelector("[data-testid=ticker]");
      all("[data-placeholder]", list).forEach(function (node) { list.removeChild(node); });
      var text = data.name + (data.community ? "（" + data.community + "）" : "") + " 购买了 " + data.product + " ×" + data.quantity;
      list.insertBefore(el("li", {}, text), list.firstChild);
      while (list.children.length > KEEP_TICKER) {
        list.removeChild(list.lastChild);
      }
    },
  });
})();
