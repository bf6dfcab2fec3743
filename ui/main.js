// The dashboard: a header with the pages and the live-stream status, the page
// the hash names, and the key prompt when the server asks for credentials.
import "./style.css";
import { api, followEvents, getKey, onAuthNeeded, setKey } from "./api.js";
import { CodecSettings } from "./codec.js";
import { publishEvent } from "./components/common.js";
import { html, render, useEffect, useState } from "./lib.js";
import { CronPage } from "./pages/cron.js";
import { JobPage } from "./pages/job.js";
import { Jobs } from "./pages/jobs.js";
import { Overview } from "./pages/overview.js";
import { WorkflowPage, Workflows } from "./pages/workflows.js";
import { useRoute } from "./router.js";

function Page({ route }) {
  const [a, b] = route.parts;
  if (a === "jobs" && b) return html`<${JobPage} id=${b} key=${b} />`;
  if (a === "jobs") return html`<${Jobs} query=${route.query} />`;
  if (a === "workflows" && b) return html`<${WorkflowPage} id=${b} key=${b} />`;
  if (a === "workflows") return html`<${Workflows} query=${route.query} />`;
  if (a === "cron") return html`<${CronPage} />`;
  return html`<${Overview} />`;
}

function KeyPrompt({ reason, done }) {
  const [value, setValue] = useState("");
  const submit = (e) => {
    e.preventDefault();
    setKey(value.trim());
    done();
  };
  return html`<div class="overlay"><form class="key-prompt" onSubmit=${submit}>
    <h2>This server needs a key</h2>
    <p class="muted">${reason}</p>
    <label>API key or bearer token <input type="password" name="key" autocomplete="off" autofocus value=${value} onInput=${(e) => setValue(e.target.value)} /></label>
    <p class="muted small">Kept in this tab only (sessionStorage), sent as <code>Authorization: Bearer</code>.</p>
    <button type="submit">Use key</button>
  </form></div>`;
}

function App() {
  const route = useRoute();
  const [live, setLive] = useState("connecting");
  const [auth, setAuth] = useState(undefined);
  const [epoch, setEpoch] = useState(0); // bumped when the key changes: everything reloads
  const [server, setServer] = useState(undefined);
  const [settings, setSettings] = useState(false);

  useEffect(() => onAuthNeeded((e) => setAuth(e.message)), []);
  useEffect(() => {
    api("ojs/manifest").then((m) => setServer(m), () => {});
    const ctl = new AbortController();
    void followEvents(publishEvent, (s) => {
      setLive(s);
      if (s === "unauthorized") setAuth((cur) => cur ?? "The event stream refused the key.");
    }, ctl.signal);
    return () => ctl.abort();
  }, [epoch]);

  const [page] = route.parts;
  const nav = (href, label, id) => html`<a href=${href} class=${(page ?? "") === id ? "current" : ""}>${label}</a>`;
  return html`<header>
      <span class="brand">ojs-connect</span>
      <nav>${nav("#/", "Overview", "")}${nav("#/jobs", "Jobs", "jobs")}${html`<a href="#/jobs?dead_letter=true">Dead letter</a>`}${nav("#/workflows", "Workflows", "workflows")}${nav("#/cron", "Cron", "cron")}</nav>
      <span class="spacer"></span>
      <span class=${`live ${live}`} id="live-status" title="server event stream">● ${live}</span>
      ${server?.implementation?.version && html`<span class="muted small">v${server.implementation.version}</span>`}
      ${getKey() && html`<button class="link" onClick=${() => { setKey(""); setEpoch((n) => n + 1); }}>forget key</button>`}
      <button class="link" data-action="settings" onClick=${() => setSettings(true)}>settings</button>
    </header>
    <main key=${epoch}><${Page} route=${route} /></main>
    ${settings && html`<${CodecSettings} done=${() => { setSettings(false); setEpoch((n) => n + 1); }} />`}
    ${auth && html`<${KeyPrompt} reason=${auth} done=${() => { setAuth(undefined); setEpoch((n) => n + 1); }} />`}`;
}

render(html`<${App} />`, document.getElementById("app"));
