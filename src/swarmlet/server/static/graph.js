// The live agent graph: agents as nodes, handoff and agent-tool edges, drawn in SVG.
// Layered layout: breadth-first depth from the entry agent gives the row; back edges curve aside.

const SVG = "http://www.w3.org/2000/svg";
const ROW = 72;
const NODE_H = 30;

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

export class GraphView {
  constructor(svg) {
    this.svg = svg;
    this.graph = { entry: null, agents: [], edges: [] };
    this.active = null;
    this.taken = new Set();
    this.running = new Set();
    this.visited = new Set();
  }

  setGraph(graph) {
    this.graph = { entry: graph.entry, agents: [...graph.agents], edges: [...graph.edges] };
    this.render();
  }

  // A handoff or sub-run seen at run time; unknown agents (built at run time) are added.
  noteEdge(source, target, kind = "handoff") {
    const known = new Set(this.graph.agents.map((a) => a.name));
    let changed = false;
    for (const name of [source, target]) {
      if (!known.has(name)) {
        this.graph.agents.push({ name, tools: [], instructions: "(found at run time)" });
        changed = true;
      }
    }
    if (!this.graph.edges.some((e) => e.source === source && e.target === target)) {
      this.graph.edges.push({ source, target, kind, tool: "(run time)" });
      changed = true;
    }
    this.taken.add(`${source}->${target}`); // handoffs and delegations both are the path
    this.visited.add(source).add(target);
    if (changed) this.render();
    else this.paint();
  }

  setActive(name) {
    this.active = name;
    if (name) this.visited.add(name);
    this.paint();
  }

  setRunning(names) {
    this.running = new Set(names);
    this.paint();
  }

  resetConversation(active) {
    this.taken.clear();
    this.visited.clear();
    this.running.clear();
    this.setActive(active);
  }

  layout() {
    const depth = new Map([[this.graph.entry, 0]]);
    const queue = [this.graph.entry];
    while (queue.length) {
      const name = queue.shift();
      for (const edge of this.graph.edges) {
        if (edge.source === name && !depth.has(edge.target)) {
          depth.set(edge.target, depth.get(name) + 1);
          queue.push(edge.target);
        }
      }
    }
    const rows = [];
    for (const agent of this.graph.agents) {
      const d = depth.has(agent.name) ? depth.get(agent.name) : rows.length;
      (rows[d] = rows[d] || []).push(agent.name);
    }
    const width = Math.max(420, ...rows.filter(Boolean).map((r) => r.length * 150));
    const place = new Map();
    rows.filter(Boolean).forEach((row, r) => {
      row.forEach((name, i) => {
        const w = Math.min(140, Math.max(70, name.length * 7 + 20));
        place.set(name, { x: ((i + 0.5) * width) / row.length, y: 24 + r * ROW, w, depth: r });
      });
    });
    return { place, width, height: 24 + rows.filter(Boolean).length * ROW };
  }

  render() {
    const { place, width, height } = this.layout();
    this.svg.replaceChildren();
    this.svg.setAttribute("viewBox", `0 0 ${width} ${Math.max(height, 120)}`);
    const defs = el("defs", {}, this.svg);
    for (const [id, color] of [["arrow", "#b6bccb"], ["arrow-taken", "#3b5bdb"]]) {
      const marker = el("marker", { id, viewBox: "0 0 10 10", refX: 9, refY: 5,
        markerWidth: 9, markerHeight: 9, markerUnits: "userSpaceOnUse",
        orient: "auto-start-reverse" }, defs);
      el("path", { d: "M0,0 L10,5 L0,10 z", fill: color }, marker);
    }
    this.edgeEls = new Map();
    const edges = el("g", {}, this.svg);
    for (const edge of this.graph.edges) {
      const key = `${edge.source}->${edge.target}`;
      if (this.edgeEls.has(key)) continue;
      const a = place.get(edge.source);
      const b = place.get(edge.target);
      if (!a || !b) continue;
      const path = el("path", { d: edgePath(a, b), class: `edge ${edge.kind}`,
        "marker-end": "url(#arrow)", "data-edge": key }, edges);
      el("title", {}, path).textContent = `${edge.source} → ${edge.target} (${edge.tool})`;
      this.edgeEls.set(key, path);
    }
    this.nodeEls = new Map();
    const nodes = el("g", {}, this.svg);
    for (const agent of this.graph.agents) {
      const p = place.get(agent.name);
      const g = el("g", { class: "node", "data-agent": agent.name,
        transform: `translate(${p.x - p.w / 2},${p.y - NODE_H / 2})` }, nodes);
      el("rect", { width: p.w, height: NODE_H }, g);
      const label = el("text", { x: p.w / 2, y: NODE_H / 2 }, g);
      label.textContent = shorten(agent.name, Math.floor(p.w / 7));
      el("title", {}, g).textContent = describe(agent);
      this.nodeEls.set(agent.name, g);
    }
    this.paint();
  }

  paint() {
    if (!this.nodeEls) return;
    for (const [name, g] of this.nodeEls) {
      g.classList.toggle("active", name === this.active);
      g.classList.toggle("visited", this.visited.has(name));
      g.classList.toggle("running", this.running.has(name));
    }
    for (const [key, path] of this.edgeEls) {
      const taken = this.taken.has(key);
      path.classList.toggle("taken", taken);
      path.setAttribute("marker-end", taken ? "url(#arrow-taken)" : "url(#arrow)");
    }
  }
}

function edgePath(a, b) {
  const half = NODE_H / 2;
  if (b.depth > a.depth) {
    const y1 = a.y + half;
    const y2 = b.y - half;
    const mid = (y1 + y2) / 2;
    return `M${a.x},${y1} C${a.x},${mid} ${b.x},${mid} ${b.x},${y2}`;
  }
  // A back edge (to an earlier row or the same row): leave and enter from the right side.
  const x1 = a.x + a.w / 2;
  const x2 = b.x + b.w / 2;
  const bend = Math.max(x1, x2) + 40;
  return `M${x1},${a.y} C${bend},${a.y} ${bend},${b.y} ${x2},${b.y}`;
}

function shorten(text, max) {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function describe(agent) {
  const tools = (agent.tools || []).map((t) => t.name).join(", ") || "none";
  const instructions = agent.instructions === "dynamic"
    ? `dynamic${agent.instructions_doc ? `: ${agent.instructions_doc}` : ""}`
    : agent.instructions;
  return `${agent.name}\nmodel: ${agent.model || "?"}\ntools: ${tools}\ninstructions: ${instructions}`;
}
