/* The Analytics page's charts (docs/dashboard.md): Chart.js (static/vendor/chartjs) over the
   page's own data (#analytics-data), coloured from the studio's CSS variables so they read in
   light and dark, and recoloured when the theme toggle changes <html data-theme>. */
(function () {
  "use strict";
  const source = document.getElementById("analytics-data");
  if (!source || !window.Chart) return;
  const data = JSON.parse(source.textContent);
  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  const charts = [];

  function palette() {
    return { text: css("--text"), muted: css("--muted"), grid: css("--border"), accent: css("--accent"),
             ok: css("--ok"), danger: css("--danger") };
  }

  function dataset(label, values, color, type) {
    return { label, data: values, type: type || "bar", backgroundColor: color, borderColor: color, borderWidth: 2,
             pointRadius: 2, tension: 0.2 };
  }

  // Series beyond the palette's own colours (one per custom event name): spread hues.
  function hue(n) { return `hsl(${(n * 137) % 360} 60% 55%)`; }

  function make(id, datasets, labels, decimals) {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    const p = palette();
    const chart = new window.Chart(canvas, {
      type: "bar",
      data: { labels: labels || data.days, datasets: datasets(p) },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: { x: { ticks: { color: p.muted }, grid: { color: p.grid } },
                  y: { beginAtZero: true, ticks: { color: p.muted, precision: decimals ? undefined : 0 }, grid: { color: p.grid } } },
        plugins: { legend: { labels: { color: p.text } } },
      },
    });
    chart.$datasets = datasets;
    charts.push(chart);
  }

  make("chart-people", (p) => [
    dataset("Conversations", data.series.conversations, p.accent, "line"),
    dataset("New users", data.series.usersNew, p.ok),
    dataset("Returning users", data.series.usersReturning, p.muted),
  ]);
  make("chart-messages", (p) => [
    dataset("Messages in", data.series.messagesIn, p.accent),
    dataset("Messages out", data.series.messagesOut, p.ok),
    dataset("Failed turns", data.series.failedTurns, p.danger, "line"),
  ]);
  make("chart-llm", (p) => [dataset("Tokens", data.series.llmTokens, p.accent)]);
  make("chart-llm-cost", (p) => [dataset("Cost", data.series.llmCost, p.accent, "line")], null, true);
  make("chart-events", () => Object.entries(data.customEvents).map(
    ([name, entry], n) => dataset(name, entry.perDay, hue(n))));
  make("chart-workflows", (p) => [
    dataset("Completed", data.workflows.completedPerDay, p.ok),
    dataset("Failed", data.workflows.failedPerDay, p.danger),
  ]);
  make("chart-intents", (p) => [dataset("Messages", Object.values(data.intents.counts), p.accent)],
       Object.keys(data.intents.counts));
  const captures = Object.values(data.captures);
  make("chart-captures", (p) => [
    dataset("Completed", captures.map((c) => c.completed), p.ok),
    dataset("Gave up", captures.map((c) => c.failed), p.danger),
    dataset("Dropped off", captures.map((c) => c.droppedOff), p.muted),
  ], Object.keys(data.captures));
  make("chart-hours", (p) => [
    dataset("Messages in", data.hours.messages, p.accent),
    dataset("Users", data.hours.users, p.ok, "line"),
  ], data.hours.labels);

  new MutationObserver(() => {
    const p = palette();
    for (const chart of charts) {
      chart.data.datasets = chart.$datasets(p);
      for (const axis of Object.values(chart.options.scales)) { axis.ticks.color = p.muted; axis.grid.color = p.grid; }
      chart.options.plugins.legend.labels.color = p.text;
      chart.update();
    }
  }).observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
})();
