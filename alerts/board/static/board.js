// Shared by the board's pages: a tiny element builder, times, and the live event stream.
"use strict";

const Board = (() => {
  // el("p", {class: "x", dataset: {room: "a"}}, "text", child): text is never parsed as HTML.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) {
        node.append(child instanceof Node ? child : String(child));
      }
    }
    return node;
  }

  function time(iso, timeZone) {
    if (!iso) return "";
    const options = { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false };
    if (timeZone) options.timeZone = timeZone;
    return new Intl.DateTimeFormat("en-GB", options).format(new Date(iso));
  }

  // Follows a server-sent event stream; EventSource reconnects by itself after an error.
  function follow(url, eventName, onData, indicator) {
    const source = new EventSource(url);
    const show = (state, text) => {
      if (!indicator) return;
      indicator.className = "connection " + state;
      indicator.textContent = text;
    };
    source.addEventListener(eventName, (event) => {
      show("live", "live");
      onData(JSON.parse(event.data));
    });
    source.addEventListener("error", () => show("down", "reconnecting…"));
    return source;
  }

  // The logged-in account ({user, role, csrf}); off to the login page when there is none.
  async function session() {
    const answer = await fetch("/api/session", { credentials: "same-origin" });
    if (answer.status === 401) {
      location.assign("/login?next=" + encodeURIComponent(location.pathname));
      return new Promise(() => {});
    }
    return answer.json();
  }

  const RANK = { viewer: 0, security: 1, operator: 2, admin: 3 };
  function may(role, needed) {
    return (RANK[role] ?? -1) >= RANK[needed];
  }

  // A POST of JSON with the session's CSRF token; the answer's body, or an Error with its text.
  async function send(url, body, csrf) {
    const answer = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    });
    const data = await answer.json().catch(() => ({}));
    if (!answer.ok) throw new Error(data.error || `HTTP ${answer.status}`);
    return data;
  }

  // Who is logged in, and a Log out button, in a page's header.
  function account(me, container) {
    const out = el("button", { type: "button", id: "logout" }, "Log out");
    out.addEventListener("click", async () => {
      await send("/api/logout", {}, me.csrf).catch(() => {});
      location.assign("/login");
    });
    container.replaceChildren(el("span", { id: "who", dataset: { role: me.role } }, `${me.user} (${me.role})`), " ", out);
  }

  // The path segments after a prefix: /building/{b} → [b], /signage/{b}/{r} → [b, r].
  function pathArgs(prefix) {
    return location.pathname.slice(prefix.length).split("/").filter(Boolean).map(decodeURIComponent);
  }

  return { el, time, follow, pathArgs, session, may, send, account };
})();
