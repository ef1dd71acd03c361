// Runs first in the report page (before Chart.js): every script error,
// unhandled rejection and console.error is kept, counted on <body> as
// data-error-count and listed in #sonda-report-errors, so a headless
// browser's --dump-dom shows whether the page ran cleanly.
(function () {
  'use strict';
  var errors = [];
  function publish() {
    var body = document.body;
    if (!body) {
      return;
    }
    body.setAttribute('data-error-count', String(errors.length));
    var list = document.getElementById('sonda-report-errors');
    if (list) {
      list.textContent = errors.join('\n');
      list.hidden = errors.length === 0;
    }
  }
  window.sondaReportError = function (message) {
    errors.push(String(message));
    publish();
  };
  window.sondaReportPublishErrors = publish;
  window.addEventListener('error', function (e) {
    var where = e.filename ? ' (' + e.filename + ':' + e.lineno + ')' : '';
    window.sondaReportError((e.message || 'error loading ' + (e.target && (e.target.src || e.target.href))) + where);
  }, true);
  window.addEventListener('unhandledrejection', function (e) {
    window.sondaReportError('unhandled rejection: ' + (e.reason && e.reason.message ? e.reason.message : e.reason));
  });
  var consoleError = console.error;
  console.error = function () {
    window.sondaReportError(Array.prototype.map.call(arguments, String).join(' '));
    return consoleError.apply(console, arguments);
  };
})();
