// Hash routes (#/jobs?state=active, #/jobs/<id>, ...): the server serves one
// page, and links work without any server-side routing.
import { useEffect, useState } from "./lib.js";

export function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, search = ""] = raw.split("?", 2);
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(search) };
}

export function useRoute() {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const on = () => setRoute(parseHash());
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}

export function navigate(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "" && v !== false && !(k === "page" && v === 1)) q.set(k, String(v));
  const s = q.toString();
  location.hash = `#/${path}${s ? `?${s}` : ""}`;
}
