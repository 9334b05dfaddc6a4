// The swarmlet web UI: token login, threads, chat, live agent graph, run timeline, approvals.
import { Api, ApiError } from "./api.js";
import { ChatView } from "./chat.js";
import { GraphView } from "./graph.js";
import { Timeline } from "./timeline.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "swarmlet.token";

const ui = {
  api: null,
  info: null,
  thread: null, // the open thread's id
  runs: new Map(), // thread id -> { id } of the run this page is streaming on it
  chat: new ChatView($("messages")),
  graph: new GraphView($("graph")),
  timeline: new Timeline($("timeline"), $("usage")),
};

// -- login ---------------------------------------------------------------------------------

function takeTokenFromUrl() {
  const match = location.hash.match(/token=([^&]+)/);
  if (!match) return;
  localStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
  history.replaceState(null, "", location.pathname); // the token must not linger in the URL
}

async function login(token) {
  const api = new Api(token);
  const info = await api.request("GET", "/info"); // 401 here means a wrong token
  ui.api = api;
  ui.info = info;
  $("swarm-name").textContent = info.agent;
  document.title = `swarmlet · ${info.agent}`;
  ui.graph.setGraph(await api.request("GET", "/graph"));
  ui.graph.setActive(info.agent);
  $("login").hidden = true;
  watchConnection();
  await refreshThreads();
  const wanted = new URLSearchParams(location.hash.slice(1)).get("thread");
  if (wanted) await openThread(wanted);
}

function showLogin(message = "") {
  $("login").hidden = false;
  $("login-error").textContent = message;
  $("login-token").focus();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const token = $("login-token").value.trim();
  try {
    await login(token);
    localStorage.setItem(TOKEN_KEY, token);
  } catch (err) {
    showLogin(err.status === 401 ? "That token was not accepted." : err.message);
  }
});

$("logout").addEventListener("click", () => {
  localStorage.removeItem(TOKEN_KEY);
  location.hash = "";
  location.reload();
});

// -- connection and errors ------------------------------------------------------------------

function banner(text) {
  $("banner").textContent = text || "";
  $("banner").hidden = !text;
}

function watchConnection() {
  const check = async () => {
    try {
      const response = await fetch("/health", { cache: "no-store" });
      if (!response.ok) throw new Error(String(response.status));
      $("connection").textContent = "connected";
      $("connection").className = "connection ok";
      if ($("banner").dataset.kind === "down") banner("");
    } catch (err) {
      $("connection").textContent = "server unreachable";
      $("connection").className = "connection down";
      $("banner").dataset.kind = "down";
      banner("Cannot reach the swarmlet server. Is it still running? Retrying…");
    }
  };
  check();
  setInterval(check, 5000);
}

function report(err) {
  if (err instanceof ApiError && err.status === 401) {
    showLogin("Your token is no longer accepted. Log in again.");
    return;
  }
  $("banner").dataset.kind = "error";
  banner(err.message || String(err));
}

// -- threads ----------------------------------------------------------------------------------

let refreshes = 0;

async function refreshThreads() {
  const mine = ++refreshes;
  const { threads } = await ui.api.request("GET", "/threads");
  if (mine !== refreshes) return; // a later refresh was asked for: its answer is newer
  const list = $("threads");
  list.replaceChildren();
  for (const thread of threads) {
    const li = document.createElement("li");
    li.dataset.thread = thread.id;
    li.classList.toggle("current", thread.id === ui.thread);
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = thread.title || "New conversation";
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = thread.status === "idle" ? `${thread.message_count}` : thread.status;
    const remove = document.createElement("button");
    remove.className = "delete";
    remove.title = "Delete thread";
    remove.setAttribute("aria-label", "Delete thread");
    remove.textContent = "×";
    remove.addEventListener("click", (event) => {
      event.stopPropagation();
      deleteThread(thread.id).catch(report);
    });
    li.append(title, meta, remove);
    li.addEventListener("click", () => openThread(thread.id).catch(report));
    list.appendChild(li);
  }
}

