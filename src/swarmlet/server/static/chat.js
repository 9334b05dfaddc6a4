// The conversation: messages labelled by speaking agent, streamed text, tool calls inline
// (collapsible arguments and results, errors highlighted), handoff notes, error messages.

export class ChatView {
  constructor(container) {
    this.container = container;
    this.clear();
  }

  clear() {
    this.container.replaceChildren();
    this.streaming = new Map(); // path key -> message element being streamed
    this.tools = new Map(); // call id -> tool element
    this.lastSender = null;
  }

  scroll() {
    this.container.scrollTop = this.container.scrollHeight;
  }

  // Messages stored in a thread (Swarm's dicts).
  showHistory(messages) {
    this.clear();
    for (const m of messages) {
      if (m.role === "user") this.userMessage(m.content);
      else if (m.role === "assistant") {
        this.noteSender(m.sender);
        if (m.content) this.bubble(m.sender, m.content, 0);
        for (const call of m.tool_calls || []) {
          this.toolStarted(call.id, call.function.name, call.function.arguments, m.sender, 0);
        }
      } else if (m.role === "tool") {
        const failed = typeof m.content === "string" && m.content.startsWith("Error: ");
        this.toolFinished(m.tool_call_id, m.content, failed ? m.content.slice(7) : null);
      }
    }
    this.scroll();
  }

  userMessage(text) {
    const div = document.createElement("div");
    div.className = "msg user";
    div.textContent = typeof text === "string" ? text : JSON.stringify(text);
    this.container.appendChild(div);
    this.scroll();
  }

  bubble(agent, text, depth) {
    const div = document.createElement("div");
    div.className = `msg assistant${depth ? " sub" : ""}`;
    div.dataset.agent = agent || "";
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = agent || "assistant";
    who.style.color = colorOf(agent);
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    div.append(who, body);
    this.container.appendChild(div);
    return div;
  }

  noteSender(agent) {
    if (agent && this.lastSender && agent !== this.lastSender) this.handoff(this.lastSender, agent);
    if (agent) this.lastSender = agent;
  }

  note(text) {
    const div = document.createElement("div");
    div.className = "handoff-note approval-note";
    div.textContent = text;
    this.container.appendChild(div);
  }

  handoff(from, to) {
    const div = document.createElement("div");
    div.className = "handoff-note";
    div.innerHTML = "handed off from <b></b> to <b></b>";
    div.querySelectorAll("b")[0].textContent = from;
    div.querySelectorAll("b")[1].textContent = to;
    this.container.appendChild(div);
    this.lastSender = to;
  }

  // Live events of a run.
  event(event) {
    const d = event.data;
    const path = (d.path || []).join("/");
    const depth = (d.path || []).length;
    switch (event.type) {
      case "text_delta": {
        let div = this.streaming.get(path);
        if (!div) {
          if (!depth) this.noteSender(d.agent);
          div = this.bubble(d.agent, "", depth);
          div.classList.add("streaming");
          this.streaming.set(path, div);
        }
        div.querySelector(".text").textContent += d.text;
        break;
      }
      case "message_completed":
        this.finishStreaming(path);
        break;
      case "tool_call_started":
        this.finishStreaming(path);
        this.toolStarted(d.call_id, d.name, d.arguments, d.agent, depth);
        break;
      case "tool_call_finished":
        this.toolFinished(d.call_id, d.content, d.error);
        break;
      case "handoff":
        if (!depth) this.handoff(d.from_agent, d.to_agent);
        break;
      case "approval_requested":
        this.finishStreaming(path);
        this.note(`${d.agent} wants to call ${d.name} — waiting for your approval`);
        break;
      case "run_ended":
        for (const key of [...this.streaming.keys()]) this.finishStreaming(key);
        if (d.status === "failed") this.error(explain(d.error));
        if (d.status === "cancelled") this.error("The run was stopped.");
        if (d.status === "paused") this.note("Paused: approve or reject the pending call below.");
        break;
      default:
        break;
    }
    this.scroll();
  }

  finishStreaming(path) {
    const div = this.streaming.get(path);
    if (div) div.classList.remove("streaming");
    this.streaming.delete(path);
  }

  toolStarted(id, name, args, agent, depth) {
    const details = document.createElement("details");
    details.className = `tool running${depth ? " sub" : ""}`;
    details.dataset.call = id;
    const summary = document.createElement("summary");
    summary.textContent = `${agent ? `${agent} → ` : ""}${name}(${clip(args, 60)})`;
    const body = document.createElement("div");
    body.className = "body";
    body.append(label("arguments"), pre(pretty(args)));
    details.append(summary, body);
    this.container.appendChild(details);
    this.tools.set(id, details);
  }

  toolFinished(id, content, error) {
    const details = this.tools.get(id);
    if (!details) return;
    details.classList.remove("running");
    const result = pre(pretty(content));
    result.classList.add("result");
    details.querySelector(".body").append(label(error ? "error" : "result"), result);
    if (error) {
      details.classList.add("failed");
      details.open = true;
    }
  }

  error(text) {
    const div = document.createElement("div");
    div.className = "msg error";
    div.textContent = text;
    this.container.appendChild(div);
    this.scroll();
  }
}

export function explain(error) {
  if (!error) return "The run failed.";
  const model = /^Model/.test(error.type) || /model/i.test(error.message);
  const prefix = model ? "The model endpoint failed" : "The run failed";
  return `${prefix} (${error.type}): ${error.message}`;
}

function label(text) {
  const span = document.createElement("div");
  span.className = "label";
  span.textContent = text;
  return span;
}

function pre(text) {
  const node = document.createElement("pre");
  node.textContent = text;
  return node;
}

function pretty(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch (err) {
    return String(text ?? "");
  }
}

function clip(text, max) {
  const s = String(text ?? "");
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

const palette = ["#3b5bdb", "#2b8a3e", "#c2255c", "#e67700", "#7048e8", "#0c8599", "#5c940d"];

export function colorOf(name) {
  let h = 0;
  for (const ch of String(name || "")) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return palette[h % palette.length];
}
