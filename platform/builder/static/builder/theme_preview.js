/* Theme editor: keeps each colour picker and its text field in step, updates the preview
   pane's CSS custom properties through the CSSOM while the user types (no inline styles in
   markup, so the CSP needs no 'unsafe-inline'), and re-checks the WCAG AA contrast. */
(function () {
  "use strict";
  var preview = document.getElementById("theme-preview");
  var form = document.getElementById("theme-form");
  if (!preview || !form) return;
  var HEX = /^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;
  var VARS = {
    primary_color: "--p-primary", accent_color: "--p-accent",
    background_color: "--p-bg", text_color: "--p-text", font: "--p-font", radius: "--p-radius"
  };
  var DEFAULTS = {
    primary_color: "#0b5fff", accent_color: "#00a676",
    background_color: "#f5f7fb", text_color: "#14213d"
  };
  var warnings = document.getElementById("contrast-warnings");

  function full(hex) {
    return hex.length === 4 ? "#" + hex[1] + hex[1] + hex[2] + hex[2] + hex[3] + hex[3] : hex;
  }
  function luminance(hex) {
    hex = full(hex);
    var out = [1, 3, 5].map(function (i) {
      var c = parseInt(hex.substr(i, 2), 16) / 255;
      return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * out[0] + 0.7152 * out[1] + 0.0722 * out[2];
  }
  function ratio(a, b) {
    var la = luminance(a), lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }
  function value(key) {
    var input = form.querySelector('[name="theme.' + key + '"]');
    var v = input ? input.value.trim() : "";
    return HEX.test(v) ? v : DEFAULTS[key];
  }
  function checkContrast() {
    if (!warnings) return;
    var found = [];
    var onPrimary = ratio("#ffffff", value("primary_color"));
    var text = ratio(value("text_color"), value("background_color"));
    if (onPrimary < 4.5) found.push(warnings.dataset.primary.replace("%s", onPrimary.toFixed(2)));
    if (text < 4.5) found.push(warnings.dataset.text.replace("%s", text.toFixed(2)));
    warnings.textContent = "";
    found.forEach(function (message) {
      var p = document.createElement("p");
      p.className = "notice notice-warning";
      p.textContent = message;
      warnings.appendChild(p);
    });
  }
  function apply(key, raw) {
    var name = VARS[key];
    if (!name) return;
    var v = raw.trim();
    var ok = DEFAULTS[key] ? HEX.test(v) : v !== "" && !/[;{}<>\\]/.test(v);
    if (ok) preview.style.setProperty(name, v);
    else preview.style.removeProperty(name);
  }
  Object.keys(VARS).forEach(function (key) {
    var input = form.querySelector('[name="theme.' + key + '"]');
    if (!input) return;
    input.addEventListener("input", function () {
      apply(key, input.value);
      var picker = document.getElementById(input.id + "-picker");
      if (picker && HEX.test(input.value.trim())) picker.value = full(input.value.trim());
      checkContrast();
    });
  });
  form.querySelectorAll("[data-color-for]").forEach(function (picker) {
    var text = document.getElementById(picker.dataset.colorFor);
    picker.hidden = false;
    picker.addEventListener("input", function () {
      text.value = picker.value;
      text.dispatchEvent(new Event("input"));
    });
  });
})();
