// ft-audit report: sortable tables (click a header) and row filters. No framework, no network.
(function () {
  "use strict";
  function sortKey(row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    var explicit = cell.getAttribute("data-sort");
    return explicit !== null ? explicit : cell.textContent.trim();
  }
  function makeSortable(table) {
    var headers = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(headers, function (th, index) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var numeric = th.getAttribute("data-type") === "number";
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(headers, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = sortKey(a, index), y = sortKey(b, index);
          var cmp = numeric ? (parseFloat(x) || 0) - (parseFloat(y) || 0) : x.localeCompare(y);
          return ascending ? cmp : -cmp;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }
  function makeFilter(input) {
    var id = input.getAttribute("data-filter");
    var table = document.getElementById(id);
    var counter = document.querySelector('[data-count-for="' + id + '"]');
    if (!table) { return; }
    var rows = table.tBodies[0].rows;
    input.addEventListener("input", function () {
      var needle = input.value.trim().toLowerCase();
      var shown = 0;
      Array.prototype.forEach.call(rows, function (row) {
        var match = needle === "" || row.textContent.toLowerCase().indexOf(needle) !== -1;
        row.hidden = !match;
        if (match) { shown += 1; }
      });
      if (counter) { counter.textContent = shown + " of " + rows.length + " rows"; }
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);
  Array.prototype.forEach.call(document.querySelectorAll("input[data-filter]"), makeFilter);
}());
