// Checks visible_when / required_when expressions as they are typed: asks the builder's
// check-expression endpoint (the same checker as validate) after a short pause and shows
// the problems under the input. Without JavaScript, saving shows the same problems.
(function () {
  "use strict";
  var DELAY = 350;
  function show(input, target, data) {
    target.textContent = "";
    input.removeAttribute("aria-invalid");
    if (!data || data.ok) { return; }
    input.setAttribute("aria-invalid", "true");
    data.problems.forEach(function (p) {
      var line = document.createElement("span");
      line.className = "builder-expr-problem";
      line.textContent = p.message + (p.hint ? " — " + p.hint : "");
      target.appendChild(line);
      target.appendChild(document.createElement("br"));
    });
  }
  function watch(input) {
    var timer = null;
    var target = document.getElementById(input.getAttribute("aria-describedby"));
    var seq = 0;
    input.addEventListener("input", function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(function () {
        var mine = ++seq;
        var url = input.dataset.checkUrl + "?field=" + encodeURIComponent(input.dataset.field) +
          "&key=" + encodeURIComponent(input.dataset.key) + "&expr=" + encodeURIComponent(input.value);
        fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (data) { if (mine === seq && target) { show(input, target, data); } })
          .catch(function () { /* offline: the save shows the problems */ });
      }, DELAY);
    });
  }
  document.querySelectorAll("input[data-check-url]").forEach(watch);
}());
