// live_room.js — the member's live room (/live/{id}) kept up to date from the room's SSE stream, no reload.
// A buy form with a coupon choice shows what is paid after it as the quantity and the coupon change.
// Quota and stock from live.stock, offers opening and closing, the current phase, the order ticker, and the
// host's announcement shown as a banner to the members of its community, the comments (live.comment, and the
// snapshot's last 20 after a reconnect, each shown once). The countdown runs from the seconds the server
// counted at rendering (its clock, not the phone's).
(function () {
  "use strict";

  var room = document.querySelector("[data-testid=room]");
  if (!room || !window.linli) {
    return;
  }
  var sessionId = room.getAttribute("data-session-id");
  var leaderId = room.getAttribute("data-leader-id");
  var communityId = room.getAttribute("data-community-id");
  var signedIn = room.getAttribute("data-signed-in") === "1";

  var all = window.linli.all, setText = window.linli.setText, el = window.linli.el, yuan = window.linli.yuan;

  function newKey() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // --- countdown ---------------------------------------------------------------------------------
  var started = Date.now();
  function tick() {
    all("[data-seconds-left]").forEach(function (node) {
      var left = Math.max(0, Number(node.getAttribute("data-seconds-left")) - Math.floor((Date.now() - started) / 1000));
      var minutes = Math.floor(left / 60);
      var seconds = left % 60;
      node.textContent = left > 0 ? minutes + " 分 " + (seconds < 10 ? "0" : "") + seconds + " 秒" : "已结束";
    });
  }
  tick();
  window.setInterval(tick, 1000);

  // --- offers ------------------------------------------------------------------------------------
  function closeOffer(offerId, text) {
    var card = document.querySelector("[data-offer-id='" + offerId + "']");
    if (!card) {
      return;
    }
    card.classList.add("closed");
    all("[data-offer-id='" + offerId + "'] button[type=submit]").forEach(function (b) { b.disabled = true; });
    var state = card.querySelector("[data-offer-state]");
    if (state) {
      state.insertBefore(el("p", { "class": "why-not", "data-testid": "offer-closed" }, text), state.firstChild);
    }
  }

  function openOffer(offer) {
    if (document.querySelector("[data-offer-id='" + offer.id + "']")) {
      return;
    }
    var card = el("article", { "class": "card offer", "data-testid": "offer-" + offer.id, "data-offer-id": String(offer.id) });
    card.appendChild(el("p", { "class": "badge" }, offer.leader_badge));
    card.appendChild(el("h2", {}, offer.title));
    card.appendChild(el("p", {}, offer.product_name + " · " + offer.sku_name));
    card.appendChild(el("p", { "class": "price" }, yuan(offer.price_fen)));
    var left = el("p", {}, "剩余名额 ");
    left.appendChild(el("strong", { "data-testid": "offer-remaining", "data-offer-remaining": String(offer.id) }, String(offer.remaining)));
    left.appendChild(document.createTextNode(" / " + offer.quota + " 份"));
    card.appendChild(left);
    var state = el("div", { "data-offer-state": "" });
    if (leaderId && String(offer.leader_id) === leaderId) {
      var form = el("form", { method: "post", action: "/live/" + sessionId + "/buy", "class": "buy stack" });
      form.appendChild(el("input", { type: "hidden", name: "csrf_token", value: window.linli.csrfToken() }));
      form.appendChild(el("input", { type: "hidden", name: "offer_id", value: String(offer.id) }));
      form.appendChild(el("input", { type: "hidden", name: "idempotency_key", value: newKey() }));
      var field = el("div", { "class": "field" });
      field.appendChild(el("label", { "for": "q-offer-" + offer.id }, "数量（每人限购 " + offer.per_member_limit + " 件）"));
      field.appendChild(el("input", {
        id: "q-offer-" + offer.id, name: "quantity", type: "number", min: "1",
        max: String(Math.max(1, Math.min(offer.per_member_limit, offer.remaining))), value: "1",
      }));
      form.appendChild(field);
      form.appendChild(el("button", { type: "submit", "class": "primary" }, "立即购买"));
      state.appendChild(form);
    } else if (!signedIn) {
      state.appendChild(el("p", { "class": "why-not" }, offer.community_name + "的邻居登录后可购买"));
      state.appendChild(el("a", { "class": "button primary wide", href: "/signin?next=" + encodeURIComponent("/live/" + sessionId) }, "登录后购买"));
    } else {
      state.appendChild(el("p", { "class": "why-not" }, "仅限" + offer.community_name + "社区邻居（" + offer.leader_name + "邀请）购买"));
    }
    card.appendChild(state);
    document.querySelector("[data-testid=offers]").appendChild(card);
  }

  // --- coupons: what is paid after the chosen coupon -----------------------------------------------
  // A preview with the server's arithmetic (coupons/terms.py, integers only); the order itself is the judge.
  function discountOf(option, total) {
    var raw;
    if (option.getAttribute("data-kind") === "fixed") {
      raw = Number(option.getAttribute("data-amount"));
    } else {
      var share = total * Number(option.getAttribute("data-percent"));
      raw = Math.min(Number(option.getAttribute("data-cap")), (share - share % 10000) / 10000);
    }
    return Math.max(0, Math.min(raw, total - 1));
  }

  function showPayable(form) {
    var select = form.querySelector("[data-coupon-select]");
    var quantity = Math.max(1, parseInt(form.querySelector("[name=quantity]").value, 10) || 1);
    var total = Number(form.getAttribute("data-unit-price")) * quantity;
    var option = select.options[select.selectedIndex];
    var pay = total, note = "";
    if (option && option.value) {
      var threshold = Number(option.getAttribute("data-threshold"));
      if (total < threshold) {
        note = "未满 " + yuan(threshold) + "，不能使用这张券";
      } else {
        pay = total - discountOf(option, total);
        note = "已减 " + yuan(total - pay);
      }
    }
    form.querySelector("[data-payable]").textContent = yuan(pay);
    form.querySelector("[data-coupon-note]").textContent = note;
  }

  all("form.buy").forEach(function (form) {
    if (!form.querySelector("[data-coupon-select]")) {
      return;
    }
    form.addEventListener("input", function () { showPayable(form); });
    form.addEventListener("change", function () { showPayable(form); });
    showPayable(form);
  });

  // --- comments ----------------------------------------------------------------------------------
  var SHOWN_COMMENTS = 50;  // the newest stay on a phone; the room is not an archive
  function addComment(comment) {
    if (!window.linli.appendComment(document.querySelector("[data-testid=comment-list]"), comment, SHOWN_COMMENTS)) {
      return;
    }
    var none = document.querySelector("[data-testid=no-comments]");
    if (none) {
      none.hidden = true;
    }
  }

  // --- the stream --------------------------------------------------------------------------------
  function applyCounts(listings, offers) {
    (listings || []).forEach(function (x) { setText("[data-listing-remaining='" + x.id + "']", x.remaining); });
    (offers || []).forEach(function (x) { setText("[data-offer-remaining='" + x.id + "']", x.remaining); });
  }

  function showPhase(phase) {
    all("[data-phase-index]").forEach(function (node) {
      var current = phase && Number(node.getAttribute("data-phase-index")) === phase.index;
      node.classList.toggle("current", Boolean(current));
      if (current) {
        node.setAttribute("aria-current", "step");
      } else {
        node.removeAttribute("aria-current");
      }
    });
    setText("[data-testid=current-phase]", phase ? "当前：" + phase.title : "");
  }

  var STATUS = { scheduled: "未开播", live: "直播中", ended: "已结束", cancelled: "已取消" };
  function showStatus(status) {
    setText("[data-testid=session-status]", STATUS[status] || status);
  }

  window.linli.stream("/api/v1/live-sessions/" + sessionId + "/events", {
    snapshot: function (data) {
      applyCounts(data.listings, data.offers);
      (data.offers || []).forEach(openOffer);
      if (data.session) {
        showPhase(data.session.current_phase);
      }
      (data.comments || []).forEach(addComment);
    },
    "live.comment": addComment,
    "live.stock": function (data) {
      setText("[data-listing-remaining='" + data.listing_id + "']", data.listing_remaining);
      if (data.offer_id !== null && data.offer_id !== undefined) {
        setText("[data-offer-remaining='" + data.offer_id + "']", data.offer_remaining);
      }
    },
    "live.listing_updated": function (data) { applyCounts([data], []); },
    "live.offer_opened": openOffer,
    "live.offer_closed": function (data) { closeOffer(data.offer_id, "专享价已结束"); },
    "live.phase_changed": function (data) { showPhase(data.current_phase); },
    "live.session_started": function (data) { showStatus("live"); showPhase(data.current_phase); },
    "live.session_ended": function () { showStatus("ended"); },
    "live.session_cancelled": function () { showStatus("cancelled"); },
    session_ended: function (data) { showStatus(data.status); },
    "live.order_ticker": function (data) {
      var list = document.querySelector("[data-testid=ticker]");
      var text = data.name + (data.community ? "（" + data.community + "）" : "") + " 购买了 " + data.product + " ×" + data.quantity;
      list.insertBefore(el("li", {}, text), list.firstChild);
      while (list.children.length > 5) {
        list.removeChild(list.lastChild);
      }
    },
    "live.offer_announced": function (data) {
      if (!communityId || String(data.community_id) !== communityId) {
        return;
      }
      var banner = document.querySelector("[data-testid=announce-banner]");
      banner.textContent = data.banner;
      banner.hidden = false;
      setText("[data-offer-remaining='" + data.offer_id + "']", data.remaining);
    },
  });
})();