async function openThread(id) {
  const thread = await ui.api.request("GET", `/threads/${encodeURIComponent(id)}`);
  ui.thread = thread.id;
  setBusy(ui.runs.has(thread.id));
  history.replaceState(null, "", `#thread=${encodeURIComponent(thread.id)}`);
  ui.chat.showHistory(thread.messages);
  ui.timeline.clear();
  ui.graph.resetConversation(thread.agent || ui.info.agent);
  let previous = null;
  for (const m of thread.messages) {
    if (m.role !== "assistant" || !m.sender) continue;
    if (previous && previous !== m.sender) ui.graph.noteEdge(previous, m.sender);
    previous = m.sender;
  }
  ui.graph.setActive(thread.agent || ui.info.agent);
  showApprovals(thread);
  await refreshThreads();
  await replayTimeline(thread);
  if (thread.active_run && !ui.runs.has(thread.id)) await follow(thread.active_run, "re-attached run");
}

// The timeline of the thread's finished runs that this server still holds.
async function replayTimeline(thread) {
  const finished = thread.runs.filter((run) => run.status !== "running");
  for (const [i, run] of finished.entries()) {
    const entry = ui.timeline.startRun(run.id, `run ${i + 1}`);
    await ui.api.stream("GET", `/runs/${run.id}/events`, undefined, (event) => {
      if (event.type !== "run_created") ui.timeline.add(entry, event);
    });
    await ui.timeline.loadTrace(entry, ui.api);
  }
}

async function newThread() {
  const thread = await ui.api.request("POST", "/threads", {});
  await openThread(thread.id);
  $("input").focus();
}

async function deleteThread(id) {
  if (!confirm("Delete this thread and all its messages?")) return;
  await ui.api.request("DELETE", `/threads/${encodeURIComponent(id)}`);
  if (id === ui.thread) {
    ui.thread = null;
    ui.chat.clear();
    ui.timeline.clear();
    ui.graph.resetConversation(ui.info.agent);
    $("approvals").replaceChildren();
    history.replaceState(null, "", location.pathname);
  }
  await refreshThreads();
}

$("new-thread").addEventListener("click", () => newThread().catch(report));

// -- runs ---------------------------------------------------------------------------------------

function setBusy(busy) {
  $("send").disabled = busy;
  $("stop").hidden = !busy;
}

// Stream a run's events into the chat, the graph and the timeline. A run streams on; if the
// user opens another thread meanwhile, its events are not drawn there (see onEvent).
async function consume(method, path, body, label, runId = null) {
  const thread = ui.thread;
  const state = { run: null, callers: new Map(), thread };
  ui.runs.set(thread, { id: runId });
  setBusy(true);
  try {
    await ui.api.stream(method, path, body, (event) => onEvent(event, state, label));
  } finally {
    ui.runs.delete(thread);
    setBusy(ui.runs.has(ui.thread));
  }
}

function follow(runId, label) {
  return consume("GET", `/runs/${runId}/events`, undefined, label, runId);
}

