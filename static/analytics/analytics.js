/* The analytics page. Each card fetches its chart's numbers from its endpoint under
   /api/v1/analytics/ (the same JSON an integrator gets, with the signed-in session) and draws
   them with Apache ECharts (static/vendor/echarts-6.1.0). The SVG renderer keeps axis labels
   and legends as text in the page; tooltips are HTML built here from escaped text with no
   inline style, so the page's Content-Security-Policy needs no exception. Times are UTC. */
(() => {
  'use strict';

  const COLORS = {
    accepted: '#3c8f52', needs_review: '#d1a027', failed: '#b8423a', rejected: '#6b3f8f',
    in_progress: '#9aa0a6', accept: '#3c8f52', correct: '#d1a027', reject: '#6b3f8f',
    waiting: '#3b6ea8', oldest_age: '#b8423a',
    total_p50: '#3b6ea8', total_p95: '#3b6ea8', queue_wait_p50: '#e07b39', queue_wait_p95: '#e07b39',
  };
  const PALETTE = ['#3b6ea8', '#d1a027', '#3c8f52', '#b8423a', '#6b3f8f', '#2a9d8f', '#e07b39',
    '#8d6e63', '#5c6bc0', '#9e9d24'];
  const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

  // --- formatting -----------------------------------------------------------------------------

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({
      '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
    })[c]);
  }

  function swatch(color) {
    // A presentation attribute, not a style: allowed by the policy. Colours are ours.
    return `<svg class="tip-swatch" width="10" height="10" aria-hidden="true">` +
      `<rect width="10" height="10" rx="2" fill="${escapeHtml(color)}"/></svg>`;
  }

  function formatValue(value, unit) {
    if (value === null || value === undefined) return '–';
    switch (unit) {
      case 'ms':
        if (value >= 10000) return `${Math.round(value / 1000)} s`;
        return value >= 1000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
      case 'ratio':
      case 'share':
        return `${(value * 100).toFixed(1)} %`;
      case 'hours':
        return value >= 48 ? `${(value / 24).toFixed(1)} days` : `${value.toFixed(1)} h`;
      case 'confidence':
        return value.toFixed(3);
      default:
        return `${value.toLocaleString('en')} ${unit}`;
    }
  }

  function axisMs(value) {
    return value >= 1000 ? `${value / 1000} s` : `${value} ms`;
  }

  function formatBucket(time, bucket) {
    const iso = new Date(time).toISOString();
    return bucket === 'day' ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
  }

  function tipRow(color, label, value) {
    return `<tr><td>${swatch(color)} ${escapeHtml(label)}</td>` +
      `<td class="tip-value">${escapeHtml(value)}</td></tr>`;
  }

  function tipTable(title, rows) {
    return `<div class="chart-tip"><div class="tip-title">${escapeHtml(title)}</div>` +
      `<table>${rows.join('')}</table></div>`;
  }

  // --- common option parts -------------------------------------------------------------------

  function pairs(buckets, values) {
    return buckets.map((bucket, i) => [bucket, values[i]]);
  }

  function base(data, extra) {
    return {
      useUTC: true,
      animation: false,
      textStyle: { fontFamily: FONT, color: '#333' },
      grid: { left: 64, right: 64, top: 48, bottom: 64 },
      legend: { top: 0, type: 'scroll' },
      aria: { enabled: true },
      tooltip: { trigger: 'axis', confine: true, className: 'chart-tooltip' },
      ...extra,
    };
  }

  function timeAxis(data) {
    return {
      type: 'time',
      name: data.scope.bucket === 'day' ? 'day (UTC)' : 'hour (UTC)',
      nameLocation: 'middle',
      nameGap: 36,
      min: data.scope.since,
      max: data.scope.until,
      axisLabel: {
        hideOverlap: true,
        formatter: { year: '{yyyy}', month: '{MMM} {d}', day: '{MMM} {d}', hour: '{HH}:{mm}', minute: '{HH}:{mm}' },
      },
    };
  }

  function valueAxis(name, formatter, extra) {
    return {
      type: 'value', name, nameTextStyle: { align: 'left' },
      axisLabel: formatter ? { formatter } : {}, ...extra,
    };
  }

  function seriesTooltip(data, unitOf, withTotal) {
    return (params) => {
      const list = Array.isArray(params) ? params : [params];
      if (!list.length) return '';
      const rows = list.map((p) => tipRow(p.color, p.seriesName, formatValue(p.value[1], unitOf(p))));
      if (withTotal) {
        const total = list.reduce((sum, p) => sum + (p.value[1] || 0), 0);
        rows.push(tipRow('#ffffff', 'Total', formatValue(total, unitOf(list[0]))));
      }
      return tipTable(formatBucket(list[0].value[0], data.scope.bucket), rows);
    };
  }

  function stackedBars(data, yName) {
    const units = Object.fromEntries(data.series.map((s) => [s.label, s.unit]));
    return base(data, {
      tooltip: {
        trigger: 'axis', confine: true, className: 'chart-tooltip',
        formatter: seriesTooltip(data, (p) => units[p.seriesName], true),
      },
      xAxis: timeAxis(data),
      yAxis: valueAxis(yName, null, { minInterval: 1 }),
      series: data.series.map((s, i) => ({
        name: s.label, type: 'bar', stack: 'total', barMaxWidth: 28,
        itemStyle: { color: COLORS[s.key] || PALETTE[i % PALETTE.length] },
        data: pairs(data.buckets, s.values),
      })),
    });
  }

  // --- the charts ----------------------------------------------------------------------------

  const BUILDERS = {
    throughput: (data) => stackedBars(data, 'images'),
    failures: (data) => stackedBars(data, 'failed images'),
    review_decisions: (data) => stackedBars(data, 'decisions'),

    latency: (data) => base(data, {
      tooltip: {
        trigger: 'axis', confine: true, className: 'chart-tooltip',
        formatter: seriesTooltip(data, () => 'ms', false),
      },
      xAxis: timeAxis(data),
      // Logarithmic: an outage's minutes and an ordinary hour's milliseconds both stay legible.
      yAxis: valueAxis('latency (log scale)', axisMs, { type: 'log', logBase: 10 }),
      series: data.series.map((s) => ({
        name: s.label, type: 'line', showSymbol: false, connectNulls: false,
        lineStyle: { type: s.key.endsWith('p95') ? 'dashed' : 'solid', width: 2 },
        itemStyle: { color: COLORS[s.key] },
        data: pairs(data.buckets, s.values),
      })),
    }),

    confidence_trend: (data) => base(data, {
      tooltip: {
        trigger: 'axis', confine: true, className: 'chart-tooltip',
        formatter: seriesTooltip(data, () => 'confidence', false),
      },
      xAxis: timeAxis(data),
      yAxis: valueAxis('mean confidence', null, { min: 0, max: 1 }),
      series: data.series.map((s, i) => ({
        name: s.label, type: 'line', connectNulls: false, symbolSize: 5,
        itemStyle: { color: PALETTE[i % PALETTE.length] },
        data: pairs(data.buckets, s.values),
      })),
    }),

    review_backlog: (data) => {
      const [waiting, oldest] = data.series;
      return base(data, {
        grid: { left: 64, right: 72, top: 48, bottom: 64 },
        tooltip: {
          trigger: 'axis', confine: true, className: 'chart-tooltip',
          formatter: seriesTooltip(data, (p) => (p.seriesIndex === 0 ? 'tasks' : 'hours'), false),
        },
        xAxis: timeAxis(data),
        yAxis: [
          valueAxis('tasks waiting', null, { minInterval: 1 }),
          valueAxis('oldest waiting (h)', null, { splitLine: { show: false } }),
        ],
        series: [
          {
            name: waiting.label, type: 'line', step: 'end', showSymbol: false,
            areaStyle: { opacity: 0.2 }, itemStyle: { color: COLORS.waiting },
            data: pairs(data.buckets, waiting.values),
          },
          {
            name: oldest.label, type: 'line', yAxisIndex: 1, showSymbol: false,
            itemStyle: { color: COLORS.oldest_age }, data: pairs(data.buckets, oldest.values),
          },
        ],
      });
    },

    overrides: (data) => {
      const rates = data.series.filter((s) => s.unit === 'ratio');
      const counts = Object.fromEntries(
        data.series.filter((s) => s.unit === 'decisions').map((s) => [s.key, s.values]));
      return base(data, {
        tooltip: {
          trigger: 'axis', confine: true, className: 'chart-tooltip',
          formatter: (params) => {
            const rows = params.map((p) => {
              const n = (counts[`${rates[p.seriesIndex].key}.decisions`] || [])[p.dataIndex] || 0;
              return tipRow(p.color, p.seriesName,
                `${formatValue(p.value[1], 'ratio')} of ${n.toLocaleString('en')}`);
            });
            return params.length ? tipTable(formatBucket(params[0].value[0], data.scope.bucket), rows) : '';
          },
        },
        xAxis: timeAxis(data),
        yAxis: valueAxis('overridden', (v) => `${Math.round(v * 100)} %`, { min: 0 }),
        series: rates.map((s, i) => ({
          name: s.label, type: 'line', connectNulls: false, symbolSize: 5,
          itemStyle: { color: PALETTE[i % PALETTE.length] }, data: pairs(data.buckets, s.values),
        })),
      });
    },
  };

  // Confidence: one small chart per class (current vs reference shares, thresholds marked).
  function confidenceOption(data, item) {
    const edges = data.edges;
    const shares = (counts) => {
      const total = counts.reduce((a, b) => a + b, 0);
      const points = counts.map((n, i) => [edges[i], total ? n / total : 0]);
      return points.concat([[edges[edges.length - 1], points[points.length - 1][1]]]);
    };
    const counts = { 'This period': item.current, 'When the thresholds were set': item.reference };
    const marks = [...new Map(item.thresholds.filter((t) => t.value !== null)
      .map((t) => [t.value, t])).values()];
    const binOf = (x) => Math.min(Math.max(edges.findIndex((e) => e > x) - 1, 0), edges.length - 2);
    return base(data, {
      title: { text: item.class_name, left: 'center', top: 22, textStyle: { fontSize: 13 } },
      grid: { left: 56, right: 24, top: 56, bottom: 56 },
      legend: { top: 0 },
      tooltip: {
        trigger: 'axis', confine: true, className: 'chart-tooltip',
        formatter: (params) => {
          if (!params.length) return '';
          const bin = binOf(params[0].value[0]);
          const rows = params.map((p) => tipRow(p.color, p.seriesName,
            `${formatValue(p.value[1], 'share')} (${(counts[p.seriesName][bin] || 0).toLocaleString('en')} boxes)`));
          marks.forEach((t) => rows.push(tipRow('#b8423a', `threshold ${t.facility}`, t.value.toFixed(2))));
          return tipTable(`${item.class_name}: confidence ${edges[bin].toFixed(2)}–${edges[bin + 1].toFixed(2)}`, rows);
        },
      },
      xAxis: { type: 'value', name: 'confidence', nameLocation: 'middle', nameGap: 30, min: 0, max: 1 },
      yAxis: valueAxis('share of boxes', (v) => `${Math.round(v * 100)} %`, { min: 0 }),
      series: [
        {
          name: 'This period', type: 'line', step: 'end', showSymbol: false,
          areaStyle: { opacity: 0.25 }, itemStyle: { color: '#3b6ea8' }, data: shares(item.current),
          markLine: {
            symbol: 'none', silent: true,
            lineStyle: { color: '#b8423a', type: 'solid', width: 2 },
            label: { formatter: (m) => `threshold ${m.value}`, position: 'insideEndTop' },
            data: marks.map((t) => ({ xAxis: t.value, name: t.facility })),
          },
        },
        {
          name: 'When the thresholds were set', type: 'line', step: 'end', showSymbol: false,
          lineStyle: { type: 'dashed' }, itemStyle: { color: '#6b3f8f' }, data: shares(item.reference),
        },
      ],
    });
  }

  // --- drawing -------------------------------------------------------------------------------

  // Charts follow their container's size (the grid reflows as cards fill and the window
  // changes).
  const resized = new ResizeObserver((entries) => entries.forEach((entry) => {
    const chart = echarts.getInstanceByDom(entry.target);
    if (chart) chart.resize();
  }));

  function draw(element, option) {
    const chart = echarts.init(element, null, { renderer: 'svg' });
    chart.setOption(option);
    resized.observe(element);
    return chart;
  }

  function referenceNote(data) {
    return data.references.map((r) => {
      const when = r.since ? `${formatBucket(r.since, 'hour')} to ${formatBucket(r.until, 'hour')} UTC` : 'no images yet';
      return `${r.facility}: ${r.rule} (${when})`;
    }).join('; ');
  }

  function render(card, data) {
    const body = card.querySelector('.chart-body');
    body.replaceChildren();
    card.querySelector('.chart-title').textContent = data.title;
    const note = card.querySelector('.chart-note');
    const noteText = data.chart === 'confidence' ? `Compared with ${referenceNote(data)}.` : data.note;
    note.textContent = noteText;
    note.hidden = !noteText;
    if (data.empty) {
      const empty = card.querySelector('.chart-empty');
      empty.textContent = data.empty;
      empty.hidden = false;
      body.hidden = true;
      card.dataset.state = 'empty';
      return;
    }
    if (data.chart === 'confidence') {
      body.classList.add('small-multiples');
      const boxes = data.classes.map((item) => {
        const one = document.createElement('div');
        one.className = 'chart-canvas chart-canvas-small';
        one.dataset.className = item.class_name;
        body.appendChild(one);
        return one;
      });
      // Drawn once all are placed: each is measured at its final width.
      data.classes.forEach((item, i) => draw(boxes[i], confidenceOption(data, item)));
    } else {
      const one = document.createElement('div');
      one.className = 'chart-canvas';
      body.appendChild(one);
      draw(one, BUILDERS[data.chart](data));
    }
    card.dataset.state = 'ready';
  }

  function fail(card, message) {
    const body = card.querySelector('.chart-body');
    body.replaceChildren();
    const empty = card.querySelector('.chart-empty');
    empty.textContent = `Could not load this chart: ${message}`;
    empty.hidden = false;
    card.dataset.state = 'error';
  }

  async function load(card) {
    try {
      const response = await fetch(card.dataset.url, {
        credentials: 'same-origin', headers: { Accept: 'application/json' },
      });
      const data = await response.json();
      if (!response.ok) throw new Error(data.detail || response.statusText);
      render(card, data);
    } catch (error) {
      fail(card, error.message);
    }
  }

  function customDates() {
    const period = document.getElementById('id_period');
    const dates = document.getElementById('custom-dates');
    if (!period || !dates) return;
    const toggle = () => { dates.hidden = period.value !== 'custom'; };
    period.addEventListener('change', toggle);
    toggle();
  }

  customDates();
  document.querySelectorAll('.chart-card[data-url]').forEach(load);
})();
