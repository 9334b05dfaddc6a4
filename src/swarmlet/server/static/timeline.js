// The run timeline: model calls, tool calls, handoffs, guardrails and sub-runs (nested under
// the tool call that started them), as bars on one time axis per run, plus token usage.
// While a run streams it is drawn from its events; once it ended, from its OpenTelemetry spans
// (GET /runs/{id}/timeline), when the server has them: agents, model calls with their token
// usage, tools, sub-runs under their tool span, errors.

export class Timeline {
  constructor(container, usageEl) {
    this.container = container;
    this.usageEl = usageEl;
    this.runs = [];
    this.scheduled = false;
  }

  clear() {
    this.runs = [];
    this.container.replaceChildren();
    this.usageEl.textContent = "";
  }

  startRun(runId, label) {
    const run = { id: runId, label, status: "running", spans: [], open: new Map(),
      tools: new Map(), end: 0, tokens: { in: 0, out: 0 } };
    this.runs.push(run);
    this.schedule();
    return run;
  }

  // Feed one event (its data carries `t`, seconds since the run started, and `path`).
  add(run, event) {
    const d = event.data;
    const t = typeof d.t === "number" ? d.t : 0;
    run.end = Math.max(run.end, t);
    const path = d.path || [];
    const key = (suffix) => `${path.join("/")}|${suffix}`;
    switch (event.type) {
      case "turn_started":
        run.open.set(key("model"), this.span(run, path, "model", `model · ${d.agent} #${d.turn}`, t));
        break;
      case "message_completed": {
        const span = run.open.get(key("model"));
        if (span) span.end = t;
        run.open.delete(key("model"));
        break;
      }
      case "tool_call_started":
        run.tools.set(d.call_id, this.span(run, path, "call", `${d.name}(${clip(d.arguments, 40)})`, t, d.arguments));
        break;
      case "tool_call_finished": {
        const span = run.tools.get(d.call_id);
        if (span) {
          span.end = t;
          span.detail = `args: ${span.detail}\nresult: ${d.content}`;
          if (d.error) span.kind += " failed";
        }
        break;
      }
      case "handoff":
        this.span(run, path, "handoff", `handoff → ${d.to_agent}`, t).end = t;
        break;
      case "guardrail_checked": {
        const tripped = d.result && (d.result.tripwire_triggered || d.result.tripped);
        const span = this.span(run, path, tripped ? "guardrail tripped" : "guardrail",
          `guardrail ${d.name}${tripped ? " TRIPPED" : ""}`, t);
        span.end = t;
        break;
      }
      case "run_ended":
        run.status = d.status;
        run.error = d.error;
        closeOpen(run.spans, t, d.status !== "completed");
        break;
      default:
        if (/interrupt|approval/.test(event.type)) this.span(run, path, "guardrail", event.type, t).end = t;
    }
    this.countUsage(run, d);
    this.schedule();
  }

  // Redraw a finished run from its spans; the event-built view stays when there are none.
  async loadTrace(run, api) {
    let trace;
    try {
      trace = await api.request("GET", `/runs/${encodeURIComponent(run.id)}/timeline`);
    } catch {
      return false; // no tracing on this server (or the run expired): keep the live view
    }
    if (!trace.spans.length) return false;
    const built = fromRecords(trace.spans);
    run.spans = built.roots;
    run.end = Math.max(run.end, built.end);
    run.tokens = built.tokens;
    run.traced = true;
    this.schedule();
    return true;
  }

  span(run, path, kind, name, start, detail = "") {
    const span = { kind, name, start, end: null, detail, children: [] };
    const parent = path.length ? run.tools.get(path[path.length - 1]) : null;
    (parent ? parent.children : run.spans).push(span);
    return span;
  }

