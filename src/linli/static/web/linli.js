// linli.js — the pages' own script, no build step. Loaded after htmx by base.html.
// 1. Every htmx request carries the page's CSRF token (X-CSRF-Token, from <meta name="csrf-token">).
// 2. linli.stream(url, handlers): the browser's EventSource for live pages, JSON payloads parsed.
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

  window.linli = { csrfToken: csrfToken, stream: stream };
})();
