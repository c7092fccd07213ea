/* Portalis lists: "select all on this page" and a live count of the selected rows.
 *
 * A list with bulk actions is a form posting the checked rows (`ids`); it works without this
 * script (the "all on this page" button posts every row of the page). The script shows the
 * header checkbox, which checks or clears every row, and says how many rows are selected.
 * Loaded as a file (the CSP allows no inline script); safe to include more than once.
 */
(function () {
  "use strict";
  if (window.portalisBulkSelect) {
    return;
  }
  window.portalisBulkSelect = true;

  function boxes(form) {
    return form.querySelectorAll('input[type="checkbox"][name="ids"]');
  }

  function refresh(form) {
    var all = boxes(form);
    var checked = 0;
    for (var i = 0; i < all.length; i++) {
      if (all[i].checked) {
        checked++;
      }
    }
    var head = form.querySelector("[data-bulk-all]");
    if (head) {
      head.checked = checked > 0 && checked === all.length;
      head.indeterminate = checked > 0 && checked < all.length;
    }
    var count = form.querySelector("[data-bulk-count]");
    if (count) {
      var template = count.getAttribute("data-template") || "%s selected";
      count.textContent = checked ? template.replace("%s", String(checked)) : "";
    }
  }

  function setUp(form) {
    var head = form.querySelector("[data-bulk-all]");
    if (head) {
      head.hidden = false;
      head.addEventListener("change", function () {
        var all = boxes(form);
        for (var i = 0; i < all.length; i++) {
          all[i].checked = head.checked;
        }
        refresh(form);
      });
    }
    form.addEventListener("change", function (event) {
      if (event.target && event.target.name === "ids") {
        refresh(form);
      }
    });
    refresh(form);
  }

  function start() {
    var forms = document.querySelectorAll("form[data-portalis-bulk]");
    for (var i = 0; i < forms.length; i++) {
      setUp(forms[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
