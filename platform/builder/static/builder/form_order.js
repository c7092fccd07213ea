// Drag-and-drop ordering of a form's fields (SortableJS, vendored). Dropping a field submits
// the new order through the page's ordinary order form; the move buttons do the same
// without JavaScript.
(function () {
  "use strict";
  var list = document.getElementById("form-fields");
  var form = document.getElementById("order-form");
  var value = document.getElementById("order-value");
  if (!list || !form || !value || typeof Sortable === "undefined") { return; }
  Sortable.create(list, {
    handle: ".handle",
    animation: 120,
    onEnd: function (evt) {
      if (evt.oldIndex === evt.newIndex) { return; }
      var names = Array.prototype.map.call(list.children, function (li) { return li.dataset.name; });
      value.value = names.join(",");
      form.submit();
    }
  });
}());
