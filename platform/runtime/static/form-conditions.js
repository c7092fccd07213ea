/* Portalis forms: mirror `visible_when` / `required_when` while the user types.
 *
 * A form with conditional fields carries `data-portalis-conditions`; each conditional field is
 * wrapped in `[data-portalis-field]` (`data-portalis-input` names its main control). When an
 * input changes, the form's values are posted to its own block with `_probe=1` (nothing is
 * written); the server evaluates the definition's expressions and answers
 * `{"fields": {name: {"visible": bool, "required": bool}}}`. Hidden fields are disabled, so
 * they are neither validated by the browser nor submitted — exactly what the store does.
 * Loaded as a file (the CSP allows no inline script); safe to include more than once.
 */
(function () {
  "use strict";
  if (window.portalisFormConditions) {
    return;
  }
  window.portalisFormConditions = true;

  var DELAY_MS = 250;

  function wrapperOf(form, name) {
    var wrappers = form.querySelectorAll("[data-portalis-field]");
    for (var i = 0; i < wrappers.length; i++) {
      if (wrappers[i].getAttribute("data-portalis-field") === name) {
        return wrappers[i];
      }
    }
    return null;
  }

  function markRequired(wrapper, control, required) {
    var label = wrapper.querySelector("label[for='" + control.id + "'], legend");
    control.required = required;
    if (!label) {
      return;
    }
    var marks = label.querySelectorAll(".required, .sr-only");
    if (!required) {
      marks.forEach(function (mark) { mark.remove(); });
    } else if (!label.querySelector(".required")) {
      var mark = document.createElement("span");
      mark.className = "required";
      mark.setAttribute("aria-hidden", "true");
      mark.textContent = "*";
      label.appendChild(document.createTextNode(" "));
      label.appendChild(mark);
    }
  }

  function apply(form, fields) {
    Object.keys(fields).forEach(function (name) {
      var wrapper = wrapperOf(form, name);
      if (!wrapper) {
        return;
      }
      var state = fields[name];
      wrapper.hidden = !state.visible;
      wrapper.querySelectorAll("input, select, textarea").forEach(function (control) {
        control.disabled = !state.visible;
      });
      var control = document.getElementById(wrapper.getAttribute("data-portalis-input"));
      if (control && control.type !== "checkbox" && control.type !== "file") {
        markRequired(wrapper, control, Boolean(state.visible && state.required));
      }
    });
    form.dispatchEvent(new CustomEvent("portalis:conditions", { detail: fields }));
  }

  function watch(form) {
    var timer = null;
    var sent = 0;

    function probe() {
      var data = new FormData(form);
      Array.from(data.keys()).forEach(function (key) {
        if (data.getAll(key).some(function (value) { return value instanceof File; })) {
          data.delete(key);  // uploads travel with the real submission only
        }
      });
      data.set("_probe", "1");
      var number = ++sent;
      form.setAttribute("aria-busy", "true");
      fetch(form.getAttribute("action") || window.location.href, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (response) {
        if (!response.ok) {
          throw new Error("probe failed: " + response.status);
        }
        return response.json();
      }).then(function (answer) {
        if (number === sent && answer && answer.fields) {
          apply(form, answer.fields);
        }
      }).catch(function () {
        /* the server still enforces every condition on submit */
      }).finally(function () {
        if (number === sent) {
          form.removeAttribute("aria-busy");
        }
      });
    }

    function later() {
      window.clearTimeout(timer);
      timer = window.setTimeout(probe, DELAY_MS);
    }

    form.addEventListener("change", function (event) {
      if (event.target && event.target.type !== "file") {
        window.clearTimeout(timer);
        probe();
      }
    });
    form.addEventListener("input", function (event) {
      if (event.target && event.target.type !== "file") {
        later();
      }
    });
  }

  function start() {
    document.querySelectorAll("form[data-portalis-conditions]").forEach(watch);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
