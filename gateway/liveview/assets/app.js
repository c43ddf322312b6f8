// Polls the snapshot and redraws the tables. Every value goes in through
// textContent, never as HTML: paths and subjects are chosen by clients.
"use strict";
(function () {
  const refresh = Number(document.body.dataset.refresh) || 2000;

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    td.textContent = text === undefined || text === null ? "" : String(text);
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }
  function fill(id, rows, draw) {
    const body = document.querySelector("#" + id + " tbody");
    const fresh = document.createElement("tbody");
    for (const r of rows || []) {
      const tr = document.createElement("tr");
      draw(tr, r);
      fresh.appendChild(tr);
    }
    body.replaceWith(fresh);
  }
  function hhmmss(t) { return new Date(t).toISOString().substring(11, 19); }

  function draw(s) {
    const info = {};
    for (const r of s.status.routes || []) info[r.name] = r;
    fill("routes", s.routes, (tr, r) => {
      tr.dataset.route = r.name;
      const i = info[r.name] || {};
      cell(tr, r.name, "name"); cell(tr, i.protocol); cell(tr, i.path);
      cell(tr, r.requests_per_second.toFixed(1), "rps"); cell(tr, r.refusals_per_second.toFixed(1), "dps");
      cell(tr, r.requests_60s, "req"); cell(tr, r.refusals_60s, "deny");
    });
    const peak = Math.max(1, ...(s.refusals_by_code || []).flatMap((c) => c.counts));
    fill("codes", s.refusals_by_code, (tr, c) => {
      tr.dataset.code = c.code;
      cell(tr, c.code, "code"); cell(tr, c.total, "total");
      const td = cell(tr, "");
      c.counts.forEach((n, i) => {
        const bar = document.createElement("span");
        bar.className = n > 0 ? "bar" : "bar zero";
        bar.title = s.minutes[i] + ": " + n;
        bar.style.height = (0.1 + 1.2 * n / peak).toFixed(2) + "em";
        td.appendChild(bar);
      });
    });
    fill("recent", s.recent, (tr, d) => {
      tr.className = d.decision;
      cell(tr, hhmmss(d.time)); cell(tr, d.route); cell(tr, d.method + " " + d.path); cell(tr, d.status);
      cell(tr, d.decision); cell(tr, d.code); cell(tr, d.reason); cell(tr, d.subject);
    });
    fill("subjects", s.top_subjects, (tr, p) => { cell(tr, p.subject); cell(tr, p.cost); cell(tr, p.requests); });
    const deps = [s.status.rate_limit].concat(s.status.upstreams || []);
    fill("health", deps, (tr, h) => {
      tr.className = h.ok ? "ok" : "bad";
      cell(tr, h.name); cell(tr, h.ok ? "ok" : "DOWN"); cell(tr, h.detail);
    });
    fill("queues", s.status.queues, (tr, q) => {
      cell(tr, q.name); cell(tr, q.depth); cell(tr, q.capacity); cell(tr, q.delivered); cell(tr, q.dropped);
    });
    document.getElementById("config-version").textContent = s.status.config_version;
    const st = s.status;
    document.getElementById("reload").textContent = !st.last_reload ? "none since start"
      : (st.last_reload_ok ? "ok at " : "FAILED at ") + hhmmss(st.last_reload) + (st.last_reload_ok ? "" : ": " + st.last_reload_error);
    document.getElementById("updated").textContent = hhmmss(s.generated_at);
    document.body.dataset.polls = String(Number(document.body.dataset.polls || 0) + 1);
  }

  async function poll() {
    try {
      const r = await fetch("/live/snapshot.json", { cache: "no-store", credentials: "same-origin" });
      if (r.ok) draw(await r.json());
    } catch (e) {
      document.getElementById("updated").textContent = "unreachable";
    }
    setTimeout(poll, refresh);
  }
  poll();
})();
