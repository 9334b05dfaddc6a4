// The run timeline: model calls, tool calls, handoffs, guardrails and sub-runs (nested under
// the tool call that started them), as bars on one time axis per run, plus token usage.

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
    const title = document.createElement("div");
    title.className = "run-title";
    title.textContent = `${run.label} `;
    const status = document.createElement("span");
    status.className = `status ${run.status}`;
    const tokens = run.tokens.in + run.tokens.out;
    status.textContent = `${run.status} · ${run.end.toFixed(2)} s${tokens ? ` · ${tokens} tokens` : ""}`
      + `${run.error ? ` · ${run.error.type}` : ""}`;
    title.appendChild(status);
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
  row.dataset.depth = String(Math.min(depth, 3));
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
