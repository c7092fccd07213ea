/* Portalis payment page: ask again for the payment's stored status while it is not final
 * (runtime/payments/views.py). The provider's redirect is no proof of payment, so the page
 * waits for the provider's event: every few seconds (backing off, and only while the tab is
 * visible) it fetches the status fragment and swaps it into the polite live region, which
 * announces the change. It stops when the status is final or after ten minutes; "Check
 * again" reloads the page without the script. Loaded as a file (the CSP allows no inline
 * script).
 */
(function () {
  "use strict";
  var region = document.getElementById("payment-status-region");
  if (!region || !window.fetch) {
    return;
  }
  var delay = 2000;
  var started = Date.now();
  var LIMIT_MS = 600000;

  function current() {
    return region.querySelector("[data-poll]");
  }

  function ask() {
    var status = current();
    if (!status || Date.now() - started > LIMIT_MS) {
      return;
    }
    if (document.hidden) {
      window.setTimeout(ask, delay);
      return;
    }
    window.fetch(status.getAttribute("data-poll"), {
      credentials: "same-origin",
      headers: { Accept: "text/html" }
    }).then(function (response) {
      if (!response.ok) {
        throw new Error(String(response.status));
      }
      return response.text();
    }).then(function (html) {
      var holder = document.createElement("div");
      holder.innerHTML = html;
      var fresh = holder.querySelector("#payment-status");
      var old = document.getElementById("payment-status");
      if (fresh && old && fresh.outerHTML !== old.outerHTML) {
        old.replaceWith(fresh);
      }
      delay = Math.min(delay * 1.5, 15000);
      window.setTimeout(ask, delay);
    }).catch(function () {
      delay = Math.min(delay * 2, 60000);
      window.setTimeout(ask, delay);
    });
  }

  window.setTimeout(ask, delay);
})();