function onEvent(event, state, label) {
  if (state.thread !== ui.thread) return; // the user opened another thread meanwhile
  const d = event.data;
  if (event.type === "run_created") {
    state.run = ui.timeline.startRun(d.run_id, label);
    if (ui.runs.has(state.thread)) ui.runs.get(state.thread).id = d.run_id;
    return;
  }
  if (state.run) ui.timeline.add(state.run, event);
  ui.chat.event(event);
  const path = d.path || [];
  if (event.type === "tool_call_started") state.callers.set(d.call_id, d.agent);
  if (event.type === "turn_started") {
    if (!path.length) ui.graph.setActive(d.agent);
    else {
      const caller = state.callers.get(path[path.length - 1]);
      if (caller) ui.graph.noteEdge(caller, d.agent, "agent_tool");
      ui.graph.running.add(d.agent);
      ui.graph.paint();
    }
  }
  if (event.type === "run_completed" && path.length && d.response) {
    ui.graph.running.delete(d.response.agent);
    ui.graph.paint();
  }
  if (event.type === "handoff" && !path.length) {
    ui.graph.noteEdge(d.from_agent, d.to_agent);
    ui.graph.setActive(d.to_agent);
  }
  if (event.type === "run_ended") {
    ui.graph.setRunning([]);
    if (d.response && d.response.agent) ui.graph.setActive(d.response.agent);
    if (d.status === "paused" || d.pending) reloadApprovals();
    if (state.run) ui.timeline.loadTrace(state.run, ui.api);
  }
}

async function reloadApprovals() {
  if (!ui.thread) return;
  showApprovals(await ui.api.request("GET", `/threads/${encodeURIComponent(ui.thread)}`));
}

async function send(text) {
  if (!ui.thread) {
    const thread = await ui.api.request("POST", "/threads", {});
    ui.thread = thread.id;
    history.replaceState(null, "", `#thread=${encodeURIComponent(thread.id)}`);
  }
  ui.chat.userMessage(text);
  const runs = ui.timeline.runs.length + 1;
  await consume("POST", `/threads/${encodeURIComponent(ui.thread)}/runs`, { message: text }, `run ${runs}`);
  await refreshThreads();
}

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("input").value.trim();
  if (!text || ui.runs.has(ui.thread)) return;
  $("input").value = "";
  send(text).catch((err) => {
    if (err instanceof ApiError && err.status === 0 && !$("input").value) $("input").value = text;
    if (err instanceof ApiError && err.status !== 401 && err.status !== 0) ui.chat.error(err.message);
    else report(err);
  });
});

$("input").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});

$("stop").addEventListener("click", async () => {
  const run = ui.runs.get(ui.thread);
  if (!run || !run.id) return;
  try {
    await ui.api.request("POST", `/runs/${run.id}/cancel`);
  } catch (err) {
    report(err);
  }
});

// -- approvals --------------------------------------------------------------------------------

function showApprovals(thread) {
  const box = $("approvals");
  box.replaceChildren();
  for (const pending of thread.pending_approvals || []) {
    const row = document.createElement("div");
    row.className = "approval";
    row.dataset.call = pending.call_id;
    const text = document.createElement("span");
    text.innerHTML = "<b></b> wants to call <code></code>";
    text.querySelector("b").textContent = pending.agent || "The agent";
    text.querySelector("code").textContent = pending.name;
    const args = document.createElement("pre");
    args.textContent = prettyArgs(pending.arguments);
    const approve = document.createElement("button");
    approve.className = "approve";
    approve.textContent = "Approve";
    const reject = document.createElement("button");
    reject.className = "danger reject";
    reject.textContent = "Reject";
    approve.addEventListener("click", () => decide(pending.call_id, true).catch(report));
    reject.addEventListener("click", () => decide(pending.call_id, false).catch(report));
    row.append(text, approve, reject, args);
    box.appendChild(row);
  }
}

async function decide(callId, approve) {
  $("approvals").replaceChildren();
  const label = `run ${ui.timeline.runs.length + 1} (resumed)`;
  const body = { decisions: { [callId]: approve ? "approve" : "reject" } };
  await consume("POST", `/threads/${encodeURIComponent(ui.thread)}/approvals`, body, label);
  await refreshThreads();
}

function prettyArgs(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch (err) {
    return String(text ?? "");
  }
}

// -- start ------------------------------------------------------------------------------------

takeTokenFromUrl();
const saved = localStorage.getItem(TOKEN_KEY);
if (saved) {
  login(saved).catch((err) => showLogin(err.status === 401 ? "Log in with a valid token." : err.message));
} else {
  showLogin();
}
