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

  // The path segments after a prefix: /building/{b} → [b], /signage/{b}/{r} → [b, r].
  function pathArgs(prefix) {
    return location.pathname.slice(prefix.length).split("/").filter(Boolean).map(decodeURIComponent);
  }

  return { el, time, follow, pathArgs };
})();
