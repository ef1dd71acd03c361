// The report page's charts: each <canvas data-chart="N"> gets a Chart.js
// chart built from spec N in #sonda-charts (made by html_report_charts.cpp:
// "series" = interval samples over time, "percentiles" = latency sets).
// The base run's datasets are dashed, in the colour of the same field.
// Afterwards <body> records, for people and for the headless-browser test:
//   data-charts-created  charts Chart.js accepted
//   data-charts-painted  canvases with at least one non-transparent pixel
//   data-charts-blank    ids of canvases left empty
//   data-report-state    "done" once all of the above is written
(function () {
  'use strict';
  var body = document.body;
  var specs = JSON.parse(document.getElementById('sonda-charts').textContent);
  var palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf',
                 '#7f7f7f', '#bcbd22'];

  // Numbers for people in a unit, as the report's tables print them.
  function scaled(v, names, step) {
    var k = 0;
    while (Math.abs(v) >= step * 0.9999 && k + 1 < names.length) {
      v /= step;
      k++;
    }
    return Number(v.toPrecision(3)) + ' ' + names[k];
  }
  function fmt(v, unit) {
    if (v === null || v === undefined || isNaN(v)) {
      return 'n/a';
    }
    switch (unit) {
      case 'bit/s': return scaled(v, ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s'], 1000);
      case 'packets/s': return scaled(v, ['pps', 'kpps', 'Mpps', 'Gpps'], 1000);
      case '1/s': return scaled(v, ['/s', 'k/s', 'M/s'], 1000);
      case 'ns': return scaled(v, ['ns', 'us', 'ms', 's'], 1000);
      case 'bytes': return scaled(v, ['B', 'KiB', 'MiB', 'GiB', 'TiB'], 1024);
      case 'ratio': return Number((v * 100).toPrecision(3)) + ' %';
      case 'percent': return Number(v.toPrecision(3)) + ' %';
      default: return Math.abs(v) >= 1000 ? scaled(v, ['', 'k', 'M', 'G'], 1000).trim() : String(Number(v.toPrecision(4)));
    }
  }

  function colour(i) {
    return palette[i % palette.length];
  }

  function dataset(d, data) {
    var c = colour(d.color);
    return {
      label: d.label,
      data: data,
      borderColor: c,
      // The base run: hollow points, and a dashed outline as its legend box.
      backgroundColor: d.base ? '#ffffff' : c,
      borderWidth: d.base ? 1.5 : 2,
      borderDash: d.base ? [6, 4] : [],
      pointRadius: data.length > 40 ? 0 : (d.base ? 2 : 3),
      pointStyle: d.base ? 'rectRot' : 'circle',
      spanGaps: true,
      tension: 0
    };
  }

  function common(spec, xTitle, yScale) {
    return {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: {
        title: { display: true, text: spec.title, font: { size: 13 } },
        legend: { position: 'bottom', labels: { boxWidth: 14, font: { size: 11 } } },
        tooltip: {
          callbacks: {
            label: function (ctx) {
              return ctx.dataset.label + ': ' + fmt(ctx.parsed.y, spec.unit);
            }
          }
        }
      },
      scales: {
        x: xTitle,
        y: yScale
      }
    };
  }

  function seriesConfig(spec) {
    var datasets = spec.datasets.map(function (d) {
      return dataset(d, d.points.map(function (p) { return { x: p[0], y: p[1] }; }));
    });
    return {
      type: 'line',
      data: { datasets: datasets },
      options: common(spec,
        { type: 'linear', title: { display: true, text: 'seconds since the step started' } },
        { beginAtZero: true, title: { display: true, text: spec.y_title },
          ticks: { callback: function (v) { return fmt(v, spec.unit); } } })
    };
  }

  function percentileConfig(spec) {
    var y = spec.log
      ? { type: 'logarithmic', title: { display: true, text: spec.y_title + ' (log scale)' },
          ticks: { callback: function (v) {
            var m = v / Math.pow(10, Math.floor(Math.log10(v)));
            return [1, 2, 5].indexOf(Math.round(m)) >= 0 ? fmt(v, spec.unit) : '';
          } } }
      : { title: { display: true, text: spec.y_title },
          ticks: { callback: function (v) { return fmt(v, spec.unit); } } };
    return {
      type: 'line',
      data: { labels: spec.labels, datasets: spec.datasets.map(function (d) { return dataset(d, d.values); }) },
      options: common(spec, { title: { display: true, text: 'percentile' } }, y)
    };
  }

  function painted(canvas) {
    if (!canvas.width || !canvas.height) {
      return false;
    }
    var pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (var i = 3; i < pixels.length; i += 4) {
      if (pixels[i] !== 0) {
        return true;
      }
    }
    return false;
  }

  var canvases = Array.prototype.slice.call(document.querySelectorAll('canvas[data-chart]'));
  var created = 0;
  canvases.forEach(function (canvas) {
    var spec = specs[Number(canvas.getAttribute('data-chart'))];
    try {
      if (!spec) {
        throw new Error('no chart spec ' + canvas.getAttribute('data-chart'));
      }
      new Chart(canvas, spec.kind === 'percentiles' ? percentileConfig(spec) : seriesConfig(spec));
      created++;
    } catch (e) {
      window.sondaReportError('chart ' + canvas.id + ': ' + (e && e.message ? e.message : e));
    }
  });
  body.setAttribute('data-charts-created', String(created));

  // Charts draw synchronously without animation; a resize may redraw them
  // on the next frame, so look at the pixels after that.
  function check() {
    var blank = canvases.filter(function (c) { return !painted(c); }).map(function (c) { return c.id; });
    body.setAttribute('data-charts-painted', String(canvases.length - blank.length));
    body.setAttribute('data-charts-blank', blank.join(' '));
    window.sondaReportPublishErrors();
    body.setAttribute('data-report-state', 'done');
  }
  window.setTimeout(check, 50);
})();
