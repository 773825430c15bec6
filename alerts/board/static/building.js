// `/building/{building}`: every room against its limit, the building at a glance, and the
// active alerts; security acknowledges them, an operator sets room limits and the building's
// policy level, an admin reads the audit trail. Redrawn from each server-sent event in place.
"use strict";

(async () => {
  const { el, time, follow, pathArgs, session, may, send, account } = Board;
  const [building] = pathArgs("/building/");
  const me = await session();
  account(me, document.getElementById("account"));
  const roomCards = new Map(); // room id → its card, kept across events
  const alertItems = new Map(); // alert id → its list item
  const sending = new Map(); // alert id → "sending" | "sent" | an error text
  let current = null;


  function figure(label, value, alarm) {
    return el("div", { class: "figure" + (alarm ? " alarm" : "") },
      el("span", { class: "value" }, value), el("span", { class: "label" }, label));
  }

  function renderSummary(view) {
    const over = view.summary.rooms_over_limit;
    const names = over.map((id) => (view.rooms.find((r) => r.room === id) || { name: id }).name);
    document.getElementById("summary").replaceChildren(
      figure("people in", view.summary.headcount, false),
      ...(view.checked_in === null || view.checked_in === undefined ? [] : [
        figure(`checked in (${view.planned_wfo} planned in the office)`, view.checked_in, false),
      ]),
      figure(over.length === 1 ? "room over limit" : "rooms over limit", over.length, over.length > 0),
      figure("active alerts", view.alerts.length, view.alerts.some((a) => a.severity === "critical")),
      figure("policy level", view.level, false),
      ...(names.length ? [figure("over limit now", names.join(", "), true)] : []),
    );
  }

  function roomCard(room) {
    const card = el("article", { class: "room", dataset: { room: room.room } },
      el("div", { class: "head" },
        el("span", { class: "name" }, room.name),
        el("a", { href: `/signage/${encodeURIComponent(building)}/${encodeURIComponent(room.room)}` },
          "signage")),
      el("div", { class: "figures" },
        el("span", { class: "count" }), " / ", el("span", { class: "limit" }),
        el("span", { class: "status-label" })),
      el("div", { class: "bar" }, el("div", { class: "fill" })),
      el("div", { class: "free" }));
    if (may(me.role, "operator")) card.append(limitControl(room));
    return card;
  }

  function limitControl(room) {
    const input = el("input", { class: "limit-input", type: "number", min: "0", max: "100000",
      "aria-label": `limit of ${room.name}` });
    const set = el("button", { class: "limit-set", type: "button" }, "Set limit");
    const clear = el("button", { class: "limit-clear", type: "button" }, "Site limit");
    const error = el("span", { class: "error" });
    const url = `/api/buildings/${encodeURIComponent(building)}/rooms/${encodeURIComponent(room.room)}/limit`;
    const apply = async (limit) => {
      error.textContent = "";
      try {
        await send(url, { limit }, me.csrf);
        input.value = "";
      } catch (failure) {
        error.textContent = failure.message;
      }
    };
    set.addEventListener("click", () => {
      const value = Number.parseInt(input.value, 10);
      if (Number.isNaN(value)) error.textContent = "a whole number of people";
      else apply(value);
    });
    clear.addEventListener("click", () => apply(null));
    return el("div", { class: "limit-control" }, input, set, clear, error);
  }

  function updateRoom(card, room) {
    card.className = "room status-" + room.status;
    card.dataset.count = room.count;
    card.dataset.limit = room.limit;
    card.dataset.status = room.status;
    card.querySelector(".count").textContent = room.count;
    card.querySelector(".limit").textContent = room.limit;
    card.querySelector(".status-label").textContent = room.status;
    const share = room.limit > 0 ? Math.min(room.count / room.limit, 1) : 1;
    card.querySelector(".fill").style.width = (share * 100).toFixed(1) + "%";
    const over = room.count - room.limit;
    card.querySelector(".free").textContent =
      (over > 0 ? `${over} over the limit` : `${room.free} free`) + ` · capacity ${room.capacity}` +
      (room.ts ? ` · ${time(room.ts, current.timezone)}` : " · no count yet");
  }

  function renderRooms(view) {
    const floors = document.getElementById("floors");
    if (roomCards.size === 0) {
      const byFloor = new Map();
      for (const room of view.rooms) {
        const key = room.floor === null ? "other" : room.floor;
        if (!byFloor.has(key)) byFloor.set(key, []);
        byFloor.get(key).push(room);
      }
      for (const [floor, rooms] of byFloor) {
        const grid = el("div", { class: "rooms" });
        for (const room of rooms) {
          const card = roomCard(room);
          roomCards.set(room.room, card);
          grid.append(card);
        }
        floors.append(el("section", { class: "floor" },
          el("h3", {}, floor === "other" ? "Other rooms" : `Floor ${floor}`), grid));
      }
    }
    for (const room of view.rooms) {
      const card = roomCards.get(room.room);
      if (card) updateRoom(card, room);
    }
  }

  function alertItem(alert) {
    const button = el("button", { class: "ack-button", type: "button" }, "Acknowledge");
    button.addEventListener("click", () => acknowledge(alert.alert_id));
    const resolveButton = el("button", { class: "resolve-button", type: "button" }, "Resolve…");
    resolveButton.addEventListener("click", () => resolveByHand(alert.alert_id));
    // Only security and above may acknowledge or resolve: a viewer's page has no control to try.
    const control = may(me.role, "security") ? button : null;
    const resolveControl = may(me.role, "security") ? resolveButton : null;
    return el("li", { class: "alert", dataset: { alertId: alert.alert_id } },
      el("span", { class: "badge" }),
      el("span", { class: "what" }),
      el("span", { class: "ack" }, control, resolveControl, el("span", { class: "acked" }),
        el("span", { class: "error" })),
      el("span", { class: "message" }),
      el("span", { class: "meta" }));
  }

  function updateAlert(item, alert) {
    const room = alert.room ? current.rooms.find((r) => r.room === alert.room) : null;
    item.className = "alert sev-" + alert.severity;
    item.dataset.severity = alert.severity;
    item.dataset.kind = alert.kind;
    item.dataset.room = alert.room || "";
    item.dataset.acked = alert.ack ? "true" : "false";
    item.querySelector(".badge").textContent = alert.severity;
    item.querySelector(".what").textContent =
      alert.kind.replaceAll("_", " ") + " · " + (room ? room.name : alert.room || "whole building");
    item.querySelector(".message").textContent = alert.message;
    const figures = alert.value !== null && alert.limit !== null ? ` · ${alert.value} of ${alert.limit}` : "";
    item.querySelector(".meta").textContent = `${time(alert.ts, current.timezone)}${figures}`;
    const button = item.querySelector(".ack-button") || el("button");
    const acked = item.querySelector(".acked");
    const error = item.querySelector(".error");
    const state = sending.get(alert.alert_id);
    if (alert.ack) {
      sending.delete(alert.alert_id);
      button.hidden = true;
      acked.textContent = `Acknowledged by ${alert.ack.by} at ${time(alert.ack.ts, current.timezone)}`;
      error.textContent = "";
    } else {
      button.hidden = false;
      button.disabled = state === "sending" || state === "sent";
      button.textContent = state === "sending" ? "Sending…" : state === "sent" ? "Acknowledging…" : "Acknowledge";
      acked.textContent = "";
      error.textContent = state && state !== "sending" && state !== "sent" ? state : "";
    }
  }

  function renderAlerts(view) {
    const list = document.getElementById("alerts");
    const live = new Set(view.alerts.map((a) => a.alert_id));
    for (const [id, item] of alertItems) {
      if (!live.has(id)) {
        item.remove();
        alertItems.delete(id);
        sending.delete(id);
      }
    }
    view.alerts.forEach((alert, index) => {
      let item = alertItems.get(alert.alert_id);
      if (!item) {
        item = alertItem(alert);
        alertItems.set(alert.alert_id, item);
      }
      updateAlert(item, alert);
      // Move only what is out of place: a button being clicked stays where it is.
      if (list.children[index] !== item) list.insertBefore(item, list.children[index] || null);
    });
    document.getElementById("no-alerts").hidden = view.alerts.length > 0;
  }

  function render(view) {
    current = view;
    document.title = `${view.name} · occupancy`;
    document.getElementById("title").textContent = view.name;
    document.getElementById("loading").hidden = view.caught_up;
    renderSummary(view);
    renderRooms(view);
    renderAlerts(view);
    levelForm(view);
  }

  async function acknowledge(alertId) {
    sending.set(alertId, "sending");
    render(current);
    const url = `/api/buildings/${encodeURIComponent(building)}/alerts/${encodeURIComponent(alertId)}/ack`;
    try {
      // Accepted: the ack travels MQTT → bridge → Kafka → worker and returns as an event.
      await send(url, {}, me.csrf);
      sending.set(alertId, "sent");
    } catch (error) {
      sending.set(alertId, error.message);
    }
    render(current);
  }

  // Resolved by hand, with a reason (audited); a condition that persists opens a new alert.
  async function resolveByHand(alertId) {
    const reason = (window.prompt("Why is this alert resolved by hand?") || "").trim();
    if (!reason) return;
    const url = `/api/buildings/${encodeURIComponent(building)}/alerts/${encodeURIComponent(alertId)}/resolve`;
    try {
      await send(url, { reason }, me.csrf);
      sending.set(alertId, "sent");
    } catch (error) {
      sending.set(alertId, error.message);
    }
    render(current);
  }

  function levelForm(view) {
    const form = document.getElementById("level-form");
    const select = document.getElementById("level");
    if (!may(me.role, "operator") || !view.levels) return;
    if (form.hidden) {
      select.replaceChildren(...view.levels.map((level) => el("option", { value: level }, level)));
      select.value = view.level;
      form.hidden = false;
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const error = document.getElementById("level-error");
        error.textContent = "";
        await send(`/api/buildings/${encodeURIComponent(building)}/policy`, { level: select.value }, me.csrf)
          .catch((failure) => { error.textContent = failure.message; });
      });
    }
  }

  async function showAudit() {
    const answer = await fetch("/api/audit", { credentials: "same-origin" });
    if (!answer.ok) return;
    const rows = (await answer.json()).slice(0, 50).map((r) =>
      el("tr", { dataset: { action: r.action } },
        el("td", {}, time(r.ts, current ? current.timezone : undefined)), el("td", {}, r.actor),
        el("td", {}, r.role), el("td", {}, r.action), el("td", {}, r.target), el("td", {}, r.detail)));
    document.querySelector("#audit tbody").replaceChildren(...rows);
    document.getElementById("audit-section").hidden = false;
  }

  if (may(me.role, "admin")) {
    showAudit();
    setInterval(showAudit, 5000);
  }

  follow(`/api/buildings/${encodeURIComponent(building)}/events`, "building", render,
    document.getElementById("connection"));
})();
