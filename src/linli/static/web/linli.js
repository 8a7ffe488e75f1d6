// linli.js — the pages' own script, no build step. Loaded after htmx by base.html.
// 1. Every htmx request carries the page's CSRF token (X-CSRF-Token, from <meta name="csrf-token">).
// 2. linli.stream(url, handlers): the browser's EventSource for live pages, JSON payloads parsed.
// 3. The few DOM helpers the live pages share (the member's room and the host's panel): all, setText, el, yuan,
//    appendComment.
// 4. One-tap copy: a button with data-copy="<element id>" copies that element's text (a textarea's value) and says
//    复制成功 in its data-copied status; the clipboard API where the page may use it, else select + execCommand.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) {
      event.detail.headers["X-CSRF-Token"] = token;
    }
  });

  // handlers: {"<event type>": function (data, event) {...}}; "message" gets events without a type.
  // The browser reconnects by itself and resumes with Last-Event-ID; the source closes when the page is left.
  function stream(url, handlers) {
    var source = new EventSource(url);
    Object.keys(handlers).forEach(function (type) {
      source.addEventListener(type, function (event) {
        var data;
        try {
          data = JSON.parse(event.data);
        } catch (error) {
          data = event.data;
        }
        handlers[type](data, event);
      });
    });
    window.addEventListener("pagehide", function () { source.close(); });
    return source;
  }

  function all(selector, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(selector));
  }

  function setText(selector, value) {
    all(selector).forEach(function (node) { node.textContent = String(value); });
  }

  function el(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function yuan(fen) {
    // Integer arithmetic, as linli.money.yuan on the server: no float ever touches an amount.
    var abs = Math.abs(fen), cents = abs % 100;
    return (fen < 0 ? "-¥" : "¥") + Math.floor(abs / 100) + "." + (cents < 10 ? "0" : "") + cents;
  }

  // A room comment (live.comment, or the snapshot's) at the end of a list, once, keeping the newest `keep`.
  // Returns false when the list is missing or already shows it.
  function appendComment(list, comment, keep) {
    if (!list || list.querySelector("[data-comment-id='" + comment.comment_id + "']")) {
      return false;
    }
    var item = el("li", { "data-comment-id": String(comment.comment_id) });
    item.appendChild(el("strong", {}, comment.name));
    item.appendChild(document.createTextNode("：" + comment.body));
    list.appendChild(item);
    while (list.children.length > keep) {
      list.removeChild(list.firstChild);
    }
    return true;
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    var scratch = el("textarea", { readonly: "", "aria-hidden": "true", "class": "offscreen" });
    scratch.value = text;
    document.body.appendChild(scratch);
    scratch.select();
    var done = document.execCommand("copy");
    document.body.removeChild(scratch);
    return done ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) {
      return;
    }
    var source = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("data-copied") || "");
    if (!source) {
      return;
    }
    var text = source.value !== undefined ? source.value : source.textContent;
    copyText(text).then(function () {
      if (status) { status.textContent = "复制成功，去微信粘贴吧"; }
    }, function () {
      if (status) { status.textContent = "复制失败，请长按文字手动复制"; }
    });
  });

  window.linli = {
    csrfToken: csrfToken, stream: stream, all: all, setText: setText, el: el, yuan: yuan, appendComment: appendComment,
  };
})();