  // Each model call's usage, as the endpoint reported it (model_responded events only: the
  // response's total would count the same calls again).
  countUsage(run, data) {
    const usage = data.type === "model_responded" ? data.usage : null;
    if (!usage || typeof usage !== "object") return;
    run.tokens.in += usage.prompt_tokens || usage.input_tokens || 0;
    run.tokens.out += usage.completion_tokens || usage.output_tokens || 0;
  }

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.render();
    });
  }

  render() {
    this.container.replaceChildren(...this.runs.map((run) => this.renderRun(run)));
    const total = this.runs.reduce((s, r) => ({ in: s.in + r.tokens.in, out: s.out + r.tokens.out }), { in: 0, out: 0 });
    this.usageEl.textContent = total.in || total.out ? `tokens ${total.in} in · ${total.out} out` : "";
  }

  renderRun(run) {
    const box = document.createElement("div");
    box.className = "run";
    box.dataset.run = run.id;
    box.dataset.source = run.traced ? "trace" : "events";
    const title = document.createElement("div");
    title.className = "run-title";
    title.textContent = `${run.label} `;
    const status = document.createElement("span");
    status.className = `status ${run.status}`;
    const tokens = run.tokens.in + run.tokens.out;
    status.textContent = `${run.status} · ${run.end.toFixed(2)} s${tokens ? ` · ${tokens} tokens` : ""}`
      + `${run.error ? ` · ${run.error.type}` : ""}`;
    title.appendChild(status);
    if (run.traced) status.textContent += " · trace";
    box.appendChild(title);
    const scale = Math.max(run.end, 0.001);
    const walk = (spans, depth) => {
      for (const span of spans) {
        box.appendChild(renderSpan(span, depth, scale, run.end));
        walk(span.children, depth + 1);
      }
    };
    walk(run.spans, 0);
    return box;
  }
}

const KINDS = { run: "workflow", agent: "agent", model: "model", tool: "call" };

// Span records (flat, with parent ids) as the timeline's nested spans, times relative to the
// first; the server's own wrapper span is left out (its child is the run's workflow span).
function fromRecords(records) {
  const t0 = Math.min(...records.map((r) => r.start));
  const byId = new Map();
  const tokens = { in: 0, out: 0 };
  let end = 0;
  for (const r of records) {
    const a = r.attributes || {};
    const used = (a["gen_ai.usage.input_tokens"] || 0) + (a["gen_ai.usage.output_tokens"] || 0);
    tokens.in += a["gen_ai.usage.input_tokens"] || 0;
    tokens.out += a["gen_ai.usage.output_tokens"] || 0;
    const start = r.start - t0;
    end = Math.max(end, start + r.duration);
    const kind = `${KINDS[r.kind] || "other"}${r.error ? " failed" : ""}`;
    const name = used ? `${r.name} · ${used} tok` : r.name;
    const detail = [r.name, ...Object.entries(a).map(([k, v]) => `${k}: ${v}`),
      ...(r.events || []).map((e) => `event ${e.name}`)].join("\n");
    const span = { kind, name, start, end: start + r.duration, detail, children: [], record: r };
    span.children.push(...(r.events || []).map((e) => marker(e, t0)).filter(Boolean));
    byId.set(r.span_id, span);
  }
  const roots = [];
  for (const span of byId.values()) {
    const parent = byId.get(span.record.parent_id);
    (parent ? parent.children : roots).push(span);
  }
  const shown = roots.length === 1 && roots[0].kind.startsWith("other") ? roots[0].children : roots;
  return { roots: shown, end, tokens };
}

// A handoff or guardrail span event as a zero-length span (as the live view draws them).
function marker(event, t0) {
  const a = event.attributes || {};
  const t = event.time - t0;
  if (event.name === "swarmlet.handoff") {
    return { kind: "handoff", name: `handoff → ${a["swarmlet.handoff.to_agent"]}`, start: t, end: t, detail: "", children: [] };
  }
  if (event.name === "swarmlet.guardrail") {
    return { kind: "guardrail", name: `guardrail ${a["swarmlet.guardrail.name"] || ""}`, start: t, end: t, detail: "", children: [] };
  }
  return null;
}

// A run that failed or was stopped leaves spans open: end them where the run ended.
function closeOpen(spans, t, failed) {
  for (const span of spans) {
    if (span.end === null) {
      span.end = t;
      if (failed) span.kind += " failed";
    }
    closeOpen(span.children, t, failed);
  }
}

function renderSpan(span, depth, scale, now) {
  const row = document.createElement("div");
  row.className = `span ${span.kind}`;
  row.dataset.depth = String(Math.min(depth, 6));
  const end = span.end === null ? now : span.end;
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = span.name;
  name.title = span.detail || span.name;
  const track = document.createElement("span");
  track.className = "track";
  const bar = document.createElement("span");
  bar.className = "bar";
  bar.style.left = `${(100 * span.start) / scale}%`;
  bar.style.width = `${(100 * (end - span.start)) / scale}%`;
  track.appendChild(bar);
  const dur = document.createElement("span");
  dur.className = "dur";
  dur.textContent = span.end === null ? "…" : `${Math.round((end - span.start) * 1000)} ms`;
  row.append(name, track, dur);
  return row;
}

function clip(text, max) {
  const s = String(text ?? "");
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
