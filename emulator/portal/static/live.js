// The service page follows its service: every two seconds it fetches /services/<name>/live
// (state, server-rendered SVG charts, log tails, Application Insights items, collected model
// data) and swaps those parts in place.
(function () {
  "use strict";
  var charts = document.getElementById("charts");
  if (!charts) { return; }
  var url = charts.getAttribute("data-live");
  var state = document.getElementById("state");
  var telemetry = document.getElementById("telemetry");
  var modelData = document.getElementById("model-data");

  function follow(pre, text) {
    var atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    if (pre.textContent !== text) { pre.textContent = text; }
    if (atBottom) { pre.scrollTop = pre.scrollHeight; }
  }

  function refresh() {
    fetch(url, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (live) {
        if (!live) { return; }
        charts.innerHTML = live.charts || charts.innerHTML;
        if (state) { state.textContent = live.state; state.className = "state " + live.state; }
        if (telemetry && telemetry.innerHTML !== live.telemetry) { telemetry.innerHTML = live.telemetry; }
        if (modelData && live.model_data && modelData.innerHTML !== live.model_data) { modelData.innerHTML = live.model_data; }
        live.logs.forEach(function (entry) {
          var pre = document.querySelector('pre.log[data-replica="' + entry[0] + '"]');
          if (pre) { follow(pre, entry[1]); }
        });
      })
      .catch(function () { /* the portal stopped; the page keeps what it shows */ })
      .then(function () { window.setTimeout(refresh, 2000); });
  }
  window.setTimeout(refresh, 2000);
}());
