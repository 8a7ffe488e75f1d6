/* 扫码核销 on the workbench's parcels page: the rear camera (getUserMedia), QR codes decoded by the browser's
   BarcodeDetector where it reads QR, else by the vendored jsQR (loaded only then). A neighbour's pickup QR holds
   the bare 6-digit pickup code (linli.qrcodes.qr_png(code)); a decoded code fills the 提货码 field and submits the
   same 核销 form as typing it, so the server's checks and messages are the same.
   window.linliScan.decodeImage(image) → Promise of the text of a QR in an image/canvas/video frame, or null. */
(function () {
  "use strict";

  var script = document.currentScript;
  var jsqrUrl = script ? script.getAttribute("data-jsqr") : null;
  var CODE = /^\d{6}$/;
  var SCAN_EVERY_MS = 200;
  var detectorPromise = null;
  var jsqrPromise = null;

  /* The pickup code a QR's text carries, or null (an invite link or anything else is not one). */
  function codeFrom(text) {
    var value = String(text || "").trim();
    return CODE.test(value) ? value : null;
  }

  function nativeDetector() {
    if (!detectorPromise) {
      detectorPromise = (async function () {
        if (!("BarcodeDetector" in window)) return null;
        try {
          var formats = await window.BarcodeDetector.getSupportedFormats();
          return formats.indexOf("qr_code") >= 0 ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
        } catch (error) {
          return null;
        }
      })();
    }
    return detectorPromise;
  }

  function loadJsQR() {
    if (!jsqrPromise) {
      jsqrPromise = new Promise(function (resolve, reject) {
        if (window.jsQR) return resolve(window.jsQR);
        var tag = document.createElement("script");
        tag.src = jsqrUrl;
        tag.onload = function () { resolve(window.jsQR); };
        tag.onerror = function () { jsqrPromise = null; reject(new Error("jsQR failed to load")); };
        document.head.appendChild(tag);
      });
    }
    return jsqrPromise;
  }

  function sizeOf(source) {
    return {
      width: source.videoWidth || source.naturalWidth || source.width,
      height: source.videoHeight || source.naturalHeight || source.height,
    };
  }

  var canvas = document.createElement("canvas");

  async function decodeImage(source) {
    var detector = await nativeDetector();
    if (detector) {
      var found = await detector.detect(source);
      return found.length ? found[0].rawValue : null;
    }
    var size = sizeOf(source);
    if (!size.width || !size.height) return null;
    canvas.width = size.width;
    canvas.height = size.height;
    var context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(source, 0, 0, size.width, size.height);
    var pixels = context.getImageData(0, 0, size.width, size.height);
    var jsQR = await loadJsQR();
    var result = jsQR(pixels.data, size.width, size.height, { inversionAttempts: "dontInvert" });
    return result ? result.data : null;
  }

  function setUp() {
    var form = document.getElementById("pickup-form");
    var start = form && form.querySelector("[data-scan-start]");
    if (!start || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
    var panel = form.querySelector("[data-scanner]");
    var video = form.querySelector("[data-scan-video]");
    var status = form.querySelector("[data-scan-status]");
    var stopButton = form.querySelector("[data-scan-stop]");
    var field = form.querySelector("input[name=code]");
    var stream = null;
    var timer = null;

    function stop() {
      if (timer) clearTimeout(timer);
      timer = null;
      if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
      stream = null;
      video.srcObject = null;
      panel.hidden = true;
      start.hidden = false;
    }

    async function tick() {
      timer = null;
      if (!stream) return;
      try {
        var text = video.readyState >= 2 ? await decodeImage(video) : null;
        var code = text === null ? null : codeFrom(text);
        if (code) {
          field.value = code;
          stop();
          form.requestSubmit();
          return;
        }
        if (text !== null) status.textContent = "这不是提货二维码，请扫描邻居订单里的提货码";
      } catch (error) {
        status.textContent = "识别失败，请手动输入提货码";
      }
      if (stream) timer = setTimeout(tick, SCAN_EVERY_MS);
    }

    start.addEventListener("click", async function () {
      status.textContent = "将邻居的提货二维码对准取景框";
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" } }, audio: false });
      } catch (error) {
        status.textContent = "无法打开摄像头，请允许使用摄像头或手动输入提货码";
        panel.hidden = false;
        return;
      }
      video.srcObject = stream;
      panel.hidden = false;
      start.hidden = true;
      await video.play();
      tick();
    });
    stopButton.addEventListener("click", stop);
    start.hidden = false;
  }

  window.linliScan = { decodeImage: decodeImage, codeFrom: codeFrom };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
