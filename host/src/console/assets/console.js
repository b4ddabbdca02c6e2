// Frontdoor console: refreshes each page's live region in place every few seconds (the
// same URL, answered as a fragment), so numbers update without a full reload. Nothing else:
// every action is a plain form, and the page works without this script.
(function () {
  "use strict";
  var PERIOD_MS = 5000;
  function refresh(region) {
    // Never pull the rug from under a keyboard user, nor work for a hidden tab.
    if (document.hidden || region.contains(document.activeElement)) {
      return;
    }
    fetch(region.getAttribute("data-refresh"), {
      headers: { "x-console-fragment": "1" },
      credentials: "same-origin",
      cache: "no-store",
      redirect: "error"
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.text();
      })
      .then(function (html) {
        // Unchanged numbers are not replaced, so a screen reader hears only changes.
        if (html !== region.frontdoorLast) {
          region.innerHTML = html;
          region.frontdoorLast = html;
        }
        region.removeAttribute("data-stale");
      })
      .catch(function () {
        region.setAttribute("data-stale", "true");
      });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var regions = document.querySelectorAll("[data-refresh]");
    if (regions.length === 0) {
      return;
    }
    setInterval(function () {
      regions.forEach(refresh);
    }, PERIOD_MS);
  });
})();
